import { MemoryObjectStore } from "@quiver/store";
import { Field, FixedSizeList, Float32, Int32, Schema, Table, Uint64, makeData, RecordBatch, Struct } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { buildIndex, buildIndexInMemory } from "../src/index.js";
import { FAST, smallData } from "./helpers.js";

const DIM = 16;

/** A Table of { id: uint64, vector: FixedSizeList<Float32>[dim] } as a LanceDB user holds it. */
function table(vectors: Float32Array, ids: BigUint64Array, dim: number, vectorType: "f32" | "i32" = "f32"): Table {
  const n = ids.length;
  const child = vectorType === "f32" ? new Field("item", new Float32(), false) : new Field("item", new Int32(), false);
  const listType = new FixedSizeList(dim, child as Field<Float32>); // an Int32 child only to test the dtype check
  const values = vectorType === "f32" ? makeData({ type: new Float32(), length: n * dim, data: vectors }) : makeData({ type: new Int32(), length: n * dim, data: new Int32Array(n * dim) });
  const vec = makeData({ type: listType, length: n, child: values as never });
  const id = makeData({ type: new Uint64(), length: n, data: ids });
  const schema = new Schema([new Field("id", new Uint64(), false), new Field("vector", listType, false)]);
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children: [id, vec] as never })));
}

describe("an apache-arrow Table as build input", () => {
  it("builds the same index as the same vectors and ids in memory, and user ids come back", async () => {
    const vectors = smallData(2000, DIM);
    const ids = BigUint64Array.from({ length: 2000 }, (_, i) => 2n ** 60n + BigInt(i) * 7n);
    const store = new MemoryObjectStore();
    const mem = await buildIndexInMemory({ store, path: "mem.qvr", vectors, dim: DIM, ids, ...FAST });
    const fromTable = await buildIndex({ input: table(vectors, ids, DIM), idColumn: "id", store, path: "t.qvr", model: mem.model, threads: 1 });
    const fromArrays = await buildIndex({ input: { vectors, dim: DIM, ids }, store, path: "a.qvr", model: mem.model, threads: 1 });
    expect(Buffer.compare(Buffer.from(await store.get("t.qvr")), Buffer.from(await store.get("a.qvr")))).toBe(0);
    expect(fromTable.numRows).toBe(2000);
    expect(fromArrays.identity).toBe(fromTable.identity);
  });

  it("names the missing or mistyped column", async () => {
    const vectors = smallData(10, DIM);
    const ids = BigUint64Array.from({ length: 10 }, (_, i) => BigInt(i));
    const store = new MemoryObjectStore();
    await expect(buildIndex({ input: table(vectors, ids, DIM), column: "embedding", store, path: "x.qvr" })).rejects.toMatchObject({ code: "INPUT_MISSING_COLUMN", column: "embedding" });
    await expect(buildIndex({ input: table(vectors, ids, DIM, "i32"), store, path: "x.qvr" })).rejects.toMatchObject({ code: "INPUT_WRONG_DTYPE", column: "vector" });
    await expect(buildIndex({ input: table(vectors, ids, DIM), idColumn: "vector", store, path: "x.qvr" })).rejects.toMatchObject({ code: "INPUT_WRONG_DTYPE", column: "vector" });
    const bad = vectors.slice();
    bad[3 * DIM + 1] = Number.NaN;
    await expect(buildIndex({ input: table(bad, ids, DIM), store, path: "x.qvr" })).rejects.toMatchObject({ code: "INPUT_NON_FINITE", row: 3 });
  });
});
