import { isQuiverArgumentError } from "@quiver/format";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { type ScalarFilter, type ScalarValue, buildBitmapIndex, buildLabelListIndex, openBitmapIndex, openLabelListIndex } from "../src/index.js";
import { ALL_TYPES, addr, bruteForce, column, compareValues, randomFilter, randomValue, rng } from "../../btree/test/helpers.js";

describe.each(ALL_TYPES)("Bitmap over %s", (type) => {
  it("answers random filters exactly as a brute-force scan", async () => {
    const store = new MemoryObjectStore();
    const col = column(type, 3000, 3 + type.length);
    await buildBitmapIndex(store, "idx/m", [{ rowIds: col.rowIds, values: col.values }], { valueType: type });
    const index = await openBitmapIndex(store, "idx/m");
    const r = rng(5);
    for (let q = 0; q < 60; q++) {
      const f = randomFilter(type, r);
      expect(Array.from((await index.query(f)).toRowIds())).toEqual(bruteForce(type, col, f));
    }
  });
});

/** Brute-force truth of a LabelList predicate on one row. */
function listTruth(type: Parameters<typeof compareValues>[0], f: ScalarFilter, list: (ScalarValue | null)[] | null): boolean | null {
  const has = (x: ScalarValue) => list!.some((e) => e !== null && compareValues(type, e, x) === 0);
  switch (f.op) {
    case "and": {
      const t = f.filters.map((g) => listTruth(type, g, list));
      return t.includes(false) ? false : t.includes(null) ? null : true;
    }
    case "or": {
      const t = f.filters.map((g) => listTruth(type, g, list));
      return t.includes(true) ? true : t.includes(null) ? null : false;
    }
    case "not": {
      const t = listTruth(type, f.filter, list);
      return t === null ? null : !t;
    }
    case "isNull":
      return list === null;
    case "isNotNull":
      return list !== null;
    default:
      if (list === null) return null;
      if (f.op === "hasAny") return f.values.some(has);
      if (f.op === "hasAll") return f.values.every(has);
      if (f.op === "contains") return has(f.value);
      throw new Error(f.op);
  }
}

describe("LabelList", () => {
  it.each(["int32", "utf8", "uint64"] as const)("has-any / has-all / contains over %s match brute force", async (type) => {
    const r = rng(17);
    const n = 2000;
    const rowIds = Array.from({ length: n }, (_, i) => addr(i % 2, i));
    const lists = rowIds.map(() => (r() < 0.05 ? null : Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.05 ? null : randomValue(type, r, 8)))));
    const store = new MemoryObjectStore();
    await buildLabelListIndex(store, "ll", [{ rowIds, values: lists }], { valueType: type });
    const index = await openLabelListIndex(store, "ll");
    const pick = () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => randomValue(type, r, 9));
    const leaf = (): ScalarFilter => {
      const x = r();
      return x < 0.4 ? { op: "hasAny", values: pick() } : x < 0.8 ? { op: "hasAll", values: pick() } : x < 0.9 ? { op: "contains", value: randomValue(type, r, 9) } : { op: "isNull" };
    };
    for (let q = 0; q < 80; q++) {
      const f: ScalarFilter = r() < 0.3 ? { op: "not", filter: leaf() } : r() < 0.5 ? { op: "and", filters: [leaf(), leaf()] } : leaf();
      const expected = rowIds.filter((_, i) => listTruth(type, f, lists[i]!) === true).sort((a, b) => (a < b ? -1 : 1));
      expect(Array.from((await index.query(f)).toRowIds())).toEqual(expected);
    }
    await expect(index.query({ op: "eq", value: randomValue(type, r) })).rejects.toSatisfy((e) => isQuiverArgumentError(e, "INVALID_ARGUMENT"));
  });
});

describe("Bitmap", () => {
  it("open is one GET; an equality query is one ranged read", async () => {
    const inner = new MemoryObjectStore();
    const rowIds = Array.from({ length: 8000 }, (_, i) => addr(0, i));
    await buildBitmapIndex(inner, "b", [{ rowIds, values: rowIds.map((_, i) => i % 16) }], { valueType: "int32" });
    const io = new IoStatsStore(inner);
    const index = await openBitmapIndex(io, "b");
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, heads: 0 });
    expect((await index.query({ op: "eq", value: 7 })).size()).toBe(500);
    expect(io.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
  });

  it("an empty column, an all-NULL column, too many distinct values", async () => {
    const store = new MemoryObjectStore();
    await buildBitmapIndex(store, "e", [], { valueType: "utf8" });
    expect((await (await openBitmapIndex(store, "e")).query({ op: "isNotNull" })).isEmpty).toBe(true);
    await buildBitmapIndex(store, "n", [{ rowIds: [1n, 2n], values: [null, null] }], { valueType: "bool" });
    const n = await openBitmapIndex(store, "n");
    expect(Array.from((await n.query({ op: "isNull" })).toRowIds())).toEqual([1n, 2n]);
    expect((await n.query({ op: "not", filter: { op: "eq", value: true } })).isEmpty).toBe(true);
    await expect(buildBitmapIndex(store, "m", [{ rowIds: [1n, 2n, 3n], values: [1, 2, 3] }], { valueType: "int32", maxValues: 2 })).rejects.toSatisfy((e) =>
      isQuiverArgumentError(e, "ARGUMENT_LIMIT_EXCEEDED"),
    );
    expect(await store.list("m/")).toEqual([]);
  });
});
