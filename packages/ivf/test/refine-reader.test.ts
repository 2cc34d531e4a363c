/**
 * Issue 13, refine's cold row groups through an object reader kept open (one open per index, not
 * one open + fstat + close per query) into reused scratch slabs: results equal refine over whole
 * cached partitions exactly (ids and distances) over a local directory and in memory, with the row
 * cache empty, partly warm and full; zero IO after prewarm where it held before (counted at
 * IoStatsStore); a corrupt cold group is still the typed error; the reader's descriptor is given
 * back by `close` (counted in /proc/self/fd) and a refine after close still works; a file replaced
 * under an open index is read at the version the index opened.
 */
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexCache } from "@quiver/cache";
import { IoStatsStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DistanceType, type QuantizerKind, gaussianMixture, openVectorIndex, readIvfIndexState } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const DIM = 32;
const N = 3000;
const P = 8;
// 16 KiB groups of 128 rows at dim 32: 3000 rows are about 28 groups
const GROUP = 16 * 1024;
const queries = gaussianMixture({ n: 64, dim: DIM, clusters: 10, seed: 8, centerSeed: 7 });
const batch = (n: number, from = 0) => Array.from({ length: n }, (_, i) => queries.subarray((from + i) * DIM, (from + i + 1) * DIM));
const opts = { k: 6, nprobes: 4, refineFactor: 5, threads: 1 };

let root: string;
const built = new Map<string, Uint8Array>();

async function indexBytes(kind: QuantizerKind, distance: DistanceType, seed = 7): Promise<Uint8Array> {
  const key = `${kind}/${distance}/${seed}`;
  let bytes = built.get(key);
  if (bytes === undefined) {
    const mem = new MemoryObjectStore();
    const data = gaussianMixture({ n: N, dim: DIM, clusters: 10, seed });
    await buildIvfIndex(mem, "idx", data, N, DIM, { quantizer: kind, distance, numPartitions: P, seed: 3, maxIters: 6, threads: 1, ...(kind === "pq" ? { numSubVectors: 8 } : {}) });
    built.set(key, (bytes = await mem.get("idx")));
  }
  return bytes;
}

let dirs = 0;
async function localWith(bytes: Uint8Array): Promise<LocalDirectoryStore> {
  const store = new LocalDirectoryStore(join(root, `s${dirs++}`));
  await store.put("idx", bytes);
  return store;
}

async function memoryWith(bytes: Uint8Array): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  await store.put("idx", bytes);
  return store;
}

const openFds = () => readdirSync("/proc/self/fd").length;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-refine-reader-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("refine's cold row groups through a kept-open reader and scratch slabs", () => {
  const kinds: QuantizerKind[] = ["flat", "sq", "pq"];
  const metrics: DistanceType[] = ["l2", "cosine"];
  for (const kind of kinds) {
    for (const distance of metrics) {
      it(`${kind} / ${distance}: equals refine over whole cached partitions, row cache empty / partly warm / full, local and memory`, async () => {
        const bytes = await indexBytes(kind, distance);
        const mem = await memoryWith(bytes);
        const whole = await openVectorIndex(mem, "idx", { cache: IndexCache.inMemory(2 ** 28), prewarm: true });
        const want1 = await whole.searchBatch(batch(1), opts);
        const want16 = await whole.searchBatch(batch(16), opts);
        for (const store of [await localWith(bytes), mem] as ObjectStore[]) {
          // empty (1 byte: nothing is ever admitted), partly warm (3 groups, prewarmed), full (everything)
          for (const [rawVectorCacheBytes, prewarm] of [[1, false], [3 * GROUP, true], [2 ** 24, false]] as const) {
            const index = await openVectorIndex(store, "idx", { rawVectorCacheBytes, prewarm, onWarning: () => {} });
            expect(await index.searchBatch(batch(1), opts)).toEqual(want1);
            expect(await index.searchBatch(batch(16), opts)).toEqual(want16);
            // again: now partly served from what the row cache admitted
            expect(await index.searchBatch(batch(16), opts)).toEqual(want16);
            await index.close();
          }
        }
        await whole.close();
      });
    }
  }

  it("zero IO after prewarm with the default cache (counted at IoStatsStore over a local directory and memory): no read, no reader opened", async () => {
    const bytes = await indexBytes("pq", "l2");
    for (const inner of [await localWith(bytes), await memoryWith(bytes)] as ObjectStore[]) {
      const counted = new IoStatsStore(inner);
      const index = await openVectorIndex(counted, "idx", { prewarm: true });
      counted.reset();
      await index.searchBatch(batch(16), { ...opts, refineFactor: 20 });
      expect(counted.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0, bytesRead: 0 });
      expect(index.rawReaderOpens).toBe(0);
      await index.close();
    }
  });

  it("one reader serves every query of an index: one open (one head) for many cold refines, reads counted per merged request", async () => {
    const bytes = await indexBytes("sq", "l2");
    const counted = new IoStatsStore(await localWith(bytes));
    const index = await openVectorIndex(counted, "idx", { rawVectorCacheBytes: 1, onWarning: () => {} });
    await index.prewarm({ vectors: false });
    counted.reset();
    for (let i = 0; i < 20; i++) await index.search(queries.subarray(i * DIM, (i + 1) * DIM), opts);
    await index.searchBatch(batch(32), opts);
    const total = counted.snapshot().total;
    expect(total.heads).toBe(1);
    expect(index.rawReaderOpens).toBe(1);
    expect(total.readRequests).toBeGreaterThanOrEqual(20);
    // at most one 16 KiB group per candidate, never whole raw vectors
    expect(total.bytesRead).toBeLessThanOrEqual(52 * opts.k * opts.refineFactor * GROUP);
    await index.close();
  });

  it("a store without openReader (as S3) keeps the getRanges path: no HEAD, no reader, same results", async () => {
    const bytes = await indexBytes("pq", "cosine");
    const mem = await memoryWith(bytes);
    const want = await (await openVectorIndex(mem, "idx", { cache: IndexCache.inMemory(2 ** 28), prewarm: true })).searchBatch(batch(16), opts);
    const plain: ObjectStore = { get: (p) => mem.get(p), getRange: (p, r) => mem.getRange(p, r), getRanges: (p, r, o) => mem.getRanges(p, r, o), head: (p) => mem.head(p), put: (p, d, o) => mem.put(p, d, o), list: (p) => mem.list(p), delete: (p) => mem.delete(p), copy: (a, b) => mem.copy(a, b), rename: (a, b) => mem.rename(a, b) };
    const counted = new IoStatsStore(plain);
    expect(counted.openReader).toBeUndefined();
    const index = await openVectorIndex(counted, "idx", { rawVectorCacheBytes: 1, onWarning: () => {} });
    await index.prewarm({ vectors: false });
    counted.reset();
    expect(await index.searchBatch(batch(16), opts)).toEqual(want);
    expect(counted.snapshot().total.heads).toBe(0);
    expect(counted.snapshot().total.readRequests).toBeGreaterThan(0);
    expect(index.rawReaderOpens).toBe(0);
    await index.close();
  });

  it("a corrupt cold group (valid frame, flipped raw byte) read through the reader is RAW_ROW_GROUP_CHECKSUM_MISMATCH, cached or not", async () => {
    const good = await indexBytes("pq", "l2");
    const state = await readIvfIndexState(await memoryWith(good), "idx");
    const bytes = good.slice();
    // one flipped byte in every raw row of every partition: whichever group refine reads is bad
    for (const loc of state.partitions) for (let r = 0; r < loc.rows; r++) bytes[loc.raw!.offset + r * DIM * 4 + 1]! ^= 0x40;
    const store = await localWith(bytes);
    for (const rawVectorCacheBytes of [1, 2 ** 24]) {
      const index = await openVectorIndex(store, "idx", { rawVectorCacheBytes, onWarning: () => {} });
      await expect(index.search(queries.subarray(0, DIM), { k: 5, nprobes: P, refineFactor: 20 })).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH", stage: "checksum" });
      // nothing bad entered the row cache: the same search fails the same way
      await expect(index.search(queries.subarray(0, DIM), { k: 5, nprobes: P, refineFactor: 20 })).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH" });
      await index.close();
    }
  });

  it("close gives the reader's descriptor back (no fd leak over many indexes); refine after close still works", async () => {
    const bytes = await indexBytes("sq", "l2");
    const store = await localWith(bytes);
    const want = await (await openVectorIndex(await memoryWith(bytes), "idx", { cache: IndexCache.inMemory(2 ** 28), prewarm: true })).searchBatch(batch(4), opts);
    const before = openFds();
    const open = [];
    for (let i = 0; i < 24; i++) {
      const index = await openVectorIndex(store, "idx", { rawVectorCacheBytes: 1, onWarning: () => {} });
      expect(await index.searchBatch(batch(4), opts)).toEqual(want);
      open.push(index);
    }
    // each open index holds its one reader
    expect(openFds() - before).toBeGreaterThanOrEqual(24);
    await Promise.all(open.map((x) => x.close()));
    expect(openFds()).toBeLessThanOrEqual(before + 2);
    // after close: each cold read opens and closes a reader of its own, results unchanged, nothing held
    const closed = open[0]!;
    const opens = closed.rawReaderOpens;
    expect(await closed.searchBatch(batch(4), opts)).toEqual(want);
    expect(closed.rawReaderOpens).toBeGreaterThan(opens);
    expect(openFds()).toBeLessThanOrEqual(before + 2);
  });

  it("a file replaced under an open index is read at the version the index opened (the reader pins it)", async () => {
    const v1 = await indexBytes("sq", "l2");
    const v2 = await indexBytes("sq", "l2", 11);
    const store = await localWith(v1);
    const want = await (await openVectorIndex(await memoryWith(v1), "idx", { cache: IndexCache.inMemory(2 ** 28), prewarm: true })).searchBatch(batch(16, 16), opts);
    const index = await openVectorIndex(store, "idx", { rawVectorCacheBytes: 1, onWarning: () => {} });
    await index.prewarm({ vectors: false });
    await index.searchBatch(batch(2), opts); // opens the reader
    await store.put("idx", v2);
    // without the pinned reader these reads would come from v2's bytes and fail their CRC-32s
    expect(await index.searchBatch(batch(16, 16), opts)).toEqual(want);
    await index.close();
  });
});
