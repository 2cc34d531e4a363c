import { RowAddressSet, buildBitmapIndex, openBitmapIndex } from "@quiver/bitmap";
import { buildBTreeIndex, openBTreeIndex } from "@quiver/btree";
import { IndexCache, MemoryCacheBackend } from "@quiver/cache";
import { isQuiverArgumentError } from "@quiver/format";
import { buildIndexInMemory } from "@quiver/build";
import { gaussianMixture, openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { ScalarQuery, filteredBruteForce, filteredSearch, filteredVectorQuery, runFilteredJob } from "../src/index.js";

const N = 3000;
const DIM = 16;
const vectors = gaussianMixture({ n: N, dim: DIM, clusters: 12, seed: 4 });
const queries = gaussianMixture({ n: 10, dim: DIM, clusters: 12, seed: 5, centerSeed: 4 });
const rowIds = BigUint64Array.from({ length: N }, (_, i) => (BigInt(i % 3) << 32n) | BigInt(i));
const color = Array.from({ length: N }, (_, i) => ["red", "green", "blue", "cyan"][(i * 7) % 4]!);
const size = Array.from({ length: N }, (_, i) => (i % 11 === 0 ? null : (i * 31) % 1000));
const store = new MemoryObjectStore();
beforeAll(async () => {
  await buildIndexInMemory({ store, path: "t/v.ivf", vectors, dim: DIM, quantizer: "flat", distanceType: "l2", numPartitions: 16, seed: 1, ids: rowIds, threads: 1, maxIterations: 8 });
  await buildBitmapIndex(store, "t/color", [{ rowIds, values: color }], { valueType: "utf8" });
  await buildBTreeIndex(store, "t/size", [{ rowIds, values: size }], { valueType: "int32", pageSize: 256 });
});

const at = (id: bigint) => Number(id & 0xffffffffn);

describe("filtered vector search", () => {
  it("every hit satisfies the filter; probing all partitions with a flat index equals brute force over the filtered rows", async () => {
    const ivf = await openVectorIndex(store, "t/v.ivf");
    const scalar = new ScalarQuery({ color: await openBitmapIndex(store, "t/color"), size: await openBTreeIndex(store, "t/size") });
    const filter = { op: "and", filters: [{ column: "color", op: "in", values: ["red", "blue"] }, { op: "not", filter: { column: "size", op: "range", lower: 500 } }] } as const;
    const allowed = (i: number) => (color[i] === "red" || color[i] === "blue") && size[i] !== null && size[i]! < 500;
    const rows = await scalar.rows(filter);
    expect(rows.size()).toBe(Array.from({ length: N }, (_, i) => i).filter(allowed).length);
    for (let j = 0; j < 10; j++) {
      const q = queries.subarray(j * DIM, (j + 1) * DIM);
      const r = await filteredVectorQuery(ivf, scalar, q, filter, { k: 10, nprobes: 16 });
      expect(r.hits.map((h) => at(h.id as bigint))).toEqual(filteredBruteForce(vectors, N, DIM, q, 10, "l2", allowed));
      const few = await filteredVectorQuery(ivf, scalar, q, filter, { k: 10, nprobes: 2 });
      expect(few.hits).toHaveLength(10);
      for (const h of few.hits) expect(allowed(at(h.id as bigint))).toBe(true);
    }
  });

  it("a filter leaving fewer than k rows in the probed partitions widens the probes until k results (or all rows) are found", async () => {
    const ivf = await openVectorIndex(store, "t/v.ivf");
    const q = queries.subarray(0, DIM);
    // 12 rows spread over the index: the nearest 1 partition cannot hold 10 of them.
    const ids = Array.from({ length: 12 }, (_, i) => rowIds[i * 250]!);
    const rows = RowAddressSet.fromRowIds(ids);
    const plain = await ivf.search(q, { k: 10, nprobes: 1, prefilter: rows });
    expect(plain.length).toBeLessThan(10);
    const r = await filteredSearch(ivf, q, rows, { k: 10, nprobes: 1 });
    expect(r.hits).toHaveLength(10);
    expect(r.passes).toBeGreaterThan(1);
    const all = await filteredSearch(ivf, q, RowAddressSet.fromRowIds(ids.slice(0, 3)), { k: 10, nprobes: 1 });
    expect(all.hits.map((h) => h.id).sort()).toEqual(ids.slice(0, 3).sort());
    expect(all.nprobes).toBe(16);
    expect((await filteredSearch(ivf, q, RowAddressSet.empty(), { k: 5 })).hits).toEqual([]);
  });

  it("from a prewarmed cache the whole filtered query makes 0 store requests", async () => {
    const backend = new MemoryCacheBackend();
    const cache = new IndexCache(backend);
    const warm = await openVectorIndex(store, "t/v.ivf", { cache });
    await warm.prewarm();
    const color = await openBitmapIndex(store, "t/color", { cache });
    await color.prewarm();
    const size = await openBTreeIndex(store, "t/size", { cache });
    await size.prewarm();
    const io = new IoStatsStore(store);
    // The identity names the file's cache entries (an application keeps it from the build or the first open).
    const ivf = await openVectorIndex(io, "t/v.ivf", { cache, identity: warm.identity });
    const scalar = new ScalarQuery({ color: await openBitmapIndex(io, "t/color", { cache, identity: color.identity }), size: await openBTreeIndex(io, "t/size", { cache, identity: size.identity }) });
    const r = await filteredVectorQuery(ivf, scalar, queries.subarray(0, DIM), { op: "or", filters: [{ column: "color", op: "eq", value: "cyan" }, { column: "size", op: "isNull" }] }, { k: 10 });
    expect(r.hits).toHaveLength(10);
    expect(io.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
  });

  it("rejects a leaf without an indexed column and unknown options", async () => {
    const scalar = new ScalarQuery({ color: await openBitmapIndex(store, "t/color") });
    await expect(scalar.rows({ op: "eq", value: "red" })).rejects.toSatisfy((e) => isQuiverArgumentError(e, "INVALID_ARGUMENT"));
    await expect(scalar.rows({ column: "price", op: "eq", value: 1 })).rejects.toSatisfy((e) => isQuiverArgumentError(e, "INVALID_ARGUMENT"));
    const ivf = await openVectorIndex(store, "t/v.ivf");
    await expect(filteredSearch(ivf, queries.subarray(0, DIM), RowAddressSet.empty(), { k: 1, nprobe: 3 } as never)).rejects.toSatisfy((e) => isQuiverArgumentError(e, "UNKNOWN_OPTION"));
  });

  it("the job:filtered job answers from the cache with 0 store requests (seeded data: recall@10 above 0.75)", async () => {
    const r = await runFilteredJob({ rows: 4000, dim: 8, queries: 5 });
    expect(r.warmStoreRequests).toEqual({ reads: 0, heads: 0, lists: 0 });
    expect(r.filteredRows).toBeGreaterThan(10);
    expect(r.recallAt10).toBeGreaterThan(0.75);
  });
});
