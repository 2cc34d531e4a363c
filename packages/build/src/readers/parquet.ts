/**
 * Parquet input: a list (or fixed-size list) float column chosen by name and an optional uint64 /
 * int64 id column, decoded by hyparquet in a child process (readers/parquet-decoder.ts).
 *
 * Why hyparquet and why a process: parquet-wasm reads 4-5x faster at equal peak RSS (README,
 * `pnpm bench parquet-readers`), but a corrupt file makes it trap ("RuntimeError: unreachable")
 * outside any promise the caller can await; hyparquet's failures are ordinary exceptions, except
 * that some corrupt files make it allocate without bound and abort V8, which kills the process it
 * runs in. So hyparquet runs in a child process with a capped heap; a crash of that process is a
 * QuiverInputError naming the file, never a crash of the caller. Only the row range asked for is
 * decoded (`maxRows` rows at a time); every value, length and id is checked here.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { QuiverInputError } from "../errors.js";
import { batchRows, checkFinite } from "./common.js";
import { FileBytes } from "./file-bytes.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Largest Parquet footer accepted (bytes), checked before the decoder sees the file. */
export const MAX_PARQUET_FOOTER_BYTES = 64 * 1024 * 1024;
/** Heap cap of the decoder process (MiB). */
export const PARQUET_DECODER_HEAP_MB = 1024;

const CHILD = fileURLToPath(new URL("./parquet-child.mjs", import.meta.url));

interface Reply {
  readonly header: { ok: boolean; message?: string; numRows?: number; columns?: string[]; rows?: number; lengths?: number[]; kinds?: string[]; ids?: (string | null)[] };
  readonly payload: Uint8Array;
}

/** One decoder process and its request/reply channel. */
class Decoder {
  private buffered = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess, private readonly file: string) {
    child.stdout!.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.drain();
    });
    child.on("exit", (code, signal) => {
      this.exited = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      this.waiting?.reject(new Error(this.exited));
      this.waiting = undefined;
    });
    child.on("error", (e) => {
      this.exited = e.message;
      this.waiting?.reject(e);
      this.waiting = undefined;
    });
  }

  static start(file: string, column: string, idColumn: string | undefined): Decoder {
    const child = spawn(process.execPath, [`--max-old-space-size=${PARQUET_DECODER_HEAP_MB}`, CHILD, file, column, idColumn ?? ""], { stdio: ["pipe", "pipe", "ignore"] });
    return new Decoder(child, file);
  }

  private drain(): void {
    if (this.waiting === undefined || this.buffered.length < 8) return;
    const h = this.buffered.readUInt32LE(0);
    const p = this.buffered.readUInt32LE(4);
    if (this.buffered.length < 8 + h + p) return;
    const header = JSON.parse(this.buffered.subarray(8, 8 + h).toString("utf8")) as Reply["header"];
    const payload = new Uint8Array(this.buffered.subarray(8 + h, 8 + h + p));
    this.buffered = this.buffered.subarray(8 + h + p);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ header, payload });
  }

  async request(req: unknown, row?: number): Promise<Reply> {
    if (this.exited !== undefined) throw this.crashed(this.exited, row);
    const reply = new Promise<Reply>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    this.child.stdin!.write(`${JSON.stringify(req)}\n`);
    this.drain();
    let r: Reply;
    try {
      r = await reply;
    } catch (e) {
      throw this.crashed(e instanceof Error ? e.message : String(e), row);
    }
    if (!r.header.ok) throw new QuiverInputError("INPUT_BAD_HEADER", `Parquet decoder: ${r.header.message ?? "failed"}`, row === undefined ? { file: this.file } : { file: this.file, row });
    return r;
  }

  private crashed(how: string, row: number | undefined): QuiverInputError {
    return new QuiverInputError("INPUT_BAD_HEADER", `the Parquet decoder stopped (${how}) on this file`, row === undefined ? { file: this.file } : { file: this.file, row });
  }

  close(): void {
    if (this.exited === undefined) this.child.kill();
  }
}

/** Open a Parquet file holding a list<float> vector column. */
export async function openParquet(path: string, options: { column?: string; idColumn?: string } = {}): Promise<VectorReader> {
  const column = options.column ?? "vector";
  const f = await FileBytes.open(path);
  try {
    const tail = await f.read(Math.max(0, f.size - 8), 8);
    const magic = (b: Uint8Array, at: number): boolean => b[at] === 0x50 && b[at + 1] === 0x41 && b[at + 2] === 0x52 && b[at + 3] === 0x31; // PAR1
    const head = await f.read(0, 4);
    if (f.size < 12 || !magic(head, 0) || !magic(tail, 4)) throw new QuiverInputError(f.size < 12 ? "INPUT_TRUNCATED" : "INPUT_BAD_HEADER", "not a Parquet file (PAR1 magic at both ends)", { file: path });
    const footer = new DataView(tail.buffer, tail.byteOffset, 8).getUint32(0, true);
    if (footer > MAX_PARQUET_FOOTER_BYTES || footer > f.size - 12) throw new QuiverInputError("INPUT_BAD_HEADER", `footer of ${footer} bytes`, { file: path, offset: f.size - 8 });
  } finally {
    await f.close();
  }
  const d = Decoder.start(path, column, options.idColumn);
  try {
    const meta = (await d.request({ op: "meta" })).header;
    const top = meta.columns ?? [];
    if (!top.includes(column)) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no column ${JSON.stringify(column.slice(0, 64))}; columns are ${top.map((n) => JSON.stringify(n.slice(0, 32))).join(", ").slice(0, 300)}`, { file: path, column });
    if (options.idColumn !== undefined && !top.includes(options.idColumn)) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no id column ${JSON.stringify(options.idColumn.slice(0, 64))}`, { file: path, column: options.idColumn });
    const numRows = meta.numRows ?? -1;
    if (!Number.isSafeInteger(numRows) || numRows < 1) throw new QuiverInputError("INPUT_BAD_HEADER", `num_rows ${numRows}`, { file: path });
    const probe = new ParquetReader(d, path, column, options.idColumn, numRows, 0);
    const first = await probe.rows(0, 1);
    const dim = first.lengths[0]!;
    if (!(dim >= 1 && dim <= 65_536)) throw new QuiverInputError(dim < 0 ? "INPUT_WRONG_DTYPE" : "INPUT_DIM_MISMATCH", dim < 0 ? "the vector column must be a list of floats" : `row 0 has ${dim} values; expected [1, 65536]`, { file: path, row: 0, column });
    return new ParquetReader(d, path, column, options.idColumn, numRows, dim);
  } catch (e) {
    d.close();
    throw e;
  }
}

class ParquetReader implements VectorReader {
  readonly format = "parquet";
  readonly hasIds: boolean;
  constructor(
    private readonly d: Decoder,
    readonly file: string,
    readonly column: string,
    private readonly idColumn: string | undefined,
    readonly numRows: number,
    readonly dim: number,
  ) {
    this.hasIds = idColumn !== undefined;
  }

  /** Decoded rows [start, start + count): per-row lengths (-1: not a list), bad-value kinds, f64 values, ids. */
  async rows(start: number, count: number): Promise<{ lengths: number[]; kinds: string[]; values: Float64Array; ids: (string | null)[] | undefined }> {
    const r = await this.d.request({ op: "rows", start, count }, start);
    const h = r.header;
    if (h.rows !== count || h.lengths?.length !== count || h.kinds?.length !== count) throw new QuiverInputError("INPUT_TRUNCATED", `rows ${start}..${start + count}: the file yielded ${h.rows ?? 0}`, { file: this.file, row: start + (h.rows ?? 0) });
    const total = h.lengths.reduce((s, n) => s + Math.max(0, n), 0);
    if (r.payload.byteLength !== total * 8) throw new QuiverInputError("INPUT_BAD_HEADER", "decoder reply of the wrong size", { file: this.file, row: start });
    const values = new Float64Array(r.payload.buffer, r.payload.byteOffset, total);
    return { lengths: h.lengths, kinds: h.kinds, values, ids: h.ids };
  }

  batches(maxRows: number): AsyncIterable<VectorBatch> {
    return this.batchesInRange(0, this.numRows, maxRows);
  }

  async *batchesInRange(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
    const per = batchRows(maxRows);
    const dim = this.dim;
    const stop = Math.min(end, this.numRows);
    // the decoder reads rows by index (hyparquet skips the row groups before `first`)
    for (let first = start; first < stop; first += per) {
      const count = Math.min(per, stop - first);
      const got = await this.rows(first, count);
      const vectors = new Float32Array(count * dim);
      let at = 0;
      for (let i = 0; i < count; i++) {
        const n = got.lengths[i]!;
        const kind = got.kinds[i]!;
        if (n < 0) throw new QuiverInputError(kind === "null" ? "INPUT_NON_FINITE" : "INPUT_WRONG_DTYPE", kind === "null" ? "null vector" : "the vector column must be a list of floats", { file: this.file, row: first + i, column: this.column });
        if (n !== dim) throw new QuiverInputError("INPUT_DIM_MISMATCH", `${n} values, the file's row 0 has ${dim}`, { file: this.file, row: first + i, column: this.column });
        if (kind !== "") throw new QuiverInputError(kind === "null" ? "INPUT_NON_FINITE" : "INPUT_WRONG_DTYPE", `a ${kind} value`, { file: this.file, row: first + i, column: this.column });
        for (let j = 0; j < dim; j++) vectors[i * dim + j] = got.values[at++]!;
      }
      checkFinite(vectors, count, dim, first, this.file, this.column);
      if (this.idColumn === undefined) yield { vectors, rows: count, firstRow: first };
      else {
        const ids = new BigUint64Array(count);
        for (let i = 0; i < count; i++) {
          const s = got.ids?.[i];
          const big = typeof s === "string" && /^\d{1,20}$/.test(s) ? BigInt(s) : undefined;
          if (big === undefined || big >= 1n << 64n) throw new QuiverInputError("INPUT_WRONG_DTYPE", "ids must be non-negative integers below 2^64", { file: this.file, row: first + i, column: this.idColumn });
          ids[i] = big;
        }
        yield { vectors, rows: count, firstRow: first, ids };
      }
    }
  }

  async close(): Promise<void> {
    this.d.close();
  }
}
