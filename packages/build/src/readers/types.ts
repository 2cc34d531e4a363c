/** The streaming reader contract every input format implements. */

/** A batch of consecutive rows of a vector file. */
export interface VectorBatch {
  /** rows * dim values, row-major (a fresh array the consumer may keep). */
  readonly vectors: Float32Array;
  readonly rows: number;
  /** Row number of the first row in the file (0-based). */
  readonly firstRow: number;
  /** The user's row ids when the file has an id column; absent means implicit row numbers. */
  readonly ids?: BigUint64Array;
}

/**
 * A vector file opened for streaming. `batches` may be iterated more than once (each is a fresh
 * pass from the start); at most `maxRows` rows are held per batch, so memory is bounded by
 * `maxRows * dim * 4` bytes plus the reader's own read buffer.
 */
export interface VectorReader {
  readonly file: string;
  /** "npy", "fvecs", "bvecs", "arrow-file", "arrow-stream", "parquet" or "memory". */
  readonly format: string;
  readonly dim: number;
  /** Rows, when the format says so up front (npy, vecs, Arrow file, Parquet); undefined for an Arrow stream. */
  readonly numRows: number | undefined;
  /** Name of the vector column (formats without columns report "vector"). */
  readonly column: string;
  /** True when the rows carry user ids. */
  readonly hasIds: boolean;
  batches(maxRows: number): AsyncIterable<VectorBatch>;
  /**
   * `batches` for a consumer that is done with a batch when it asks for the next one: a batch's
   * arrays may be overwritten after that (no fresh arrays per batch). Optional; a consumer falls
   * back to `batches`.
   */
  scanBatches?(maxRows: number): AsyncIterable<VectorBatch>;
  /**
   * Rows [start, end) only, seeking to `start` instead of reading the rows before it (formats
   * with a known row count; see `rowRangeReader`). Batches carry file row numbers (`firstRow`).
   */
  batchesInRange?(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch>;
  close(): Promise<void>;
}
