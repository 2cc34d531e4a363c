/**
 * Test helpers: seeded columns of every value type, random filters over them, and a brute-force
 * evaluator (three-valued logic, the index's value order) that the indexes are checked against.
 */
import { type ScalarFilter, type ScalarValue, type ValueType, compareNumbers } from "@quiver/bitmap";

/** The one seeded mulberry32 of the repository (the fixture generator's). */
import { prng as rng } from "../../../fixtures/_gen/internal/prng.js";

export { rng };

export const addr = (f: number, o: number): bigint => (BigInt(f) << 32n) | BigInt(o);

const STRINGS = ["", "a", "ab", "b", "é", "z", "😀", "\uFFFD", "zz", "a\u0000b", "日本", "ab😀"];
const F64 = [0, -0, 1.5, -2.25, Infinity, -Infinity, NaN, 1e300, -1e-300, 3];

/** One random non-null value of `type` from a small domain (so equal values repeat). */
export function randomValue(type: ValueType, r: () => number, distinct = 50): ScalarValue {
  const k = Math.floor(r() * distinct);
  switch (type) {
    case "bool":
      return r() < 0.5;
    case "int32":
    case "date32":
      return k * 37 - 900;
    case "int64":
    case "timestamp":
      return BigInt(k - 25) * 123_456_789_012n;
    case "uint64":
      return k === 0 ? 0n : 2n ** 64n - 1n - BigInt(k) * 1_000_003n;
    case "float32":
      return Math.fround(F64[k % F64.length]! * (1 + Math.floor(k / F64.length)));
    case "float64":
      return F64[k % F64.length]! * (1 + Math.floor(k / F64.length));
    case "utf8":
      return STRINGS[k % STRINGS.length]! + (k >= STRINGS.length ? String(k) : "");
  }
}

/** A column: row ids over a few fragments, values with about `nullRate` NULLs. */
export function column(type: ValueType, n: number, seed: number, nullRate = 0.05, distinct = 50): { rowIds: bigint[]; values: (ScalarValue | null)[] } {
  const r = rng(seed);
  const rowIds: bigint[] = [];
  const values: (ScalarValue | null)[] = [];
  for (let i = 0; i < n; i++) {
    rowIds.push(addr(i % 3, Math.floor(i / 3) * 2 + (i % 2)));
    values.push(r() < nullRate ? null : randomValue(type, r, distinct));
  }
  return { rowIds, values };
}

const utf8 = new TextEncoder();

// Brute-force scans compare the same few strings millions of times: encoding each afresh was
// most of their time (bitmap zero-io-proof: 5.7 s of 6.9 s). Bounded: cleared when full.
const UTF8_MEMO = new Map<string, Uint8Array>();
function utf8Bytes(s: string): Uint8Array {
  let b = UTF8_MEMO.get(s);
  if (b === undefined) {
    if (UTF8_MEMO.size >= 65_536) UTF8_MEMO.clear();
    UTF8_MEMO.set(s, (b = utf8.encode(s)));
  }
  return b;
}

/** The index order of two non-null values of one type. */
export function compareValues(type: ValueType, a: ScalarValue, b: ScalarValue): number {
  switch (type) {
    case "utf8":
      return Buffer.compare(utf8Bytes(a as string), utf8Bytes(b as string));
    case "float32":
    case "float64":
      return compareNumbers(a as number, b as number);
    case "bool":
      return Number(a) - Number(b);
    default:
      return a < b ? -1 : a > b ? 1 : 0;
  }
}

/** Three-valued truth of a filter on one row value (null = UNKNOWN). */
export function truth(type: ValueType, f: ScalarFilter, v: ScalarValue | null): boolean | null {
  const cmp = (x: ScalarValue) => compareValues(type, v as ScalarValue, x);
  switch (f.op) {
    case "and": {
      const ts = f.filters.map((g) => truth(type, g, v));
      return ts.includes(false) ? false : ts.includes(null) ? null : true;
    }
    case "or": {
      const ts = f.filters.map((g) => truth(type, g, v));
      return ts.includes(true) ? true : ts.includes(null) ? null : false;
    }
    case "not": {
      const t = truth(type, f.filter, v);
      return t === null ? null : !t;
    }
    case "isNull":
      return v === null;
    case "isNotNull":
      return v !== null;
    default:
      break;
  }
  if (v === null) return null;
  switch (f.op) {
    case "eq":
      return cmp(f.value) === 0;
    case "ne":
      return cmp(f.value) !== 0;
    case "in":
      return f.values.some((x) => cmp(x) === 0);
    case "range": {
      if (f.lower !== undefined) {
        const c = cmp(f.lower);
        if (c < 0 || (c === 0 && f.lowerInclusive === false)) return false;
      }
      if (f.upper !== undefined) {
        const c = cmp(f.upper);
        if (c > 0 || (c === 0 && f.upperInclusive !== true)) return false;
      }
      return true;
    }
    default:
      throw new Error(`op ${f.op}`);
  }
}

/** A random filter over one column (depth <= 2). */
export function randomFilter(type: ValueType, r: () => number, depth = 0): ScalarFilter {
  const x = r();
  const val = () => randomValue(type, r);
  if (depth < 2 && x < 0.25) {
    const op = r() < 0.5 ? "and" : "or";
    return { op, filters: [randomFilter(type, r, depth + 1), randomFilter(type, r, depth + 1)] };
  }
  if (depth < 2 && x < 0.35) return { op: "not", filter: randomFilter(type, r, depth + 1) };
  const y = r();
  if (y < 0.3) return { op: "eq", value: val() };
  if (y < 0.4) return { op: "ne", value: val() };
  if (y < 0.5) return { op: "in", values: [val(), val(), val()] };
  if (y < 0.55) return { op: "isNull" };
  if (y < 0.6) return { op: "isNotNull" };
  const range: { op: "range"; lower?: ScalarValue; upper?: ScalarValue; lowerInclusive?: boolean; upperInclusive?: boolean } = { op: "range" };
  if (r() < 0.8) range.lower = val();
  if (r() < 0.8) range.upper = val();
  if (r() < 0.5) range.lowerInclusive = r() < 0.5;
  if (r() < 0.5) range.upperInclusive = r() < 0.5;
  return range;
}

/** Row ids (sorted) where the filter is TRUE, by brute force. */
export function bruteForce(type: ValueType, col: { rowIds: bigint[]; values: (ScalarValue | null)[] }, f: ScalarFilter): bigint[] {
  const out: bigint[] = [];
  col.values.forEach((v, i) => {
    if (truth(type, f, v) === true) out.push(col.rowIds[i]!);
  });
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export const ALL_TYPES: ValueType[] = ["bool", "int32", "int64", "uint64", "float32", "float64", "utf8", "date32", "timestamp"];
