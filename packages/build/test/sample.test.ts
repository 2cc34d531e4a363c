/**
 * The sample phase's sampler: selection sampling when the row count is known (exactly `size`
 * rows, in row order, each row equally likely), a reservoir when it is not or when a reader
 * yields more rows than it declared, and the sample's `.npy` bytes decode to the sample.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type VectorReader, encodeNpyF32, openNpy, openNpyFromBytes, reservoirSample } from "../src/index.js";
import { tempDir } from "./helpers.js";
import { memoryReader } from "../src/readers/memory.js";

const DIM = 3;

/** Row i holds (i, -i, 0.5): a sampled row says which input row it was. */
function rowsOf(n: number): Float32Array {
  const v = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) v.set([i, -i, 0.5], i * DIM);
  return v;
}

function sampledRows(vectors: Float32Array, rows: number): number[] {
  return Array.from({ length: rows }, (_, r) => vectors[r * DIM]!);
}

/** A reader that declares `declared` rows (or none) and yields `actual`, in small batches. */
function readerOf(actual: number, declared: number | undefined): VectorReader {
  const inner = memoryReader(rowsOf(actual), DIM);
  return { ...inner, numRows: declared, batches: (maxRows: number) => inner.batches(maxRows) };
}

describe("reservoirSample", () => {
  it("with the row count: exactly size distinct rows, in row order, the same for the same seed", async () => {
    const r = readerOf(1000, 1000);
    const a = await reservoirSample(r, 100, 9, 64, undefined, 1000);
    expect(a.rows).toBe(100);
    expect(a.seenRows).toBe(1000);
    const rows = sampledRows(a.vectors, a.rows);
    // strictly increasing: distinct and in row order (a reservoir's slots are not)
    for (let i = 1; i < rows.length; i++) expect(rows[i]!).toBeGreaterThan(rows[i - 1]!);
    expect(rows[0]!).toBeGreaterThanOrEqual(0);
    expect(rows.at(-1)!).toBeLessThan(1000);
    const b = await reservoirSample(r, 100, 9, 17, undefined, 1000);
    expect(sampledRows(b.vectors, b.rows)).toEqual(rows);
    const c = await reservoirSample(r, 100, 10, 64, undefined, 1000);
    expect(sampledRows(c.vectors, c.rows)).not.toEqual(rows);
  });

  it("keeps every row with the same probability (selection sampling and reservoir)", async () => {
    const n = 60;
    const size = 12;
    const trials = 1500;
    for (const declared of [n, undefined]) {
      const hits = new Float64Array(n);
      for (let s = 0; s < trials; s++) {
        const out = await reservoirSample(readerOf(n, declared), size, s, 7, undefined, declared);
        expect(out.rows).toBe(size);
        for (const row of sampledRows(out.vectors, out.rows)) hits[row]! += 1;
      }
      // expected trials * size / n = 300 per row; binomial sd about 15.5: 5 sd either side
      for (let i = 0; i < n; i++) {
        expect(hits[i]!).toBeGreaterThan(300 - 78);
        expect(hits[i]!).toBeLessThan(300 + 78);
      }
    }
  });

  it("all rows when there are fewer than size; more rows than declared still give size distinct rows", async () => {
    const few = await reservoirSample(readerOf(40, 40), 100, 1, 16, undefined, 40);
    expect(few.rows).toBe(40);
    expect(sampledRows(few.vectors, few.rows)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const more = await reservoirSample(readerOf(500, 300), 50, 1, 16, undefined, 300);
    expect(more.rows).toBe(50);
    expect(more.seenRows).toBe(500);
    const rows = sampledRows(more.vectors, more.rows);
    expect(new Set(rows).size).toBe(50);
    // rows past the declared count can enter the sample (the reservoir continues)
    const fewer = await reservoirSample(readerOf(200, 300), 50, 1, 16, undefined, 300);
    expect(fewer.rows).toBeLessThanOrEqual(50);
    expect(new Set(sampledRows(fewer.vectors, fewer.rows)).size).toBe(fewer.rows);
  });

  it("its npy bytes are the sample (sharing its memory when full) and read back by the .npy reader", async () => {
    for (const [n, size] of [[1000, 100], [30, 100]] as const) {
      const s = await reservoirSample(readerOf(n, n), size, 4, 64, undefined, n);
      const back = await openNpyFromBytes("sample.npy", s.npy);
      expect([back.numRows, back.dim]).toEqual([s.rows, DIM]);
      const got: number[] = [];
      for await (const b of back.batches(1000)) got.push(...b.vectors);
      expect(got).toEqual(Array.from(s.vectors));
      if (s.rows === size) expect(s.npy.buffer).toBe(s.vectors.buffer);
    }
  });

  it("over an .npy file (reused read buffers, one read ahead) equals the sample of the same rows in memory", async () => {
    const { dir, cleanup } = await tempDir("quiver-sample-");
    try {
      const n = 5000;
      const v = rowsOf(n);
      const file = join(dir, "rows.npy");
      await writeFile(file, encodeNpyF32(v, n, DIM));
      for (const batch of [64, 333, 10_000]) {
        const r = await openNpy(file);
        try {
          expect(typeof r.scanBatches).toBe("function");
          const fromFile = await reservoirSample(r, 700, 2, batch, undefined, n);
          const fromMemory = await reservoirSample(memoryReader(v, DIM), 700, 2, batch, undefined, n);
          expect(Array.from(fromFile.vectors)).toEqual(Array.from(fromMemory.vectors));
          // whole rows, not pieces of two batches' buffers: row i is (i, -i, 0.5)
          for (let k = 0; k < fromFile.rows; k++) expect([fromFile.vectors[k * DIM + 1], fromFile.vectors[k * DIM + 2]]).toEqual([-fromFile.vectors[k * DIM]!, 0.5]);
        } finally {
          await r.close();
        }
      }
      // a NaN in the file is still found by the scan
      v[1234 * DIM + 2] = Number.NaN;
      await writeFile(file, encodeNpyF32(v, n, DIM));
      const r = await openNpy(file);
      try {
        await expect(reservoirSample(r, 700, 2, 64, undefined, n)).rejects.toMatchObject({ code: "INPUT_NON_FINITE", row: 1234 });
      } finally {
        await r.close();
      }
    } finally {
      await cleanup();
    }
  });
});
