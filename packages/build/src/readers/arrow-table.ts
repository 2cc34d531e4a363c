/**
 * An apache-arrow `Table` already in memory as build input (LanceDB users hold their data as
 * Arrow): the vector column is a FixedSizeList<Float32> (or List<Float32> of equal lengths), the
 * optional id column uint64 / int64. The table is the caller's decoded object, not bytes from
 * outside, so it is read through apache-arrow's own API; each batch is copied row-major.
 */
import { DataType, type Table, type Vector } from "apache-arrow";
import { QuiverInputError } from "../errors.js";
import { batchRows, checkFinite } from "./common.js";
import type { VectorBatch, VectorReader } from "./types.js";

const NAME = "<arrow table>";

/** True for an apache-arrow Table (checked structurally, so a second copy of apache-arrow works too). */
export function isArrowTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && "schema" in v && "batches" in v && typeof (v as { getChild?: unknown }).getChild === "function";
}

/** A {@link VectorReader} over an in-memory Arrow table. */
export function arrowTableReader(table: Table, options: { column?: string; idColumn?: string } = {}): VectorReader {
  const column = options.column ?? "vector";
  const vec = table.getChild(column) as Vector | null;
  if (vec === null) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no column named ${JSON.stringify(column)}`, { file: NAME, column });
  const type = vec.type;
  const isList = DataType.isFixedSizeList(type) || DataType.isList(type);
  const child = isList ? (type as { children: { type: DataType }[] }).children[0]?.type : undefined;
  if (!isList || child === undefined || !DataType.isFloat(child) || (child as { precision: number }).precision !== 1) {
    throw new QuiverInputError("INPUT_WRONG_DTYPE", `column is ${String(type)}, expected FixedSizeList<Float32> or List<Float32>`, { file: NAME, column });
  }
  const numRows = table.numRows;
  if (numRows === 0) throw new QuiverInputError("INPUT_BAD_HEADER", "the table has no rows", { file: NAME, column });
  const first = vec.get(0) as { length: number } | null; // a list row (Vector) has a length
  const dim = DataType.isFixedSizeList(type) ? (type as { listSize: number }).listSize : (first?.length ?? 0);
  if (!Number.isInteger(dim) || dim < 1 || dim > 65_536) throw new QuiverInputError("INPUT_DIM_MISMATCH", `dimension ${dim}`, { file: NAME, column });
  const ids = options.idColumn === undefined ? undefined : (table.getChild(options.idColumn) as Vector | null);
  if (options.idColumn !== undefined) {
    if (ids === null || ids === undefined) throw new QuiverInputError("INPUT_MISSING_COLUMN", `no column named ${JSON.stringify(options.idColumn)}`, { file: NAME, column: options.idColumn });
    if (!DataType.isInt(ids.type) || (ids.type as { bitWidth: number }).bitWidth !== 64) {
      throw new QuiverInputError("INPUT_WRONG_DTYPE", `id column is ${String(ids.type)}, expected uint64 or int64`, { file: NAME, column: options.idColumn });
    }
  }
  const reader: VectorReader = {
    file: NAME,
    format: "arrow-table",
    dim,
    numRows,
    column,
    hasIds: ids !== undefined,
    batches: (maxRows: number) => reader.batchesInRange!(0, numRows, maxRows),
    async *batchesInRange(from: number, end: number, maxRows: number): AsyncIterable<VectorBatch> {
      const per = batchRows(maxRows);
      const stop = Math.min(end, numRows);
      for (let start = from; start < stop; start += per) {
        const rows = Math.min(per, stop - start);
        const out = new Float32Array(rows * dim);
        for (let r = 0; r < rows; r++) {
          const row = vec.get(start + r) as { toArray(): ArrayLike<number> } | null;
          const v = row === null ? null : row.toArray();
          if (v === null || v.length !== dim) {
            throw new QuiverInputError(v === null ? "INPUT_NON_FINITE" : "INPUT_DIM_MISMATCH", v === null ? "a null vector" : `${v.length} values, the table's dimension is ${dim}`, { file: NAME, row: start + r, column });
          }
          for (let d = 0; d < dim; d++) out[r * dim + d] = v[d]!;
        }
        checkFinite(out, rows, dim, start, NAME, column);
        if (ids === undefined || ids === null) {
          yield { vectors: out, rows, firstRow: start };
          continue;
        }
        const idOut = new BigUint64Array(rows);
        for (let r = 0; r < rows; r++) {
          const id = ids.get(start + r) as bigint | null;
          if (id === null || id < 0n) throw new QuiverInputError("INPUT_WRONG_DTYPE", id === null ? "a null id" : `negative id ${id}`, { file: NAME, row: start + r, column: options.idColumn! });
          idOut[r] = id;
        }
        yield { vectors: out, rows, firstRow: start, ids: idOut };
      }
    },
    async close() {},
  };
  return reader;
}
