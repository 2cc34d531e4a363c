/**
 * Row-id ranges: half-open `[start, end)` pairs of unsigned 64-bit integers, written as decimal
 * strings (JSON-safe). A canonical list is sorted, every range non-empty, and consecutive ranges
 * separated by at least one id (touching ranges are merged), so two canonical lists describe the
 * same row set exactly when they are equal.
 */

/** Largest row id + 1 (ranges are half-open, so `end` may be 2^64). */
export const ROW_ID_END = 1n << 64n;
const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/** A canonical range list as bigints. */
export type BigRange = readonly [bigint, bigint];

/** Parse one bound (decimal string without sign or leading zeros, or a bigint); undefined when invalid. */
export function parseBound(v: unknown): bigint | undefined {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "string" && DECIMAL.test(v)) b = BigInt(v);
  else return undefined;
  return b >= 0n && b <= ROW_ID_END ? b : undefined;
}

/** Why a range list is not acceptable input, or undefined when each range is well-formed (start < end <= 2^64). */
export function rangeListProblem(list: unknown, maxRanges: number): string | undefined {
  if (!Array.isArray(list)) return "rowIdRanges is not an array";
  if (list.length === 0) return "rowIdRanges is empty";
  if (list.length > maxRanges) return `${list.length} row-id ranges, above the maximum ${maxRanges}`;
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as unknown;
    if (!Array.isArray(r) || r.length !== 2) return `rowIdRanges[${i}] is not a [start, end) pair`;
    const s = parseBound(r[0]);
    const e = parseBound(r[1]);
    if (s === undefined || e === undefined) return `rowIdRanges[${i}] bounds are not decimal integers in [0, 2^64]`;
    if (s >= e) return `rowIdRanges[${i}] is empty or reversed (${s} >= ${e})`;
  }
  return undefined;
}

/** Bigint ranges of a list that passed {@link rangeListProblem}. */
export function toBigRanges(list: readonly (readonly [unknown, unknown])[]): BigRange[] {
  return list.map((r) => [parseBound(r[0])!, parseBound(r[1])!] as const);
}

/** True when sorted with gaps between consecutive ranges (the canonical form). */
export function isCanonical(ranges: readonly BigRange[]): boolean {
  for (let i = 1; i < ranges.length; i++) if (ranges[i]![0] <= ranges[i - 1]![1]) return false;
  return true;
}

/** Sort and merge touching ranges; returns undefined when two ranges overlap. */
export function canonicalize(ranges: readonly BigRange[]): BigRange[] | undefined {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s < last[1]) return undefined;
    if (last !== undefined && s === last[1]) last[1] = e;
    else out.push([s, e]);
  }
  return out;
}

/** Rows a range list covers. */
export function rangeRows(ranges: readonly BigRange[]): bigint {
  let n = 0n;
  for (const [s, e] of ranges) n += e - s;
  return n;
}

/** Decimal-string form. */
export function rangeStrings(ranges: readonly BigRange[]): [string, string][] {
  return ranges.map(([s, e]) => [s.toString(), e.toString()]);
}

/** `a` minus `b`, both canonical: the ranges of `a` no range of `b` covers. */
export function subtractRanges(a: readonly BigRange[], b: readonly BigRange[]): BigRange[] {
  const out: BigRange[] = [];
  let j = 0;
  for (const [s0, e] of a) {
    let s = s0;
    while (j < b.length && b[j]![1] <= s) j++;
    let k = j;
    while (s < e && k < b.length && b[k]![0] < e) {
      const [bs, be] = b[k]!;
      if (bs > s) out.push([s, bs]);
      s = be > s ? be : s;
      k++;
    }
    if (s < e) out.push([s, e]);
  }
  return out;
}

/** Short text of a range list for messages (at most three ranges shown). */
export function describeRanges(ranges: readonly BigRange[]): string {
  const shown = ranges.slice(0, 3).map(([s, e]) => `[${s}, ${e})`).join(", ");
  return ranges.length > 3 ? `${shown} and ${ranges.length - 3} more` : shown;
}
