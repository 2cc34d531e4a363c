import {
  type DataType,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  Schema,
  Type,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
} from "apache-arrow";
import { type ArrowFieldInfo, type ArrowSchemaInfo, type ArrowTypeInfo, QuiverFormatError, arrowTypeString } from "@quiver/format";

/** One payload column as the manifest spells it: `{ name, type }` with a type string from spec/artifact.md#payload-types. */
export interface PayloadField {
  readonly name: string;
  readonly type: string;
}

/** MUST-level maxima of the payload schema (spec/artifact.md#limits). */
export const MAX_PAYLOAD_FIELDS = 64;
export const MAX_FIELD_NAME_BYTES = 256;
export const MAX_FIXED_WIDTH = 65536;

const PRIMITIVES: Readonly<Record<string, () => DataType>> = Object.assign(Object.create(null) as Record<string, () => DataType>, {
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float16: () => new Float16(),
  float32: () => new Float32(),
  float64: () => new Float64(),
});

const FSL_RE = /^fixed_size_list<([a-z0-9]+)>\[([1-9][0-9]{0,5})\]$/;
const FSB_RE = /^fixed_size_binary\[([1-9][0-9]{0,5})\]$/;

function fail(message: string): never {
  throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", message, { stage: "manifest" });
}

/** Parse a payload type string (`uint64`, `fixed_size_list<uint8>[16]`, `fixed_size_binary[32]`) into an Arrow type. */
export function parsePayloadType(type: string): DataType {
  const prim = PRIMITIVES[type];
  if (prim !== undefined) return prim();
  let m = FSL_RE.exec(type);
  if (m !== null) {
    const child = PRIMITIVES[m[1]!];
    const n = Number(m[2]);
    if (child === undefined || n > MAX_FIXED_WIDTH) fail(`payload type ${JSON.stringify(type)}`);
    return new FixedSizeList(n, new Field("item", child(), false));
  }
  m = FSB_RE.exec(type);
  if (m !== null) {
    const n = Number(m[1]);
    if (n > MAX_FIXED_WIDTH) fail(`payload type ${JSON.stringify(type)}`);
    return new FixedSizeBinary(n);
  }
  return fail(`unknown payload type ${JSON.stringify(type)}`);
}

function primitiveName(t: DataType): string | undefined {
  switch (t.typeId) {
    case Type.Int: {
      const it = t as Int8;
      return `${it.isSigned ? "int" : "uint"}${it.bitWidth}`;
    }
    case Type.Float: {
      const ft = t as Float32;
      return ft.precision === 0 ? "float16" : ft.precision === 1 ? "float32" : "float64";
    }
    default:
      return undefined;
  }
}

/** The manifest type string of an Arrow type, or undefined when the type is not a payload type. */
export function payloadTypeName(t: DataType): string | undefined {
  const prim = primitiveName(t);
  if (prim !== undefined) return prim;
  if (t.typeId === Type.FixedSizeBinary) return `fixed_size_binary[${(t as FixedSizeBinary).byteWidth}]`;
  if (t.typeId === Type.FixedSizeList) {
    const fsl = t as FixedSizeList;
    const child = fsl.children[0];
    const c = child === undefined ? undefined : primitiveName(child.type);
    if (c === undefined) return undefined;
    return `fixed_size_list<${c}>[${fsl.listSize}]`;
  }
  return undefined;
}

/** Bytes one row of a payload type occupies (every payload type is fixed-width). */
export function payloadTypeWidth(t: DataType): number {
  if (t.typeId === Type.FixedSizeBinary) return (t as FixedSizeBinary).byteWidth;
  if (t.typeId === Type.FixedSizeList) {
    const fsl = t as FixedSizeList;
    return fsl.listSize * payloadTypeWidth(fsl.children[0]!.type);
  }
  if (t.typeId === Type.Int) return (t as Int8).bitWidth / 8;
  if (t.typeId === Type.Float) return [2, 4, 8][(t as Float32).precision]!;
  return fail(`type ${String(t)} is not fixed-width`);
}

/**
 * Manifest fields of an Arrow payload schema; throws when a field is of an unsupported type. A
 * field (or list child) declared nullable is accepted: payload values must still never be null,
 * which the writer checks on every appended column.
 */
export function payloadFieldsOf(schema: Schema): PayloadField[] {
  if (schema.fields.length === 0 || schema.fields.length > MAX_PAYLOAD_FIELDS) fail(`${schema.fields.length} payload fields`);
  const seen = new Set<string>();
  return schema.fields.map((f) => {
    const type = payloadTypeName(f.type);
    if (type === undefined) fail(`field ${f.name}: unsupported type ${String(f.type)}`);
    if (seen.has(f.name)) fail(`duplicate field ${f.name}`);
    seen.add(f.name);
    return { name: f.name, type };
  });
}

/** The Arrow schema of manifest payload fields (every field non-nullable). */
export function payloadSchemaOf(fields: readonly PayloadField[]): Schema {
  return new Schema(fields.map((f) => new Field(f.name, parsePayloadType(f.type), false)));
}

/**
 * Why a bucket file's schema (as format's walker decoded it) is not the manifest's payload schema,
 * or undefined when it is: same field count, and per field the same name and the same type string
 * (spec/artifact.md#payload-types), no dictionary. The `nullable` flags (top level or of a list's
 * child) are not compared: a declared-nullable field is fine as long as no value is null, which
 * the record batches' null counts say (the reader and the validator both check them).
 */
export function bucketSchemaMismatch(schema: ArrowSchemaInfo, payload: readonly PayloadField[]): string | undefined {
  if (schema.fields.length !== payload.length) return `${schema.fields.length} fields, the payload schema has ${payload.length}`;
  for (let i = 0; i < payload.length; i++) {
    const f = schema.fields[i]!;
    const want = payload[i]!;
    if (f.name !== want.name) return `field ${i} is named ${JSON.stringify(f.name.slice(0, 64))}, the payload schema says ${JSON.stringify(want.name)}`;
    const type = arrowTypeString(f);
    if (type !== want.type) return `field ${JSON.stringify(want.name)} is ${type.slice(0, 80)}, the payload schema says ${want.type}`;
  }
  return undefined;
}

function primitiveInfo(name: string): ArrowTypeInfo {
  if (name.startsWith("float")) return { kind: "float", precision: name === "float16" ? 0 : name === "float32" ? 1 : 2 };
  const signed = !name.startsWith("u");
  return { kind: "int", bitWidth: Number(name.slice(signed ? 3 : 4)), signed };
}

/** The walker's field description of a payload type string (what format's body checks walk). */
export function payloadFieldInfo(name: string, type: string): ArrowFieldInfo {
  parsePayloadType(type);
  let m = FSL_RE.exec(type);
  if (m !== null) return { name, nullable: false, type: { kind: "fixed_size_list", listSize: Number(m[2]) }, children: [{ name: "item", nullable: false, type: primitiveInfo(m[1]!), children: [] }] };
  m = FSB_RE.exec(type);
  if (m !== null) return { name, nullable: false, type: { kind: "fixed_size_binary", byteWidth: Number(m[1]) }, children: [] };
  return { name, nullable: false, type: primitiveInfo(type), children: [] };
}
