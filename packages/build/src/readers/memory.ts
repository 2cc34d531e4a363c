/** An in-memory matrix as a {@link VectorReader} (the options-object API's `Float32Array` input). */
import { batchRows, checkFinite } from "./common.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Wrap rows * dim values (and optional ids) as a reader; batches are views (no copy). */
export function memoryReader(vectors: Float32Array, dim: number, ids?: BigUint64Array, name = "<memory>"): VectorReader {
  const numRows = vectors.length / dim;
  const reader: VectorReader = {
    file: name,
    format: "memory",
    dim,
    numRows,
    column: "vector",
    hasIds: ids !== undefined,
    batches: (maxRows: number) => reader.batchesInRange!(0, numRows, maxRows),
    async *batchesInRange(start: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
      const per = batchRows(maxRows);
      const stop = Math.min(end, numRows);
      for (let first = start; first < stop; first += per) {
        const rows = Math.min(per, stop - first);
        const v = vectors.subarray(first * dim, (first + rows) * dim);
        checkFinite(v, rows, dim, first, name, "vector");
        yield ids === undefined ? { vectors: v, rows, firstRow: first } : { vectors: v, rows, firstRow: first, ids: ids.subarray(first, first + rows) };
      }
    },
    async close() {},
  };
  return reader;
}
