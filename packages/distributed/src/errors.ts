/** Errors of the distributed build: a stable `code`, the shard when one is to blame, and the cause. */

/** Codes of {@link QuiverDistributedError} (spec/error-codes.csv, area `distributed`). */
export const DISTRIBUTED_ERROR_CODES = [
  "DIST_INPUT_CHANGED", // the input is not the version the build pinned (size/mtime or ETag differ)
  "DIST_SHARD_FAILED", // a shard job failed after its attempts (the error names the shard and the cause)
  "DIST_MERGE_FAILED", // the merge job failed (validation rejected the segments, or publishing failed)
  "DIST_BUILD_CONFLICT", // a manifest version the build did not base its work on was published meanwhile
  "DIST_STORE_MISMATCH", // a worker's store does not hold the build's committed model/plan (another store URI)
  "DIST_DUPLICATE_ID", // a shard's user ids repeat inside the shard
  "DIST_TIMEOUT", // the build did not finish within `timeoutMs`
] as const;

/** A stable distributed-build error code. */
export type DistributedErrorCode = (typeof DISTRIBUTED_ERROR_CODES)[number];

/** A distributed build that cannot go on; `shard` names the shard when one is to blame. */
export class QuiverDistributedError extends Error {
  override readonly name = "QuiverDistributedError";
  readonly code: DistributedErrorCode;
  readonly shard: string | undefined;
  /** The code of the underlying error (e.g. a QuiverSegmentError's), when known. */
  readonly causeCode: string | undefined;
  constructor(code: DistributedErrorCode, message: string, options: { shard?: string; causeCode?: string; cause?: unknown } = {}) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shard = options.shard;
    this.causeCode = options.causeCode;
  }
}

/** True for a {@link QuiverDistributedError}. */
export function isDistributedError(e: unknown): e is QuiverDistributedError {
  return e instanceof QuiverDistributedError;
}
