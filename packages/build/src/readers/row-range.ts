/**
 * Row ranges of an input: a shard of a distributed build reads rows [start, end) of the file and
 * nothing before them. Readers of formats with fixed-size rows or a known batch layout (npy,
 * fvecs, bvecs, Arrow IPC, Parquet, memory, Arrow tables) seek to `start` (`batchesInRange`);
 * any other reader is read from its start and the rows outside the range are dropped.
 * Batches keep file row numbers (`firstRow`), so implicit row ids are the same as in a whole-file
 * build: a shard's rows get the ids they would get in a single-process build.
 */
import { QuiverArgumentError, checkInteger } from "@quiver/format";
import { QuiverInputError } from "../errors.js";
import { type OpenVectorFileOptions, openVectorFile } from "../open-input.js";
import { batchRows } from "./common.js";
import type { VectorBatch, VectorReader } from "./types.js";

/** Rows [start, end) of an input (0-based file row numbers, end exclusive). */
export interface RowRange {
  readonly start: number;
  readonly end: number;
}

function checkRange(range: RowRange, numRows: number | undefined): void {
  if (typeof range !== "object" || range === null) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "range", expected: "{ start, end }", given: range });
  checkInteger("range.start", range.start, 0, Number.MAX_SAFE_INTEGER - 1);
  checkInteger("range.end", range.end, range.start + 1, Number.MAX_SAFE_INTEGER);
  if (numRows !== undefined && range.end > numRows) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "range.end", expected: `at most the input's ${numRows} rows`, given: range.end });
  }
}

/** The rows [start, end) of `reader` as a reader of its own (`numRows` = end - start); closing it closes `reader`. */
export function rowRangeReader(reader: VectorReader, range: RowRange): VectorReader {
  checkRange(range, reader.numRows);
  const { start, end } = range;
  const seek = reader.batchesInRange?.bind(reader);
  async function* filtered(maxRows: number): AsyncIterable<VectorBatch> {
    const per = batchRows(maxRows);
    let seen = 0;
    for await (const b of seek === undefined ? reader.batches(per) : seek(start, end, per)) {
      const lo = Math.max(start, b.firstRow);
      const hi = Math.min(end, b.firstRow + b.rows);
      if (hi > lo) {
        seen += hi - lo;
        if (lo === b.firstRow && hi === b.firstRow + b.rows) yield b;
        else {
          const a = lo - b.firstRow;
          const z = hi - b.firstRow;
          const d = reader.dim;
          yield { vectors: b.vectors.subarray(a * d, z * d), rows: z - a, firstRow: lo, ...(b.ids === undefined ? {} : { ids: b.ids.subarray(a, z) }) };
        }
      }
      if (b.firstRow + b.rows >= end) break;
    }
    if (seen < end - start) throw new QuiverInputError("INPUT_TRUNCATED", `the input ends at row ${start + seen}, inside the row range [${start}, ${end})`, { file: reader.file, row: start + seen });
  }
  return {
    file: reader.file,
    format: reader.format,
    dim: reader.dim,
    numRows: end - start,
    column: reader.column,
    hasIds: reader.hasIds,
    batches: filtered,
    close: () => reader.close(),
  };
}

/** {@link openVectorFile} restricted to rows [start, end) (a shard of a distributed build). */
export async function openVectorFileRange(path: string, range: RowRange, options: OpenVectorFileOptions = {}): Promise<VectorReader> {
  const reader = await openVectorFile(path, options);
  try {
    return rowRangeReader(reader, range);
  } catch (e) {
    await reader.close();
    throw e;
  }
}

/** Split rows [0, numRows) into `shards` contiguous ranges whose sizes differ by at most one row. */
export function planRowRanges(numRows: number, shards: number): RowRange[] {
  checkInteger("numRows", numRows, 1, Number.MAX_SAFE_INTEGER);
  checkInteger("shards", shards, 1, Math.min(numRows, 100_000));
  const out: RowRange[] = [];
  const base = Math.floor(numRows / shards);
  const extra = numRows % shards;
  let at = 0;
  for (let i = 0; i < shards; i++) {
    const n = base + (i < extra ? 1 : 0);
    out.push({ start: at, end: at + n });
    at += n;
  }
  return out;
}
