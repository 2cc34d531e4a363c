/**
 * Issue 13 (p99 after prewarm): the warm search path reuses scratch (pooled candidate heaps, the
 * all-live refine's per-index buffers, per-thread centroid-ranking buffers, PQ query terms).
 * Reuse must never change a result: a warm index that has served many searches of other shapes
 * answers exactly like a freshly opened one (no scratch yet, cold cache, the general refine path),
 * concurrent searches on one index answer like sequential ones, and closing drops the scratch.
 */
import { IndexCache } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { type DistanceType, type QuantizerKind, type VectorSearchOptions, gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const N = 900;
const DIM = 16;
const P = 6;
const CONFIGS: readonly [QuantizerKind, DistanceType][] = [
  ["pq", "l2"], ["pq", "cosine"], ["pq", "dot"],
  ["sq", "l2"], ["sq", "cosine"], ["sq", "dot"],
  ["flat", "l2"], ["flat", "cosine"], ["flat", "dot"],
  ["rabitq", "l2"], ["rabitq", "cosine"], ["rabitq", "dot"],
];
const data = gaussianMixture({ n: N, dim: DIM, clusters: 12, seed: 5, centerSeed: 2 });
const queries = gaussianMixture({ n: 6, dim: DIM, clusters: 12, seed: 6, centerSeed: 2 });
const q = (i: number) => queries.subarray(i * DIM, (i + 1) * DIM);
// every third row id is allowed (a prefilter: results then depend on the filter being applied)
const allowed = { has: (id: bigint) => id % 3n === 0n };
const OPTION_SETS: readonly VectorSearchOptions[] = [
  { k: 5, nprobes: 2 },
  { k: 5, nprobes: 3, refineFactor: 4 },
  { k: 4, nprobes: 3, refineFactor: 3, prefilter: allowed },
  { k: 3, nprobes: 2, prefilter: allowed },
  // larger than every earlier one: the scratch grows
  { k: 40, nprobes: P, refineFactor: 9 },
];
const stores = new Map<string, MemoryObjectStore>();

beforeAll(async () => {
  for (const [kind, distance] of CONFIGS) {
    const store = new MemoryObjectStore();
    await buildIvfIndex(store, "i", data, N, DIM, { quantizer: kind, distance, numPartitions: P, seed: 3, threads: 1, maxIters: 4, ...(kind === "pq" ? { numSubVectors: 4 } : {}) });
    stores.set(`${kind}/${distance}`, store);
  }
}, 120_000);

/** The answer of a freshly opened index (its first search: no scratch made yet). */
async function fresh(store: MemoryObjectStore, query: Float32Array, options: VectorSearchOptions) {
  const index = await openVectorIndex(store, "i");
  try {
    return await index.search(query, options);
  } finally {
    await index.close();
  }
}

describe("search scratch reuse", () => {
  it.each(CONFIGS)("%s %s: a warm index that reused its scratch answers like a fresh one (plain, refine, prefilter, growing k / nprobes / refineFactor)", async (kind, distance) => {
    const store = stores.get(`${kind}/${distance}`)!;
    const warm = await openVectorIndex(store, "i", { prewarm: true });
    // warm up with every option set, so later searches run on reused scratch
    for (const o of OPTION_SETS) for (let i = 0; i < 6; i++) await warm.search(q(i), o);
    for (const o of OPTION_SETS) {
      for (let i = 0; i < 6; i++) {
        const got = await warm.search(q(i), o);
        expect(got).toEqual(await fresh(store, q(i), o));
        if (o.prefilter !== undefined) for (const h of got) expect(allowed.has(BigInt(h.id))).toBe(true);
      }
    }
    expect(warm.scratchStats().heaps).toBeGreaterThan(0);
    await warm.close();
  });

  it("interleaved concurrent searches on one index give the sequential results", async () => {
    for (const key of ["pq/l2", "sq/cosine", "flat/dot"]) {
      const store = stores.get(key)!;
      const index = await openVectorIndex(store, "i", { prewarm: true });
      const jobs: [Float32Array, VectorSearchOptions][] = [];
      for (let r = 0; r < 3; r++) for (const o of OPTION_SETS) for (let i = 0; i < 6; i++) jobs.push([q(i), o]);
      const sequential = [];
      for (const [query, o] of jobs) sequential.push(await index.search(query, o));
      // all in flight at once (each awaits the cache between its steps), twice over
      expect(await Promise.all(jobs.map(([query, o]) => index.search(query, o)))).toEqual(sequential);
      expect(await Promise.all(jobs.map(([query, o]) => index.search(query, o)))).toEqual(sequential);
      await index.close();
    }
  });

  it("concurrent searches through a user cache (the general refine path) and a cold start agree with sequential ones", async () => {
    const store = stores.get("pq/cosine")!;
    const index = await openVectorIndex(store, "i", { cache: IndexCache.inMemory(2 ** 26) });
    const jobs = OPTION_SETS.flatMap((o) => [0, 1, 2, 3, 4, 5].map((i) => [q(i), o] as const));
    // cold: the first searches load partitions while others are in flight
    const cold = await Promise.all(jobs.map(([query, o]) => index.search(query, o)));
    const sequential = [];
    for (const [query, o] of jobs) sequential.push(await fresh(store, query, o));
    expect(cold).toEqual(sequential);
    expect(await Promise.all(jobs.map(([query, o]) => index.search(query, o)))).toEqual(sequential);
    await index.close();
  });

  it("closing an index releases its scratch; searches after close still answer and keep none", async () => {
    const store = stores.get("pq/l2")!;
    const index = await openVectorIndex(store, "i", { prewarm: true });
    const before = await index.search(q(0), OPTION_SETS[1]);
    await index.search(q(1), OPTION_SETS[4]);
    const held = index.scratchStats();
    expect(held.heaps).toBeGreaterThan(0);
    expect(held.bytes).toBeGreaterThan(0);
    await index.close();
    expect(index.scratchStats()).toEqual({ heaps: 0, bytes: 0 });
    expect(await index.search(q(0), OPTION_SETS[1])).toEqual(before);
    expect(index.scratchStats()).toEqual({ heaps: 0, bytes: 0 });
  });

  it("searchBatch over reused scratch equals single searches", async () => {
    const store = stores.get("rabitq/l2")!;
    const index = await openVectorIndex(store, "i", { prewarm: true });
    const all = Array.from({ length: 6 }, (_, i) => q(i));
    for (const o of OPTION_SETS) {
      const single = [];
      for (const query of all) single.push(await index.search(query, o));
      expect(await index.searchBatch(all, o)).toEqual(single);
    }
    await index.close();
  });
});
