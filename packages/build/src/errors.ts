/**
 * Errors of users' input files: a `QuiverFormatError` (stable `code`, stage "input", byte `offset`)
 * that also names the file, the row and the column, so a user can find the bad value.
 */
import { QuiverFormatError } from "@quiver/format";

/** Codes of input-file errors (spec/error-codes.csv, area `input`). */
export const INPUT_ERROR_CODES = [
  "INPUT_BAD_HEADER", // the file's header cannot be parsed, or declares an unsupported layout
  "INPUT_WRONG_DTYPE", // the vectors are not of a supported element type
  "INPUT_TRUNCATED", // the file ends inside a row it declares
  "INPUT_DIM_MISMATCH", // a row has another dimension than the file (or the model) declares
  "INPUT_NON_FINITE", // a row holds NaN or +-Infinity
  "INPUT_MISSING_COLUMN", // the named vector or id column is absent
  "INPUT_UNSUPPORTED_FORMAT", // the file extension / magic names no supported input format
] as const;

/** A stable input-error code. */
export type InputErrorCode = (typeof INPUT_ERROR_CODES)[number];

/** Where in a user's file a problem is. */
export interface InputLocation {
  readonly file: string;
  /** 0-based row, when the problem is in one row. */
  readonly row?: number;
  /** Column name (the vector column, or "id"). */
  readonly column?: string;
  /** Byte offset in the file, when known. */
  readonly offset?: number;
}

/** A bad user input file: wrong header, dtype, dims, truncated, NaN rows, missing column. */
export class QuiverInputError extends QuiverFormatError {
  readonly file: string;
  readonly row: number | undefined;
  readonly column: string | undefined;

  constructor(code: InputErrorCode, message: string, where: InputLocation) {
    const at = [where.row === undefined ? "" : `row ${where.row}`, where.column === undefined ? "" : `column ${JSON.stringify(where.column)}`].filter((s) => s !== "").join(", ");
    super(code, `${where.file}${at === "" ? "" : ` (${at})`}: ${message}`, where.offset === undefined ? { stage: "input" } : { stage: "input", offset: where.offset });
    this.file = where.file;
    this.row = where.row;
    this.column = where.column;
  }
}
