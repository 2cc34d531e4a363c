/**
 * `.npy` (NumPy format 1.0 / 2.0 / 3.0): a 2-d array of float32 or float16, C order. The header
 * is a bounded Python-literal dict, parsed with a strict pattern (never evaluated); the data must be
 * exactly rows * dim * itemsize bytes after it.
 */
import { QuiverInputError } from "../errors.js";
import { batchRows, checkFinite, halfToFloat } from "./common.js";
import { FileBytes } from "./file-bytes.js";
import type { VectorBatch, VectorReader } from "./types.js";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Batches up to this size are read one ahead (see NpyReader.batchesInRange). */
export const NPY_READ_AHEAD_MAX_BYTES = 16 * 1024 * 1024;
/** Longest header accepted (NumPy itself writes < 1 KiB; 64 KiB bounds a hostile one). */
export const MAX_NPY_HEADER_BYTES = 65_536;

/** What a `.npy` header declares. */
export interface NpyHeader {
  readonly descr: string;
  readonly shape: readonly number[];
  /** Byte offset of the data. */
  readonly dataOffset: number;
}

/** Parse the header of a `.npy` file from its first bytes (hostile input: bounded, never evaluated). */
export async function readNpyHeader(f: FileBytes): Promise<NpyHeader> {
  const bad = (msg: string, offset = 0): never => {
    throw new QuiverInputError("INPUT_BAD_HEADER", msg, { file: f.path, offset });
  };
  const head = await f.read(0, 12);
  if (head.length < 10 || MAGIC.some((b, i) => head[i] !== b)) bad("not a .npy file (no \\x93NUMPY magic)");
  const major = head[6]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let len: number;
  let start: number;
  if (major === 1) {
    len = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (head.length < 12) bad("truncated header");
    len = view.getUint32(8, true);
    start = 12;
  } else return bad(`unsupported .npy version ${major}`, 6);
  if (len > MAX_NPY_HEADER_BYTES) bad(`header of ${len} bytes is longer than ${MAX_NPY_HEADER_BYTES}`, 8);
  const bytes = await f.read(start, len);
  if (bytes.length < len) throw new QuiverInputError("INPUT_TRUNCATED", `the file ends inside its ${len}-byte header`, { file: f.path, offset: start });
  const text = new TextDecoder("latin1").decode(bytes).trim();
  const m = /^\{\s*(.*?)\s*,?\s*\}$/s.exec(text);
  if (m === null) return bad("header is not a dict", start);
  const descr = /'descr'\s*:\s*'([^']{1,16})'/.exec(m[1]!)?.[1];
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(m[1]!)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]{0,200})\)/.exec(m[1]!)?.[1];
  if (descr === undefined || order === undefined || shapeText === undefined) return bad("header lacks descr, fortran_order or shape", start);
  if (order === "True") bad("Fortran-order arrays are not supported; save with C order (np.ascontiguousarray)", start);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => (/^\d{1,15}$/.test(s) ? Number(s) : bad(`shape entry ${JSON.stringify(s.slice(0, 20))} is not an integer`, start)));
  return { descr, shape, dataOffset: start + len };
}

/** {@link readNpyHeader} of `.npy` bytes in memory (`name` appears in errors). */
export async function readNpyHeaderFromBytes(name: string, bytes: Uint8Array): Promise<NpyHeader> {
  return readNpyHeader(FileBytes.fromBytes(name, bytes));
}

/** Options of {@link openNpy}. */
export interface NpyOptions {
  /** A `.npy` of uint64 (`<u8`) row ids, one per vector row. */
  readonly idsFile?: string;
}

/** Open a `.npy` of float32/float16 vectors (shape rows x dim, C order). */
export async function openNpy(path: string, options: NpyOptions = {}): Promise<VectorReader> {
  return openNpyBytes(await FileBytes.open(path), options);
}

/** {@link openNpy} over bytes in memory (a committed sample read back from a store); `name` appears in errors. */
export async function openNpyFromBytes(name: string, bytes: Uint8Array): Promise<VectorReader> {
  return openNpyBytes(FileBytes.fromBytes(name, bytes), {});
}

async function openNpyBytes(f: FileBytes, options: NpyOptions): Promise<VectorReader> {
  const path = f.path;
  try {
    const h = await readNpyHeader(f);
    const elem = h.descr === "<f4" || h.descr === "=f4" ? 4 : h.descr === "<f2" || h.descr === "=f2" ? 2 : 0;
    if (elem === 0) throw new QuiverInputError("INPUT_WRONG_DTYPE", `dtype ${JSON.stringify(h.descr)}; vectors must be little-endian float32 (<f4) or float16 (<f2)`, { file: path, column: "vector" });
    if (h.shape.length !== 2) throw new QuiverInputError("INPUT_BAD_HEADER", `shape has ${h.shape.length} dimensions; expected (rows, dim)`, { file: path });
    const [rows, dim] = h.shape as [number, number];
    if (dim < 1 || dim > 65_536) throw new QuiverInputError("INPUT_BAD_HEADER", `dim ${dim} is not in [1, 65536]`, { file: path });
    const rowBytes = dim * elem;
    const have = Math.floor((f.size - h.dataOffset) / rowBytes);
    if (have < rows) throw new QuiverInputError("INPUT_TRUNCATED", `the header declares ${rows} rows but the file ends inside row ${have}`, { file: path, row: have, offset: h.dataOffset + have * rowBytes });
    const ids = options.idsFile === undefined ? undefined : await openNpyIds(options.idsFile, rows);
    return new NpyReader(f, path, h.dataOffset, rows, dim, elem, ids);
  } catch (e) {
    await f.close();
    throw e;
  }
}

async function openNpyIds(path: string, rows: number): Promise<{ f: FileBytes; offset: number }> {
  const f = await FileBytes.open(path);
  try {
    const h = await readNpyHeader(f);
    if (h.descr !== "<u8" && h.descr !== "=u8") throw new QuiverInputError("INPUT_WRONG_DTYPE", `id dtype ${JSON.stringify(h.descr)}; ids must be uint64 (<u8)`, { file: path, column: "id" });
    if (h.shape.length !== 1 || h.shape[0] !== rows) throw new QuiverInputError("INPUT_DIM_MISMATCH", `ids have shape (${h.shape.join(", ")}); expected (${rows},)`, { file: path, column: "id" });
    if (f.size - h.dataOffset < rows * 8) throw new QuiverInputError("INPUT_TRUNCATED", `the file holds fewer than ${rows} ids`, { file: path, column: "id", row: Math.floor((f.size - h.dataOffset) / 8) });
    return { f, offset: h.dataOffset };
  } catch (e) {
    await f.close();
    throw e;
  }
}

class NpyReader implements VectorReader {
  readonly format = "npy";
  readonly column = "vector";
  readonly hasIds: boolean;
  constructor(
    private readonly f: FileBytes,
    readonly file: string,
    private readonly dataOffset: number,
    readonly numRows: number,
    readonly dim: number,
    private readonly elem: number,
    private readonly ids: { f: FileBytes; offset: number } | undefined,
  ) {
    this.hasIds = ids !== undefined;
  }

  batches(maxRows: number): AsyncIterable<VectorBatch> {
    return this.batchesInRange(0, this.numRows, maxRows);
  }

  /** Float32 without ids: two read buffers, alternating (one yielded, one being read ahead); else `batches`. */
  scanBatches(maxRows: number): AsyncIterable<VectorBatch> {
    if (this.elem !== 4 || this.ids !== undefined) return this.batches(maxRows);
    return this.scanF32(batchRows(maxRows));
  }

  private async *scanF32(per: number): AsyncIterable<VectorBatch> {
    const { dim, numRows } = this;
    const bytes = Math.min(per, numRows) * dim * 4;
    const bufs = [new Uint8Array(bytes), new Uint8Array(bytes)];
    const read = async (first: number, buf: Uint8Array): Promise<Uint8Array> => {
      const want = Math.min(per, numRows - first) * dim * 4;
      const view = buf.subarray(0, want);
      const got = await this.f.readInto(view, this.dataOffset + first * dim * 4);
      if (got < want) throw new QuiverInputError("INPUT_TRUNCATED", `the file ended inside row ${first + Math.floor(got / (dim * 4))} while being read`, { file: this.file, row: first + Math.floor(got / (dim * 4)) });
      return view;
    };
    let turn = 0;
    let pending: Promise<Uint8Array> | undefined;
    try {
      for (let first = 0; first < numRows; first += per) {
        const rows = Math.min(per, numRows - first);
        const view = await (pending ?? read(first, bufs[turn]!));
        turn ^= 1;
        // the consumer is done with the other buffer: it asked for this batch
        pending = first + per < numRows ? read(first + per, bufs[turn]!) : undefined;
        pending?.catch(() => undefined);
        const vectors = new Float32Array(view.buffer, view.byteOffset, rows * dim);
        checkFinite(vectors, rows, dim, first, this.file, this.column);
        yield { vectors, rows, firstRow: first };
      }
    } finally {
      if (pending !== undefined) await pending.catch(() => undefined);
    }
  }

  async *batchesInRange(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
    const per = batchRows(maxRows);
    const { dim, elem } = this;
    const stop = Math.min(end, this.numRows);
    // fixed-size rows: the range starts at a computed byte offset
    const readRows = (first: number): Promise<Uint8Array> => this.f.read(this.dataOffset + first * dim * elem, Math.min(per, stop - first) * dim * elem);
    // small batches read one ahead (the next read runs in the file system's threads while the
    // consumer works on this one); large ones are not, so a batch's memory stays what it asked for
    const ahead = per * dim * elem <= NPY_READ_AHEAD_MAX_BYTES;
    let pending: Promise<Uint8Array> | undefined;
    try {
      for (let first = start; first < stop; first += per) {
        const rows = Math.min(per, stop - first);
        const bytes = await (pending ?? readRows(first));
        pending = ahead && first + per < stop ? readRows(first + per) : undefined;
        // a failed read-ahead is thrown when its turn comes, never unhandled meanwhile
        pending?.catch(() => undefined);
        let vectors: Float32Array;
        if (elem === 4) vectors = new Float32Array(bytes.buffer, bytes.byteOffset, rows * dim);
        else {
          const half = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
          vectors = new Float32Array(rows * dim);
          for (let i = 0; i < vectors.length; i++) vectors[i] = halfToFloat(half.getUint16(i * 2, true));
        }
        checkFinite(vectors, rows, dim, first, this.file, this.column);
        if (this.ids === undefined) yield { vectors, rows, firstRow: first };
        else {
          const raw = await this.ids.f.read(this.ids.offset + first * 8, rows * 8);
          yield { vectors, rows, firstRow: first, ids: new BigUint64Array(raw.buffer, raw.byteOffset, rows) };
        }
      }
    } finally {
      // a consumer that stops early: the read in flight finishes before the file may be closed
      if (pending !== undefined) await pending.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    await this.f.close();
    await this.ids?.f.close();
  }
}

/** Encode a float32 matrix as `.npy` bytes (format 1.0, `<f4`, C order): the build's sample file and test fixtures. */
export function encodeNpyF32(vectors: Float32Array, rows: number, dim: number): Uint8Array {
  return encodeNpy("<f4", [rows, dim], new Uint8Array(vectors.buffer, vectors.byteOffset, rows * dim * 4));
}

/** The `.npy` 1.0 header of a float32 rows x dim matrix (its length is a multiple of 64, so the data after it is aligned). */
export function npyHeaderF32(rows: number, dim: number): Uint8Array {
  return npyHeader("<f4", [rows, dim]);
}

function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // total header (10 + dict + padding + \n) is a multiple of 64, as NumPy writes it
  const pad = 64 - ((10 + dict.length + 1) % 64);
  dict = dict + " ".repeat(pad % 64) + "\n";
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** Encode raw little-endian data with a `.npy` 1.0 header (descr and shape as given). */
export function encodeNpy(descr: string, shape: readonly number[], data: Uint8Array): Uint8Array {
  const header = npyHeader(descr, shape);
  const out = new Uint8Array(header.byteLength + data.byteLength);
  out.set(header, 0);
  out.set(data, header.byteLength);
  return out;
}
