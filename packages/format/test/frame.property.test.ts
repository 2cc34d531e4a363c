import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  FORMAT_ERROR_CODES,
  FRAME_HEADER,
  type FrameInput,
  QuiverFormatError,
  SECTION_ENCODINGS,
  SECTION_ENTRY,
  type SectionEncoding,
  decodeFrame,
  encodeFrame,
} from "@quiver/format";
import { atByteOffset, hex, readUint, rewriteHeaderCrc, tableStartOf, writeUint } from "./frame-bytes.js";

// QUIVER_SOAK=1 runs every property 20x longer (a soak run, not for CI).
const SOAK = process.env.QUIVER_SOAK === "1";
const NUM_RUNS = SOAK ? 200_000 : 10_000;
const TIMEOUT_MS = SOAK ? 1_800_000 : 60_000;
const ENCODINGS = Object.keys(SECTION_ENCODINGS) as SectionEncoding[];
const TYPE_NAME_CHARS = "ABCXYZabcxyz0189._:-";

const typeNameArb = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: fc.constantFrom(...TYPE_NAME_CHARS), maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...TYPE_NAME_CHARS), minLength: 250, maxLength: 255 }) },
);

const sectionArb = fc
  .record({ id: fc.nat({ max: 0xffffffff }), encoding: fc.constantFrom(...ENCODINGS), count: fc.nat({ max: 12 }), seed: fc.nat({ max: 255 }) })
  .map(({ id, encoding, count, seed }) => {
    const bytes = new Uint8Array(count * SECTION_ENCODINGS[encoding].elementSize);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (seed + i * 31) & 0xff;
    return { id, encoding, bytes };
  });

/** Arbitrary small, valid frame inputs. */
const frameInputArb: fc.Arbitrary<FrameInput> = fc.record({
  kind: fc.oneof(fc.constantFrom(0, 1, 16, 32, 48), fc.nat({ max: 0xffffffff })),
  kindVersion: fc.nat({ max: 0xffffffff }),
  typeName: typeNameArb,
  versionMinor: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat({ max: 0xffff }) }),
  sections: fc.uniqueArray(sectionArb, { maxLength: 4, selector: (s) => s.id }),
});

// Buffer comparison: vitest's deep equality on typed arrays is slow at 10^4 runs.
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Re-encode a decoded frame from its own fields. */
function reencode(bytes: Uint8Array): Uint8Array {
  const f = decodeFrame(bytes);
  return encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, versionMinor: f.versionMinor, sections: f.sections });
}

/** Decode; either the bytes are exactly a valid frame, or the decoder raised a known QuiverFormatError. */
function decodesCanonicallyOrRejects(bytes: Uint8Array): "valid" | string {
  let again: Uint8Array;
  try {
    again = reencode(bytes);
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw new Error(`non-QuiverFormatError escaped: ${String(e)}`, { cause: e });
    expect(FORMAT_ERROR_CODES).toContain(e.code);
    return e.code;
  }
  if (!sameBytes(again, bytes)) expect(hex(again)).toBe(hex(bytes));
  return "valid";
}

/** Interesting values for an integer field of `size` bytes. */
function fieldValueArb(size: number): fc.Arbitrary<bigint> {
  const max = (1n << BigInt(size * 8)) - 1n;
  const edges = [0n, 1n, 2n, 7n, 8n, 63n, 64n, 65n, 128n, 176n, 192n, 255n, 256n, 4096n, max, max - 1n].filter((v) => v <= max);
  if (size === 8) edges.push(2n ** 53n - 1n, 2n ** 53n, 10n ** 15n);
  return fc.oneof(fc.constantFrom(...edges), fc.bigInt({ min: 0n, max }));
}

/** A field of the header or of some section entry, with a value to write there. */
type FieldOverwrite = { table: "header" | "entry"; index: number; field: number; value: bigint; add: boolean };

const fieldOverwriteArb: fc.Arbitrary<FieldOverwrite> = fc.oneof(
  fc.nat({ max: FRAME_HEADER.fields.length - 1 }).chain((field) =>
    fieldValueArb(Math.min(FRAME_HEADER.fields[field]!.size, 8)).map((value) => ({ table: "header" as const, index: 0, field, value, add: false })),
  ),
  fc
    .record({ index: fc.nat({ max: 3 }), field: fc.nat({ max: SECTION_ENTRY.fields.length - 1 }) })
    .chain(({ index, field }) => fieldValueArb(Math.min(SECTION_ENTRY.fields[field]!.size, 8)).map((value) => ({ table: "entry" as const, index, field, value, add: false }))),
  // Small steps from the current value (an offset 64 too far, an id equal to a neighbour's, ...)
  // reach the placement checks far more often than arbitrary values do.
  fc
    .record({
      table: fc.constantFrom("header" as const, "entry" as const),
      index: fc.nat({ max: 3 }),
      field: fc.nat({ max: 6 }),
      value: fc.oneof(fc.constantFrom(-128n, -64n, -8n, -1n, 1n, 4n, 8n, 64n, 128n), fc.bigInt({ min: -256n, max: 256n })),
    })
    .map((o) => ({ ...o, field: o.table === "header" ? [4, 5, 10][o.field % 3]! : o.field, add: true })),
);

/** Write `o.value`, or add it (wrapping) to the current value when `o.add`. */
function writeField(bytes: Uint8Array, at: number, size: number, o: FieldOverwrite): void {
  const mask = (1n << BigInt(8 * size)) - 1n;
  writeUint(bytes, at, size, o.add ? (readUint(bytes, at, size) + o.value) & mask : o.value & mask);
}

function applyOverwrite(bytes: Uint8Array, o: FieldOverwrite): void {
  if (o.table === "header") {
    const f = FRAME_HEADER.fields[o.field]!;
    if (f.type === "bytes") bytes.fill(Number(o.value & 0xffn), f.offset, f.offset + f.size);
    else writeField(bytes, f.offset, f.size, o);
  } else {
    const count = new DataView(bytes.buffer, bytes.byteOffset).getUint32(24, true);
    if (count === 0) return;
    const f = SECTION_ENTRY.fields[o.field]!;
    const at = tableStartOf(bytes) + (o.index % count) * SECTION_ENTRY.size + f.offset;
    // An earlier overwrite of type_name_length or section_count can move the table past the end.
    if (at + f.size > bytes.byteLength) return;
    if (f.type === "bytes") bytes.fill(Number(o.value & 0xffn), at, at + f.size);
    else writeField(bytes, at, f.size, o);
  }
}

describe("frame properties", () => {
  it("round trip: decode(encode(x)) gives x back, and re-encoding is byte-exact", () => {
    fc.assert(
      fc.property(frameInputArb, fc.constantFrom(0, 0, 0, 8, 4, 1), (input, misalign) => {
        const encoded = encodeFrame(input);
        const bytes = misalign === 0 ? encoded : atByteOffset(encoded, misalign);
        const f = decodeFrame(bytes);
        expect(f.copied).toBe(misalign % 8 !== 0);
        expect(f.kind).toBe(input.kind);
        expect(f.kindVersion).toBe(input.kindVersion);
        expect(f.typeName).toBe(input.typeName);
        expect(f.versionMajor).toBe(1);
        expect(f.versionMinor).toBe(input.versionMinor);
        expect(f.frameLength).toBe(encoded.byteLength);
        expect(f.sections.map((s) => `${s.id}/${s.encoding}/${hex(s.bytes)}`)).toEqual(input.sections.map((s) => `${s.id}/${s.encoding}/${hex(s.bytes)}`));
        for (const s of f.sections) expect(s.offset % 64).toBe(0);
        expect(sameBytes(reencode(bytes), encoded)).toBe(true);
      }),
      { numRuns: NUM_RUNS },
    );
  }, TIMEOUT_MS);

  it("every truncation and every appended tail is rejected with TRUNCATED / TRAILING_BYTES", () => {
    fc.assert(
      fc.property(frameInputArb, fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 9 }), (input, at, tail) => {
        const b = encodeFrame(input);
        const cut = Math.min(b.byteLength - 1, Math.floor(at * b.byteLength));
        expect(decodesCanonicallyOrRejects(b.subarray(0, cut))).toBe("TRUNCATED");
        const longer = new Uint8Array(b.byteLength + tail.length);
        longer.set(b);
        longer.set(tail, b.byteLength);
        expect(decodesCanonicallyOrRejects(longer)).toBe("TRAILING_BYTES");
      }),
      { numRuns: NUM_RUNS },
    );
  }, TIMEOUT_MS);

  it("single byte flips: canonical frame or QuiverFormatError, never another exception", () => {
    fc.assert(
      fc.property(frameInputArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (input, pos, xor) => {
        const b = encodeFrame(input);
        b[pos % b.byteLength]! ^= xor;
        const r = decodesCanonicallyOrRejects(b);
        // A flipped byte is always caught: by a CRC, a reserved/padding check or a structural check.
        expect(r).not.toBe("valid");
      }),
      { numRuns: NUM_RUNS },
    );
  }, TIMEOUT_MS);

  it("multi-byte random overwrites: canonical frame or QuiverFormatError", () => {
    fc.assert(
      fc.property(frameInputArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 12 }), fc.boolean(), (input, writes, fixCrc) => {
        const b = encodeFrame(input);
        for (const [pos, v] of writes) b[pos % b.byteLength] = v;
        if (fixCrc) rewriteHeaderCrc(b);
        decodesCanonicallyOrRejects(b);
      }),
      { numRuns: NUM_RUNS },
    );
  }, TIMEOUT_MS);

  it("header and section-table field overwrites with a recomputed header CRC reach the deeper checks", () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(frameInputArb, fc.array(fieldOverwriteArb, { minLength: 1, maxLength: 3 }), (input, overwrites) => {
        const b = encodeFrame(input);
        for (const o of overwrites) applyOverwrite(b, o);
        rewriteHeaderCrc(b);
        const r = decodesCanonicallyOrRejects(b);
        seen.set(r, (seen.get(r) ?? 0) + 1);
      }),
      { numRuns: NUM_RUNS },
    );
    if (process.env.QUIVER_PRINT_SEEN === "1") console.log(JSON.stringify([...seen].sort()));
    // The generator must actually exercise the checks behind the header CRC.
    for (const code of [
      "valid",
      "UNSUPPORTED_VERSION",
      "UNSUPPORTED_FLAGS",
      "RESERVED_NONZERO",
      "LIMIT_EXCEEDED",
      "BAD_FRAME_LENGTH",
      "UNKNOWN_SECTION_ENCODING",
      "SECTION_OUT_OF_BOUNDS",
      "SECTION_MISALIGNED",
      "SECTION_LENGTH_NOT_MULTIPLE",
      "BAD_TYPE_NAME",
      "CHECKSUM_MISMATCH",
    ]) {
      expect.soft(seen.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  }, TIMEOUT_MS);

  it("small edits of section ids, offsets and lengths behind a valid header CRC hit each placement check", () => {
    const seen = new Map<string, number>();
    const manySections = frameInputArb.filter((f) => f.sections.length >= 3);
    const edit = fc.record({ index: fc.nat({ max: 3 }), field: fc.constantFrom(0, 3, 4), value: fc.constantFrom(-128n, -64n, -1n, 1n, 4n, 64n, 128n), other: fc.nat({ max: 3 }) });
    fc.assert(
      fc.property(fc.tuple(manySections.map((f) => ({ ...f, sections: f.sections.slice(0, 4) })), edit), ([input, e]) => {
        const b = encodeFrame(input);
        const count = input.sections.length;
        if (e.field === 0) {
          // Copy another entry's id: a duplicate unless it is the same entry.
          const from = tableStartOf(b) + (e.other % count) * SECTION_ENTRY.size;
          writeUint(b, tableStartOf(b) + (e.index % count) * SECTION_ENTRY.size, 4, readUint(b, from, 4));
        } else {
          applyOverwrite(b, { table: "entry", index: e.index, field: e.field, value: e.value, add: true });
        }
        rewriteHeaderCrc(b);
        const r = decodesCanonicallyOrRejects(b);
        seen.set(r, (seen.get(r) ?? 0) + 1);
      }),
      { numRuns: NUM_RUNS },
    );
    if (process.env.QUIVER_PRINT_SEEN === "1") console.log(JSON.stringify([...seen].sort()));
    for (const code of ["DUPLICATE_SECTION_ID", "SECTION_OUT_OF_BOUNDS", "SECTION_MISALIGNED", "SECTION_UNSORTED", "SECTION_OVERLAP", "SECTION_GAP", "BAD_FRAME_LENGTH"]) {
      expect.soft(seen.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  }, TIMEOUT_MS);
});
