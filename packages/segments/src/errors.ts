/**
 * Errors of segment sets: every problem has a stable code (spec/error-codes.csv, area
 * `segments`) and names the shard whose segment caused it, so an operator knows which job to
 * rerun. A `QuiverSegmentError` is a `QuiverFormatError` (stage "segments" for validation,
 * "manifest" for manifest decoding, "publish" for commits) carrying every problem found.
 */
import { QuiverFormatError } from "@quiver/format";

/** Codes of segment problems (spec/error-codes.csv, area `segments`). */
export const SEGMENT_ERROR_CODES = [
  "SEGMENT_BAD_DESCRIPTOR", // a descriptor is malformed (field types, id pattern, ranges not sorted/disjoint/non-empty)
  "SEGMENT_UNREADABLE", // the segment file is missing or does not decode as an IVF index (cause kept)
  "SEGMENT_IDENTITY_MISMATCH", // the file's identity is not the descriptor's (file replaced or tampered)
  "SEGMENT_DESCRIPTOR_MISMATCH", // the descriptor's rows, bytes or modelDigest disagree with its file
  "SEGMENT_DIM_MISMATCH", // segments of one set have different vector dimensions
  "SEGMENT_METRIC_MISMATCH", // segments of one set have different distance types
  "SEGMENT_QUANTIZER_MISMATCH", // different quantizer kind, parameters, code width, residual flag or raw-vector layout
  "SEGMENT_MODEL_MISMATCH", // same shape but different centroids or quantizer arrays (model digests differ)
  "SEGMENT_ROWS_OVERLAP", // two segments (or two ranges) claim the same row id
  "SEGMENT_ROWS_MISSING", // a row id of the plan is in no segment
  "SEGMENT_ROWS_OUTSIDE_PLAN", // a segment holds row ids the plan does not have
  "SEGMENT_ROW_COUNT_MISMATCH", // rows != sum of range lengths, or the set's rows != the plan's totalRows
  "SEGMENT_DUPLICATE_ID", // two segments share a segmentId
  "SEGMENT_DUPLICATE_PATH", // two segments share a file path (the same input published twice)
  "SEGMENT_EMPTY", // a segment has no rows
  "SEGMENT_INPUT_VERSION_MISMATCH", // segments were built from different pinned input versions
  "SEGMENT_MANIFEST_VERSION_MISMATCH", // a manifest's version field differs from its object name
  "SEGMENT_VERSION_NOT_FOUND", // the asked-for manifest version (or any version) is not committed
  "SEGMENT_VERSION_CONFLICT", // a concurrent publish committed first (optimistic concurrency)
  "SEGMENT_GC_REFUSED", // gc found a manifest it cannot read, so nothing is known to be unreferenced
] as const;

/** A stable segment error code. */
export type SegmentErrorCode = (typeof SEGMENT_ERROR_CODES)[number];

/** One problem of a segment set. */
export interface SegmentProblem {
  readonly code: string;
  /** The shard whose segment has the problem (absent for problems of the whole set). */
  readonly shard?: string;
  readonly segmentId?: string;
  readonly message: string;
  /** For SEGMENT_UNREADABLE: the code of the underlying decode or store error. */
  readonly causeCode?: string;
}

/** A rejected segment set (or manifest, or commit): the first problem's code and shard, and every problem found. */
export class QuiverSegmentError extends QuiverFormatError {
  readonly shard: string | undefined;
  readonly problems: readonly SegmentProblem[];

  constructor(problems: readonly SegmentProblem[], options: { stage?: string; cause?: unknown } = {}) {
    const first = problems[0] ?? { code: "SEGMENT_BAD_DESCRIPTOR", message: "no problem given" };
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : "";
    const where = first.shard === undefined ? "" : `shard ${JSON.stringify(first.shard)}: `;
    const cause = options.cause ?? (problems[0] === undefined ? undefined : problemCauses.get(problems[0]));
    super(first.code, `${where}${first.message}${more}`, cause === undefined ? { stage: options.stage ?? "segments" } : { stage: options.stage ?? "segments", cause });
    Object.defineProperty(this, "name", { value: "QuiverSegmentError", enumerable: false, configurable: true, writable: false });
    this.shard = first.shard;
    this.problems = problems;
  }
}

/** The underlying error of a problem (kept out of the JSON-safe problem itself). */
export const problemCauses = new WeakMap<SegmentProblem, unknown>();

/** True when `e` is a {@link QuiverSegmentError} (optionally with the given code). */
export function isSegmentError(e: unknown, code?: string): e is QuiverSegmentError {
  return e instanceof QuiverSegmentError && (code === undefined || e.code === code);
}
