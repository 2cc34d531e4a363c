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
  return { rows, columns: cols };
}
