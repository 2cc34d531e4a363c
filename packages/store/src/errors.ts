/** Stable codes of object-store failures. */
export type StoreErrorCode = "NOT_FOUND" | "RANGE_OUT_OF_BOUNDS" | "INVALID_PATH" | "INVALID_RANGE" | "IO_ERROR" | "ALREADY_EXISTS" | "WRITER_CLOSED" | "READER_CLOSED" | "OBJECT_CHANGED";

/** A failed object-store request, with a stable `code`. */
export class QuiverStoreError extends Error {
  override readonly name = "QuiverStoreError";
  readonly code: StoreErrorCode;
  readonly path: string;

  constructor(code: StoreErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${path}: ${message}`, options);
    this.code = code;
    this.path = path;
  }
}

/** True when `e` is a {@link QuiverStoreError} with the given code (any code when omitted). */
export function isStoreError(e: unknown, code?: StoreErrorCode): e is QuiverStoreError {
  return e instanceof QuiverStoreError && (code === undefined || e.code === code);
}
