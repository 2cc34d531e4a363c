/**
 * The scan kernels' resident-codes region grows on demand (issue 13, first query of a new
 * process): it starts small and doubles up to its cap while no arena allocation is live; growing
 * keeps every offset handed out valid, a reset (full at the cap) makes them stale and they are
 * never returned again; arena allocations never overlap the region. Search results (ids and
 * distances) are the same with a tiny growing/resetting region as with the default one, on this
 * thread and on worker threads (which size their region from QUIVER_TEST_SCAN_REGION).
 */
import fc from "fast-check";
import { IndexCache } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { afterAll, describe, expect, it } from "vitest";
import { createRng } from "../src/compute/internal/rng.js";
import { type DistanceType, type IvfVectorIndex, gaussianMixture, openVectorIndex } from "../src/index.js";
import { RESIDENT_CODE_BYTES, RESIDENT_INITIAL_BYTES, ScanKernels, swapScanKernels } from "../src/search-kernels.js";
import { searchTestHooks } from "../src/search-pool.js";
import { buildIvfIndex } from "./build-index-helper.js";

// Every thread of this file (this one and the search workers, which inherit the environment)
// makes its region with a 6 KiB cap starting at 256 bytes: scans grow it and reset it.
const TINY_CAP = 6144;
const TINY_INITIAL = 256;
process.env.QUIVER_TEST_SCAN_REGION = `${TINY_CAP},${TINY_INITIAL}`;

describe("ScanKernels region growth", () => {
  it("starts at its initial size, grows by doubling while the arena is idle, keeps offsets across growth", () => {
    const sk = new ScanKernels(4096, 64);
    expect(sk.regionBytes).toBe(64);
    const a = {};
    const codesA = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
    const pa = sk.resident(a, undefined, codesA, 48)!;
    expect(sk.growths).toBe(0);
    // 48 + 100 bytes do not fit 64: the idle arena moves up, the region doubles to 256
    const codesB = Uint8Array.from({ length: 100 }, (_, i) => 200 - i);
    const pb = sk.resident({}, "k:1", codesB, 100)!;
    expect(sk.growths).toBe(1);
    expect(sk.regionBytes).toBe(256);
    // a's offset survived the growth: a hit, same bytes, no copy
    expect(sk.resident(a, undefined, codesA, 48)).toBe(pa);
    expect(sk.uploads).toBe(2);
    expect(Array.from(sk.w.u8(pa, 48))).toEqual(Array.from(codesA));
    expect(Array.from(sk.w.u8(pb, 100))).toEqual(Array.from(codesB));
    // the arena starts above the region: what it hands out never overlaps the resident bytes
    const mark = sk.w.mark();
    const p = sk.w.alloc(1000);
    expect(p).toBeGreaterThanOrEqual(pa + sk.regionBytes - 16);
    sk.w.u8(p, 1000).fill(0xee);
    expect(Array.from(sk.w.u8(pa, 48))).toEqual(Array.from(codesA));
    // arena live: the region cannot grow; a block that does not fit is not resident (no reset)
    expect(sk.resident({}, undefined, new Uint8Array(200), 200)).toBeUndefined();
    expect(sk.resets).toBe(0);
    expect(sk.resident(a, undefined, codesA, 48)).toBe(pa);
    sk.w.release(mark);
    // idle again: the next block that does not fit grows the region for it and the refused one
    const pc = sk.resident({}, undefined, new Uint8Array(300).fill(7), 300)!;
    expect(sk.growths).toBe(2);
    expect(sk.regionBytes).toBe(1024);
    expect(Array.from(sk.w.u8(pc, 300))).toEqual(new Array(300).fill(7));
    expect(sk.resident(a, undefined, codesA, 48)).toBe(pa);
    // up to the cap, then a reset: a and b are stale and copied again when asked for
    sk.resident({}, undefined, new Uint8Array(2000), 2000);
    expect(sk.regionBytes).toBe(4096);
    const uploads = sk.uploads;
    sk.resident({}, undefined, new Uint8Array(3000), 3000);
    expect(sk.resets).toBe(1);
    expect(sk.regionBytes).toBe(4096);
    const pa2 = sk.resident(a, undefined, codesA, 48)!;
    const pb2 = sk.resident({}, "k:1", codesB, 100)!;
    expect(sk.uploads).toBe(uploads + 3);
    expect(Array.from(sk.w.u8(pa2, 48))).toEqual(Array.from(codesA));
    expect(Array.from(sk.w.u8(pb2, 100))).toEqual(Array.from(codesB));
    // larger than the cap: never resident
    expect(sk.resident({}, undefined, new Uint8Array(5000), 5000)).toBeUndefined();
  });

  it("defaults: a small first region, the 32 MiB cap reached only by demand", () => {
    const sk = new ScanKernels();
    expect(sk.regionBytes).toBe(RESIDENT_INITIAL_BYTES);
    expect(RESIDENT_INITIAL_BYTES).toBeLessThanOrEqual(4 * 1024 * 1024);
    // kernel memory right after construction: the first region plus a page or two, not the cap
    expect(sk.w.exports.memory.buffer.byteLength).toBeLessThan(RESIDENT_INITIAL_BYTES + 4 * 65536);
    const big = new Uint8Array(RESIDENT_CODE_BYTES - 4096).fill(3);
    const at = sk.resident({}, undefined, big, big.length)!;
    expect(sk.regionBytes).toBe(RESIDENT_CODE_BYTES);
    expect(sk.w.u8(at + big.length - 1, 1)[0]).toBe(3);
  });

  it("a returned offset always holds the codes asked for, whatever the order of calls, arena use, growth and resets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 512 }),
        fc.integer({ min: 16, max: 4096 }),
        fc.array(fc.record({ owner: fc.integer({ min: 0, max: 11 }), keyed: fc.boolean(), bytes: fc.integer({ min: 1, max: 1200 }), arena: fc.integer({ min: 0, max: 3000 }) }), { minLength: 1, maxLength: 60 }),
        (initial, cap, ops) => {
          const sk = new ScanKernels(cap, initial);
          const owners = Array.from({ length: 12 }, () => ({}));
          // each (owner, size) has its own content, so a stale offset shows as wrong bytes
          const content = (o: number, bytes: number): Uint8Array => {
            const rng = createRng(o * 7919 + bytes);
            return Uint8Array.from({ length: bytes }, () => rng.nextInt(256));
          };
          for (const op of ops) {
            const codes = content(op.owner, op.bytes);
            const mark = sk.w.mark();
            // half the calls happen with arena allocations live (as the scan's later pieces do)
            if (op.arena > 1500) sk.w.u8(sk.w.allocUninit(op.arena), op.arena).fill(0xa5);
            const before = sk.uploads;
            const at = sk.resident(owners[op.owner]!, op.keyed ? `key:${op.owner}` : undefined, codes, op.bytes);
            if (at === undefined) {
              expect(op.bytes > cap || !sk.w.idle()).toBe(true);
            } else {
              expect(Buffer.compare(sk.w.u8(at, op.bytes), codes)).toBe(0);
              expect(at + op.bytes).toBeLessThanOrEqual(sk.w.arenaStart());
              expect(sk.uploads - before).toBeLessThanOrEqual(1);
            }
            // scribble over the arena after the call too: the region must not share its bytes
            if (op.arena > 0) sk.w.u8(sk.w.allocUninit(op.arena), op.arena).fill(0x5a);
            if (at !== undefined) expect(Buffer.compare(sk.w.u8(at, op.bytes), codes)).toBe(0);
            sk.w.release(mark);
            expect(sk.regionBytes).toBeLessThanOrEqual(cap + 15);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

const DIM = 16;
const N = 4000;
const opened: IvfVectorIndex[] = [];
afterAll(async () => {
  await Promise.all(opened.map((i) => i.close()));
});

async function indexFor(distance: DistanceType): Promise<IvfVectorIndex> {
  const store = new MemoryObjectStore();
  const data = gaussianMixture({ n: N, dim: DIM, clusters: 16, seed: 11 });
  await buildIvfIndex(store, "idx", data, N, DIM, { quantizer: "pq", distance, numPartitions: 16, seed: 3, maxIters: 6, threads: 1, numSubVectors: 8 });
  const index = await openVectorIndex(store, "idx", { cache: IndexCache.inMemory(64 * 1024 * 1024) });
  opened.push(index);
  return index;
}

const queries = gaussianMixture({ n: 64, dim: DIM, clusters: 16, seed: 12, centerSeed: 11 });
const batch = (n: number, from = 0) => Array.from({ length: n }, (_, i) => queries.subarray((from + i) * DIM, (from + i + 1) * DIM));

describe("search with a growing, resetting region equals search with the default region", () => {
  for (const distance of ["l2", "cosine"] as const) {
    it(`${distance}: single queries and batches, this thread and worker threads`, async () => {
      const index = await indexFor(distance);
      // the reference: this thread's scan kernels at the default sizes
      const big = new ScanKernels();
      const tiny = new ScanKernels(TINY_CAP, TINY_INITIAL);
      const search = { k: 9, nprobes: 6, threads: 1 };
      const swap = (sk: ScanKernels) => swapScanKernels(sk);
      const restore = swap(big);
      try {
        const wantSingle = [];
        for (const q of batch(40)) wantSingle.push(await index.search(q, search));
        const wantBatch = await index.searchBatch(batch(64), search);
        expect(big.resets).toBe(0);
        swap(tiny);
        const gotSingle = [];
        for (const q of batch(40)) gotSingle.push(await index.search(q, search));
        expect(gotSingle).toEqual(wantSingle);
        expect(await index.searchBatch(batch(64), search)).toEqual(wantBatch);
        // the tiny region really grew and was reset (and re-used: fewer copies than probes)
        expect(tiny.growths).toBeGreaterThan(0);
        expect(tiny.resets).toBeGreaterThan(0);
        expect(tiny.regionBytes).toBe(TINY_CAP);
        // twice more after the resets: still the same
        expect(await index.searchBatch(batch(64), search)).toEqual(wantBatch);
        for (const [i, q] of batch(40).entries()) expect(await index.search(q, search)).toEqual(wantSingle[i]);
        // worker threads (their regions from QUIVER_TEST_SCAN_REGION: tiny too), alone and with this thread
        const saved = { ...searchTestHooks };
        Object.assign(searchTestHooks, { mainClaims: false, minChunkCost: 64, minChunkRows: 16 });
        try {
          for (let r = 0; r < 3; r++) expect(await index.searchBatch(batch(64), { ...search, threads: 2 })).toEqual(wantBatch);
          expect(await index.searchBatch(batch(16, 8), { ...search, threads: 2 })).toEqual(wantBatch.slice(8, 24));
        } finally {
          Object.assign(searchTestHooks, saved);
        }
        expect(await index.searchBatch(batch(64), { ...search, threads: 3 })).toEqual(wantBatch);
        const stats = index.searchThreadStats();
        expect(stats.workerChunks).toBeGreaterThan(0);
        expect(stats.workerFailures).toBe(0);
      } finally {
        if (restore !== undefined) swap(restore);
        else swap(new ScanKernels());
      }
    });
  }
});
