/**
 * Issue 13 "search scaling" with a row cache smaller than the raw vectors: refine reads the cold
 * row groups of all probed partitions in one multi-range read, verifies each against its CRC-32,
 * and admits a group into the row cache only while the cache has room (a full row cache is never
 * churned). The results equal refine over whole cached partitions exactly (ids and distances) for
 * every quantizer and metric at batches of 1, 16 and 256; prewarm fills only what fits; a corrupt
 * cold group is the typed error whether or not it would enter the cache (a corrupt cached group
 * as a counted miss that reloads: raw-row-group.test.ts).
 */
import { IndexCache } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { type DistanceType, type QuantizerKind, gaussianMixture, openVectorIndex, readIvfIndexState } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const DIM = 32;
const N = 4000;
const P = 8;
// 16 KiB groups of 128 rows at dim 32: 4000 rows are about 32 groups
const queries = gaussianMixture({ n: 256, dim: DIM, clusters: 10, seed: 8, centerSeed: 7 });
const batch = (n: number) => Array.from({ length: n }, (_, i) => queries.subarray(i * DIM, (i + 1) * DIM));

async function built(kind: QuantizerKind, distance: DistanceType): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  const data = gaussianMixture({ n: N, dim: DIM, clusters: 10, seed: 7 });
  await buildIvfIndex(store, "idx", data, N, DIM, { quantizer: kind, distance, numPartitions: P, seed: 3, maxIters: 6, threads: 1, ...(kind === "pq" ? { numSubVectors: 8 } : {}) });
  return store;
}

describe("refine with a row cache too small for the raw vectors", () => {
  const kinds: QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
  const metrics: DistanceType[] = ["l2", "cosine", "dot"];
  for (const kind of kinds) {
    for (const distance of metrics) {
      it(`${kind} / ${distance}: equals refine over whole cached partitions at batches 1, 16, 256`, async () => {
        const store = await built(kind, distance);
        const whole = await openVectorIndex(store, "idx", { cache: IndexCache.inMemory(2 ** 28), prewarm: true });
        // room for 3 of the ~32 groups: most refines read cold groups that do not enter the cache
        const small = await openVectorIndex(store, "idx", { rawVectorCacheBytes: 3 * 16 * 1024, onWarning: () => {} });
        const opts = { k: 6, nprobes: 4, refineFactor: 4, threads: 1 };
        for (const size of [1, 16, 256]) {
          const qs = batch(size);
          expect(await small.searchBatch(qs, opts)).toEqual(await whole.searchBatch(qs, opts));
        }
        const stats = small.cacheStats();
        expect(stats.rawRows.misses).toBeGreaterThan(0);
        expect(stats.rawVectorCacheUsedBytes).toBeLessThanOrEqual(3 * 16 * 1024);
        await whole.close();
        await small.close();
      });
    }
  }

  it("a full row cache keeps its groups: later refines hit them and never evict (counted at the cache)", async () => {
    const store = await built("pq", "l2");
    const index = await openVectorIndex(store, "idx", { rawVectorCacheBytes: 4 * 16 * 1024, onWarning: () => {} });
    const opts = { k: 5, nprobes: P, refineFactor: 10 };
    await index.search(queries.subarray(0, DIM), opts);
    const used = index.cacheStats().rawVectorCacheUsedBytes;
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(4 * 16 * 1024);
    for (let i = 1; i < 40; i++) await index.search(queries.subarray(i * DIM, (i + 1) * DIM), opts);
    // what entered first is still there: a repeat of the first query hits at least as many groups
    const before = index.cacheStats().rawRows.hits;
    await index.search(queries.subarray(0, DIM), opts);
    expect(index.cacheStats().rawRows.hits).toBeGreaterThan(before);
    expect(index.cacheStats().rawVectorCacheUsedBytes).toBe(used);
  });

  it("cold groups of every probed partition come in one multi-range read; zero reads once everything is cached", async () => {
    const store = await built("sq", "l2");
    const counted = new IoStatsStore(store);
    const small = await openVectorIndex(counted, "idx", { rawVectorCacheBytes: 1, onWarning: () => {} });
    await small.prewarm({ vectors: false });
    counted.reset();
    await small.search(queries.subarray(0, DIM), { k: 5, nprobes: P, refineFactor: 20 });
    const calls = counted.snapshot().total;
    // 100 candidates over 8 partitions: at most one request per distinct group (adjacent ones merged), and never the whole raw vectors
    expect(calls.readRequests).toBeGreaterThan(0);
    expect(calls.bytesRead).toBeLessThan(N * DIM * 4);
    // the default own cache holds everything after prewarm: refine reads nothing
    const warm = await openVectorIndex(counted, "idx", { prewarm: true });
    counted.reset();
    await warm.searchBatch(batch(16), { k: 5, nprobes: P, refineFactor: 20 });
    expect(counted.snapshot().total.readRequests).toBe(0);
  });

  it("prewarm with a small row cache fills only what fits and stops reading raw vectors", async () => {
    const store = await built("pq", "l2");
    const counted = new IoStatsStore(store);
    const index = await openVectorIndex(counted, "idx", { rawVectorCacheBytes: 2 * 16 * 1024, onWarning: () => {} });
    counted.reset();
    await index.prewarm();
    const read = counted.snapshot().total.bytesRead;
    const stats = index.cacheStats();
    expect(stats.rawVectorCacheUsedBytes).toBeGreaterThan(0);
    expect(stats.rawVectorCacheUsedBytes).toBeLessThanOrEqual(2 * 16 * 1024);
    // codes of all partitions, raw vectors of far fewer than all
    expect(read).toBeLessThan(N * DIM * 4);
  });

  it("a corrupt cold group read from the store is RAW_ROW_GROUP_CHECKSUM_MISMATCH, also when it would not be cached", async () => {
    const store = await built("pq", "l2");
    const state = await readIvfIndexState(store, "idx");
    const bytes = (await store.get("idx")).slice();
    const p = state.partitions.findIndex((l) => l.rows > 0);
    const loc = state.partitions[p]!;
    // flip a byte of every raw row of partition p (section CRCs are not consulted by row-group reads)
    for (let r = 0; r < loc.rows; r++) bytes[loc.raw!.offset + r * DIM * 4 + 1]! ^= 0x40;
    const bad = new MemoryObjectStore();
    await bad.put("idx", bytes);
    for (const rawVectorCacheBytes of [1, 2 ** 24]) {
      const index = await openVectorIndex(bad, "idx", { rawVectorCacheBytes, onWarning: () => {} });
      await expect(index.search(queries.subarray(0, DIM), { k: 5, nprobes: P, refineFactor: 20 })).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH", stage: "checksum" });
    }
  });
});
