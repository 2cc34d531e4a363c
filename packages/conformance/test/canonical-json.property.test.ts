import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bytesToHex, canonicalJson, directoryDigest, hexToBytes } from "@quiver/conformance";

const json = fc.jsonValue({ maxDepth: 4 });

describe("canonical JSON properties", () => {
  it("parses back to an equal value and is a fixed point", () => {
    fc.assert(
      fc.property(json, (v) => {
        const text = canonicalJson(v);
        const parsed = JSON.parse(text) as unknown;
        expect(parsed).toStrictEqual(JSON.parse(JSON.stringify(v)));
        expect(canonicalJson(parsed)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  it("does not depend on the insertion order of keys", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), json, { maxKeys: 8 }), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      }),
      { numRuns: 1000 },
    );
  });

  it("hex round-trips any bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void expect(hexToBytes(bytesToHex(b))).toEqual(b)), { numRuns: 1000 });
  });

  it("a directory digest depends on contents and names, not on listing order", () => {
    const files = fc.dictionary(fc.stringMatching(/^[a-z]{1,6}(\/[a-z]{1,6})?$/), fc.uint8Array({ maxLength: 16 }), { minKeys: 1, maxKeys: 6 });
    fc.assert(
      fc.property(files, (f) => {
        const reversed = Object.fromEntries(Object.entries(f).reverse());
        expect(directoryDigest(reversed)).toBe(directoryDigest(f));
        const [first] = Object.keys(f);
        const changed = { ...f, [first!]: new Uint8Array([...f[first!]!, 1]) };
        expect(directoryDigest(changed)).not.toBe(directoryDigest(f));
      }),
      { numRuns: 500 },
    );
  });
});
