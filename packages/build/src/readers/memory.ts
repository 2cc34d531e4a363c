/** An in-memory matrix as a {@link VectorReader} (the options-object API's `Float32Array` input). */
import { batchRows, checkFinite } from "./common.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Wrap rows * dim values (and optional ids) as a reader; batches are views (no copy). */
export function memoryReader(vectors: Float32Array, dim: number, ids?: BigUint64Array, name = "<memory>"): VectorReader {
  const numRows = vectors.length / dim;
  return {
    file: name,
    format: "memory",
    dim,
    numRows,
    column: "vector",
    hasIds: ids !== undefined,
    async *batches(maxRows: number): AsyncIterable<VectorBatch> {
      const per = batchRows(maxRows);
      for (let first = 0; first < numRows; first += per) {
        const rows = Math.min(per, numRows - first);
        const v = vectors.subarray(first * dim, (first + rows) * dim);
        checkFinite(v, rows, dim, first, name, "vector");
        yield ids === undefined ? { vectors: v, rows, firstRow: first } : { vectors: v, rows, firstRow: first, ids: ids.subarray(first, first + rows) };
      }
    },
    async close() {},
  };
}
