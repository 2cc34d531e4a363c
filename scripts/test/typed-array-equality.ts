/**
 * vitest setup file (vitest.config.ts `setupFiles`): a fast path for `toEqual` / `toStrictEqual`
 * of two equal typed arrays. vitest compares typed arrays element by element through its generic
 * iterable equality and then again through `Object.entries` (measured: about 0.3-0.4 s of CPU per
 * 100,000-element comparison), which made byte-exact round-trip assertions a large share of the
 * suite's time. This tester answers `true` only when both are typed arrays of the same constructor
 * and length with identical bytes (which implies every element is equal under `Object.is`, what
 * vitest checks); in every other case, a difference included, it returns `undefined`, so vitest's
 * own comparison decides and reports the difference exactly as before. Not compared on the fast
 * path: named (non-index) own properties added to a typed array object, which no test uses.
 */
import { expect } from "vitest";

type View = ArrayBufferView & { readonly length: number };

function isTypedArray(x: unknown): x is View {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** `true` for equal typed arrays (same constructor, length and bytes); `undefined` otherwise. */
export function equalTypedArrays(a: unknown, b: unknown): boolean | undefined {
  if (!isTypedArray(a) || !isTypedArray(b)) return undefined;
  if (a.constructor !== b.constructor || a.length !== b.length || a.byteLength !== b.byteLength) return undefined;
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return x.equals(y) ? true : undefined;
}

expect.addEqualityTesters([equalTypedArrays]);
