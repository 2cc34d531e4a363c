/**
 * Arrow IPC (file `.arrow` and stream `.arrows`) vector input, read with Quiver's own bounds-checked
 * walk of the message flatbuffers: no Arrow byte reaches apache-arrow (or anything else) before
 * it is checked here. One pass over the message headers at open validates the schema and every
 * record batch header (buffer ranges inside the body, body inside the file, no compression) and
 * counts the rows; `batches` then reads only the vector (and id) buffers, at most `maxRows` rows at
 * a time, so memory is bounded whatever the size of a record batch. The vector column is a
 * FixedSizeList<float32>[dim] chosen by name; the id column (optional) a uint64 (or non-negative
 * int64) column. Dictionary batches are skipped; nulls in the chosen columns are rejected.
 */
import { QuiverInputError } from "../errors.js";
import { batchRows, checkFinite } from "./common.js";
import { FileBytes } from "./file-bytes.js";
import { BadFlatbuffer, FbTable } from "./flatbuffer.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Largest message metadata accepted (bytes). */
export const MAX_ARROW_METADATA_BYTES = 16 * 1024 * 1024;
/** Most schema fields (all levels) and record batches accepted. */
export const MAX_ARROW_FIELDS = 10_000;
export const MAX_ARROW_BATCHES = 10_000_000;
const MAX_NESTING = 32;

const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31]; // ARROW1
const HEADER = { schema: 1, dictionary: 2, recordBatch: 3 } as const;
const TYPE = { null: 1, int: 2, float: 3, binary: 4, utf8: 5, bool: 6, decimal: 7, date: 8, time: 9, timestamp: 10, interval: 11, list: 12, struct: 13, union: 14, fsb: 15, fsl: 16, map: 17, duration: 18, largeBinary: 19, largeUtf8: 20, largeList: 21, ree: 22 } as const;

/** Buffers a field of each type contributes to a record batch (Arrow columnar format, v5). */
function bufferCount(typeType: number): number | undefined {
  switch (typeType) {
    case TYPE.null:
    case TYPE.ree:
      return 0;
    case TYPE.struct:
    case TYPE.fsl:
      return 1;
    case TYPE.binary:
    case TYPE.utf8:
    case TYPE.largeBinary:
    case TYPE.largeUtf8:
      return 3;
    case TYPE.int:
    case TYPE.float:
    case TYPE.bool:
    case TYPE.decimal:
    case TYPE.date:
    case TYPE.time:
    case TYPE.timestamp:
    case TYPE.interval:
    case TYPE.fsb:
    case TYPE.duration:
    case TYPE.list:
    case TYPE.largeList:
    case TYPE.map:
      return 2;
    default:
      return undefined; // unions, views: not supported
  }
}

interface FlatField {
  readonly name: string;
  readonly typeType: number;
  readonly type: FbTable | undefined;
  readonly dictionary: boolean;
  readonly firstNode: number;
  readonly firstBuffer: number;
  readonly children: FlatField[];
}

interface BatchInfo {
  readonly rows: number;
  /** Absolute file offset of the body. */
  readonly body: number;
  readonly bodyLength: number;
  readonly nodes: { length: number; nullCount: number }[];
  readonly buffers: { offset: number; length: number }[];
}

/** Open an Arrow IPC file or stream holding a FixedSizeList<float32> vector column. */
export async function openArrowIpc(path: string, options: { column?: string; idColumn?: string } = {}): Promise<VectorReader> {
  const f = await FileBytes.open(path);
  try {
    return await scan(f, path, options.column ?? "vector", options.idColumn);
  } catch (e) {
    await f.close();
    if (e instanceof BadFlatbuffer) throw new QuiverInputError("INPUT_BAD_HEADER", `malformed Arrow IPC metadata: ${e.message}`, { file: path });
    throw e;
  }
}

/**
 * The same checks over Arrow IPC bytes already in memory (parquet-wasm's output): `allowList`
 * also accepts a list<float32> vector column whose rows all have one length; `rowBase` offsets
 * the row numbers in errors.
 */
export async function scanArrowBytes(name: string, bytes: Uint8Array, column: string, idColumn: string | undefined, allowList = false, rowBase = 0): Promise<VectorReader> {
  try {
    return await scan(FileBytes.fromBytes(name, bytes), name, column, idColumn, allowList, rowBase);
  } catch (e) {
    if (e instanceof BadFlatbuffer) throw new QuiverInputError("INPUT_BAD_HEADER", `malformed Arrow IPC metadata: ${e.message}`, { file: name });
    throw e;
  }
}

interface Message {
  readonly headerType: number;
  readonly header: FbTable | undefined;
  readonly body: number;
  readonly bodyLength: number;
}

/** Read and check the message at `pos` (continuation-prefixed or legacy); undefined at end of stream. */
async function messageAt(f: FileBytes, file: string, pos: number, end: number, rows: number): Promise<Message | undefined> {
  if (pos + 4 > end) return undefined; // a stream may end without an end-of-stream marker
  const pre = await f.read(pos, 8);
  const view = new DataView(pre.buffer, pre.byteOffset, pre.byteLength);
  let metaLen: number;
  let metaAt: number;
  if (view.getUint32(0, true) === 0xffffffff) {
    if (pre.length < 8) throw new QuiverInputError("INPUT_TRUNCATED", "the file ends inside a message prefix", { file, offset: pos });
    metaLen = view.getInt32(4, true);
    metaAt = pos + 8;
  } else {
    metaLen = view.getInt32(0, true);
    metaAt = pos + 4;
  }
  if (metaLen === 0) return undefined; // end of stream
  if (metaLen < 0 || metaLen > MAX_ARROW_METADATA_BYTES) throw new QuiverInputError("INPUT_BAD_HEADER", `message metadata length ${metaLen}`, { file, offset: pos });
  if (metaAt + metaLen > end) throw new QuiverInputError("INPUT_TRUNCATED", "the file ends inside a message's metadata", { file, offset: metaAt, row: rows });
  const msg = FbTable.root(await f.read(metaAt, metaLen));
  const bodyLength = msg.i64(3);
  const body = metaAt + metaLen;
  if (bodyLength < 0 || body + bodyLength > end) throw new QuiverInputError("INPUT_TRUNCATED", `the file ends inside a message body of ${bodyLength} bytes`, { file, offset: body, row: rows });
  return { headerType: msg.u8(1), header: msg.table(2), body, bodyLength };
}

function schemaFields(schema: FbTable | undefined, file: string, offset: number): FlatField[] {
  if (schema === undefined) throw new QuiverInputError("INPUT_BAD_HEADER", "schema message without a schema", { file, offset });
  if (schema.i16(0) !== 0) throw new QuiverInputError("INPUT_BAD_HEADER", "big-endian Arrow data is not supported", { file, offset });
  return flattenFields(schema.tables(1, MAX_ARROW_FIELDS), file);
}

function batchInfo(m: Message, file: string, rows: number, offset: number): BatchInfo {
  const header = m.header;
  if (header === undefined) throw new QuiverInputError("INPUT_BAD_HEADER", "record batch message without a header", { file, offset });
  if (header.has(3)) throw new QuiverInputError("INPUT_BAD_HEADER", "compressed record batches are not supported", { file, offset, row: rows });
  const length = header.i64(0);
  const nv = header.vector(1, 16);
  const bv = header.vector(2, 16);
  const nodes: BatchInfo["nodes"] = [];
  const buffers: BatchInfo["buffers"] = [];
  for (let k = 0; k < (nv?.length ?? 0); k++) nodes.push({ length: header.structI64(nv!.at + 16 * k), nullCount: header.structI64(nv!.at + 16 * k + 8) });
  for (let k = 0; k < (bv?.length ?? 0); k++) {
    const b = { offset: header.structI64(bv!.at + 16 * k), length: header.structI64(bv!.at + 16 * k + 8) };
    if (b.offset + b.length > m.bodyLength) throw new QuiverInputError("INPUT_BAD_HEADER", `buffer ${k} lies outside its ${m.bodyLength}-byte body`, { file, offset: m.body, row: rows });
    buffers.push(b);
  }
  if (length < 0) throw new QuiverInputError("INPUT_BAD_HEADER", `record batch length ${length}`, { file, offset });
  return { rows: length, body: m.body, bodyLength: m.bodyLength, nodes, buffers };
}

async function scan(f: FileBytes, file: string, column: string, idColumn: string | undefined, allowList = false, rowBase = 0): Promise<VectorReader> {
  const head = await f.read(0, 8);
  let fields: FlatField[] | undefined;
  const batches: BatchInfo[] = [];
  let rows = 0;
  if (head.length >= 6 && MAGIC.every((b, i) => head[i] === b)) {
    // Arrow file: magic, padding, messages, footer (schema + record batch blocks), footer length, magic
    const tail = await f.read(f.size - 10, 10);
    if (f.size < 18 || tail.length < 10 || !MAGIC.every((b, i) => tail[4 + i] === b)) throw new QuiverInputError("INPUT_TRUNCATED", "Arrow file without its trailing magic", { file });
    const footerLen = new DataView(tail.buffer, tail.byteOffset, 4).getInt32(0, true);
    if (footerLen < 0 || footerLen > f.size - 18 || footerLen > MAX_ARROW_METADATA_BYTES) throw new QuiverInputError("INPUT_BAD_HEADER", `footer length ${footerLen}`, { file, offset: f.size - 10 });
    const end = f.size - 10 - footerLen;
    const footer = FbTable.root(await f.read(end, footerLen));
    fields = schemaFields(footer.table(1), file, end);
    const blocks = footer.vector(3, 24);
    if ((blocks?.length ?? 0) > MAX_ARROW_BATCHES) throw new QuiverInputError("INPUT_BAD_HEADER", "too many record batches", { file, offset: end });
    for (let k = 0; k < (blocks?.length ?? 0); k++) {
      const offset = footer.structI64(blocks!.at + 24 * k);
      if (offset < 8 || offset >= end) throw new QuiverInputError("INPUT_BAD_HEADER", `record batch block ${k} at ${offset} is outside the file's messages`, { file, offset: end });
      const m = await messageAt(f, file, offset, end, rows);
      if (m === undefined || m.headerType !== HEADER.recordBatch) throw new QuiverInputError("INPUT_BAD_HEADER", `record batch block ${k} is not a record batch message`, { file, offset });
      const b = batchInfo(m, file, rows, offset);
      batches.push(b);
      rows += b.rows;
    }
  } else {
    for (let pos = 0; ; ) {
      const m = await messageAt(f, file, pos, f.size, rows);
      if (m === undefined) break;
      if (m.headerType === HEADER.schema) {
        if (fields !== undefined) throw new QuiverInputError("INPUT_BAD_HEADER", "a second schema message", { file, offset: pos });
        fields = schemaFields(m.header, file, pos);
      } else if (m.headerType === HEADER.recordBatch) {
        if (fields === undefined) throw new QuiverInputError("INPUT_BAD_HEADER", "record batch before the schema", { file, offset: pos });
        if (batches.length >= MAX_ARROW_BATCHES) throw new QuiverInputError("INPUT_BAD_HEADER", `more than ${MAX_ARROW_BATCHES} record batches`, { file });
        const b = batchInfo(m, file, rows, pos);
        batches.push(b);
        rows += b.rows;
      } else if (m.headerType !== HEADER.dictionary) {
        throw new QuiverInputError("INPUT_BAD_HEADER", `message header type ${m.headerType} is not a schema, dictionary or record batch`, { file, offset: pos });
      }
      pos = m.body + m.bodyLength;
    }
  }
  if (fields === undefined) throw new QuiverInputError("INPUT_BAD_HEADER", "no schema message", { file });
  const vec = fields.find((x) => x.name === column);
  if (vec === undefined) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no column ${JSON.stringify(column.slice(0, 64))}; columns are ${fields.map((x) => JSON.stringify(x.name.slice(0, 32))).join(", ").slice(0, 300)}`, { file, column });
  const child = vec.children[0];
  if (vec.type === undefined || (child !== undefined && child.type === undefined)) throw new QuiverInputError("INPUT_BAD_HEADER", "a schema field without its type table", { file, column });
  const childFloat = child?.type?.i16(0, -1);
  const isList = vec.typeType === TYPE.list && allowList;
  if ((vec.typeType !== TYPE.fsl && !isList) || vec.dictionary || child === undefined || child.typeType !== TYPE.float || childFloat !== 1) {
    throw new QuiverInputError("INPUT_WRONG_DTYPE", `the vector column must be FixedSizeList<float32>${allowList ? " or List<float32>" : ""}`, { file, column });
  }
  let dim = isList ? 0 : vec.type!.i32(0);
  if (isList) {
    // a list column's row length comes from the first non-empty batch's offsets (int32)
    const b = batches.find((x) => x.rows > 0);
    if (b !== undefined) {
      const ob = b.buffers[vec.firstBuffer + 1];
      if (ob === undefined || ob.length < (b.rows + 1) * 4) throw new QuiverInputError("INPUT_TRUNCATED", "list offsets buffer shorter than its rows", { file, column, row: rowBase });
      const o = await f.read(b.body + ob.offset, 8);
      const v = new DataView(o.buffer, o.byteOffset, 8);
      dim = v.getInt32(4, true) - v.getInt32(0, true);
    }
  }
  if (!(isList && dim === 0 && batches.every((b) => b.rows === 0)) && (dim < 1 || dim > 65_536)) throw new QuiverInputError("INPUT_DIM_MISMATCH", `vector length ${dim}; expected [1, 65536]`, { file, column, row: rowBase });
  let id: FlatField | undefined;
  if (idColumn !== undefined) {
    id = fields.find((x) => x.name === idColumn);
    if (id === undefined) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no id column ${JSON.stringify(idColumn.slice(0, 64))}`, { file, column: idColumn });
    if (id.typeType !== TYPE.int || id.dictionary || id.type === undefined || id.type.i32(0) !== 64) throw new QuiverInputError("INPUT_WRONG_DTYPE", "the id column must be uint64 or int64", { file, column: idColumn });
  }
  const want = (b: BatchInfo, node: number, buffer: number): void => {
    if (node >= b.nodes.length || buffer >= b.buffers.length) throw new QuiverInputError("INPUT_BAD_HEADER", "record batch has fewer field nodes or buffers than its schema", { file });
  };
  let first = 0;
  for (const b of batches) {
    want(b, child.firstNode, child.firstBuffer + 1);
    const fsl = b.nodes[vec.firstNode]!;
    const values = b.nodes[child.firstNode]!;
    if (fsl.length !== b.rows || (!isList && values.length !== b.rows * dim)) throw new QuiverInputError("INPUT_DIM_MISMATCH", `record batch of ${b.rows} rows has ${values.length} vector values, expected ${b.rows * dim}`, { file, column, row: rowBase + first });
    if (isList) want(b, vec.firstNode, vec.firstBuffer + 1);
    if (b.buffers[child.firstBuffer + 1]!.length < values.length * 4) throw new QuiverInputError("INPUT_TRUNCATED", "vector values buffer shorter than its rows", { file, column, row: rowBase + first });
    if (id !== undefined) {
      want(b, id.firstNode, id.firstBuffer + 1);
      if (b.nodes[id.firstNode]!.length !== b.rows || b.buffers[id.firstBuffer + 1]!.length < b.rows * 8) throw new QuiverInputError("INPUT_TRUNCATED", "id buffer shorter than its rows", { file, column: id.name, row: first });
    }
    first += b.rows;
  }
  return new ArrowReader(f, file, column, dim, rows, batches, vec, child, id, isList, rowBase);
}

function flattenFields(tables: FbTable[], file: string): FlatField[] {
  let node = 0;
  let buffer = 0;
  let count = 0;
  const walk = (t: FbTable, depth: number): FlatField => {
    if (depth > MAX_NESTING) throw new QuiverInputError("INPUT_BAD_HEADER", `schema nested deeper than ${MAX_NESTING}`, { file });
    if (++count > MAX_ARROW_FIELDS) throw new QuiverInputError("INPUT_BAD_HEADER", `more than ${MAX_ARROW_FIELDS} fields`, { file });
    const name = t.string(0, 4096) ?? "";
    const typeType = t.u8(2);
    const dictionary = t.has(4);
    const firstNode = node++;
    const firstBuffer = buffer;
    const nb = dictionary ? 2 : bufferCount(typeType);
    if (nb === undefined) throw new QuiverInputError("INPUT_WRONG_DTYPE", `column ${JSON.stringify(name.slice(0, 64))} has an unsupported Arrow type (${typeType})`, { file, column: name });
    buffer += nb;
    // a dictionary-encoded field's record batch carries only its indices
    const children = dictionary ? [] : t.tables(5, MAX_ARROW_FIELDS).map((c) => walk(c, depth + 1));
    return { name, typeType, type: t.table(3), dictionary, firstNode, firstBuffer, children };
  };
  return tables.map((t) => walk(t, 0));
}

function firstNull(bitmap: Uint8Array, rows: number): number {
  for (let i = 0; i < rows; i++) if ((bitmap[i >> 3]! & (1 << (i & 7))) === 0) return i;
  return -1;
}

class ArrowReader implements VectorReader {
  readonly format: string;
  readonly hasIds: boolean;
  constructor(
    private readonly f: FileBytes,
    readonly file: string,
    readonly column: string,
    readonly dim: number,
    readonly numRows: number,
    private readonly infos: readonly BatchInfo[],
    private readonly vec: FlatField,
    private readonly child: FlatField,
    private readonly id: FlatField | undefined,
    private readonly isList: boolean,
    private readonly rowBase: number,
  ) {
    this.format = "arrow";
    this.hasIds = id !== undefined;
  }

  private async checkNulls(b: BatchInfo, field: FlatField, node: number, rows: number, first: number, column: string, perRow: number): Promise<void> {
    if (b.nodes[node]!.nullCount === 0) return;
    const buf = b.buffers[field.firstBuffer]!;
    const row = buf.length === 0 ? 0 : firstNull(await this.f.read(b.body + buf.offset, Math.ceil((rows * perRow) / 8)), rows * perRow);
    throw new QuiverInputError("INPUT_NON_FINITE", "null value; vectors and ids must be non-null", { file: this.file, column, row: this.rowBase + first + Math.max(0, Math.floor(row / perRow)) });
  }

  batches(maxRows: number): AsyncIterable<VectorBatch> {
    return this.batchesInRange(0, Number.MAX_SAFE_INTEGER, maxRows);
  }

  async *batchesInRange(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
    const per = batchRows(maxRows);
    const dim = this.dim;
    let first = 0;
    for (const b of this.infos) {
      // record batches wholly outside the range are skipped without reading their buffers
      if (first + b.rows <= start || first >= end) {
        first += b.rows;
        continue;
      }
      await this.checkNulls(b, this.vec, this.vec.firstNode, b.rows, first, this.column, 1);
      await this.checkNulls(b, this.child, this.child.firstNode, b.rows, first, this.column, dim);
      if (this.id !== undefined) await this.checkNulls(b, this.id, this.id.firstNode, b.rows, first, this.id.name, 1);
      const data = b.buffers[this.child.firstBuffer + 1]!;
      let base = 0;
      if (this.isList && b.rows > 0) {
        // every row must have exactly dim values: offsets[i] = offsets[0] + i * dim
        const ob = b.buffers[this.vec.firstBuffer + 1]!;
        const raw = await this.f.read(b.body + ob.offset, (b.rows + 1) * 4);
        const off = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
        base = off.getInt32(0, true);
        for (let i = 1; i <= b.rows; i++) {
          if (off.getInt32(i * 4, true) - off.getInt32((i - 1) * 4, true) !== dim) {
            throw new QuiverInputError("INPUT_DIM_MISMATCH", `row has ${off.getInt32(i * 4, true) - off.getInt32((i - 1) * 4, true)} values, the file's rows ${dim}`, { file: this.file, column: this.column, row: this.rowBase + first + i - 1 });
          }
        }
        if (base < 0 || (base + b.rows * dim) * 4 > data.length) throw new QuiverInputError("INPUT_BAD_HEADER", "list offsets point outside the values buffer", { file: this.file, column: this.column, row: this.rowBase + first });
      }
      const stop = Math.min(b.rows, end - first);
      for (let r = Math.max(0, start - first); r < stop; r += per) {
        const rows = Math.min(per, stop - r);
        const bytes = await this.f.read(b.body + data.offset + (base + r * dim) * 4, rows * dim * 4);
        const vectors = new Float32Array(bytes.buffer, bytes.byteOffset, rows * dim);
        checkFinite(vectors, rows, dim, this.rowBase + first + r, this.file, this.column);
        if (this.id === undefined) yield { vectors, rows, firstRow: first + r };
        else {
          const ib = b.buffers[this.id.firstBuffer + 1]!;
          const raw = await this.f.read(b.body + ib.offset + r * 8, rows * 8);
          const ids = new BigUint64Array(raw.buffer, raw.byteOffset, rows);
          if (this.id.type!.u8(1) === 1) {
            // signed int64: negative ids are not row ids
            for (let i = 0; i < rows; i++) if (ids[i]! >= 1n << 63n) throw new QuiverInputError("INPUT_WRONG_DTYPE", "negative id", { file: this.file, column: this.id.name, row: this.rowBase + first + r + i });
          }
          yield { vectors, rows, firstRow: first + r, ids };
        }
      }
      first += b.rows;
    }
  }

  async close(): Promise<void> {
    await this.f.close();
  }
}
