// The fast typed-array equality (scripts/test/typed-array-equality.ts, a vitest setup file) only
// ever answers "equal" for byte-identical arrays of one type; everything else is vitest's own call.
import { describe, expect, it } from "vitest";
import { equalTypedArrays } from "./typed-array-equality.js";

describe("fast typed-array equality", () => {
  it("says equal only for the same type, length and bytes, and defers otherwise", () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    expect(equalTypedArrays(a, a.slice())).toBe(true);
    expect(equalTypedArrays(new Uint8Array(a.buffer, 1, 2), Uint8Array.from([2, 3]))).toBe(true);
    expect(equalTypedArrays(a, Uint8Array.from([1, 2, 3, 5]))).toBeUndefined();
    expect(equalTypedArrays(a, Uint8Array.from([1, 2, 3]))).toBeUndefined();
    expect(equalTypedArrays(a, Int8Array.from([1, 2, 3, 4]))).toBeUndefined();
    expect(equalTypedArrays(new Uint16Array([1, 2]), Uint8Array.from([1, 0, 2, 0]))).toBeUndefined();
    expect(equalTypedArrays(a, [1, 2, 3, 4])).toBeUndefined();
    expect(equalTypedArrays(new DataView(a.buffer), new DataView(a.slice().buffer))).toBeUndefined();
    // NaN payloads differ in bytes: vitest's own comparison decides (it treats NaN as equal to NaN)
    const n1 = new Float32Array([Number.NaN]);
    const n2 = new Float32Array(1);
    new Uint32Array(n2.buffer)[0] = 0x7fc00001;
    expect(equalTypedArrays(n1, n2)).toBeUndefined();
    expect(n1).toEqual(n2);
  });

  it("is installed, and differences still fail with vitest's own report", () => {
    const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
    expect(big).toEqual(big.slice());
    const small = big.subarray(0, 64);
    const other = small.slice();
    other[33] = other[33]! ^ 1;
    expect(() => expect(small).toEqual(other)).toThrow();
    expect(() => expect(new Float32Array([0])).toEqual(new Float32Array([-0]))).toThrow();
    expect(() => expect(Buffer.from([1])).toStrictEqual(Uint8Array.from([1]))).toThrow();
    expect(() => expect(new Float64Array([1, 2])).toEqual(new Float64Array([1, 2, 3]))).toThrow();
    // installed: the one stated difference, a named property on a typed array, is not compared
    const named = Object.assign(Uint8Array.from([7]), { extra: 1 });
    expect(named).toEqual(Uint8Array.from([7]));
  });
});
