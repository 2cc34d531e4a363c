import { IndexCache } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { type IvfVectorIndex, type QuantizerKind, bruteForceKnn, gaussianMixture, openVectorIndex, recallAtK } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const N = 3000;
const DIM = 32;
const Q = 20;
const data = gaussianMixture({ n: N, dim: DIM, clusters: 16, seed: 7 });
const queries = gaussianMixture({ n: Q, dim: DIM, clusters: 16, seed: 8, centerSeed: 7 });
const truth = bruteForceKnn(data, N, DIM, queries, Q, 10, "l2");
const q = (i: number) => queries.subarray(i * DIM, (i + 1) * DIM);

/** Recall floors per quantizer, a few points under what each reaches on this data (comments in the tests). */
const REFINE_RECALL: Record<QuantizerKind, number> = { flat: 0.99, sq: 0.99, pq: 0.9, rabitq: 0.95 };
const PLAIN_RECALL: Record<QuantizerKind, number> = { flat: 0.99, sq: 0.97, pq: 0.25, rabitq: 0.37 };

function sortedByDistanceThenRowId(hits: readonly { id: number | bigint; distance: number }[]): boolean {
  return hits.every((h, i) => i === 0 || hits[i - 1]!.distance < h.distance || (hits[i - 1]!.distance === h.distance && hits[i - 1]!.id < h.id));
}

describe.each<QuantizerKind>(["flat", "sq", "pq", "rabitq"])("search over %s", (kind) => {
  let index: IvfVectorIndex;
  let store: IoStatsStore;
  beforeAll(async () => {
    const inner = new MemoryObjectStore();
    await buildIvfIndex(inner, "v/index.qvr", data, N, DIM, { quantizer: kind, distance: "l2", numPartitions: 8, seed: 3, threads: 1, maxIters: 10 });
    store = new IoStatsStore(inner);
    index = await openVectorIndex(store, "v/index.qvr", { cache: IndexCache.inMemory() });
  });

  it("returns k sorted hits; recall with all partitions probed and refine is near exact", async () => {
    const results = [];
    for (let i = 0; i < Q; i++) {
      const hits = await index.search(q(i), { k: 10, nprobes: 8, refineFactor: 10 });
      expect(hits).toHaveLength(10);
      expect(sortedByDistanceThenRowId(hits)).toBe(true);
      results.push(hits.map((h) => h.id));
    }
    // Measured (seeded, deterministic): flat 1.0, SQ 1.0, PQ 0.935, RaBitQ 0.985. PQ here has 2
    // sub-vectors of 16 dims (dim/16), so 100 candidates of 3,000 miss a few true neighbours.
    expect(recallAtK(results, truth, 10)).toBeGreaterThanOrEqual(REFINE_RECALL[kind]);
  });

  it("approximate recall without refine is well above chance", async () => {
    const results = [];
    for (let i = 0; i < Q; i++) results.push((await index.search(q(i), { k: 10, nprobes: 8 })).map((h) => h.id));
    // Measured: flat 1.0, SQ 1.0, PQ 0.29, RaBitQ 0.415 (issue 14: one loose 0.2 let PQ and RaBitQ regress unseen).
    expect(recallAtK(results, truth, 10)).toBeGreaterThanOrEqual(PLAIN_RECALL[kind]);
  });

  it("an allow-list restricts results to its ids", async () => {
    const allow = Array.from({ length: N / 3 }, (_, i) => i * 3);
    const hits = await index.search(q(0), { k: 10, nprobes: 8, allowList: allow });
    expect(hits.length).toBe(10);
    expect(hits.every((h) => Number(h.id) % 3 === 0)).toBe(true);
    expect(await index.search(q(0), { k: 5, nprobes: 8, allowList: [] })).toEqual([]);
  });

  it("each probed partition is one ranged read, then served from the cache", async () => {
    const fresh = await openVectorIndex(store, "v/index.qvr", { cache: IndexCache.inMemory() });
    store.reset();
    await fresh.search(q(1), { k: 10, nprobes: 3 });
    expect(store.snapshot().total).toMatchObject({ readRequests: 3, heads: 0 });
    store.reset();
    await fresh.search(q(1), { k: 10, nprobes: 3 });
    expect(store.snapshot().total.readRequests).toBe(0);
  });
});

describe("search arguments", () => {
  it("rejects a wrong query length, k < 1, refineFactor 0, and refine without raw vectors", async () => {
    const inner = new MemoryObjectStore();
    await buildIvfIndex(inner, "a", data, N, DIM, { quantizer: "pq", distance: "l2", numPartitions: 4, threads: 1, maxIters: 5, storeRawVectors: false });
    const index = await openVectorIndex(inner, "a");
    await expect(index.search(new Float32Array(3), { k: 1 })).rejects.toMatchObject({ name: "QuiverArgumentError", code: "INVALID_ARGUMENT", argument: "query" });
    await expect(index.search(q(0), { k: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.k" });
    await expect(index.search(q(0), { k: 1, refineFactor: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.refineFactor" });
    await expect(index.search(q(0), { k: 1, refineFactor: 2 })).rejects.toThrow(/raw vectors/);
    expect((await index.search(q(0), { k: 3, nprobes: 99 })).length).toBe(3);
  });

  it("cosine and dot indexes rank by their own distance", async () => {
    for (const distance of ["cosine", "dot"] as const) {
      const inner = new MemoryObjectStore();
      await buildIvfIndex(inner, "c", data, N, DIM, { quantizer: "flat", distance, numPartitions: 4, threads: 1, maxIters: 5 });
      const index = await openVectorIndex(inner, "c");
      const t = bruteForceKnn(data, N, DIM, queries, 5, 10, distance);
      const res = [];
      for (let i = 0; i < 5; i++) res.push((await index.search(q(i), { k: 10, nprobes: 4, refineFactor: 2 })).map((h) => h.id));
      expect(recallAtK(res, t, 10)).toBeGreaterThanOrEqual(0.98);
    }
  });
});
