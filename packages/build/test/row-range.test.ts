import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { QuiverArgumentError } from "@quiver/format";
import { type VectorReader, arrowTableReader, memoryReader, openVectorFile, openVectorFileRange, planRowRanges, rowRangeReader } from "../src/index.js";
import { FIXTURE_DIM, FIXTURE_ROWS, fixtureArrowTable, fixtureIds, fixtureVectors } from "./fixtures/generate.js";

const FIX = fileURLToPath(new URL("./fixtures/", import.meta.url));

async function collect(r: VectorReader, batch: number): Promise<{ firstRows: number[]; vectors: number[]; ids: bigint[] }> {
  const out = { firstRows: [] as number[], vectors: [] as number[], ids: [] as bigint[] };
  try {
    for await (const b of r.batches(batch)) {
      expect(b.rows).toBeLessThanOrEqual(batch);
      expect(b.vectors.length).toBe(b.rows * r.dim);
      out.firstRows.push(b.firstRow);
      out.vectors.push(...b.vectors);
      if (b.ids !== undefined) out.ids.push(...b.ids);
    }
  } finally {
    await r.close();
  }
  return out;
}

const RANGES = [
  { start: 0, end: FIXTURE_ROWS },
  { start: 0, end: 1 },
  { start: 7, end: 23 },
  { start: 13, end: FIXTURE_ROWS },
  { start: FIXTURE_ROWS - 1, end: FIXTURE_ROWS },
];

describe("row ranges of every input format", () => {
  const all = fixtureVectors();
  for (const name of ["vectors.npy", "vectors.fvecs", "vectors.arrow", "vectors.arrows", "vectors.parquet"]) {
    for (const range of RANGES) {
      it(`${name} rows [${range.start}, ${range.end}) are the whole file's rows with file row numbers`, async () => {
        const r = await openVectorFileRange(join(FIX, name), range, name.endsWith(".npy") || name.endsWith("vecs") ? {} : { column: "embedding" });
        expect(r.numRows).toBe(range.end - range.start);
        const got = await collect(r, 5);
        expect(got.firstRows[0]).toBe(range.start);
        expect(got.vectors).toEqual([...all.subarray(range.start * FIXTURE_DIM, range.end * FIXTURE_DIM)]);
      });
    }
  }

  it("ids of an Arrow id column and of memory/table readers follow the range", async () => {
    const ids = fixtureIds();
    const r = await openVectorFileRange(join(FIX, "vectors.arrow"), { start: 9, end: 31 }, { column: "embedding", idColumn: "id" });
    expect((await collect(r, 4)).ids).toEqual([...ids.subarray(9, 31)]);
    const m = rowRangeReader(memoryReader(all, FIXTURE_DIM, ids), { start: 3, end: 17 });
    const got = await collect(m, 6);
    expect(got.ids).toEqual([...ids.subarray(3, 17)]);
    expect(got.firstRows).toEqual([3, 9, 15]);
    const t = rowRangeReader(arrowTableReader(fixtureArrowTable(), { column: "embedding", idColumn: "id" }), { start: 20, end: 40 });
    expect((await collect(t, 7)).ids).toEqual([...ids.subarray(20, 40)]);
  });

  it("a reader without batchesInRange is filtered (rows before the range dropped)", async () => {
    const inner = memoryReader(all, FIXTURE_DIM);
    const plain: VectorReader = { file: inner.file, format: inner.format, dim: inner.dim, numRows: inner.numRows, column: inner.column, hasIds: false, batches: (n) => inner.batches(n), close: () => inner.close() };
    const got = await collect(rowRangeReader(plain, { start: 11, end: 26 }), 4);
    expect(got.firstRows[0]).toBe(11);
    expect(got.vectors).toEqual([...all.subarray(11 * FIXTURE_DIM, 26 * FIXTURE_DIM)]);
  });

  it("rejects empty, reversed and out-of-file ranges before reading", async () => {
    const r = await openVectorFile(join(FIX, "vectors.npy"));
    try {
      for (const bad of [{ start: 5, end: 5 }, { start: 6, end: 2 }, { start: -1, end: 3 }, { start: 0, end: FIXTURE_ROWS + 1 }, { start: 0.5, end: 3 }]) {
        expect(() => rowRangeReader(r, bad)).toThrow(QuiverArgumentError);
      }
    } finally {
      await r.close();
    }
  });
});

describe("planRowRanges", () => {
  it("covers [0, n) with contiguous ranges differing by at most one row", () => {
    for (const [n, s] of [[10, 3], [4000, 4], [7, 7], [1_000_003, 100]] as const) {
      const p = planRowRanges(n, s);
      expect(p).toHaveLength(s);
      expect(p[0]!.start).toBe(0);
      expect(p.at(-1)!.end).toBe(n);
      for (let i = 1; i < p.length; i++) expect(p[i]!.start).toBe(p[i - 1]!.end);
      const sizes = p.map((r) => r.end - r.start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(() => planRowRanges(3, 4)).toThrow(QuiverArgumentError);
  });
});
