/** The inputs a conformance operation receives: the fixture bytes (single-file), the fixture directory (multi-file) and the sidecar `input`. */
export interface OperationFixture {
  bin?: Uint8Array;
  dir?: string;
  input?: unknown;
}

/**
 * One conformance operation: consumes a fixture and returns its canonical-JSON result, or throws
 * a `QuiverFormatError` (or any error with string `code` and `stage`) for a rejected input.
 */
export type OperationFn = (fixture: OperationFixture) => Promise<unknown>;
