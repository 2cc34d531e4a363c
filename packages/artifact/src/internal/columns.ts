import { type Data, type DataType, FixedSizeList, RecordBatch, type Schema, Struct, Type, type Vector, makeData } from "apache-arrow";
import { type ArrowFieldInfo, QuiverFormatError, type RecordBatchMeta, checkRecordBatchBody, decodeArrowMessage } from "@quiver/format";
import { payloadFieldInfo, payloadTypeName, payloadTypeWidth } from "../payload-schema.js";

/**
 * A record batch message's metadata, decoded by format's bounds-checked walker: not a record
 * batch is BAD_ARROW_IPC, a compressed body ARROW_COMPRESSED_BODY (bucket files and the ranges
 * table hold uncompressed bodies, spec/artifact.md#bucket-files).
 */
export function recordBatchMeta(meta: Uint8Array, stage = "bucket"): RecordBatchMeta & { readonly bodyLength: number } {
  const m = decodeArrowMessage(meta, stage);
  if (m.type !== "record-batch") throw new QuiverFormatError("BAD_ARROW_IPC", `message is a ${m.type}, not a record batch`, { stage });
  if (m.batch.compressed) throw new QuiverFormatError("ARROW_COMPRESSED_BODY", "compressed record batch bodies are not allowed (spec/artifact.md#bucket-files)", { stage });
  return { ...m.batch, bodyLength: m.bodyLength };
}

function elementBytes(t: DataType): number {
  return t.typeId === Type.FixedSizeList ? elementBytes((t as FixedSizeList).children[0]!.type) : t.typeId === Type.FixedSizeBinary ? 1 : payloadTypeWidth(t);
}

/** The row bytes of one fixed-width, null-free column chunk, as a view (no copy). */
export function fixedWidthBytes(data: Data, width: number, stage: string): Uint8Array {
  if (data.nullCount > 0) throw new QuiverFormatError("INVALID_VALUE", `column has ${data.nullCount} nulls; payload columns are non-nullable`, { stage });
  let values: ArrayBufferView;
  let start: number;
  if (data.type.typeId === Type.FixedSizeList) {
    const child = data.children[0]!;
    if (child.nullCount > 0) throw new QuiverFormatError("INVALID_VALUE", "list child has nulls", { stage });
    values = child.values as ArrayBufferView;
    start = (child.offset + data.offset * (data.type as FixedSizeList).listSize) * elementBytes(child.type);
  } else {
    values = data.values as ArrayBufferView;
    start = data.offset * width;
  }
  return new Uint8Array(values.buffer, values.byteOffset + start, data.length * width);
}

/** One column of `n` rows over `bytes` (aligned for the element type), as Arrow data; no copy. */
export function columnData(type: DataType, bytes: Uint8Array, n: number): Data {
  if (type.typeId === Type.FixedSizeList) {
    const fsl = type as FixedSizeList;
    return makeData({ type: fsl, length: n, nullCount: 0, child: columnData(fsl.children[0]!.type, bytes, n * fsl.listSize) });
  }
  if (type.typeId === Type.FixedSizeBinary) return makeData({ type: type as never, length: n, nullCount: 0, data: bytes }) as Data;
  const ArrayType = (type as unknown as { ArrayType: new (b: ArrayBufferLike, o: number, l: number) => ArrayBufferView }).ArrayType;
  const w = payloadTypeWidth(type);
  return makeData({ type: type as never, length: n, nullCount: 0, data: new ArrayType(bytes.buffer, bytes.byteOffset, (n * w) / elementBytes(type)) as never }) as Data;
}

/** A record batch of `n` rows whose column c is `columns[c]` (row-contiguous bytes). */
export function batchOf(schema: Schema, columns: readonly Uint8Array[], n: number): RecordBatch {
  const children = schema.fields.map((f, c) => columnData(f.type, columns[c]!, n));
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

/** The single data chunk of a record batch column. */
export function singleChunk(v: Vector, stage: string): Data {
  if (v.data.length !== 1) throw new QuiverFormatError("INVALID_VALUE", `column has ${v.data.length} chunks`, { stage });
  return v.data[0]!;
}

/** Where each payload column's bytes are in a record batch body (Arrow buffer order). */
export interface PayloadLayout {
  readonly nodeCount: number;
  readonly bufferCount: number;
  /** Index into the message's buffers of each column's value buffer. */
  readonly dataBuffer: readonly number[];
  readonly widths: readonly number[];
  /** The walker's description of each field, for format's generic body checks. */
  readonly fields: readonly ArrowFieldInfo[];
}

/** The Arrow buffer layout of a payload schema: validity + values per column, FSL adds a child. */
export function payloadLayout(schema: Schema): PayloadLayout {
  const dataBuffer: number[] = [];
  let nodes = 0;
  let buffers = 0;
  for (const f of schema.fields) {
    if (f.type.typeId === Type.FixedSizeList) {
      dataBuffer.push(buffers + 2);
      buffers += 3;
      nodes += 2;
    } else {
      dataBuffer.push(buffers + 1);
      buffers += 2;
      nodes += 1;
    }
  }
  const fields = schema.fields.map((f) => payloadFieldInfo(f.name, payloadTypeName(f.type) ?? String(f.type)));
  return { nodeCount: nodes, bufferCount: buffers, dataBuffer, widths: schema.fields.map((f) => payloadTypeWidth(f.type)), fields };
}

/**
 * Decode one record batch message (`FFFFFFFF`, metadata length, metadata, body) of a payload
 * schema with bounds-checked metadata parsing: exactly `rows` rows, no nulls, every value buffer
 * inside the body (`rows` < 0 accepts the message's own count). Column bytes are copied into fresh (aligned) buffers.
 */
export function decodePayloadMessage(message: Uint8Array, metaDataLength: number, schema: Schema, layout: PayloadLayout, rows: number, where = "record batch"): RecordBatch {
  const d = decodePayloadColumns(message, metaDataLength, layout, rows, where, true);
  return batchOf(schema, d.columns, d.rows);
}

/**
 * The checks of {@link decodePayloadMessage}, returning each column's row bytes: fresh aligned
 * copies when `copy`, else views into `message` (the ranges table is read this way: no copy of a
 * 100 MB table). `rows` < 0 accepts the message's own count.
 */
export function decodePayloadColumns(message: Uint8Array, metaDataLength: number, layout: PayloadLayout, rows: number, where: string, copy: boolean): { rows: number; columns: Uint8Array[] } {
  const d = decodePayloadColumnsMeta(message, metaDataLength, layout, rows, where, copy);
  return { rows: d.rows, columns: d.columns };
}

/** {@link decodePayloadColumns}, also returning the decoded metadata (for {@link PayloadMessageDecoder}'s memo). */
function decodePayloadColumnsMeta(message: Uint8Array, metaDataLength: number, layout: PayloadLayout, rows: number, where: string, copy: boolean): { rows: number; columns: Uint8Array[]; meta: RecordBatchMeta } {
  const fail = (what: string): never => {
    throw new QuiverFormatError("BAD_ARROW_IPC", `${where}: ${what}`, { stage: "bucket" });
  };
  if (message.byteLength < 8 || metaDataLength < 8 || metaDataLength > message.byteLength) fail(`${message.byteLength} bytes with ${metaDataLength} metadata bytes`);
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  if (view.getUint32(0, true) !== 0xffffffff) fail("no continuation marker");
  const len = view.getInt32(4, true);
  // The int32 length counts the metadata and its padding, so the body starts right after it: what
  // every Arrow reader assumes when it reads the message from its block offset.
  if (len <= 0 || len !== metaDataLength - 8) fail(`metadata length ${len}, its footer block says ${metaDataLength - 8}`);
  const meta = recordBatchMeta(message.subarray(8, 8 + len));
  if (meta.length === 0 && rows !== -1) {
    throw new QuiverFormatError("ARTIFACT_EMPTY_RANGE", `${where} has 0 rows: producers MUST NOT write zero-row record batches in bucket files (spec/artifact.md#bucket-files)`, { stage: "bucket" });
  }
  if (rows < 0) rows = meta.length;
  if (meta.length !== rows) {
    throw new QuiverFormatError("ARTIFACT_BATCH_MISMATCH", `${where} has ${meta.length} rows, its range says ${rows}`, { stage: "bucket" });
  }
  if (meta.nodes.length !== layout.nodeCount || meta.buffers.length !== layout.bufferCount) fail(`${meta.nodes.length} nodes / ${meta.buffers.length} buffers, the payload schema needs ${layout.nodeCount} / ${layout.bufferCount}`);
  // Declared-nullable fields are fine; a null present is not (spec/artifact.md#payload-types).
  const withNulls = meta.nodes.findIndex((n) => n.nullCount !== 0);
  if (withNulls >= 0) throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `${where}: field node ${withNulls} has ${meta.nodes[withNulls]!.nullCount} nulls; payload values are never null`, { stage: "bucket" });
  const body = message.subarray(metaDataLength);
  if (meta.bodyLength !== body.byteLength) fail(`message says its body is ${meta.bodyLength} bytes, its footer block says ${body.byteLength}`);
  // Format's generic checks too (node lengths, validity bitmaps, buffer bounds and alignment), so
  // every Arrow reader of these bytes sees what this one sees.
  try {
    checkRecordBatchBody(layout.fields, meta, body, () => fail("payload columns are never dictionary-encoded"), "bucket");
  } catch (e) {
    if (e instanceof QuiverFormatError) fail(e.message.replace(/^BAD_ARROW_IPC: /, ""));
    throw e;
  }
  const cols = layout.dataBuffer.map((bi, c) => {
    const b = meta.buffers[bi]!;
    const need = rows * layout.widths[c]!;
    if (b.length < need) throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `column ${c} holds ${b.length} value bytes, ${rows} rows of its payload type need ${need}`, { stage: "bucket" });
    if (b.offset > body.byteLength || need > body.byteLength - b.offset) fail(`column ${c} values (${b.offset}+${need}) outside a ${body.byteLength}-byte body`);
    return copy ? body.slice(b.offset, b.offset + need) : body.subarray(b.offset, b.offset + need);
  });
  return { rows, columns: cols, meta };
}

interface MemoEntry {
  readonly head: Uint8Array;
  readonly bodyLength: number;
  readonly rows: number;
  readonly offsets: Int32Array;
}

/** Entries a {@link PayloadMessageDecoder} remembers (bounded: cleared when full). */
const MEMO_LIMIT = 4096;

/**
 * {@link decodePayloadColumns} (views, no copy) for many messages of one payload layout, with a
 * memo of checked message heads: the checks of a record batch message depend only on its head
 * (marker, length, flatbuffer metadata), its body length and the expected row count, as long as
 * no validity bitmap is present (a bitmap's bits are body bytes). A message whose head, body
 * length and row count equal those of one already fully checked (compared byte for byte, not by
 * hash) passes the same checks, so it only gets its column views cut; anything else (including
 * every message with a validity bitmap) is checked in full. A bucket's ranges mostly repeat a few
 * row counts, so most of them hit.
 */
export class PayloadMessageDecoder {
  readonly #layout: PayloadLayout;
  readonly #memo = new Map<number, MemoEntry[]>();
  #size = 0;

  constructor(layout: PayloadLayout) {
    this.#layout = layout;
  }

  /** Each payload column's row bytes of `message`, as views; the same errors as {@link decodePayloadColumns}. */
  columns(message: Uint8Array, metaDataLength: number, rows: number, where: () => string): Uint8Array[] {
    const layout = this.#layout;
    if (rows > 0 && metaDataLength >= 8 && metaDataLength <= message.byteLength) {
      const list = this.#memo.get(metaDataLength);
      if (list !== undefined) {
        const bodyLength = message.byteLength - metaDataLength;
        for (const e of list) {
          if (e.rows !== rows || e.bodyLength !== bodyLength || !sameBytes(e.head, message, metaDataLength)) continue;
          const cols: Uint8Array[] = [];
          for (let c = 0; c < e.offsets.length; c++) {
            const at = metaDataLength + e.offsets[c]!;
            cols.push(message.subarray(at, at + rows * layout.widths[c]!));
          }
          return cols;
        }
      }
    }
    const d = decodePayloadColumnsMeta(message, metaDataLength, layout, rows, where(), false);
    // Memo only what the body bytes cannot change: no validity bitmap anywhere (every buffer but the value buffers empty).
    const data = new Set(layout.dataBuffer);
    if (d.meta.buffers.every((b, i) => data.has(i) || b.length === 0)) {
      if (this.#size >= MEMO_LIMIT) {
        this.#memo.clear();
        this.#size = 0;
      }
      let list = this.#memo.get(metaDataLength);
      if (list === undefined) this.#memo.set(metaDataLength, (list = []));
      list.push({ head: message.slice(0, metaDataLength), bodyLength: message.byteLength - metaDataLength, rows: d.rows, offsets: Int32Array.from(layout.dataBuffer, (bi) => d.meta.buffers[bi]!.offset) });
      this.#size++;
    }
    return d.columns;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
