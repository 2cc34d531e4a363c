import { Field, RecordBatch, Schema, Struct, Table, Uint32, makeData, tableToIPC } from "apache-arrow";
import { FILE_TRAILER_SIZE, decodeFooterBlocks, footerLength } from "./arrow-file.js";
import { decodePayloadMessage, payloadLayout } from "./columns.js";
import { QuiverFormatError } from "@quiver/format";
import { type ArtifactManifest, bucketOfPartition } from "../manifest.js";
import type { ProblemList } from "./problems.js";

/** Column names of ranges.arrow, in order (spec/artifact.md#ranges-table). */
export const RANGE_COLUMNS = ["partition", "bucket", "row_offset", "row_count", "crc32"] as const;

/** The ranges table as flat columns sorted by (bucket, row_offset). */
export interface RangeColumns {
  readonly partition: Uint32Array;
  readonly bucket: Uint32Array;
  readonly rowOffset: Uint32Array;
  readonly rowCount: Uint32Array;
  /** CRC-32 of each range's record batch message bytes in its bucket file (spec/artifact.md#ranges-table). */
  readonly crc32: Uint32Array;
}

/** The ranges table indexed for reads: per-partition slices and each range's record batch in its bucket. */
export interface RangesIndex extends RangeColumns {
  /** Ranges of partition p are byPartition[partStart[p] .. partStart[p+1]) (table indexes, row order). */
  readonly partStart: Uint32Array;
  readonly byPartition: Uint32Array;
  /** Record batch index of each range inside its bucket file (its rank by row_offset). */
  readonly batchIndex: Uint32Array;
  /** Number of ranges (= record batches) in each bucket. */
  readonly rangesPerBucket: Uint32Array;
  /** Rows of each partition. */
  readonly partitionRows: Float64Array;
}

const RANGES_SCHEMA = new Schema(RANGE_COLUMNS.map((n) => new Field(n, new Uint32(), false)));

/** Encode range columns as an Arrow IPC file with one record batch. */
export function encodeRangesTable(cols: RangeColumns): Uint8Array {
  const n = cols.partition.length;
  const children = [cols.partition, cols.bucket, cols.rowOffset, cols.rowCount, cols.crc32].map((data) => makeData({ type: new Uint32(), length: n, nullCount: 0, data }));
  const batch = new RecordBatch(RANGES_SCHEMA, makeData({ type: new Struct(RANGES_SCHEMA.fields), length: n, nullCount: 0, children }));
  return tableToIPC(new Table([batch]), "file");
}

/**
 * Decode ranges.arrow into flat columns with Quiver's bounds-checked IPC parsing (columns are
 * identified by position: five non-null uint32 columns). BAD_ARROW_IPC / SCHEMA_VIOLATION.
 */
export function decodeRangesTable(bytes: Uint8Array): RangeColumns {
  const size = bytes.byteLength;
  if (size < 8 + FILE_TRAILER_SIZE) throw new QuiverFormatError("BAD_ARROW_IPC", `ranges table of ${size} bytes`, { stage: "ranges" });
  const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
  const blocks = decodeFooterBlocks(bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE), size);
  const layout = payloadLayout(RANGES_SCHEMA);
  const batches = blocks.map((blk) => {
    try {
      return decodePayloadMessage(bytes.subarray(blk.offset, blk.offset + blk.metaDataLength + blk.bodyLength), blk.metaDataLength, RANGES_SCHEMA, layout, -1);
    } catch (e) {
      if (e instanceof QuiverFormatError && e.code !== "BAD_ARROW_IPC") throw new QuiverFormatError("SCHEMA_VIOLATION", `ranges table: ${e.message}`, { stage: "ranges", cause: e });
      // Wrong column count (an earlier 4-column draft, say) lands here too: report it against the ranges table.
      if (e instanceof QuiverFormatError) throw new QuiverFormatError(e.code, `ranges table: ${e.message}`, { stage: "ranges", cause: e });
      throw e;
    }
  });
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  const out = RANGE_COLUMNS.map(() => new Uint32Array(n));
  let row = 0;
  for (const b of batches) {
    for (let c = 0; c < RANGE_COLUMNS.length; c++) out[c]!.set(b.getChildAt(c)!.toArray() as Uint32Array, row);
    row += b.numRows;
  }
  return { partition: out[0]!, bucket: out[1]!, rowOffset: out[2]!, rowCount: out[3]!, crc32: out[4]! };
}

/**
 * Check the ranges table against the manifest (every rule of spec/artifact.md#ranges-table) and
 * index it, in O(ranges + partitions): the table is sorted by (bucket, row_offset), so a range's
 * record batch is its position in its bucket's run and tiling is one linear walk. Problems go to
 * `problems`; the index is returned only when there were none.
 */
export function indexRanges(cols: RangeColumns, m: ArtifactManifest, problems: ProblemList): RangesIndex | undefined {
  const n = cols.partition.length;
  const P = m.num_partitions;
  const B = m.buckets.length;
  const before = problems.items.length;
  const stage = "ranges";
  if (n !== m.ranges.num_ranges) problems.add("ARTIFACT_ROW_COUNT_MISMATCH", stage, `ranges table has ${n} rows, manifest says ${m.ranges.num_ranges}`);
  const partStart = new Uint32Array(P + 1);
  const partitionRows = new Float64Array(P);
  const rangesPerBucket = new Uint32Array(B);
  const batchIndex = new Uint32Array(n);
  let prevB = -1;
  let prevO = -1;
  let end = 0;
  let runStart = 0;
  const closeBucket = (b: number): void => {
    const rows = m.buckets[b]!.num_rows;
    if (end < rows) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${rows} belong to no range`);
  };
  for (let i = 0; i < n; i++) {
    const p = cols.partition[i]!;
    const b = cols.bucket[i]!;
    const o = cols.rowOffset[i]!;
    const c = cols.rowCount[i]!;
    if (p >= P) {
      problems.add("ARTIFACT_PARTITION_OUT_OF_RANGE", stage, `range ${i}: partition ${p} >= num_partitions ${P}`);
      continue;
    }
    if (b >= B) {
      problems.add("ARTIFACT_BUCKET_OUT_OF_RANGE", stage, `range ${i}: bucket ${b} >= ${B} buckets`);
      continue;
    }
    if (c === 0) problems.add("ARTIFACT_EMPTY_RANGE", stage, `range ${i} has row_count 0`);
    if (b < prevB || (b === prevB && o <= prevO)) {
      problems.add("ARTIFACT_RANGES_UNSORTED", stage, `range ${i} (bucket ${b}, row ${o}) is not after range ${i - 1} in (bucket, row_offset) order`);
      continue;
    }
    if (b !== prevB) {
      if (prevB >= 0) closeBucket(prevB);
      for (let e = prevB + 1; e < b; e++) {
        end = 0;
        closeBucket(e);
      }
      end = 0;
      runStart = i;
    }
    prevB = b;
    prevO = o;
    const policyBucket = bucketOfPartition(m.bucket_policy, p);
    if (policyBucket !== b) problems.add("ARTIFACT_POLICY_VIOLATION", stage, `range ${i}: partition ${p} is in bucket ${b}, the ${m.bucket_policy.kind} policy says ${policyBucket}`);
    if (o + c > m.buckets[b]!.num_rows) problems.add("ARTIFACT_RANGE_PAST_END", stage, `range ${i}: rows ${o}+${c} past the ${m.buckets[b]!.num_rows} rows of bucket ${b}`);
    if (o < end) problems.add("ARTIFACT_RANGE_OVERLAP", stage, `bucket ${b}: range at row ${o} overlaps the previous range ending at ${end}`);
    else if (o > end) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${o} belong to no range`);
    end = Math.max(end, o + c);
    batchIndex[i] = i - runStart;
    rangesPerBucket[b]!++;
    partStart[p + 1]!++;
    partitionRows[p]! += c;
  }
  if (prevB >= 0) closeBucket(prevB);
  for (let e = prevB + 1; e < B; e++) {
    end = 0;
    closeBucket(e);
  }
  if (problems.items.length !== before) return undefined;
  for (let p = 0; p < P; p++) partStart[p + 1]! += partStart[p]!;
  // Stable counting sort by partition: a partition's ranges stay in row_offset order.
  const next = partStart.slice(0, P);
  const byPartition = new Uint32Array(n);
  for (let i = 0; i < n; i++) byPartition[next[cols.partition[i]!]!++] = i;
  return { ...cols, partStart, byPartition, batchIndex, rangesPerBucket, partitionRows };
}
