import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type VectorReader, QuiverInputError, encodeFvecs, encodeNpy, encodeNpyF32, openNpy, openVectorFile } from "../src/index.js";
import { FIXTURE_DIM, FIXTURE_ROWS, fixtureFiles, fixtureIds, fixtureVectors } from "./fixtures/generate.js";
import { tempDir } from "./helpers.js";

const FIX = fileURLToPath(new URL("./fixtures/", import.meta.url));

async function readAll(r: VectorReader, batch: number): Promise<{ vectors: Float32Array; ids: bigint[] }> {
  const out = new Float32Array((r.numRows ?? 0) * r.dim);
  const ids: bigint[] = [];
  try {
    for await (const b of r.batches(batch)) {
      expect(b.rows).toBeLessThanOrEqual(batch);
      out.set(b.vectors, b.firstRow * r.dim);
      if (b.ids !== undefined) ids.push(...b.ids);
    }
  } finally {
    await r.close();
  }
  return { vectors: out, ids };
}

async function inputError(p: Promise<unknown>): Promise<QuiverInputError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(QuiverInputError);
  return e as QuiverInputError;
}

describe("input fixtures", () => {
  it("are what the generator writes, byte for byte", () => {
    for (const [name, bytes] of Object.entries(fixtureFiles())) expect(Buffer.compare(readFileSync(join(FIX, name)), Buffer.from(bytes)), name).toBe(0);
  });

  for (const name of ["vectors.npy", "vectors-f16.npy", "vectors.fvecs", "vectors.bvecs"]) {
    it(`${name} reads back the fixture vectors in small batches`, async () => {
      const r = await openVectorFile(join(FIX, name));
      expect([r.numRows, r.dim]).toEqual([FIXTURE_ROWS, FIXTURE_DIM]);
      const { vectors } = await readAll(r, 7);
      // bvecs holds uint8: the fixture's halves are truncated on the way in
      const want = Array.from(fixtureVectors(), (x) => (name.endsWith(".bvecs") ? Math.trunc(x) : x));
      expect(Array.from(vectors)).toEqual(want);
    });
  }

  it(".npy with an ids .npy yields the user's uint64 ids", async () => {
    const r = await openVectorFile(join(FIX, "vectors.npy"), { idsFile: join(FIX, "ids.npy") });
    expect(r.hasIds).toBe(true);
    const { ids } = await readAll(r, 9);
    expect(ids).toEqual(Array.from(fixtureIds()));
  });
});

describe("bad inputs give typed errors naming file, row and column", () => {
  const v = fixtureVectors();

  it("npy: wrong dtype", async () => {
    const { dir, cleanup } = await tempDir();
    const f = join(dir, "i4.npy");
    await writeFile(f, encodeNpy("<i4", [4, 2], new Uint8Array(32)));
    const e = await inputError(openNpy(f));
    expect([e.code, e.file, e.column]).toEqual(["INPUT_WRONG_DTYPE", f, "vector"]);
    await cleanup();
  });

  it("npy: truncated data names the first missing row", async () => {
    const { dir, cleanup } = await tempDir();
    const f = join(dir, "t.npy");
    const full = encodeNpyF32(v, FIXTURE_ROWS, FIXTURE_DIM);
    await writeFile(f, full.subarray(0, full.length - 10));
    const e = await inputError(openNpy(f));
    expect([e.code, e.row]).toEqual(["INPUT_TRUNCATED", FIXTURE_ROWS - 1]);
    await cleanup();
  });

  it("npy: Fortran order, hostile header length, bad magic", async () => {
    const { dir, cleanup } = await tempDir();
    const fortran = join(dir, "f.npy");
    const b = encodeNpyF32(v, FIXTURE_ROWS, FIXTURE_DIM);
    const text = Buffer.from(b).toString("latin1").replace("'fortran_order': False", "'fortran_order': True ");
    await writeFile(fortran, Buffer.from(text, "latin1"));
    expect((await inputError(openNpy(fortran))).code).toBe("INPUT_BAD_HEADER");
    const huge = join(dir, "h.npy");
    const h = new Uint8Array(16);
    h.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0]);
    new DataView(h.buffer).setUint32(8, 0xffffffff, true);
    await writeFile(huge, h);
    expect((await inputError(openNpy(huge))).code).toBe("INPUT_BAD_HEADER");
    const magic = join(dir, "m.npy");
    await writeFile(magic, new Uint8Array(64));
    expect((await inputError(openNpy(magic))).code).toBe("INPUT_BAD_HEADER");
    await cleanup();
  });

  it("npy: a NaN row names the row", async () => {
    const { dir, cleanup } = await tempDir();
    const f = join(dir, "nan.npy");
    const bad = v.slice();
    bad[23 * FIXTURE_DIM + 5] = Number.POSITIVE_INFINITY;
    await writeFile(f, encodeNpyF32(bad, FIXTURE_ROWS, FIXTURE_DIM));
    const e = await inputError(readAll(await openNpy(f), 8));
    expect([e.code, e.row, e.column, e.file]).toEqual(["INPUT_NON_FINITE", 23, "vector", f]);
    await cleanup();
  });

  it("fvecs: a row of another dim, and a truncated last row", async () => {
    const { dir, cleanup } = await tempDir();
    const f = join(dir, "d.fvecs");
    const bytes = encodeFvecs(v, FIXTURE_ROWS, FIXTURE_DIM);
    new DataView(bytes.buffer).setInt32(17 * (4 + FIXTURE_DIM * 4), FIXTURE_DIM, true);
    new DataView(bytes.buffer).setInt32(17 * (4 + FIXTURE_DIM * 4), 9, true);
    await writeFile(f, bytes);
    const e = await inputError(readAll(await openVectorFile(f), 16));
    expect([e.code, e.row]).toEqual(["INPUT_DIM_MISMATCH", 17]);
    const t = join(dir, "t.fvecs");
    await writeFile(t, encodeFvecs(v, FIXTURE_ROWS, FIXTURE_DIM).subarray(0, 3 * (4 + FIXTURE_DIM * 4) + 6));
    const e2 = await inputError(openVectorFile(t));
    expect([e2.code, e2.row]).toEqual(["INPUT_TRUNCATED", 3]);
    await cleanup();
  });

  it("an unknown extension", async () => {
    const e = await inputError(openVectorFile("/tmp/x.csv"));
    expect(e.code).toBe("INPUT_UNSUPPORTED_FORMAT");
  });
});

describe("Arrow IPC input (Quiver's own bounds-checked walk; apache-arrow only wrote the fixture)", () => {
  for (const name of ["vectors.arrow", "vectors.arrows"]) {
    it(`${name}: the named FixedSizeList<float32> column and the uint64 id column, across record batches`, async () => {
      const r = await openVectorFile(join(FIX, name), { column: "embedding", idColumn: "id" });
      expect([r.numRows, r.dim, r.hasIds, r.column]).toEqual([FIXTURE_ROWS, FIXTURE_DIM, true, "embedding"]);
      const { vectors, ids } = await readAll(r, 10);
      expect(Array.from(vectors)).toEqual(Array.from(fixtureVectors()));
      expect(ids).toEqual(Array.from(fixtureIds()));
    });
  }

  it("a missing column, a column of the wrong type, and a truncated file are typed errors", async () => {
    const missing = await inputError(openVectorFile(join(FIX, "vectors.arrow"), { column: "vector" }));
    expect([missing.code, missing.column]).toEqual(["INPUT_MISSING_COLUMN", "vector"]);
    expect(missing.message).toContain('"embedding"');
    const wrong = await inputError(openVectorFile(join(FIX, "vectors.arrow"), { column: "label" }));
    expect([wrong.code, wrong.column]).toEqual(["INPUT_WRONG_DTYPE", "label"]);
    const idWrong = await inputError(openVectorFile(join(FIX, "vectors.arrow"), { column: "embedding", idColumn: "label" }));
    expect(idWrong.code).toBe("INPUT_WRONG_DTYPE");
    const { dir, cleanup } = await tempDir();
    const full = readFileSync(join(FIX, "vectors.arrows"));
    for (const cut of [7, 100, full.length - 200, full.length - 9]) {
      const f = join(dir, `cut-${cut}.arrows`);
      await writeFile(f, full.subarray(0, cut));
      const e = await inputError(openVectorFile(f, { column: "embedding" }).then(async (r) => readAll(r, 100)));
      expect(["INPUT_TRUNCATED", "INPUT_BAD_HEADER", "INPUT_MISSING_COLUMN", "INPUT_DIM_MISMATCH"]).toContain(e.code);
    }
    await cleanup();
  });

  it("hostile bytes: any byte flip gives the rows or a QuiverInputError, never another exception", async () => {
    const { dir, cleanup } = await tempDir();
    const base = readFileSync(join(FIX, "vectors.arrows"));
    const fc = await import("fast-check");
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, x) => {
        const b = Buffer.from(base);
        b[at % b.length]! ^= x;
        const f = join(dir, "flip.arrows");
        await writeFile(f, b);
        try {
          await readAll(await openVectorFile(f, { column: "embedding", idColumn: "id" }), 16);
        } catch (e) {
          if (!(e instanceof QuiverInputError)) throw e;
        }
      }),
      { numRuns: process.env.QUIVER_SOAK === "1" ? 20_000 : 300 },
    );
    await cleanup();
  });
});

describe("Parquet input (hyparquet behind our checks; parquet-wasm only wrote the fixture)", () => {
  it("reads the list<float32> column and uint64 ids across row groups in small batches", async () => {
    const r = await openVectorFile(join(FIX, "vectors.parquet"), { column: "embedding", idColumn: "id" });
    expect([r.numRows, r.dim, r.hasIds]).toEqual([FIXTURE_ROWS, FIXTURE_DIM, true]);
    const { vectors, ids } = await readAll(r, 9);
    expect(Array.from(vectors)).toEqual(Array.from(fixtureVectors()));
    expect(ids).toEqual(Array.from(fixtureIds()));
  });

  it("a missing column, a string column, a truncated file and a bad footer are typed errors", async () => {
    expect((await inputError(openVectorFile(join(FIX, "vectors.parquet"), { column: "vector" }))).code).toBe("INPUT_MISSING_COLUMN");
    const wrong = await inputError(openVectorFile(join(FIX, "vectors.parquet"), { column: "label" }));
    expect([wrong.code, wrong.row, wrong.column]).toEqual(["INPUT_WRONG_DTYPE", 0, "label"]);
    const { dir, cleanup } = await tempDir();
    const full = readFileSync(join(FIX, "vectors.parquet"));
    const t = join(dir, "t.parquet");
    await writeFile(t, full.subarray(0, full.length - 100));
    expect(["INPUT_BAD_HEADER", "INPUT_TRUNCATED"]).toContain((await inputError(openVectorFile(t, { column: "embedding" }))).code);
    const b = Buffer.from(full);
    b.writeUInt32LE(0x7fffffff, b.length - 8);
    const f = join(dir, "f.parquet");
    await writeFile(f, b);
    expect((await inputError(openVectorFile(f, { column: "embedding" }))).code).toBe("INPUT_BAD_HEADER");
    await cleanup();
  });

  it("a flip that made hyparquet abort V8 in-process (byte 990 ^ 4) is a typed error, not a crash", async () => {
    const { dir, cleanup } = await tempDir();
    const b = Buffer.from(readFileSync(join(FIX, "vectors.parquet")));
    b[990]! ^= 4;
    const f = join(dir, "abort.parquet");
    await writeFile(f, b);
    const e = await inputError(openVectorFile(f, { column: "embedding", idColumn: "id" }).then(async (r) => readAll(r, 16)));
    expect([e.code, e.file]).toEqual(["INPUT_BAD_HEADER", f]);
    expect(e.message).toContain("decoder stopped");
    await cleanup();
  });

  it("hostile bytes: any byte flip gives rows or a QuiverInputError", async () => {
    const { dir, cleanup } = await tempDir();
    const base = readFileSync(join(FIX, "vectors.parquet"));
    const fc = await import("fast-check");
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (at, x) => {
        const b = Buffer.from(base);
        b[at % b.length]! ^= x;
        const f = join(dir, "flip.parquet");
        await writeFile(f, b);
        try {
          await readAll(await openVectorFile(f, { column: "embedding", idColumn: "id" }), 16);
        } catch (e) {
          if (!(e instanceof QuiverInputError)) throw e;
        }
      }),
      { numRuns: process.env.QUIVER_SOAK === "1" ? 5_000 : 10 }, // each open starts a decoder process
    );
    await cleanup();
  });
});

describe("Arrow List<float32> vector columns (in-memory IPC, allowList)", () => {
  it("reads rows of one length and names the first row of another length", async () => {
    const { scanArrowBytes } = await import("../src/readers/arrow.js");
    const { Field, Float32, List, tableToIPC, vectorFromArray, Table } = await import("apache-arrow");
    const listType = new List(new Field("item", new Float32(), true));
    const rows = Array.from({ length: 12 }, (_, i) => [i, i + 0.5, -i]);
    const ok = tableToIPC(new Table({ vector: vectorFromArray(rows, listType) }), "stream");
    const r = await scanArrowBytes("mem.arrows", ok, "vector", undefined, true, 100);
    expect(r.dim).toBe(3);
    const { vectors } = await readAll(r, 5);
    expect(Array.from(vectors)).toEqual(rows.flat());
    const badRows = rows.map((x, i) => (i === 7 ? [1, 2] : x));
    const bad = tableToIPC(new Table({ vector: vectorFromArray(badRows, listType) }), "stream");
    const e = await inputError(scanArrowBytes("mem.arrows", bad, "vector", undefined, true, 100).then(async (x) => readAll(x, 5)));
    expect([e.code, e.row]).toEqual(["INPUT_DIM_MISMATCH", 107]);
    // without allowList a List column is the wrong type
    expect((await inputError(scanArrowBytes("mem.arrows", ok, "vector", undefined))).code).toBe("INPUT_WRONG_DTYPE");
  });
});
