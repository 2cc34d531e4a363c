import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  type DecodeFrameOptions,
  FORMAT_ERROR_CODES,
  FRAME_HEADER_SIZE,
  QuiverFormatError,
  arrowSection,
  crc32,
  decodeArrowIpc,
  decodeFirstFrame,
  decodeFrame,
  encodeFrame,
  frameTableLength,
  getSection,
  inspectFrameHeader,
  jsonSection,
  parseJsonBytes,
  rawSection,
  readArrowSection,
  readJsonSection,
  readTypedSection,
  typedSection,
  typedView,
  verifySection,
} from "@quiver/format";
import { atByteOffset, entryField, headerField, rewriteHeaderCrc, writeUint } from "./frame-bytes.js";
import * as forms from "../../../fixtures/_gen/internal/arrow-forms.js";

/**
 * The reference frame of these tests: type name "quiver.test" (11 bytes), three sections.
 * header 64 + name 11 -> table at 80; table 3 * 32 -> table_end 176;
 * section 1 (f32, 16 B) at 192..208, section 2 (raw, 5 B) at 256..261, section 3 (u64, 16 B) at 320..336.
 */
function sample(): Uint8Array {
  return encodeFrame({
    kind: 1,
    kindVersion: 1,
    typeName: "quiver.test",
    sections: [
      typedSection(1, "f32", Float32Array.of(1, 2, 3, 4)),
      rawSection(2, Uint8Array.of(9, 8, 7, 6, 5)),
      typedSection(3, "u64", BigUint64Array.of(1n, 2n ** 63n)),
    ],
  });
}

/** Apply `patch` to a fresh sample; recompute the header CRC unless told not to. */
function patched(patch: (b: Uint8Array) => void, fixCrc = true): Uint8Array {
  const b = sample();
  patch(b);
  if (fixCrc) rewriteHeaderCrc(b);
  return b;
}

function setHeader(name: string, value: number | bigint): (b: Uint8Array) => void {
  const f = headerField(name);
  return (b) => writeUint(b, f.offset, f.size, value);
}

function setEntry(index: number, name: string, size: number, value: number | bigint): (b: Uint8Array) => void {
  return (b) => writeUint(b, entryField(b, index, name), size, value);
}

function errorOf(f: () => unknown): QuiverFormatError {
  try {
    f();
  } catch (e) {
    if (e instanceof QuiverFormatError) return e;
    throw new Error(`expected QuiverFormatError, got ${String(e)}`);
  }
  throw new Error("expected a QuiverFormatError, nothing was thrown");
}

const reached = new Set<string>();

function expectCode(f: () => unknown, code: string, stage: string): QuiverFormatError {
  const e = errorOf(f);
  expect({ code: e.code, stage: e.stage }).toEqual({ code, stage });
  reached.add(code);
  return e;
}

describe("sample frame layout", () => {
  it("places the table and sections as the placement rules say", () => {
    const b = sample();
    const h = inspectFrameHeader(b);
    expect(h.tableEnd).toBe(176);
    expect(h.frameLength).toBe(336);
    expect(b.byteLength).toBe(336);
    expect(h.sections.map((s) => [s.id, s.encoding, s.offset, s.length])).toEqual([
      [1, "f32", 192, 16],
      [2, "raw", 256, 5],
      [3, "u64", 320, 16],
    ]);
    const f = decodeFrame(b);
    expect(f.typeName).toBe("quiver.test");
    expect(Array.from(readTypedSection(f, 1, "f32"))).toEqual([1, 2, 3, 4]);
    expect(Array.from(readTypedSection(f, 3, "u64"))).toEqual([1n, 2n ** 63n]);
    expect(Array.from(getSection(f, 2, "raw").bytes)).toEqual([9, 8, 7, 6, 5]);
  });

  it("re-encodes a decoded frame byte-exactly, including a nonzero minor version", () => {
    const b = patched(setHeader("version_minor", 7));
    const f = decodeFrame(b);
    expect(f.versionMinor).toBe(7);
    const again = encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, versionMinor: f.versionMinor, sections: f.sections });
    expect(again).toEqual(b);
  });

  it("encodes a frame with no sections as header + name + padding only", () => {
    const b = encodeFrame({ kind: 1, kindVersion: 0, sections: [] });
    expect(b.byteLength).toBe(64);
    const f = decodeFrame(b);
    expect(f.sections).toEqual([]);
    expect(f.frameLength).toBe(64);
  });
});

describe("every error the frame decoder raises", () => {
  // [description, input, code, stage, options]
  const cases: [string, () => Uint8Array, string, string, DecodeFrameOptions?][] = [
    ["input shorter than the header", () => sample().subarray(0, 63), "TRUNCATED", "header"],
    ["empty input", () => new Uint8Array(0), "TRUNCATED", "header"],
    ["input ends inside the section table", () => sample().subarray(0, 100), "TRUNCATED", "section-table"],
    ["input ends inside the type name", () => sample().subarray(0, 70), "TRUNCATED", "section-table"],
    ["input ends inside a section", () => sample().subarray(0, 300), "TRUNCATED", "section"],
    ["input ends inside the padding before the first section", () => sample().subarray(0, 180), "TRUNCATED", "section"],
    ["bad magic", () => patched((b) => (b[0] = 0x50)), "BAD_MAGIC", "header"],
    ["major version 2", () => patched(setHeader("version_major", 2)), "UNSUPPORTED_VERSION", "header"],
    ["major version 0", () => patched(setHeader("version_major", 0)), "UNSUPPORTED_VERSION", "header"],
    ["flag bit 0", () => patched(setHeader("flags", 1)), "UNSUPPORTED_FLAGS", "header"],
    ["flag bit 23", () => patched(setHeader("flags", 0x00800000)), "UNSUPPORTED_FLAGS", "header"],
    ["flag bit 23 with section_checksum 1: flags are checked first", () => patched(setHeader("flags", 0x01800000)), "UNSUPPORTED_FLAGS", "header"],
    ["section_checksum 2 (header byte 11)", () => patched((b) => (b[11] = 2)), "UNKNOWN_CHECKSUM_ALGORITHM", "header"],
    ["section_checksum 255", () => patched(setHeader("flags", 0xff000000)), "UNKNOWN_CHECKSUM_ALGORITHM", "header"],
    ["section_checksum 1 (XXH3-64) on kind 1", () => patched((b) => (b[11] = 1)), "CHECKSUM_ALGORITHM_NOT_ALLOWED", "header"],
    ["CRC-32 sections where the caller requires XXH3-64", () => sample(), "WRONG_SECTION_CHECKSUM", "header", { sectionChecksum: "xxh3-64" }],
    ["header reserved0", () => patched(setHeader("reserved0", 1)), "RESERVED_NONZERO", "header"],
    ["header reserved1 last byte", () => patched((b) => (b[63] = 1)), "RESERVED_NONZERO", "header"],
    ["type name padding", () => patched((b) => (b[75] = 1)), "RESERVED_NONZERO", "type-name"],
    ["entry reserved0", () => patched(setEntry(1, "reserved0", 1, 1)), "RESERVED_NONZERO", "section-table"],
    ["entry reserved1", () => patched(setEntry(2, "reserved1", 4, 1)), "RESERVED_NONZERO", "section-table"],
    ["type_name_length 256", () => patched(setHeader("type_name_length", 256)), "LIMIT_EXCEEDED", "header"],
    ["section_count 2^20 + 1", () => patched(setHeader("section_count", 2 ** 20 + 1)), "LIMIT_EXCEEDED", "header"],
    ["frame_length 2^53", () => patched(setHeader("frame_length", 2n ** 53n)), "LIMIT_EXCEEDED", "header"],
    ["frame_length 2^64 - 1", () => patched(setHeader("frame_length", 2n ** 64n - 1n)), "LIMIT_EXCEEDED", "header"],
    ["section offset 2^64 - 1", () => patched(setEntry(0, "offset", 8, 2n ** 64n - 1n)), "LIMIT_EXCEEDED", "section-table"],
    ["section length 2^64 - 1", () => patched(setEntry(1, "length", 8, 2n ** 64n - 1n)), "LIMIT_EXCEEDED", "section-table"],
    ["frame_length before table end", () => patched(setHeader("frame_length", 175)), "BAD_FRAME_LENGTH", "header"],
    ["frame_length after the last section", () => patched(setHeader("frame_length", 337)), "BAD_FRAME_LENGTH", "section-table"],
    ["frame_length before the last section ends", () => patched(setHeader("frame_length", 335)), "SECTION_OUT_OF_BOUNDS", "section-table"],
    ["trailing byte", () => Uint8Array.of(...sample(), 0), "TRAILING_BYTES", "header"],
    ["header byte changed without CRC", () => patched((b) => (b[12] = 2), false), "HEADER_CHECKSUM_MISMATCH", "checksum"],
    ["type name byte changed without CRC", () => patched((b) => (b[64] = 0x51), false), "HEADER_CHECKSUM_MISMATCH", "checksum"],
    ["table byte changed without CRC", () => patched((b) => (b[80] = 9), false), "HEADER_CHECKSUM_MISMATCH", "checksum"],
    ["section byte flipped", () => patched((b) => (b[257] = 0xff)), "CHECKSUM_MISMATCH", "checksum"],
    ["section CRC field changed", () => patched(setEntry(2, "crc32", 4, 1)), "CHECKSUM_MISMATCH", "checksum"],
    ["space in type name", () => patched((b) => (b[70] = 0x20)), "BAD_TYPE_NAME", "type-name"],
    ["non-ASCII byte in type name", () => patched((b) => (b[70] = 0xc3)), "BAD_TYPE_NAME", "type-name"],
    ["NUL in type name", () => patched((b) => (b[64] = 0)), "BAD_TYPE_NAME", "type-name"],
    ["encoding 10", () => patched(setEntry(0, "encoding", 1, 10)), "UNKNOWN_SECTION_ENCODING", "section-table"],
    ["encoding 255", () => patched(setEntry(2, "encoding", 1, 255)), "UNKNOWN_SECTION_ENCODING", "section-table"],
    ["duplicate id", () => patched(setEntry(2, "id", 4, 1)), "DUPLICATE_SECTION_ID", "section-table"],
    ["offset past the end", () => patched(setEntry(2, "offset", 8, 1024)), "SECTION_OUT_OF_BOUNDS", "section-table"],
    ["offset inside the section table", () => patched(setEntry(0, "offset", 8, 128)), "SECTION_OUT_OF_BOUNDS", "section-table"],
    ["length past the end", () => patched(setEntry(2, "length", 8, 17)), "SECTION_OUT_OF_BOUNDS", "section-table"],
    ["offset not a multiple of 64", () => patched(setEntry(0, "offset", 8, 193)), "SECTION_MISALIGNED", "section-table"],
    ["offsets descending", () => patched(setEntry(2, "offset", 8, 192)), "SECTION_UNSORTED", "section-table"],
    ["section starts inside the previous one", () => patched(setEntry(1, "offset", 8, 192)), "SECTION_OVERLAP", "section-table"],
    ["section after a skipped aligned slot", () => patched(setEntry(1, "offset", 8, 320)), "SECTION_GAP", "section-table"],
    ["first section not at align64(table_end)", () => patched(setEntry(0, "offset", 8, 256)), "SECTION_GAP", "section-table"],
    ["nonzero padding between sections", () => patched((b) => (b[210] = 1)), "SECTION_GAP", "section"],
    ["nonzero padding before the first section", () => patched((b) => (b[180] = 1)), "SECTION_GAP", "section"],
    ["f32 section of 15 bytes", () => patched(setEntry(0, "length", 8, 15)), "SECTION_LENGTH_NOT_MULTIPLE", "section-table"],
    ["u64 section of 12 bytes", () => patched(setEntry(2, "length", 8, 12)), "SECTION_LENGTH_NOT_MULTIPLE", "section-table"],
    ["wrong kind", () => sample(), "WRONG_KIND", "header", { kind: 2 }],
    ["wrong type name", () => sample(), "WRONG_TYPE_NAME", "type-name", { typeName: "quiver.other" }],
    ["newer kind version", () => sample(), "UNSUPPORTED_KIND_VERSION", "header", { maxKindVersion: 0 }],
  ];

  for (const [what, input, code, stage, options] of cases) {
    it(`${what} -> ${code} at ${stage}`, () => {
      expectCode(() => decodeFrame(input(), options), code, stage);
    });
  }

  it("reports offsets relative to baseOffset", () => {
    const e = expectCode(() => decodeFrame(patched(setEntry(0, "offset", 8, 193)), { baseOffset: 1000 }), "SECTION_MISALIGNED", "section-table");
    expect(e.offset).toBe(1000 + 80 + 8);
    const t = expectCode(() => decodeFrame(sample().subarray(0, 10), { baseOffset: 5 }), "TRUNCATED", "header");
    // TRUNCATED points at the start of the structure that needs more bytes.
    expect(t.offset).toBe(5);
  });

  it("skipSectionChecksums skips only the section CRCs", () => {
    const b = patched((x) => (x[257] = 0xff));
    expect(decodeFrame(b, { skipSectionChecksums: true }).sections[1]!.bytes[1]).toBe(0xff);
    expectCode(() => decodeFrame(patched((x) => (x[12] = 2), false), { skipSectionChecksums: true }), "HEADER_CHECKSUM_MISMATCH", "checksum");
  });

  it("decodeFirstFrame ignores what follows; frameTableLength reads only 64 bytes", () => {
    const b = Uint8Array.of(...sample(), 1, 2, 3);
    const { frame, consumed } = decodeFirstFrame(b);
    expect(consumed).toBe(336);
    expect(frame.sections.length).toBe(3);
    expect(frameTableLength(b.subarray(0, FRAME_HEADER_SIZE))).toEqual({ tableEnd: 176, frameLength: 336 });
    expectCode(() => frameTableLength(b.subarray(0, 63)), "TRUNCATED", "header");
  });

  it("section readers: MISSING_SECTION, WRONG_SECTION_ENCODING, BAD_JSON, BAD_ARROW_IPC", () => {
    const f = decodeFrame(
      encodeFrame({
        kind: 1,
        kindVersion: 1,
        sections: [
          { id: 1, encoding: "json", bytes: new TextEncoder().encode("{not json") },
          { id: 2, encoding: "json", bytes: Uint8Array.of(0x22, 0xff, 0x22) },
          { id: 3, encoding: "arrow-ipc-stream", bytes: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8) },
          { id: 4, encoding: "arrow-ipc-stream", bytes: new Uint8Array(0) },
          { id: 5, encoding: "u32", bytes: new Uint8Array(8) },
        ],
      }),
    );
    expectCode(() => getSection(f, 99), "MISSING_SECTION", "payload");
    expectCode(() => readTypedSection(f, 5, "f32"), "WRONG_SECTION_ENCODING", "payload");
    expectCode(() => readJsonSection(f, 1), "BAD_JSON", "payload");
    expectCode(() => readJsonSection(f, 2), "BAD_JSON", "payload");
    expectCode(() => readArrowSection(f, 3), "BAD_ARROW_IPC", "payload");
    expectCode(() => readArrowSection(f, 4), "BAD_ARROW_IPC", "payload");
    expectCode(() => decodeArrowIpc(new Uint8Array(8)), "BAD_ARROW_IPC", "payload");
    expectCode(() => decodeArrowIpc(forms.fileForm()), "ARROW_FILE_NOT_STREAM", "payload");
    expectCode(() => decodeArrowIpc(forms.withMetadataVersion(forms.plainStream(), 3)), "ARROW_UNSUPPORTED_METADATA", "payload");
    expectCode(() => decodeArrowIpc(forms.compressedStream("zstd")), "ARROW_COMPRESSED_BODY", "payload");
    // A field of type BinaryView (type id 23): the Utf8 field's type byte rewritten.
    expectCode(() => decodeArrowIpc(forms.withFirstFieldType(forms.unionStream(), 23)), "ARROW_UNSUPPORTED_TYPE", "payload");
    expectCode(() => parseJsonBytes(Uint8Array.of(0x7b)), "BAD_JSON", "payload");
    expectCode(() => typedView(new Uint8Array(6), "u32"), "SECTION_LENGTH_NOT_MULTIPLE", "payload");
  });

  it("the encoder refuses what the decoder would reject", () => {
    const s = (id: number) => rawSection(id, new Uint8Array(1));
    expectCode(() => encodeFrame({ kind: -1, kindVersion: 0, sections: [] }), "INVALID_VALUE", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 2 ** 32, sections: [] }), "INVALID_VALUE", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, versionMinor: 65536, sections: [] }), "INVALID_VALUE", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, sections: [s(1.5)] }), "INVALID_VALUE", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, typeName: "a b", sections: [] }), "BAD_TYPE_NAME", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, typeName: "x".repeat(256), sections: [] }), "BAD_TYPE_NAME", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, sections: [s(1), s(1)] }), "DUPLICATE_SECTION_ID", "encode");
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, sections: [{ id: 1, encoding: "f64", bytes: new Uint8Array(4) }] }), "SECTION_LENGTH_NOT_MULTIPLE", "encode");
    expectCode(
      // @ts-expect-error an encoding that does not exist
      () => encodeFrame({ kind: 1, kindVersion: 0, sections: [{ id: 1, encoding: "f16", bytes: new Uint8Array(2) }] }),
      "UNKNOWN_SECTION_ENCODING",
      "encode",
    );
    const many = { length: 2 ** 20 + 1 } as unknown as readonly never[];
    expectCode(() => encodeFrame({ kind: 1, kindVersion: 0, sections: many }), "LIMIT_EXCEEDED", "encode");
  });

  it("reaches every code in FORMAT_ERROR_CODES the format package raises", () => {
    // SCHEMA_VIOLATION is raised by packages above format (JSON/Arrow schema checks of a kind).
    const raisedAbove = new Set(["SCHEMA_VIOLATION"]);
    const missing = FORMAT_ERROR_CODES.filter((c) => !raisedAbove.has(c) && !reached.has(c));
    expect(missing).toEqual([]);
  });
});

describe("hostile lengths never allocate", () => {
  it("frame_length 10^15 with a section claiming it: header inspects, decode fails fast with TRUNCATED", () => {
    const huge = 10 ** 15;
    const b = patched((x) => {
      writeUint(x, 32, 8, huge);
      writeUint(x, entryField(x, 2, "length"), 8, huge - 320);
    });
    const before = process.memoryUsage().arrayBuffers;
    // Section 3 is u64: 10^15 - 320 is a multiple of 8, so the table is valid as a prefix.
    const h = inspectFrameHeader(b);
    expect(h.frameLength).toBe(huge);
    expect(h.sections[2]!.length).toBe(huge - 320);
    const e = expectCode(() => decodeFrame(b), "TRUNCATED", "section");
    expect(e.message).toContain(String(huge));
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it("section_count 2^20 on a 64-byte input fails with TRUNCATED before reading any entry", () => {
    const b = encodeFrame({ kind: 1, kindVersion: 0, sections: [] });
    writeUint(b, 24, 4, 2 ** 20);
    writeUint(b, 32, 8, 64 + 32 * 2 ** 20);
    expectCode(() => decodeFrame(b), "TRUNCATED", "section-table");
  });

  it("2^64 - 1 in every u64 field is LIMIT_EXCEEDED", () => {
    expectCode(() => decodeFrame(patched(setHeader("frame_length", 2n ** 64n - 1n))), "LIMIT_EXCEEDED", "header");
    // frame_length large but safe; an entry length of 2^64 - 1 must not be added to anything.
    const b = patched((x) => {
      writeUint(x, 32, 8, Number.MAX_SAFE_INTEGER);
      writeUint(x, entryField(x, 0, "length"), 8, 2n ** 64n - 1n);
    });
    expectCode(() => decodeFrame(b), "LIMIT_EXCEEDED", "section-table");
    const c = patched((x) => {
      writeUint(x, 32, 8, Number.MAX_SAFE_INTEGER);
      writeUint(x, entryField(x, 2, "length"), 8, Number.MAX_SAFE_INTEGER);
    });
    expectCode(() => decodeFrame(c), "SECTION_OUT_OF_BOUNDS", "section-table");
  });
});

describe("zero-copy", () => {
  it("sections and typed views share the input buffer", () => {
    const b = sample();
    const f = decodeFrame(b);
    expect(f.copied).toBe(false);
    expect(f.bytes.buffer).toBe(b.buffer);
    for (const s of f.sections) {
      expect(s.bytes.buffer).toBe(b.buffer);
      expect(s.bytes.byteOffset).toBe(b.byteOffset + s.offset);
    }
    const floats = readTypedSection(f, 1, "f32");
    expect(floats.buffer).toBe(b.buffer);
    expect(floats.byteOffset).toBe(192);
    const big = readTypedSection(f, 3, "u64");
    expect(big.buffer).toBe(b.buffer);
  });

  it("an input at byteOffset 8 inside a larger buffer is not copied", () => {
    const b = atByteOffset(sample(), 8);
    const f = decodeFrame(b);
    expect(f.copied).toBe(false);
    expect(readTypedSection(f, 3, "u64").buffer).toBe(b.buffer);
  });

  it.each([1, 3, 4])("an input at byteOffset %i is copied once, and views then share the copy", (misalign) => {
    const b = atByteOffset(sample(), misalign);
    const f = decodeFrame(b);
    expect(f.copied).toBe(true);
    expect(f.bytes.buffer).not.toBe(b.buffer);
    expect(f.bytes.byteOffset % 8).toBe(0);
    const big = readTypedSection(f, 3, "u64");
    expect(big.buffer).toBe(f.bytes.buffer);
    expect(Array.from(big)).toEqual([1n, 2n ** 63n]);
  });

  it("a misaligned Node Buffer is copied too (Buffer#slice would only make a view)", () => {
    const src = sample();
    const backing = Buffer.alloc(src.byteLength + 3);
    backing.set(src, 3);
    const b = backing.subarray(3);
    expect(b.byteOffset % 8).not.toBe(0);
    const f = decodeFrame(b);
    expect(f.copied).toBe(true);
    expect(f.bytes.byteOffset % 8).toBe(0);
    expect(Array.from(readTypedSection(f, 3, "u64"))).toEqual([1n, 2n ** 63n]);
    expect(Array.from(typedView(b.subarray(0, 8), "u64"))).toHaveLength(1);
  });

  it("Arrow columns are views of the frame input", () => {
    const table = tableFromArrays({ x: Float32Array.from({ length: 100 }, (_, i) => i * 0.5), id: Int32Array.from({ length: 100 }, (_, i) => i) });
    const b = encodeFrame({ kind: 1, kindVersion: 1, sections: [rawSection(1, Uint8Array.of(1, 2, 3)), arrowSection(2, table)] });
    const f = decodeFrame(b);
    const t = readArrowSection(f, 2);
    expect(t.numRows).toBe(100);
    const xs = t.getChild("x")!;
    expect(xs.data[0]!.values.buffer).toBe(b.buffer);
    expect(t.getChild("id")!.data[0]!.values.buffer).toBe(b.buffer);
    expect(xs.get(7)).toBe(3.5);
  });

  it("Arrow columns of a copied (misaligned) input are views of the one copy", () => {
    const table = tableFromArrays({ x: Float64Array.of(1, 2, 3) });
    const b = atByteOffset(encodeFrame({ kind: 1, kindVersion: 1, sections: [arrowSection(1, table)] }), 4);
    const f = decodeFrame(b);
    expect(f.copied).toBe(true);
    expect(readArrowSection(f, 1).getChild("x")!.data[0]!.values.buffer).toBe(f.bytes.buffer);
  });

  it("JSON sections round trip", () => {
    const f = decodeFrame(encodeFrame({ kind: 1, kindVersion: 1, sections: [jsonSection(4, { a: [1, "b"] })] }));
    expect(readJsonSection(f, 4)).toEqual({ a: [1, "b"] });
  });
});

describe("ranged reads", () => {
  it("first 64 bytes -> table length -> table -> each section verified on its own", () => {
    const b = sample();
    const { tableEnd, frameLength } = frameTableLength(b.slice(0, FRAME_HEADER_SIZE));
    expect(tableEnd).toBe(176);
    expect(frameLength).toBe(336);
    const h = inspectFrameHeader(b.slice(0, tableEnd));
    for (const entry of h.sections) {
      const ranged = b.slice(entry.offset, entry.offset + entry.length);
      const s = verifySection(entry, ranged);
      expect(s.bytes).toBe(ranged);
    }
    const entry = h.sections[1]!;
    expectCode(() => verifySection(entry, b.slice(entry.offset, entry.offset + entry.length - 1)), "TRUNCATED", "section");
    const bad = b.slice(entry.offset, entry.offset + entry.length);
    bad[0] = bad[0]! ^ 1;
    expectCode(() => verifySection(entry, bad), "CHECKSUM_MISMATCH", "checksum");
  });

  it("a prefix that ends before table_end is TRUNCATED at section-table", () => {
    expectCode(() => inspectFrameHeader(sample().subarray(0, 175)), "TRUNCATED", "section-table");
  });

  it("every strict prefix of a valid frame is TRUNCATED", () => {
    const b = sample();
    for (let n = 0; n < b.byteLength; n++) {
      expect(errorOf(() => decodeFrame(b.subarray(0, n))).code).toBe("TRUNCATED");
    }
  });
});

describe("crc32", () => {
  it("is CRC-32/ISO-HDLC (check value of 123456789)", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    const a = new TextEncoder().encode("12345");
    const rest = new TextEncoder().encode("6789");
    expect(crc32(rest, crc32(a))).toBe(0xcbf43926);
  });
});
