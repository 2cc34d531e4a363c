import { Field, RecordBatch, Schema, Struct, Table, Uint32, makeData, tableToIPC } from "apache-arrow";
import { FILE_TRAILER_SIZE, decodeFooterBlocks, footerLength } from "./arrow-file.js";
import { decodePayloadMessage, payloadLayout } from "./columns.js";
import { QuiverFormatError } from "@quiver/format";
import { type ArtifactManifest, bucketOfPartition } from "../manifest.js";
import type { ProblemList } from "./problems.js";

/** Column names of ranges.arrow, in order (spec/artifact.md#ranges-table). */
export const RANGE_COLUMNS = ["partition", "bucket", "row_offset", "row_count"] as const;

/** The ranges table as flat columns sorted by (partition, bucket, row_offset). */
export interface RangeColumns {
  readonly partition: Uint32Array;
  readonly bucket: Uint32Array;
  readonly rowOffset: Uint32Array;
  readonly rowCount: Uint32Array;
}

/** The ranges table indexed for reads: per-partition slices and each range's record batch in its bucket. */
export interface RangesIndex extends RangeColumns {
  /** Ranges of partition p are [partStart[p], partStart[p+1]). */
  readonly partStart: Uint32Array;
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
  const children = [cols.partition, cols.bucket, cols.rowOffset, cols.rowCount].map((data) => makeData({ type: new Uint32(), length: n, nullCount: 0, data }));
  const batch = new RecordBatch(RANGES_SCHEMA, makeData({ type: new Struct(RANGES_SCHEMA.fields), length: n, nullCount: 0, children }));
  return tableToIPC(new Table([batch]), "file");
}

/**
 * Decode ranges.arrow into flat columns with Quiver's bounds-checked IPC parsing (columns are
 * identified by position: four non-null uint32 columns). BAD_ARROW_IPC / SCHEMA_VIOLATION.
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
      throw e;
    }
  });
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  const out = RANGE_COLUMNS.map(() => new Uint32Array(n));
  let row = 0;
  for (const b of batches) {
    for (let c = 0; c < 4; c++) out[c]!.set(b.getChildAt(c)!.toArray() as Uint32Array, row);
    row += b.numRows;
  }
  return { partition: out[0]!, bucket: out[1]!, rowOffset: out[2]!, rowCount: out[3]! };
}

/**
 * Check the ranges table against the manifest (every rule of spec/artifact.md#ranges-table) and
 * index it. Problems go to `problems`; the index is returned only when there were none.
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
  let prevP = 0;
  let prevB = 0;
  let prevO = -1;
  let bad = false;
  for (let i = 0; i < n; i++) {
    const p = cols.partition[i]!;
    const b = cols.bucket[i]!;
    const o = cols.rowOffset[i]!;
    const c = cols.rowCount[i]!;
    if (p >= P) {
      problems.add("ARTIFACT_PARTITION_OUT_OF_RANGE", stage, `range ${i}: partition ${p} >= num_partitions ${P}`);
      bad = true;
      continue;
    }
    if (b >= B) {
      problems.add("ARTIFACT_BUCKET_OUT_OF_RANGE", stage, `range ${i}: bucket ${b} >= ${B} buckets`);
      bad = true;
      continue;
    }
    if (c === 0) problems.add("ARTIFACT_EMPTY_RANGE", stage, `range ${i} has row_count 0`);
    if (p < prevP || (p === prevP && (b < prevB || (b === prevB && o <= prevO)))) {
      problems.add("ARTIFACT_RANGES_UNSORTED", stage, `range ${i} is not after range ${i - 1} in (partition, bucket, row_offset) order`);
      bad = true;
    }
    prevP = p;
    prevB = b;
    prevO = o;
    if (bucketOfPartition(m.bucket_policy, p) !== b) problems.add("ARTIFACT_POLICY_VIOLATION", stage, `range ${i}: partition ${p} is in bucket ${b}, the ${m.bucket_policy.kind} policy says ${bucketOfPartition(m.bucket_policy, p)}`);
    if (o + c > m.buckets[b]!.num_rows) problems.add("ARTIFACT_RANGE_PAST_END", stage, `range ${i}: rows ${o}+${c} past the ${m.buckets[b]!.num_rows} rows of bucket ${b}`);
    partStart[p + 1]!++;
    partitionRows[p]! += c;
  }
  if (bad) return undefined;
  for (let p = 0; p < P; p++) partStart[p + 1]! += partStart[p]!;
  // Rank every range inside its bucket by row_offset: sort composite keys bucket * 2^32 + offset.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = cols.bucket[i]! * 4294967296 + cols.rowOffset[i]!;
  const sorted = keys.slice().sort();
  const rangesPerBucket = new Uint32Array(B);
  const bucketFirstRank = new Uint32Array(B + 1);
  for (let i = 0; i < n; i++) rangesPerBucket[cols.bucket[i]!]!++;
  for (let b = 0; b < B; b++) bucketFirstRank[b + 1] = bucketFirstRank[b]! + rangesPerBucket[b]!;
  const batchIndex = new Uint32Array(n);
  const countByRank = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < k) lo = mid + 1;
      else hi = mid;
    }
    batchIndex[i] = lo - bucketFirstRank[cols.bucket[i]!]!;
    if (countByRank[lo] !== 0) problems.add("ARTIFACT_RANGE_OVERLAP", stage, `two ranges start at row ${cols.rowOffset[i]} of bucket ${cols.bucket[i]}`);
    countByRank[lo] = cols.rowCount[i]!;
  }
  // Walk each bucket in row order: ranges must tile [0, num_rows) exactly.
  for (let b = 0; b < B; b++) {
    let end = 0;
    for (let r = bucketFirstRank[b]!; r < bucketFirstRank[b + 1]!; r++) {
      const start = sorted[r]! - b * 4294967296;
      if (start < end) problems.add("ARTIFACT_RANGE_OVERLAP", stage, `bucket ${b}: range at row ${start} overlaps the previous range ending at ${end}`);
      else if (start > end) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${start} belong to no range`);
      end = Math.max(end, start + countByRank[r]!);
    }
    const rows = m.buckets[b]!.num_rows;
    if (end < rows) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${rows} belong to no range`);
  }
  if (problems.items.length !== before) return undefined;
  return { ...cols, partStart, batchIndex, rangesPerBucket, partitionRows };
}
