import { type RecordBatch, Type } from "apache-arrow";
import { fixedWidthBytes, singleChunk } from "./internal/columns.js";
import { payloadTypeWidth } from "./payload-schema.js";

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/**
 * Rows of a payload batch in the conformance form (spec/artifact.md#conformance): integer columns of
 * up to 32 bits as JSON numbers, 64-bit integers as decimal strings, every other column (floats,
 * fixed-size lists, fixed-size binary) as the lowercase hex of its little-endian row bytes.
 */
export function canonicalPayloadRows(batch: RecordBatch): Record<string, string | number>[] {
  const cols = batch.schema.fields.map((f, c) => {
    const w = payloadTypeWidth(f.type);
    const data = singleChunk(batch.getChildAt(c)!, "read");
    const bytes = fixedWidthBytes(data, w, "read");
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const isInt = f.type.typeId === Type.Int;
    const signed = isInt && (f.type as unknown as { isSigned: boolean }).isSigned;
    return (i: number): string | number => {
      if (isInt && w === 8) return (signed ? view.getBigInt64(i * 8, true) : view.getBigUint64(i * 8, true)).toString();
      if (isInt && w === 4) return signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
      if (isInt && w === 2) return signed ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true);
      if (isInt && w === 1) return signed ? view.getInt8(i) : view.getUint8(i);
      return hex(bytes.subarray(i * w, (i + 1) * w));
    };
  });
  const names = batch.schema.fields.map((f) => f.name);
  const out: Record<string, string | number>[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const row: Record<string, string | number> = Object.create(null) as Record<string, string | number>;
    names.forEach((n, c) => (row[n] = cols[c]!(i)));
    out.push(row);
  }
  return out;
}
