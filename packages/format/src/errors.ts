/**
 * The one error model of every Quiver decoder. `code` is stable (tests and conformance sidecars
 * match on it, never on the message); `stage` names the decoding step; `offset` is the byte
 * position in the input where the problem was found, when there is one.
 */

/** Every error code a Quiver decoder can raise, mirrored by `spec/error-codes.csv`. */
export const FORMAT_ERROR_CODES = [
  "TRUNCATED",
  "BAD_MAGIC",
  "UNSUPPORTED_VERSION",
  "UNSUPPORTED_FLAGS",
  "RESERVED_NONZERO",
  "LIMIT_EXCEEDED",
  "BAD_FRAME_LENGTH",
  "TRAILING_BYTES",
  "HEADER_CHECKSUM_MISMATCH",
  "CHECKSUM_MISMATCH",
  "BAD_TYPE_NAME",
  "UNKNOWN_SECTION_ENCODING",
  "DUPLICATE_SECTION_ID",
  "SECTION_OUT_OF_BOUNDS",
  "SECTION_MISALIGNED",
  "SECTION_UNSORTED",
  "SECTION_OVERLAP",
  "SECTION_GAP",
  "SECTION_LENGTH_NOT_MULTIPLE",
  "MISSING_SECTION",
  "WRONG_SECTION_ENCODING",
  "WRONG_KIND",
  "WRONG_TYPE_NAME",
  "UNSUPPORTED_KIND_VERSION",
  "BAD_ARROW_IPC",
  "BAD_JSON",
  "SCHEMA_VIOLATION",
  "INVALID_VALUE",
  "ARROW_FILE_NOT_STREAM",
  "ARROW_UNSUPPORTED_METADATA",
  "ARROW_UNSUPPORTED_TYPE",
  "ARROW_COMPRESSED_BODY",
  "UNKNOWN_CHECKSUM_ALGORITHM",
  "CHECKSUM_ALGORITHM_NOT_ALLOWED",
  "WRONG_SECTION_CHECKSUM",
] as const;

/** A stable error code. Packages above `format` may define more codes in the same registry. */
export type FormatErrorCode = (typeof FORMAT_ERROR_CODES)[number];

/** The decoding step an error was raised in. */
export type DecodeStage =
  | "header"
  | "type-name"
  | "section-table"
  | "section"
  | "checksum"
  | "payload"
  | "encode";

/** Options of a {@link QuiverFormatError}. */
export interface QuiverFormatErrorOptions {
  readonly stage: DecodeStage | (string & {});
  readonly offset?: number;
  readonly cause?: unknown;
}

/** A malformed, truncated, unsupported or otherwise unacceptable input. */
export class QuiverFormatError extends Error {
  override readonly name = "QuiverFormatError";
  /** Stable machine-readable code (see `spec/error-codes.csv`). */
  readonly code: FormatErrorCode | (string & {});
  /** Decoding stage the error was raised in. */
  readonly stage: string;
  /** Byte offset in the input, when known. */
  readonly offset: number | undefined;

  constructor(code: FormatErrorCode | (string & {}), message: string, options: QuiverFormatErrorOptions) {
    super(`${code}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.stage = options.stage;
    this.offset = options.offset;
  }
}

/** True when `e` is a {@link QuiverFormatError} (optionally with the given code). */
export function isQuiverFormatError(e: unknown, code?: string): e is QuiverFormatError {
  return e instanceof QuiverFormatError && (code === undefined || e.code === code);
}
