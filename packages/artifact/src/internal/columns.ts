import { type Data, type DataType, FixedSizeList, RecordBatch, type Schema, Struct, Type, type Vector, makeData } from "apache-arrow";
import { QuiverFormatError } from "@quiver/format";
import { payloadTypeWidth } from "../payload-schema.js";

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
