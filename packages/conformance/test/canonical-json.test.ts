import { describe, expect, it } from "vitest";
import { bytesToHex, canonicalEqual, canonicalJson, hexToBytes, toCanonicalValue } from "@quiver/conformance";

describe("canonical JSON", () => {
  it("sorts keys at every depth, indents by two and ends with a newline", () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } })).toBe(
      '{\n  "a": {\n    "c": null,\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });

  it("writes bigints as decimal strings and bytes as lowercase hex, drops undefined members", () => {
    expect(toCanonicalValue({ n: 2n ** 64n - 1n, b: new Uint8Array([0, 171, 255]), u: undefined })).toEqual({ b: "00abff", n: "18446744073709551615" });
  });

  it("keeps a __proto__ key as an ordinary member", () => {
    const v = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown;
    expect(canonicalJson(v)).toBe('{\n  "__proto__": {\n    "x": 1\n  },\n  "a": 2\n}\n');
  });

  it("rejects values without an exact JSON form", () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/\$\.x/);
    expect(() => canonicalJson([Infinity])).toThrow(TypeError);
    expect(() => canonicalJson({ m: new Map() })).toThrow(/not a plain object/);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
  });

  it("compares by canonical form, so key order does not matter but values do", () => {
    expect(canonicalEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(canonicalEqual({ a: 1, b: [1, 2] }, { a: 1, b: [2, 1] })).toBe(false);
    expect(canonicalEqual({ a: "1" }, { a: 1 })).toBe(false);
  });

  it("hex round-trips and rejects malformed hex", () => {
    const bytes = new Uint8Array([1, 2, 254, 255]);
    expect(hexToBytes(bytesToHex(bytes))).toEqual(bytes);
    expect(() => hexToBytes("abc")).toThrow(TypeError);
    expect(() => hexToBytes("zz")).toThrow(TypeError);
  });
});
