/**
 * Declarative byte layouts. The frame header and the section-table entry are described once here;
 * the encoder, the decoder, `quiver inspect` and the spec's tables (spec/container.md) all follow
 * these descriptions, and a test checks the spec tables against them.
 */

/** Primitive field types; all little-endian. */
export type FieldType = "bytes" | "u8" | "u16" | "u32" | "u64";

/** One field of a fixed-size layout. */
export interface LayoutField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly type: FieldType;
  readonly meaning: string;
  readonly constraint: string;
}

/** A fixed-size little-endian record. */
export interface Layout {
  readonly name: string;
  readonly size: number;
  readonly fields: readonly LayoutField[];
}

function layout(name: string, size: number, fields: LayoutField[]): Layout {
  let at = 0;
  for (const f of fields) {
    if (f.offset !== at) throw new Error(`layout ${name}: field ${f.name} at ${f.offset}, expected ${at}`);
    at += f.size;
  }
  if (at !== size) throw new Error(`layout ${name}: fields cover ${at} of ${size} bytes`);
  return { name, size, fields };
}

/** The four magic bytes that open every Quiver frame: ASCII "QVRF". */
export const FRAME_MAGIC = new Uint8Array([0x51, 0x56, 0x52, 0x46]);
/** Container major version this implementation reads and writes. */
export const FRAME_VERSION_MAJOR = 1;
/** Container minor version this implementation writes (minor versions only add). */
export const FRAME_VERSION_MINOR = 0;
/** Every section starts at a multiple of this many bytes from the frame start. */
export const SECTION_ALIGNMENT = 64;
/** Maximum length of a type name, in bytes. */
export const MAX_TYPE_NAME_LENGTH = 255;
/** Maximum number of sections in one frame. */
export const MAX_SECTION_COUNT = 1 << 20;

/** Fixed 64-byte frame header. */
export const FRAME_HEADER: Layout = layout("frame-header", 64, [
  { name: "magic", offset: 0, size: 4, type: "bytes", meaning: "ASCII `QVRF`", constraint: "= 51 56 52 46" },
  { name: "version_major", offset: 4, size: 2, type: "u16", meaning: "container major version", constraint: "= 1" },
  { name: "version_minor", offset: 6, size: 2, type: "u16", meaning: "container minor version", constraint: "any; readers of major 1 accept every minor" },
  {
    name: "flags",
    offset: 8,
    size: 4,
    type: "u32",
    meaning: "container flags; byte 11 (bits 24–31) is `section_checksum`",
    constraint: "bits 0–23 = 0 (no flag is defined in 1.x); `section_checksum` see below",
  },
  { name: "kind", offset: 12, size: 4, type: "u32", meaning: "what the frame holds (spec/registry.csv)", constraint: "checked by the caller" },
  { name: "kind_version", offset: 16, size: 4, type: "u32", meaning: "version of the payload layout of `kind`", constraint: "checked by the caller" },
  { name: "type_name_length", offset: 20, size: 2, type: "u16", meaning: "bytes of the type name that follows the header", constraint: "<= 255" },
  { name: "reserved0", offset: 22, size: 2, type: "u16", meaning: "reserved", constraint: "= 0" },
  { name: "section_count", offset: 24, size: 4, type: "u32", meaning: "entries in the section table", constraint: "<= 1048576" },
  { name: "header_crc32", offset: 28, size: 4, type: "u32", meaning: "CRC-32 of bytes [0, table_end) with this field read as zero", constraint: "must match" },
  { name: "frame_length", offset: 32, size: 8, type: "u64", meaning: "total bytes of the frame", constraint: "<= 2^53-1; = end of the last section, or table_end when there are none" },
  { name: "reserved1", offset: 40, size: 24, type: "bytes", meaning: "reserved", constraint: "all zero" },
]);

/** One 32-byte section-table entry. */
export const SECTION_ENTRY: Layout = layout("section-entry", 32, [
  { name: "id", offset: 0, size: 4, type: "u32", meaning: "section id, meaning defined by `kind`", constraint: "unique within the frame" },
  { name: "encoding", offset: 4, size: 1, type: "u8", meaning: "how the section bytes are encoded (section encodings table)", constraint: "a defined encoding" },
  { name: "reserved0", offset: 5, size: 3, type: "bytes", meaning: "reserved", constraint: "all zero" },
  { name: "offset", offset: 8, size: 8, type: "u64", meaning: "start of the section, from the frame start", constraint: "multiple of 64; see placement rules" },
  { name: "length", offset: 16, size: 8, type: "u64", meaning: "bytes in the section", constraint: "multiple of the encoding's element size" },
  { name: "crc32", offset: 24, size: 4, type: "u32", meaning: "CRC-32 of the section bytes (`section_checksum` 0); low half of `xxh3_64` (1)", constraint: "must match" },
  { name: "reserved1", offset: 28, size: 4, type: "u32", meaning: "reserved (`section_checksum` 0); high half of `xxh3_64` (1)", constraint: "= 0 when `section_checksum` is 0" },
]);

/** Section encodings: code, name and element size (1 for byte-oriented encodings). */
export const SECTION_ENCODINGS = {
  raw: { code: 0, elementSize: 1 },
  u8: { code: 1, elementSize: 1 },
  u16: { code: 2, elementSize: 2 },
  u32: { code: 3, elementSize: 4 },
  u64: { code: 4, elementSize: 8 },
  i32: { code: 5, elementSize: 4 },
  f32: { code: 6, elementSize: 4 },
  f64: { code: 7, elementSize: 8 },
  "arrow-ipc-stream": { code: 8, elementSize: 1 },
  json: { code: 9, elementSize: 1 },
} as const;

/** Name of a section encoding. */
export type SectionEncoding = keyof typeof SECTION_ENCODINGS;

const ENCODING_BY_CODE: ReadonlyMap<number, SectionEncoding> = new Map(
  (Object.keys(SECTION_ENCODINGS) as SectionEncoding[]).map((name) => [SECTION_ENCODINGS[name].code, name]),
);

/** The encoding with this code, or undefined. */
export function sectionEncodingByCode(code: number): SectionEncoding | undefined {
  return ENCODING_BY_CODE.get(code);
}

/** Bytes from the frame start to the end of the section table. */
export function tableEnd(typeNameLength: number, sectionCount: number): number {
  return alignTo(FRAME_HEADER.size + typeNameLength, 8) + sectionCount * SECTION_ENTRY.size;
}

function alignTo(n: number, a: number): number {
  const r = n % a;
  return r === 0 ? n : n + (a - r);
}
