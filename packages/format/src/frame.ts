import { crc32, xxh3_64 } from "./checksum.js";
import { QuiverFormatError } from "./errors.js";
import { ByteCursor, alignUp } from "./internal/cursor.js";
import {
  FRAME_HEADER,
  FRAME_MAGIC,
  FRAME_VERSION_MAJOR,
  FRAME_VERSION_MINOR,
  MAX_SECTION_COUNT,
  MAX_TYPE_NAME_LENGTH,
  SECTION_ALIGNMENT,
  SECTION_ENCODINGS,
  SECTION_ENTRY,
  type SectionEncoding,
  sectionEncodingByCode,
  tableEnd,
} from "./layout.js";

/**
 * The algorithm of a frame's section checksums (header byte 11, `section_checksum`): 0 = CRC-32
 * (every 1.0 frame), 1 = XXH3-64 (container 1.1; only kinds in {@link XXH3_SECTION_KINDS}).
 */
export type SectionChecksum = "crc32" | "xxh3-64";
/** `section_checksum` byte values. */
export const SECTION_CHECKSUM_CODES: Readonly<Record<SectionChecksum, number>> = { crc32: 0, "xxh3-64": 1 };
/** Kinds whose frames may use XXH3-64 section checksums (cache entries, spec/cache.md). */
export const XXH3_SECTION_KINDS: readonly number[] = [16];
/** Header offset of the `section_checksum` byte (the high byte of the 1.0 `flags` u32). */
const SECTION_CHECKSUM_OFFSET = 11;

/** A section to write: an id, its encoding and its bytes. */
export interface SectionInput {
  readonly id: number;
  readonly encoding: SectionEncoding;
  readonly bytes: Uint8Array;
}

/** What to write into a frame. */
export interface FrameInput {
  readonly kind: number;
  readonly kindVersion: number;
  readonly typeName?: string;
  /**
   * Container minor version to write; default {@link FRAME_VERSION_MINOR}. Only for re-encoding a
   * decoded frame byte-exactly (conformance, tools); writers leave it unset.
   */
  readonly versionMinor?: number;
  /** Section checksum algorithm; default "crc32". "xxh3-64" writes container minor 1 and is for cache entries (kind 16) only. */
  readonly sectionChecksum?: SectionChecksum;
  readonly sections: readonly SectionInput[];
}

/** A section of a decoded frame; `bytes` is a view of the input (no copy). */
export interface FrameSection {
  readonly id: number;
  readonly encoding: SectionEncoding;
  /** Offset from the frame start. */
  readonly offset: number;
  readonly length: number;
  /** The u32 at entry offset 24: the section's CRC-32 (for XXH3-64 frames, the low half of `xxh3`). */
  readonly crc32: number;
  /** XXH3-64 frames only: the section's XXH3-64, the u64 at entry offset 24. */
  readonly xxh3?: bigint;
  readonly bytes: Uint8Array;
}

/** The header and section table of a frame, readable from a prefix of it. */
export interface FrameHeader {
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly kind: number;
  readonly kindVersion: number;
  readonly typeName: string;
  /** The section checksum algorithm (header byte 11). */
  readonly sectionChecksum: SectionChecksum;
  readonly sectionCount: number;
  readonly frameLength: number;
  /** Bytes from the frame start to the end of the section table. */
  readonly tableEnd: number;
  readonly sections: readonly Omit<FrameSection, "bytes">[];
}

/** A fully decoded and verified frame. */
export interface Frame extends Omit<FrameHeader, "sections"> {
  readonly sections: readonly FrameSection[];
  /** The frame bytes (a view of the input, or of an aligned copy when `copied`). */
  readonly bytes: Uint8Array;
  /** True when the input was not 8-byte aligned and had to be copied once for typed views. */
  readonly copied: boolean;
}

/** Options for {@link decodeFrame}. */
export interface DecodeFrameOptions {
  /** Expected kind; WRONG_KIND otherwise. */
  readonly kind?: number;
  /** Expected type name; WRONG_TYPE_NAME otherwise. */
  readonly typeName?: string;
  /** Highest kind version the caller understands; UNSUPPORTED_KIND_VERSION above it. */
  readonly maxKindVersion?: number;
  /** Required section checksum algorithm; WRONG_SECTION_CHECKSUM otherwise (checked after the kind version). */
  readonly sectionChecksum?: SectionChecksum;
  /** Skip per-section checksum checks (header CRC is always checked). Default false. */
  readonly skipSectionChecksums?: boolean;
  /** Report offsets relative to this position (ranged reads). */
  readonly baseOffset?: number;
}

const TYPE_NAME_RE = /^[A-Za-z0-9._:-]*$/;
const utf8 = new TextEncoder();

/** Encode a frame: header, type name, section table, then 64-byte-aligned sections. */
export function encodeFrame(input: FrameInput): Uint8Array {
  const typeName = input.typeName ?? "";
  const nameBytes = utf8.encode(typeName);
  const fail = (code: string, msg: string): never => {
    throw new QuiverFormatError(code, msg, { stage: "encode" });
  };
  if (nameBytes.length > MAX_TYPE_NAME_LENGTH || !TYPE_NAME_RE.test(typeName)) fail("BAD_TYPE_NAME", `type name ${JSON.stringify(typeName)}`);
  if (!isU32(input.kind)) fail("INVALID_VALUE", `kind ${input.kind} is not a u32`);
  if (!isU32(input.kindVersion)) fail("INVALID_VALUE", `kind version ${input.kindVersion} is not a u32`);
  const sectionChecksum = input.sectionChecksum ?? "crc32";
  const checksumCode = SECTION_CHECKSUM_CODES[sectionChecksum];
  if (checksumCode === undefined || !Object.hasOwn(SECTION_CHECKSUM_CODES, sectionChecksum)) fail("UNKNOWN_CHECKSUM_ALGORITHM", `section checksum ${String(sectionChecksum)}`);
  if (checksumCode !== 0 && !XXH3_SECTION_KINDS.includes(input.kind)) fail("CHECKSUM_ALGORITHM_NOT_ALLOWED", `${sectionChecksum} section checksums on kind ${input.kind}`);
  // 1.1 is the minor version that introduced section_checksum; CRC-32 frames stay 1.0 byte for byte.
  const versionMinor = input.versionMinor ?? (checksumCode === 0 ? FRAME_VERSION_MINOR : 1);
  if (!Number.isInteger(versionMinor) || versionMinor < 0 || versionMinor > 0xffff) fail("INVALID_VALUE", `minor version ${versionMinor} is not a u16`);
  if (input.sections.length > MAX_SECTION_COUNT) fail("LIMIT_EXCEEDED", `${input.sections.length} sections`);
  const seen = new Set<number>();
  for (const s of input.sections) {
    if (!isU32(s.id)) fail("INVALID_VALUE", `section id ${s.id} is not a u32`);
    if (seen.has(s.id)) fail("DUPLICATE_SECTION_ID", `section id ${s.id} appears twice`);
    seen.add(s.id);
    const enc = SECTION_ENCODINGS[s.encoding];
    if (enc === undefined) fail("UNKNOWN_SECTION_ENCODING", `encoding ${String(s.encoding)}`);
    if (s.bytes.byteLength % enc.elementSize !== 0) fail("SECTION_LENGTH_NOT_MULTIPLE", `section ${s.id}: ${s.bytes.byteLength} bytes`);
  }
  const tEnd = tableEnd(nameBytes.length, input.sections.length);
  const offsets: number[] = [];
  let end = tEnd;
  for (const s of input.sections) {
    const off = alignUp(end, SECTION_ALIGNMENT);
    offsets.push(off);
    end = off + s.bytes.byteLength;
  }
  if (end > Number.MAX_SAFE_INTEGER) fail("LIMIT_EXCEEDED", `frame of ${end} bytes`);
  // A fresh ArrayBuffer starts at offset 0, so section offsets are absolute alignments too.
  const out = new Uint8Array(end);
  const view = new DataView(out.buffer);
  out.set(FRAME_MAGIC, 0);
  view.setUint16(4, FRAME_VERSION_MAJOR, true);
  view.setUint16(6, versionMinor, true);
  view.setUint32(8, 0, true);
  view.setUint8(SECTION_CHECKSUM_OFFSET, checksumCode);
  view.setUint32(12, input.kind, true);
  view.setUint32(16, input.kindVersion, true);
  view.setUint16(20, nameBytes.length, true);
  view.setUint32(24, input.sections.length, true);
  view.setBigUint64(32, BigInt(end), true);
  out.set(nameBytes, FRAME_HEADER.size);
  let entryAt = tEnd - input.sections.length * SECTION_ENTRY.size;
  input.sections.forEach((s, i) => {
    const off = offsets[i]!;
    out.set(s.bytes, off);
    view.setUint32(entryAt, s.id, true);
    view.setUint8(entryAt + 4, SECTION_ENCODINGS[s.encoding].code);
    view.setBigUint64(entryAt + 8, BigInt(off), true);
    view.setBigUint64(entryAt + 16, BigInt(s.bytes.byteLength), true);
    if (checksumCode === 0) view.setUint32(entryAt + 24, crc32(s.bytes), true);
    else view.setBigUint64(entryAt + 24, xxh3_64(s.bytes), true);
    entryAt += SECTION_ENTRY.size;
  });
  view.setUint32(28, headerCrc(out, tEnd), true);
  return out;
}

/** CRC-32 over `[0, tEnd)` with the header_crc32 field (bytes 28..32) read as zero. */
function headerCrc(bytes: Uint8Array, tEnd: number): number {
  if (tEnd <= HEADER_SCRATCH.byteLength) {
    // One zlib call over a copy with the field zeroed: each call costs a native transition, and
    // header and table of a typical frame are a few hundred bytes (cheaper to copy than to split).
    HEADER_SCRATCH.set(bytes.subarray(0, tEnd));
    HEADER_SCRATCH[28] = HEADER_SCRATCH[29] = HEADER_SCRATCH[30] = HEADER_SCRATCH[31] = 0;
    return crc32(HEADER_SCRATCH.subarray(0, tEnd));
  }
  let c = crc32(bytes.subarray(0, 28));
  c = crc32(ZERO4, c);
  return crc32(bytes.subarray(32, tEnd), c);
}
const ZERO4 = new Uint8Array(4);
/** Reused by {@link headerCrc} (synchronous, so never shared by two calls at once). */
const HEADER_SCRATCH = Buffer.allocUnsafeSlow(4096);

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Bytes needed to read the fixed header: read at least this much before {@link inspectFrameHeader}. */
export const FRAME_HEADER_SIZE = FRAME_HEADER.size;

/**
 * Read and verify the header and section table from a prefix of a frame (a ranged read). Throws
 * TRUNCATED (with `needed` in the message) when the prefix ends before the section table does;
 * use {@link frameTableLength} on the first 64 bytes to know how much to read.
 */
export function inspectFrameHeader(prefix: Uint8Array, options: DecodeFrameOptions = {}): FrameHeader {
  const c = new ByteCursor(prefix, options.baseOffset ?? 0);
  const fixed = readFixedHeader(c);
  c.require(0, fixed.tableEnd, "section-table", "section table");
  const expectCrc = c.u32(28, "header", "header_crc32");
  const actualCrc = headerCrc(prefix, fixed.tableEnd);
  if (expectCrc !== actualCrc) {
    throw new QuiverFormatError("HEADER_CHECKSUM_MISMATCH", `header CRC-32 is ${hex32(expectCrc)}, computed ${hex32(actualCrc)}`, {
      stage: "checksum",
      offset: c.base + 28,
    });
  }
  const nameStart = FRAME_HEADER.size;
  const nameBytes = c.slice(nameStart, fixed.typeNameLength, "type-name", "type name");
  // One call instead of a string built byte by byte (type names are at most a few hundred bytes).
  const typeName = String.fromCharCode.apply(null, nameBytes as unknown as number[]);
  if (!TYPE_NAME_RE.test(typeName)) {
    throw new QuiverFormatError("BAD_TYPE_NAME", `type name has a byte outside [A-Za-z0-9._:-]`, { stage: "type-name", offset: c.base + nameStart });
  }
  const padStart = nameStart + fixed.typeNameLength;
  const tableStart = fixed.tableEnd - fixed.sectionCount * SECTION_ENTRY.size;
  if (!c.isZero(padStart, tableStart - padStart, "type-name", "type name padding")) {
    throw new QuiverFormatError("RESERVED_NONZERO", "padding after the type name is not zero", { stage: "type-name", offset: c.base + padStart });
  }
  if (options.kind !== undefined && fixed.kind !== options.kind) {
    throw new QuiverFormatError("WRONG_KIND", `expected kind ${options.kind}, found ${fixed.kind}`, { stage: "header", offset: c.base + 12 });
  }
  if (options.typeName !== undefined && typeName !== options.typeName) {
    throw new QuiverFormatError("WRONG_TYPE_NAME", `expected type ${JSON.stringify(options.typeName)}, found ${JSON.stringify(typeName)}`, {
      stage: "type-name",
      offset: c.base + nameStart,
    });
  }
  if (options.maxKindVersion !== undefined && fixed.kindVersion > options.maxKindVersion) {
    throw new QuiverFormatError("UNSUPPORTED_KIND_VERSION", `kind version ${fixed.kindVersion} is newer than ${options.maxKindVersion}`, {
      stage: "header",
      offset: c.base + 16,
    });
  }
  if (options.sectionChecksum !== undefined && fixed.sectionChecksum !== options.sectionChecksum) {
    throw new QuiverFormatError("WRONG_SECTION_CHECKSUM", `expected ${options.sectionChecksum} section checksums, found ${fixed.sectionChecksum}`, {
      stage: "header",
      offset: c.base + SECTION_CHECKSUM_OFFSET,
    });
  }
  const sections = readSectionTable(c, tableStart, fixed.sectionCount, fixed.tableEnd, fixed.frameLength, fixed.sectionChecksum);
  // Properties listed (same names, same order as the spread they replace), not spread: on Node 20
  // `{ ...o, extra }` is a runtime call costing microseconds, several per decoded frame.
  const f = fixed;
  const out = { versionMajor: f.versionMajor, versionMinor: f.versionMinor, sectionChecksum: f.sectionChecksum, kind: f.kind, kindVersion: f.kindVersion, typeNameLength: f.typeNameLength, sectionCount: f.sectionCount, frameLength: f.frameLength, tableEnd: f.tableEnd, typeName, sections };
  return out;
}

/**
 * From the first 64 bytes of a frame: how many bytes the header plus section table take, and
 * the frame length. Checks magic, version, flags, reserved fields and limits, not the CRC.
 */
export function frameTableLength(first64: Uint8Array): { tableEnd: number; frameLength: number } {
  const f = readFixedHeader(new ByteCursor(first64));
  return { tableEnd: f.tableEnd, frameLength: f.frameLength };
}

interface FixedHeader {
  versionMajor: number;
  versionMinor: number;
  sectionChecksum: SectionChecksum;
  kind: number;
  kindVersion: number;
  typeNameLength: number;
  sectionCount: number;
  frameLength: number;
  tableEnd: number;
}

function readFixedHeader(c: ByteCursor): FixedHeader {
  c.require(0, FRAME_HEADER.size, "header", "frame header");
  for (let i = 0; i < 4; i++) {
    if (c.bytes[i] !== FRAME_MAGIC[i]) {
      throw new QuiverFormatError("BAD_MAGIC", `magic is ${hexBytes(c.bytes.subarray(0, 4))}, expected 51565246`, { stage: "header", offset: c.base });
    }
  }
  const versionMajor = c.u16(4, "header", "version_major");
  if (versionMajor !== FRAME_VERSION_MAJOR) {
    throw new QuiverFormatError("UNSUPPORTED_VERSION", `container version ${versionMajor}, this reader supports ${FRAME_VERSION_MAJOR}`, {
      stage: "header",
      offset: c.base + 4,
    });
  }
  const versionMinor = c.u16(6, "header", "version_minor");
  const flags = c.u32(8, "header", "flags") & 0x00ffffff;
  if (flags !== 0) {
    throw new QuiverFormatError("UNSUPPORTED_FLAGS", `flags ${hex32(flags)}; no flag is defined`, { stage: "header", offset: c.base + 8 });
  }
  const checksumCode = c.u8(SECTION_CHECKSUM_OFFSET, "header", "section_checksum");
  const sectionChecksum = checksumCode === 0 ? "crc32" : checksumCode === 1 ? "xxh3-64" : undefined;
  if (sectionChecksum === undefined) {
    throw new QuiverFormatError("UNKNOWN_CHECKSUM_ALGORITHM", `section_checksum ${checksumCode}; defined are 0 (CRC-32) and 1 (XXH3-64)`, {
      stage: "header",
      offset: c.base + SECTION_CHECKSUM_OFFSET,
    });
  }
  const kind = c.u32(12, "header", "kind");
  if (sectionChecksum !== "crc32" && !XXH3_SECTION_KINDS.includes(kind)) {
    throw new QuiverFormatError("CHECKSUM_ALGORITHM_NOT_ALLOWED", `section_checksum ${checksumCode} (${sectionChecksum}) on kind ${kind}; allowed only on kind ${XXH3_SECTION_KINDS.join(", ")}`, {
      stage: "header",
      offset: c.base + SECTION_CHECKSUM_OFFSET,
    });
  }
  if (c.u16(22, "header", "reserved0") !== 0 || !c.isZero(40, 24, "header", "reserved1")) {
    throw new QuiverFormatError("RESERVED_NONZERO", "reserved header bytes are not zero", { stage: "header", offset: c.base + 22 });
  }
  const typeNameLength = c.u16(20, "header", "type_name_length");
  if (typeNameLength > MAX_TYPE_NAME_LENGTH) {
    throw new QuiverFormatError("LIMIT_EXCEEDED", `type name of ${typeNameLength} bytes (max ${MAX_TYPE_NAME_LENGTH})`, { stage: "header", offset: c.base + 20 });
  }
  const sectionCount = c.u32(24, "header", "section_count");
  if (sectionCount > MAX_SECTION_COUNT) {
    throw new QuiverFormatError("LIMIT_EXCEEDED", `${sectionCount} sections (max ${MAX_SECTION_COUNT})`, { stage: "header", offset: c.base + 24 });
  }
  const frameLength = c.u64(32, "header", "frame_length");
  const tEnd = tableEnd(typeNameLength, sectionCount);
  if (frameLength < tEnd) {
    throw new QuiverFormatError("BAD_FRAME_LENGTH", `frame_length ${frameLength} ends before the section table (${tEnd})`, { stage: "header", offset: c.base + 32 });
  }
  return {
    versionMajor,
    versionMinor,
    sectionChecksum,
    kind,
    kindVersion: c.u32(16, "header", "kind_version"),
    typeNameLength,
    sectionCount,
    frameLength,
    tableEnd: tEnd,
  };
}

/** Section counts up to this check duplicate ids by a scan instead of a Set. */
const SMALL_SECTION_COUNT = 16;

function hasId(entries: readonly { readonly id: number }[], id: number): boolean {
  for (let i = 0; i < entries.length; i++) if (entries[i]!.id === id) return true;
  return false;
}

function readSectionTable(
  c: ByteCursor,
  tableStart: number,
  count: number,
  tEnd: number,
  frameLength: number,
  sectionChecksum: SectionChecksum,
): Omit<FrameSection, "bytes">[] {
  const xxh3 = sectionChecksum === "xxh3-64";
  const out: Omit<FrameSection, "bytes">[] = [];
  // Duplicate ids: a scan of the entries read so far for the few sections of a typical frame
  // (no Set to allocate per decode), a Set above that so that hostile counts stay linear.
  const ids = count > SMALL_SECTION_COUNT ? new Set<number>() : undefined;
  let prevEnd = tEnd;
  let prevOffset = -1;
  for (let i = 0; i < count; i++) {
    const at = tableStart + i * SECTION_ENTRY.size;
    const stage = "section-table";
    const id = c.u32(at, stage, `section ${i} id`);
    const code = c.u8(at + 4, stage, `section ${i} encoding`);
    // Under XXH3-64 bytes 28..32 are the checksum's high half, not reserved.
    if (!c.isZero(at + 5, 3, stage, "reserved") || (!xxh3 && c.u32(at + 28, stage, "reserved") !== 0)) {
      throw new QuiverFormatError("RESERVED_NONZERO", `section ${i}: reserved bytes are not zero`, { stage, offset: c.base + at });
    }
    const encoding = sectionEncodingByCode(code);
    if (encoding === undefined) {
      throw new QuiverFormatError("UNKNOWN_SECTION_ENCODING", `section ${i}: encoding ${code}`, { stage, offset: c.base + at + 4 });
    }
    if (ids === undefined ? hasId(out, id) : ids.has(id)) throw new QuiverFormatError("DUPLICATE_SECTION_ID", `section id ${id} appears twice`, { stage, offset: c.base + at });
    ids?.add(id);
    const offset = c.u64(at + 8, stage, `section ${i} offset`);
    const length = c.u64(at + 16, stage, `section ${i} length`);
    // Bounds first, without forming offset + length (which could pass 2^53).
    if (offset > frameLength || length > frameLength - offset || offset < tEnd) {
      throw new QuiverFormatError("SECTION_OUT_OF_BOUNDS", `section ${id}: [${offset}, +${length}) is outside the body [${tEnd}, ${frameLength})`, {
        stage,
        offset: c.base + at + 8,
      });
    }
    if (offset % SECTION_ALIGNMENT !== 0) {
      throw new QuiverFormatError("SECTION_MISALIGNED", `section ${id}: offset ${offset} is not a multiple of ${SECTION_ALIGNMENT}`, { stage, offset: c.base + at + 8 });
    }
    if (offset < prevOffset) {
      throw new QuiverFormatError("SECTION_UNSORTED", `section ${id}: offset ${offset} before the previous section's ${prevOffset}`, { stage, offset: c.base + at + 8 });
    }
    if (offset < prevEnd) {
      throw new QuiverFormatError("SECTION_OVERLAP", `section ${id}: offset ${offset} overlaps the previous section ending at ${prevEnd}`, { stage, offset: c.base + at + 8 });
    }
    if (offset !== alignUp(prevEnd, SECTION_ALIGNMENT)) {
      throw new QuiverFormatError("SECTION_GAP", `section ${id}: offset ${offset}, expected the next aligned offset ${alignUp(prevEnd, SECTION_ALIGNMENT)}`, {
        stage,
        offset: c.base + at + 8,
      });
    }
    if (length % SECTION_ENCODINGS[encoding].elementSize !== 0) {
      throw new QuiverFormatError("SECTION_LENGTH_NOT_MULTIPLE", `section ${id}: ${length} bytes is not a multiple of ${SECTION_ENCODINGS[encoding].elementSize}`, {
        stage,
        offset: c.base + at + 16,
      });
    }
    const low = c.u32(at + 24, stage, "checksum");
    out.push(xxh3 ? { id, encoding, offset, length, crc32: low, xxh3: c.u64Big(at + 24, stage, "checksum") } : { id, encoding, offset, length, crc32: low });
    prevOffset = offset;
    prevEnd = offset + length;
  }
  if (prevEnd !== frameLength) {
    throw new QuiverFormatError("BAD_FRAME_LENGTH", `frame_length ${frameLength}, but the last section ends at ${prevEnd}`, { stage: "section-table", offset: c.base + 32 });
  }
  return out;
}

/**
 * Decode and verify a whole frame. The input must be exactly one frame (TRAILING_BYTES otherwise;
 * see {@link decodeFirstFrame}). Sections are views of the input; when the input is not 8-byte
 * aligned it is copied once so that typed-array and Arrow views are legal.
 */
export function decodeFrame(bytes: Uint8Array, options: DecodeFrameOptions = {}): Frame {
  const { frame, consumed } = decodeFirstFrame(bytes, options);
  if (consumed !== bytes.byteLength) {
    throw new QuiverFormatError("TRAILING_BYTES", `${bytes.byteLength - consumed} bytes after the frame`, {
      stage: "header",
      offset: (options.baseOffset ?? 0) + consumed,
    });
  }
  return frame;
}

/** Decode the frame at the start of `bytes`, ignoring what follows; returns the bytes consumed. */
export function decodeFirstFrame(bytes: Uint8Array, options: DecodeFrameOptions = {}): { frame: Frame; consumed: number } {
  const header = inspectFrameHeader(bytes, options);
  const base = options.baseOffset ?? 0;
  if (header.frameLength > bytes.byteLength) {
    throw new QuiverFormatError("TRUNCATED", `frame body: need bytes [0, ${header.frameLength}) but input has ${bytes.byteLength}`, { stage: "section", offset: base });
  }
  let input = header.frameLength === bytes.byteLength ? bytes : bytes.subarray(0, header.frameLength);
  let copied = false;
  if (input.byteOffset % 8 !== 0) {
    // Uint8Array.prototype.slice copies; Buffer#slice would return a view, so copy explicitly.
    input = copyBytes(input);
    copied = true;
  }
  const c = new ByteCursor(input, base);
  const sections: FrameSection[] = [];
  let prevEnd = header.tableEnd;
  for (const s of header.sections) {
    if (!c.isZero(prevEnd, s.offset - prevEnd, "section", "padding")) {
      throw new QuiverFormatError("SECTION_GAP", `padding before section ${s.id} is not zero`, { stage: "section", offset: base + prevEnd });
    }
    const view = c.slice(s.offset, s.length, "section", `section ${s.id}`);
    if (options.skipSectionChecksums !== true) checkSection(s, view, base + s.offset);
    sections.push(s.xxh3 === undefined ? { id: s.id, encoding: s.encoding, offset: s.offset, length: s.length, crc32: s.crc32, bytes: view } : { id: s.id, encoding: s.encoding, offset: s.offset, length: s.length, crc32: s.crc32, xxh3: s.xxh3, bytes: view });
    prevEnd = s.offset + s.length;
  }
  // Listed, not `{ ...rest }` (see inspectFrameHeader); typeNameLength is there at run time.
  const h = header as FrameHeader & { typeNameLength: number };
  const frame = { versionMajor: h.versionMajor, versionMinor: h.versionMinor, sectionChecksum: h.sectionChecksum, kind: h.kind, kindVersion: h.kindVersion, typeNameLength: h.typeNameLength, sectionCount: h.sectionCount, frameLength: h.frameLength, tableEnd: h.tableEnd, typeName: h.typeName, sections, bytes: input, copied };
  return { frame, consumed: header.frameLength };
}

/** Verify one section read on its own (ranged read) against its table entry. */
export function verifySection(entry: Omit<FrameSection, "bytes">, bytes: Uint8Array): FrameSection {
  if (bytes.byteLength !== entry.length) {
    throw new QuiverFormatError("TRUNCATED", `section ${entry.id}: got ${bytes.byteLength} bytes, expected ${entry.length}`, { stage: "section", offset: entry.offset });
  }
  checkSection(entry, bytes, entry.offset);
  return { ...entry, bytes };
}

/** CHECKSUM_MISMATCH unless `bytes` has the entry's checksum (XXH3-64 when the entry has one, else CRC-32). */
function checkSection(entry: Omit<FrameSection, "bytes">, bytes: Uint8Array, offset: number): void {
  if (entry.xxh3 !== undefined) {
    const actual = xxh3_64(bytes);
    if (actual !== entry.xxh3) {
      throw new QuiverFormatError("CHECKSUM_MISMATCH", `section ${entry.id}: XXH3-64 is ${hex64(entry.xxh3)}, computed ${hex64(actual)}`, { stage: "checksum", offset });
    }
    return;
  }
  const actual = crc32(bytes);
  if (actual !== entry.crc32) {
    throw new QuiverFormatError("CHECKSUM_MISMATCH", `section ${entry.id}: CRC-32 is ${hex32(entry.crc32)}, computed ${hex32(actual)}`, { stage: "checksum", offset });
  }
}

function hex64(n: bigint): string {
  return "0x" + n.toString(16).padStart(16, "0");
}

/** The section with this id; MISSING_SECTION when absent. */
export function getSection(frame: { readonly sections: readonly FrameSection[] }, id: number, encoding?: SectionEncoding): FrameSection {
  const s = frame.sections.find((x) => x.id === id);
  if (s === undefined) throw new QuiverFormatError("MISSING_SECTION", `no section with id ${id}`, { stage: "payload" });
  if (encoding !== undefined && s.encoding !== encoding) {
    throw new QuiverFormatError("WRONG_SECTION_ENCODING", `section ${id} is ${s.encoding}, expected ${encoding}`, { stage: "payload", offset: s.offset });
  }
  return s;
}

/** A copy of `bytes` in a fresh ArrayBuffer at byteOffset 0 (also for Node Buffers). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

function hex32(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
