import { IndexCache } from "@quiver/cache";
import { isQuiverArgumentError } from "@quiver/format";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { BTREE_INDEX_FILE, buildBTreeIndex, openBTreeIndex, pageValue } from "../src/index.js";
import { ALL_TYPES, addr, bruteForce, column, randomFilter, rng } from "./helpers.js";

describe.each(ALL_TYPES)("BTree over %s", (type) => {
  it("answers random filters exactly as a brute-force scan (spilled build, many pages)", async () => {
    const store = new MemoryObjectStore();
    const col = column(type, 6000, 7 + type.length);
    const chunks = [0, 2000, 4000].map((s) => ({ rowIds: col.rowIds.slice(s, s + 2000), values: col.values.slice(s, s + 2000) }));
    const built = await buildBTreeIndex(store, "idx/b", chunks, { valueType: type, pageSize: 128, runRows: 1500, pagesPerFile: 7 });
    expect(built.runsSpilled).toBe(4);
    expect(built.numRows).toBe(6000);
    // Spill files are gone after the commit.
    expect((await store.list("idx/b/")).map((m) => m.path).filter((p) => p.includes("_build-"))).toEqual([]);
    const index = await openBTreeIndex(store, "idx/b");
    expect(index.numPages).toBe(Math.ceil(6000 / 128));
    const r = rng(99);
    for (let q = 0; q < 60; q++) {
      const f = randomFilter(type, r);
      expect(Array.from((await index.query(f)).toRowIds()), JSON.stringify(f, (_, v) => (typeof v === "bigint" ? `${v}n` : v))).toEqual(bruteForce(type, col, f));
    }
  });
});

describe("BTree", () => {
  it("a point query reads the index file once, then exactly one page", async () => {
    const inner = new MemoryObjectStore();
    const n = 20_000;
    const rowIds = Array.from({ length: n }, (_, i) => addr(1, i));
    const values = Array.from({ length: n }, (_, i) => (i * 7919) % n); // a permutation: unique values
    await buildBTreeIndex(inner, "t/price", [{ rowIds, values }], { valueType: "int32", pageSize: 512 });
    const io = new IoStatsStore(inner);
    const index = await openBTreeIndex(io, "t/price");
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, heads: 0 });
    const rows = await index.query({ op: "eq", value: 1234 });
    expect(Array.from(rows.toRowIds())).toEqual([rowIds[values.indexOf(1234)]]);
    expect(io.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
    // IS NULL / IS NOT NULL come from the state alone.
    expect((await index.query({ op: "isNotNull" })).size()).toBe(n);
    expect(io.snapshot().total.readRequests).toBe(2);
  });

  it("empty index, all-NULL column and one value", async () => {
    const store = new MemoryObjectStore();
    await buildBTreeIndex(store, "e", [], { valueType: "utf8" });
    const e = await openBTreeIndex(store, "e");
    expect(e.numPages).toBe(0);
    expect((await e.query({ op: "range", lower: "a" })).isEmpty).toBe(true);
    expect((await e.query({ op: "not", filter: { op: "eq", value: "a" } })).isEmpty).toBe(true);

    const ids = [addr(0, 1), addr(0, 2), addr(5, 0)];
    await buildBTreeIndex(store, "n", [{ rowIds: ids, values: [null, null, undefined] }], { valueType: "float64", pageSize: 2 });
    const nulls = await openBTreeIndex(store, "n");
    expect(nulls.numPages).toBe(2);
    expect(Array.from((await nulls.query({ op: "isNull" })).toRowIds())).toEqual(ids);
    expect((await nulls.query({ op: "ne", value: 1 })).isEmpty).toBe(true);
    expect((await nulls.query({ op: "not", filter: { op: "eq", value: 1 } })).isEmpty).toBe(true);
    expect(pageValue(await nulls.page(0), 0)).toBeNull();

    await buildBTreeIndex(store, "one", [{ rowIds: [addr(2, 3)], values: [true] }], { valueType: "bool" });
    const one = await openBTreeIndex(store, "one");
    expect(Array.from((await one.query({ op: "eq", value: true })).toRowIds())).toEqual([addr(2, 3)]);
    expect((await one.query({ op: "eq", value: false })).isEmpty).toBe(true);
  });

  it("NaN is the greatest float and equal to itself; -0 equals +0", async () => {
    const store = new MemoryObjectStore();
    const values = [NaN, 1, -0, 0, Infinity, NaN, -Infinity];
    const rowIds = values.map((_, i) => addr(0, i));
    await buildBTreeIndex(store, "f", [{ rowIds, values }], { valueType: "float64", pageSize: 2 });
    const idx = await openBTreeIndex(store, "f");
    const ids = async (f: Parameters<typeof idx.query>[0]) => Array.from((await idx.query(f)).toRowIds()).map((x) => Number(x));
    expect(await ids({ op: "eq", value: NaN })).toEqual([0, 5]);
    expect(await ids({ op: "eq", value: 0 })).toEqual([2, 3]);
    expect(await ids({ op: "range", lower: 1 })).toEqual([0, 1, 4, 5]);
    expect(await ids({ op: "range", lower: 1, upper: Infinity, upperInclusive: true })).toEqual([1, 4]);
  });

  it("rejects bad arguments before any work", async () => {
    const store = new MemoryObjectStore();
    const bad = async (f: () => Promise<unknown>, code: string) => {
      const e = await f().then(() => undefined, (x: unknown) => x);
      expect(isQuiverArgumentError(e) && e.code).toBe(code);
    };
    await bad(() => buildBTreeIndex(store, "x", [], { valueType: "int32", pageSize: 0 }), "INVALID_ARGUMENT");
    await bad(() => buildBTreeIndex(store, "x", [], { valueType: "int32", pageSize: 1 << 20 }), "ARGUMENT_LIMIT_EXCEEDED");
    await bad(() => buildBTreeIndex(store, "x", [], { valueType: "int32", pagesize: 4 } as never), "UNKNOWN_OPTION");
    await bad(() => buildBTreeIndex(store, "x", [], { valueType: "decimal" as never }), "INVALID_ARGUMENT");
    await bad(() => buildBTreeIndex(store, "x", [{ rowIds: [1n], values: ["a"] }], { valueType: "int32" }), "INVALID_ARGUMENT");
    await bad(() => buildBTreeIndex(store, "x", [{ rowIds: [1n, 1n], values: [1, 2] }], { valueType: "int32" }), "INVALID_ARGUMENT");
    expect(await store.list("x/")).toEqual([]);
    await buildBTreeIndex(store, "ok", [{ rowIds: [1n], values: [1] }], { valueType: "int32" });
    const idx = await openBTreeIndex(store, "ok");
    await bad(() => idx.query({ op: "hasAny", values: [1] }), "INVALID_ARGUMENT");
    await bad(() => idx.query({ op: "eq", value: "1" }), "INVALID_ARGUMENT");
    await bad(() => idx.query({ op: "eq", value: 1, extra: 1 } as never), "UNKNOWN_OPTION");
    let deep: unknown = { op: "isNull" };
    for (let i = 0; i < 100; i++) deep = { op: "not", filter: deep };
    await bad(() => idx.query(deep as never), "ARGUMENT_LIMIT_EXCEEDED");
  });

  it("a rebuild commits a new index file before deleting the old data files", async () => {
    const store = new MemoryObjectStore();
    await buildBTreeIndex(store, "r", [{ rowIds: [1n, 2n], values: [1, 2] }], { valueType: "int32" });
    const old = (await store.list("r/")).map((m) => m.path);
    await buildBTreeIndex(store, "r", [{ rowIds: [1n, 2n], values: [5, 6] }], { valueType: "int32" });
    const now = (await store.list("r/")).map((m) => m.path);
    expect(now).toContain(`r/${BTREE_INDEX_FILE}`);
    expect(now.filter((p) => old.includes(p) && !p.endsWith(BTREE_INDEX_FILE))).toEqual([]);
    const idx = await openBTreeIndex(store, "r", { cache: IndexCache.inMemory() });
    expect(Array.from((await idx.query({ op: "eq", value: 6 })).toRowIds())).toEqual([2n]);
  });
});
