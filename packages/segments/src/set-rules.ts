/**
 * The rules over a whole set of descriptors that need no file: unique ids and paths, one input
 * version, one model digest, disjoint rows, and coverage of a plan. Used by validation before a
 * publish and by the manifest decoder (a manifest is a descriptor set that was validated once;
 * a reader re-checks what it can without reading segment files).
 */
import { describeValue } from "@quiver/format";
import { type SegmentDescriptor, descriptorRanges } from "./descriptor.js";
import type { SegmentProblem } from "./errors.js";
import { type BigRange, canonicalize, describeRanges, rangeRows, subtractRanges } from "./ranges.js";

/** What a publish was planned to contain (any subset of the fields is checked). */
export interface SegmentPlan {
  /** Every row id the set must hold, exactly once (half-open uint64 ranges). */
  readonly rowIdRanges?: readonly (readonly [string | bigint, string | bigint])[];
  /** Total rows of the set. */
  readonly totalRows?: number;
  /** The model digest every segment must have (the coordinator's trained model). */
  readonly modelDigest?: string;
  /** The pinned input version every segment must have been built from. */
  readonly inputVersion?: string;
}

/** The most frequent value (ties: the one seen first), so the odd segment out is the one blamed. */
export function majority(values: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = values[0]!;
  for (const v of values) {
    const n = (counts.get(v) ?? 0) + 1;
    counts.set(v, n);
    if (n > counts.get(best)!) best = v;
  }
  return best;
}

function who(d: SegmentDescriptor): { shard: string; segmentId: string } {
  return { shard: d.shard, segmentId: d.segmentId };
}

/**
 * Set-level problems of descriptors that each passed their own checks. `planRanges` is the plan's
 * canonical row set (undefined: no coverage check).
 */
export function setProblems(segs: readonly SegmentDescriptor[], plan: SegmentPlan | undefined, planRanges: readonly BigRange[] | undefined): SegmentProblem[] {
  const out: SegmentProblem[] = [];
  const ids = new Map<string, SegmentDescriptor>();
  const paths = new Map<string, SegmentDescriptor>();
  for (const d of segs) {
    const prev = ids.get(d.segmentId);
    if (prev !== undefined) out.push({ code: "SEGMENT_DUPLICATE_ID", ...who(d), message: `segmentId ${describeValue(d.segmentId)} is also used by shard ${JSON.stringify(prev.shard)}` });
    else ids.set(d.segmentId, d);
    const prevPath = paths.get(d.path);
    if (prevPath !== undefined) out.push({ code: "SEGMENT_DUPLICATE_PATH", ...who(d), message: `path ${describeValue(d.path)} is also the file of shard ${JSON.stringify(prevPath.shard)} (an input published twice)` });
    else paths.set(d.path, d);
  }
  if (segs.length > 0) {
    const wantInput = plan?.inputVersion ?? majority(segs.map((d) => d.inputVersion));
    const wantDigest = plan?.modelDigest ?? majority(segs.map((d) => d.modelDigest));
    for (const d of segs) {
      if (d.inputVersion !== wantInput) {
        out.push({ code: "SEGMENT_INPUT_VERSION_MISMATCH", ...who(d), message: `built from input version ${describeValue(d.inputVersion)}, ${plan?.inputVersion === undefined ? "the other segments from" : "the plan pins"} ${describeValue(wantInput)}` });
      }
      if (d.modelDigest !== wantDigest) {
        out.push({ code: "SEGMENT_MODEL_MISMATCH", ...who(d), message: `model digest ${d.modelDigest.slice(0, 16)}..., ${plan?.modelDigest === undefined ? "the other segments'" : "the plan's"} ${wantDigest.slice(0, 16)}...` });
      }
    }
  }
  // Disjoint rows: sort every range of every segment by start; an overlap is a start below the previous end.
  const all: { s: bigint; e: bigint; d: SegmentDescriptor }[] = [];
  for (const d of segs) for (const [s, e] of descriptorRanges(d)) all.push({ s, e, d });
  all.sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0));
  let maxEnd = -1n;
  let owner: SegmentDescriptor | undefined;
  const reported = new Set<SegmentDescriptor>();
  for (const r of all) {
    if (owner !== undefined && r.s < maxEnd && !reported.has(r.d)) {
      reported.add(r.d);
      out.push({ code: "SEGMENT_ROWS_OVERLAP", ...who(r.d), message: `row ids from ${r.s} are also in shard ${JSON.stringify(owner.shard)} (duplicate rows)` });
    }
    if (r.e > maxEnd) {
      maxEnd = r.e;
      owner = r.d;
    }
  }
  if (planRanges !== undefined && reported.size === 0) {
    const union = canonicalize(all.map((r) => [r.s, r.e] as const)) ?? [];
    const missing = subtractRanges(planRanges, union);
    if (missing.length > 0) out.push({ code: "SEGMENT_ROWS_MISSING", message: `${rangeRows(missing)} planned row ids are in no segment: ${describeRanges(missing)}` });
    // Rows outside the plan: name the shard of the first such range.
    const extra = subtractRanges(union, planRanges);
    for (const [s] of extra.slice(0, 1)) {
      const d = all.find((r) => r.s <= s && s < r.e)?.d;
      out.push({ code: "SEGMENT_ROWS_OUTSIDE_PLAN", ...(d === undefined ? {} : who(d)), message: `${rangeRows(extra)} row ids are not in the plan: ${describeRanges(extra)}` });
    }
  }
  if (plan?.totalRows !== undefined) {
    const total = segs.reduce((n, d) => n + d.rows, 0);
    if (total !== plan.totalRows) out.push({ code: "SEGMENT_ROW_COUNT_MISMATCH", message: `the segments hold ${total} rows, the plan ${plan.totalRows}` });
  }
  return out;
}
