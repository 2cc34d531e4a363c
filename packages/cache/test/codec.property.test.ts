import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeCacheEntry, encodeCacheEntry, formatCacheKey, parseCacheKey, parseDiskEntryHeader, testVectorsCodec } from "@quiver/cache";
import { isQuiverFormatError } from "@quiver/format";

const vectorsArb = fc
  .record({ id: fc.string({ maxLength: 40 }), dims: fc.integer({ min: 1, max: 16 }), rows: fc.integer({ min: 0, max: 12 }) })
  .chain(({ id, dims, rows }) =>
    fc.array(fc.float({ noNaN: false }), { minLength: dims * rows, maxLength: dims * rows }).map((xs) => ({ id, dims, data: Float32Array.from(xs) })),
  );

function onlyFormatErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isQuiverFormatError(e)) throw e;
  }
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("cache-entry codec properties", () => {
  it("round-trips every value bit-exactly", () => {
    fc.assert(
      fc.property(vectorsArb, (v) => {
        const d = decodeCacheEntry(testVectorsCodec, encodeCacheEntry(testVectorsCodec, v));
        expect(d.value.id).toBe(v.id);
        expect(d.value.dims).toBe(v.dims);
        expect(bits(d.value.data)).toEqual(bits(v.data));
        expect(d.version).toBe(1);
      }),
      { numRuns: 300 },
    );
  });

  it("truncated entries only ever throw QuiverFormatError", () => {
    fc.assert(
      fc.property(vectorsArb, fc.nat(), (v, cut) => {
        const bytes = encodeCacheEntry(testVectorsCodec, v);
        const n = cut % bytes.length;
        let threw = false;
        try {
          decodeCacheEntry(testVectorsCodec, bytes.subarray(0, n));
        } catch (e) {
          threw = true;
          expect(isQuiverFormatError(e), String(e)).toBe(true);
        }
        expect(threw).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("mutated entries only ever throw QuiverFormatError (or decode)", () => {
    fc.assert(
      fc.property(vectorsArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (v, flips) => {
        const bytes = encodeCacheEntry(testVectorsCodec, v);
        for (const [at, x] of flips) bytes[at % bytes.length]! ^= x;
        onlyFormatErrors(() => decodeCacheEntry(testVectorsCodec, bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("arbitrary bytes only ever throw QuiverFormatError", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => onlyFormatErrors(() => decodeCacheEntry(testVectorsCodec, b))), { numRuns: 500 });
  });

  it("disk entry headers: arbitrary bytes and sizes only ever throw QuiverFormatError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat(), (b, size) => onlyFormatErrors(() => parseDiskEntryHeader(b, size))),
      { numRuns: 500 },
    );
  });
});

describe("byte key properties", () => {
  const typeName = fc.stringMatching(/^[A-Za-z0-9._:-]{1,40}$/);
  it("parseCacheKey inverts formatCacheKey for any prefix and user key", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), typeName, (prefix, user, t) => {
        expect(parseCacheKey(formatCacheKey(prefix, user, t))).toEqual({ userKey: prefix + user, typeName: t });
      }),
    );
  });
  it("parseCacheKey never throws on any string or byte key", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (s) => void parseCacheKey(s)));
    fc.assert(fc.property(fc.uint8Array(), (b) => void parseCacheKey(b)));
  });
});
