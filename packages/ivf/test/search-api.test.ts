/** Issue 12, "an API a LanceDB user recognises": defaults, names, plain JSON-safe hits, batch search, Arrow out. */
import { IndexCache } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { InMemoryPartitionSource, type IvfVectorIndex, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const DIM = 8;
let store: MemoryObjectStore;
let index: IvfVectorIndex;
let vectors: Float32Array;
const q = (i: number) => vectors.slice(i * DIM, (i + 1) * DIM);

beforeAll(async () => {
  const input = syntheticIndexInput({ n: 300, dim: DIM, numPartitions: 25, codeWidth: DIM, raw: true, seed: 5 });
  vectors = input.vectors;
  store = new MemoryObjectStore();
  await writeIvfIndex(store, "t", input);
  index = await openVectorIndex(store, "t");
});

describe("search options", () => {
  it("defaults: k (limit) 10, nprobes 20", async () => {
    const cache = IndexCache.inMemory();
    const fresh = await openVectorIndex(store, "t", { cache });
    const hits = await fresh.search(q(0));
    expect(hits).toHaveLength(10);
    expect(cache.stats().byType.IvfPartitionSq!.loads).toBe(20);
    expect(hits).toEqual(await index.search(q(0), { k: 10, nprobes: 20 }));
  });

  it("limit is k's LanceDB name; both given must agree", async () => {
    expect(await index.search(q(1), { limit: 4 })).toEqual(await index.search(q(1), { k: 4 }));
    await expect(index.search(q(1), { k: 4, limit: 5 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.limit" });
  });

  it("distanceType must be the index's metric", async () => {
    expect(await index.search(q(2), { distanceType: "l2" })).toHaveLength(10);
    await expect(index.search(q(2), { distanceType: "cosine" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.distanceType" });
  });

  it("hits are plain objects with a JSON-safe number id; idType bigint returns bigints", async () => {
    const hits = await index.search([...q(3)], { k: 3, refineFactor: 2 });
    expect(typeof hits[0]!.id).toBe("number");
    expect(JSON.parse(JSON.stringify(hits))).toEqual(hits);
    const big = await index.search(q(3), { k: 3, refineFactor: 2, idType: "bigint" });
    expect(big.map((h) => h.id)).toEqual(hits.map((h) => BigInt(h.id)));
  });

  it("an id above 2^53 - 1 stays exact (a bigint) even with idType number", async () => {
    const huge = 2n ** 60n + 7n;
    const codes = new Uint8Array(DIM * 2);
    const s = new MemoryObjectStore();
    const input = syntheticIndexInput({ n: 2, dim: DIM, numPartitions: 1, codeWidth: DIM, raw: false });
    const source = new InMemoryPartitionSource({ numPartitions: 1, partitions: new Uint32Array(2), codes, codeWidth: DIM, rowIds: BigUint64Array.of(5n, huge) });
    await writeIvfIndex(s, "h", { dim: DIM, distance: "l2", centroids: new Float32Array(DIM), quantizer: input.quantizer, codeWidth: DIM, source });
    const hits = await (await openVectorIndex(s, "h")).search(new Float32Array(DIM), { k: 2 });
    expect(hits.map((h) => h.id).sort()).toEqual([5, huge].sort());
  });
});

describe("batch search and Arrow out", () => {
  it("searchBatch answers many queries in one call, in order, like single searches", async () => {
    const list = [0, 1, 2, 3, 4].map(q);
    const one = await Promise.all(list.map((x) => index.search(x, { k: 5, nprobes: 6 })));
    expect(await index.searchBatch(list, { k: 5, nprobes: 6 })).toEqual(one);
    const flat = new Float32Array(5 * DIM);
    list.forEach((x, i) => flat.set(x, i * DIM));
    expect(await index.searchBatch(flat, { k: 5, nprobes: 6 })).toEqual(one);
    await expect(index.searchBatch(new Float32Array(DIM + 1))).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "queries" });
    await expect(index.searchBatch([q(0), [1, 2]])).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "queries[1]" });
  });

  it("searchArrow returns a table (query, id, _distance) with the same hits", async () => {
    const list = [q(5), q(6)];
    const batch = await index.searchBatch(list, { k: 3, idType: "bigint" });
    const table = await index.searchArrow(list, { k: 3 });
    expect(table.schema.fields.map((f) => f.name)).toEqual(["query", "id", "_distance"]);
    expect(table.numRows).toBe(6);
    const rows = table.toArray().map((r) => ({ query: r.query as number, id: r.id as bigint, distance: r._distance as number }));
    expect(rows.map((r) => r.id)).toEqual(batch.flat().map((h) => h.id));
    expect(rows.map((r) => r.query)).toEqual([0, 0, 0, 1, 1, 1]);
    rows.forEach((r, i) => expect(r.distance).toBeCloseTo(batch.flat()[i]!.distance, 5));
    expect((await index.searchArrow(q(5), { k: 3 })).numRows).toBe(3);
  });
});

describe("open options", () => {
  it("prewarm: true loads everything at open; searches then read nothing", async () => {
    const counted = new IoStatsStore(store);
    const warm = await openVectorIndex(counted, "t", { cache: IndexCache.inMemory(), prewarm: true });
    counted.reset();
    await warm.searchBatch([q(0), q(1)], { nprobes: 25, refineFactor: 3 });
    expect(counted.snapshot().total.readRequests).toBe(0);
  });
  it("prewarm: true without a cache warms the index's own cache: searches then read nothing", async () => {
    const counted = new IoStatsStore(store);
    const warm = await openVectorIndex(counted, "t", { prewarm: true });
    counted.reset();
    await warm.searchBatch([q(0), q(1)], { nprobes: 25, refineFactor: 3 });
    expect(counted.snapshot().total.readRequests).toBe(0);
  });
});
