/**
 * `.fvecs` / `.bvecs` (the ANN-benchmark formats): every row is a little-endian int32 dimension d
 * followed by d float32 (fvecs) or d uint8 (bvecs) values. Every row must declare the first row's d.
 */
import { QuiverInputError } from "../errors.js";
import { batchRows, checkFinite } from "./common.js";
import { FileBytes } from "./file-bytes.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Open an `.fvecs` (elem "f32") or `.bvecs` (elem "u8") file. */
export async function openVecs(path: string, elem: "f32" | "u8"): Promise<VectorReader> {
  const f = await FileBytes.open(path);
  try {
    const head = await f.read(0, 4);
    if (head.length < 4) throw new QuiverInputError("INPUT_TRUNCATED", "the file is shorter than one row header", { file: path, row: 0, offset: 0 });
    const dim = new DataView(head.buffer, head.byteOffset, 4).getInt32(0, true);
    if (dim < 1 || dim > 65_536) throw new QuiverInputError("INPUT_BAD_HEADER", `row 0 declares dim ${dim}; expected [1, 65536]`, { file: path, row: 0, offset: 0 });
    const rowBytes = 4 + dim * (elem === "f32" ? 4 : 1);
    const rows = Math.floor(f.size / rowBytes);
    if (rows * rowBytes !== f.size) {
      throw new QuiverInputError("INPUT_TRUNCATED", `${f.size} bytes is not a whole number of ${rowBytes}-byte rows; the file ends inside row ${rows}`, { file: path, row: rows, offset: rows * rowBytes });
    }
    return new VecsReader(f, path, rows, dim, elem, rowBytes);
  } catch (e) {
    await f.close();
    throw e;
  }
}

class VecsReader implements VectorReader {
  readonly column = "vector";
  readonly hasIds = false;
  readonly format: string;
  constructor(
    private readonly f: FileBytes,
    readonly file: string,
    readonly numRows: number,
    readonly dim: number,
    private readonly elem: "f32" | "u8",
    private readonly rowBytes: number,
  ) {
    this.format = elem === "f32" ? "fvecs" : "bvecs";
  }

  batches(maxRows: number): AsyncIterable<VectorBatch> {
    return this.batchesInRange(0, this.numRows, maxRows);
  }

  async *batchesInRange(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
    const per = batchRows(maxRows);
    const { dim, rowBytes } = this;
    const stop = Math.min(end, this.numRows);
    // fixed-size rows: the range starts at a computed byte offset
    for (let first = start; first < stop; first += per) {
      const rows = Math.min(per, stop - first);
      const bytes = await this.f.read(first * rowBytes, rows * rowBytes);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const vectors = new Float32Array(rows * dim);
      for (let r = 0; r < rows; r++) {
        const at = r * rowBytes;
        const d = view.getInt32(at, true);
        if (d !== dim) throw new QuiverInputError("INPUT_DIM_MISMATCH", `row declares dim ${d}, the file's first row ${dim}`, { file: this.file, row: first + r, column: this.column, offset: (first + r) * rowBytes });
        if (this.elem === "f32") for (let j = 0; j < dim; j++) vectors[r * dim + j] = view.getFloat32(at + 4 + j * 4, true);
        else for (let j = 0; j < dim; j++) vectors[r * dim + j] = bytes[at + 4 + j]!;
      }
      checkFinite(vectors, rows, dim, first, this.file, this.column);
      yield { vectors, rows, firstRow: first };
    }
  }

  async close(): Promise<void> {
    await this.f.close();
  }
}

/** Encode rows as `.fvecs` bytes (test fixtures, tools). */
export function encodeFvecs(vectors: Float32Array, rows: number, dim: number): Uint8Array {
  const out = new Uint8Array(rows * (4 + dim * 4));
  const v = new DataView(out.buffer);
  for (let r = 0; r < rows; r++) {
    const at = r * (4 + dim * 4);
    v.setInt32(at, dim, true);
    for (let j = 0; j < dim; j++) v.setFloat32(at + 4 + j * 4, vectors[r * dim + j]!, true);
  }
  return out;
}

/** Encode rows of bytes as `.bvecs` (test fixtures, tools). */
export function encodeBvecs(values: Uint8Array, rows: number, dim: number): Uint8Array {
  const out = new Uint8Array(rows * (4 + dim));
  const v = new DataView(out.buffer);
  for (let r = 0; r < rows; r++) {
    v.setInt32(r * (4 + dim), dim, true);
    out.set(values.subarray(r * dim, (r + 1) * dim), r * (4 + dim) + 4);
  }
  return out;
}
