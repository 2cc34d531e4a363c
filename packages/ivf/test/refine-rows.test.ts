/** Issue 13: refine reads only the candidates' raw rows, in their own cache; the self-sizing cache and its stats. */
import { IndexCache } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { RAW_ROW_GROUP_BYTES, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const DIM = 256;
const N = 2400;
const P = 4;
let store: MemoryObjectStore;
let vectors: Float32Array;
let rawBytes: number;
const q = (i: number) => vectors.slice(i * DIM, (i + 1) * DIM);
const REFINE = { k: 3, nprobes: P, refineFactor: 2 } as const;

beforeAll(async () => {
  const input = syntheticIndexInput({ n: N, dim: DIM, numPartitions: P, codeWidth: 16, raw: true, seed: 9 });
  vectors = input.vectors;
  store = new MemoryObjectStore();
  await writeIvfIndex(store, "r", input);
  rawBytes = N * DIM * 4;
});

describe("refine by row groups", () => {
  it("gives exactly the hits of refine over whole cached partitions", async () => {
    const whole = await openVectorIndex(store, "r", { cache: IndexCache.inMemory(2 ** 30), prewarm: true });
    const rows = await openVectorIndex(store, "r", { onWarning: () => {} });
    for (let i = 0; i < 40; i++) {
      const query = q(i * 7);
      query[0] = query[0]! + 0.01 * i;
      expect(await rows.search(query, REFINE)).toEqual(await whole.search(query, REFINE));
      expect(await rows.search(query, { k: 7, nprobes: 2, refineFactor: 5 })).toEqual(await whole.search(query, { k: 7, nprobes: 2, refineFactor: 5 }));
    }
    expect(whole.cacheStats().vectors.hits).toBeGreaterThan(0);
    expect(rows.cacheStats().rawRows.misses).toBeGreaterThan(0);
  });

  it("reads only the row groups of the candidates, and a repeat reads nothing", async () => {
    const counted = new IoStatsStore(store);
    const index = await openVectorIndex(counted, "r");
    await index.prewarm({ vectors: false });
    counted.reset();
    const first = await index.search(q(3), REFINE);
    const read = counted.snapshot().total.bytesRead;
    // 6 candidates: at most 6 groups (a coalesced read may bridge gaps of up to 4 groups between them).
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThanOrEqual(6 * 5 * RAW_ROW_GROUP_BYTES);
    expect(read).toBeLessThan(rawBytes / 4);
    counted.reset();
    expect(await index.search(q(3), REFINE)).toEqual(first);
    expect(counted.snapshot().total.readRequests).toBe(0);
    const stats = index.cacheStats();
    expect(stats.rawRows.hits).toBeGreaterThan(0);
    expect(stats.codes.hitRate).toBeGreaterThan(0.5);
  });

  it("raw rows never evict code partitions: codes stay hits while refine reads rows", async () => {
    const index = await openVectorIndex(store, "r", { rawVectorCacheBytes: 2 * RAW_ROW_GROUP_BYTES, onWarning: () => {} });
    await index.prewarm({ vectors: false });
    const before = index.cacheStats().codes;
    for (let i = 0; i < 30; i++) await index.search(q(i), REFINE);
    const after = index.cacheStats();
    expect(after.codes.misses).toBe(before.misses);
    expect(after.codes.hits - before.hits).toBe(30 * P);
    expect(after.rawVectorCacheUsedBytes).toBeLessThanOrEqual(2 * RAW_ROW_GROUP_BYTES);
  });
});

describe("the self-sizing cache", () => {
  it("an index opened without a cache gets one that holds it all, and says nothing", async () => {
    const warnings: string[] = [];
    const counted = new IoStatsStore(store);
    const index = await openVectorIndex(counted, "r", { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    const stats = index.cacheStats();
    expect(stats.cacheBytes).toBeGreaterThan(0);
    expect(stats.rawVectorCacheBytes).toBeGreaterThanOrEqual(rawBytes);
    await index.search(q(1), REFINE);
    counted.reset();
    await index.search(q(1), REFINE);
    expect(counted.snapshot().total.readRequests).toBe(0);
    expect(index.cacheStats().codes.hits).toBe(P);
  });

  it("warns once, with the numbers, when the working set cannot fit cacheBytes", async () => {
    const warnings: string[] = [];
    const index = await openVectorIndex(store, "r", { cacheBytes: 100_000, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/raw vectors 2\.3 MiB/);
    expect(warnings[0]).toMatch(/cacheBytes given/);
    // Still correct, just slower.
    const ref = await openVectorIndex(store, "r", { cache: IndexCache.inMemory(2 ** 30), prewarm: true });
    expect(await index.search(q(2), REFINE)).toEqual(await ref.search(q(2), REFINE));
  });

  it("rejects bad budgets and cacheBytes beside a cache", async () => {
    await expect(openVectorIndex(store, "r", { cacheBytes: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.cacheBytes" });
    await expect(openVectorIndex(store, "r", { cacheBytes: 10, cache: IndexCache.inMemory() })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.cacheBytes" });
    await expect(openVectorIndex(store, "r", { rawVectorCacheBytes: 1.5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.rawVectorCacheBytes" });
    await expect(openVectorIndex(store, "r", { onWarning: "x" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.onWarning" });
  });
});

describe("batch search scored per partition", () => {
  it("each result equals the query searched alone (PQ residual and SQ, plain, refine, allow list), and a partition loads once per batch", async () => {
    const sqInput = syntheticIndexInput({ n: 600, dim: 16, numPartitions: 10, codeWidth: 16, raw: true, seed: 4 });
    const sqStore = new MemoryObjectStore();
    await writeIvfIndex(sqStore, "s", sqInput);
    const cases = [
      { st: store, path: "r", vecs: vectors, dim: DIM },
      { st: sqStore, path: "s", vecs: sqInput.vectors, dim: 16 },
    ];
    for (const c of cases) {
      const cache = IndexCache.inMemory(2 ** 30);
      const index = await openVectorIndex(c.st, c.path, { cache });
      const queries = Array.from({ length: 37 }, (_, i) => c.vecs.slice(i * 5 * c.dim, (i * 5 + 1) * c.dim).map((v, j) => v + (j === i % c.dim ? 0.05 : 0)));
      for (const opts of [{ k: 4, nprobes: 3 }, { k: 3, nprobes: 2, refineFactor: 3 }, { k: 5, nprobes: 4, allowList: Array.from({ length: 300 }, (_, i) => 2 * i) }]) {
        const batch = await index.searchBatch(queries, opts);
        expect(batch).toHaveLength(queries.length);
        for (let i = 0; i < queries.length; i++) expect(batch[i]).toEqual(await index.search(queries[i]!, opts));
      }
      const fresh = await openVectorIndex(c.st, c.path, { cache: IndexCache.inMemory(2 ** 30) });
      const counted = fresh.cache!;
      await fresh.searchBatch(queries, { k: 4, nprobes: 3 });
      const s = counted.stats();
      const loads = Object.entries(s.byType).filter(([name]) => name.startsWith("IvfPartition") && name !== "IvfPartitionVectors").reduce((n, [, t]) => n + t.loads, 0);
      expect(loads).toBeGreaterThan(0);
      expect(loads).toBeLessThanOrEqual(fresh.numPartitions);
      expect(s.hits + s.misses).toBeLessThanOrEqual(fresh.numPartitions + 1);
    }
  });
});
