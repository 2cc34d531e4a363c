import { Field, RecordBatch, Schema, Struct, Table, Uint32, makeData, tableToIPC } from "apache-arrow";
import { FILE_TRAILER_SIZE, decodeFooterBlocks, footerLength } from "./arrow-file.js";
import { decodePayloadColumns, payloadLayout } from "./columns.js";
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

/**
 * The ranges table indexed for reads, all typed arrays (no per-range object): table rows of bucket
 * b are `bucketStart[b] .. bucketStart[b+1]`, so a range's record batch index in its bucket file is
 * `i - bucketStart[bucket[i]]` (its rank by row_offset). The per-partition order of the ranges is
 * built on first use ({@link partitionOrder}).
 */
export interface RangesIndex extends RangeColumns {
  /** First table row of each bucket's run (B + 1 entries; empty buckets have an empty run). */
  readonly bucketStart: Uint32Array;
  /** Number of ranges (= record batches) in each bucket. */
  readonly rangesPerBucket: Uint32Array;
  /** Rows of each partition. */
  readonly partitionRows: Float64Array;
}

/** A partition's ranges: table rows `byPartition[partStart[p] .. partStart[p+1])`, in row_offset order. */
export interface PartitionOrder {
  readonly partStart: Uint32Array;
  readonly byPartition: Uint32Array;
}

const orders = new WeakMap<RangesIndex, PartitionOrder>();

/** The ranges of every partition (a stable counting sort of the table by partition, built once per index). */
export function partitionOrder(ix: RangesIndex): PartitionOrder {
  let o = orders.get(ix);
  if (o === undefined) {
    const P = ix.partitionRows.length;
    const n = ix.partition.length;
    const part = ix.partition;
    const partStart = new Uint32Array(P + 1);
    for (let i = 0; i < n; i++) partStart[part[i]! + 1]!++;
    for (let p = 0; p < P; p++) partStart[p + 1]! += partStart[p]!;
    const next = partStart.slice(0, P);
    const byPartition = new Uint32Array(n);
    for (let i = 0; i < n; i++) byPartition[next[part[i]!]!++] = i;
    o = { partStart, byPartition };
    orders.set(ix, o);
  }
  return o;
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
 * identified by position: five non-null uint32 columns). BAD_ARROW_IPC / SCHEMA_VIOLATION. The
 * columns are views into `bytes` (no copy) when the table is one 4-aligned record batch.
 */
export function decodeRangesTable(bytes: Uint8Array): RangeColumns {
  const size = bytes.byteLength;
  if (size < 8 + FILE_TRAILER_SIZE) throw new QuiverFormatError("BAD_ARROW_IPC", `ranges table of ${size} bytes`, { stage: "ranges" });
  const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
  const blocks = decodeFooterBlocks(bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE), size);
  const layout = payloadLayout(RANGES_SCHEMA);
  const batches = blocks.map((blk) => {
    try {
      return decodePayloadColumns(bytes.subarray(blk.offset, blk.offset + blk.metaDataLength + blk.bodyLength), blk.metaDataLength, layout, -1, "record batch", false);
    } catch (e) {
      if (e instanceof QuiverFormatError && e.code !== "BAD_ARROW_IPC") throw new QuiverFormatError("SCHEMA_VIOLATION", `ranges table: ${e.message}`, { stage: "ranges", cause: e });
      // Wrong column count (an earlier 4-column draft, say) lands here too: report it against the ranges table.
      if (e instanceof QuiverFormatError) throw new QuiverFormatError(e.code, `ranges table: ${e.message}`, { stage: "ranges", cause: e });
      throw e;
    }
  });
  const n = batches.reduce((s, b) => s + b.rows, 0);
  const asU32 = (c: number): Uint32Array => {
    // One batch (what writers write): a view when 4-aligned, else one copy.
    if (batches.length === 1) {
      const v = batches[0]!.columns[c]!;
      if (v.byteOffset % 4 === 0) return new Uint32Array(v.buffer, v.byteOffset, n);
    }
    const out = new Uint32Array(n);
    const bytes = new Uint8Array(out.buffer);
    let at = 0;
    for (const b of batches) {
      bytes.set(b.columns[c]!, at);
      at += b.rows * 4;
    }
    return out;
  };
  return { partition: asU32(0), bucket: asU32(1), rowOffset: asU32(2), rowCount: asU32(3), crc32: asU32(4) };
}

/**
 * Check the ranges table against the manifest (every rule of spec/artifact.md#ranges-table) and
 * index it in one linear pass over the typed columns (no per-range object, no sort): the table is
 * sorted by (bucket, row_offset), so a range's record batch is its position in its bucket's run and
 * tiling is one walk. Problems go to `problems`; the index is returned only when there were none.
 */
export function indexRanges(cols: RangeColumns, m: ArtifactManifest, problems: ProblemList): RangesIndex | undefined {
  return (cols.partition.length === m.ranges.num_ranges ? indexValidRanges(cols, m) : undefined) ?? checkAndIndexRanges(cols, m, problems);
}

/**
 * The fast path of {@link indexRanges}: one tight loop that indexes a table breaking no rule and
 * gives up (undefined) at the first range that breaks one, leaving the reporting to the full check.
 */
function indexValidRanges(cols: RangeColumns, m: ArtifactManifest): RangesIndex | undefined {
  const n = cols.partition.length;
  const P = m.num_partitions;
  const B = m.buckets.length;
  const partitionRows = new Float64Array(P);
  const bucketStart = new Uint32Array(B + 1);
  const bucketRows = Float64Array.from(m.buckets, (b) => b.num_rows);
  // The policy as a table of P buckets: one load per range instead of a division.
  const policyOf = new Uint32Array(P);
  if (m.bucket_policy.kind === "hash-modulo") for (let p = 0, b = 0; p < P; p++, b = b + 1 === B ? 0 : b + 1) policyOf[p] = b;
  else for (let p = 0; p < P; p++) policyOf[p] = bucketOfPartition(m.bucket_policy, p);
  const { partition, bucket, rowOffset, rowCount } = cols;
  let prevB = -1;
  let end = 0;
  let limit = 0;
  for (let i = 0; i < n; i++) {
    const p = partition[i]!;
    const b = bucket[i]!;
    const o = rowOffset[i]!;
    const c = rowCount[i]!;
    if (p >= P || c === 0) return undefined;
    if (b !== prevB) {
      // A new bucket: the previous one is tiled to its end, the ones skipped are empty.
      if (b < prevB || b >= B || (prevB >= 0 && end !== limit)) return undefined;
      for (let e = prevB + 1; e < b; e++) {
        if (bucketRows[e] !== 0) return undefined;
        bucketStart[e] = i;
      }
      bucketStart[b] = i;
      prevB = b;
      end = 0;
      limit = bucketRows[b]!;
    }
    // Tiling: each range starts where the previous ended (this also makes the order strict).
    if (o !== end || policyOf[p] !== b) return undefined;
    end = o + c;
    if (end > limit) return undefined;
    partitionRows[p]! += c;
  }
  if (prevB >= 0 && end !== limit) return undefined;
  for (let e = prevB + 1; e < B; e++) {
    if (bucketRows[e] !== 0) return undefined;
    bucketStart[e] = n;
  }
  bucketStart[B] = n;
  const rangesPerBucket = new Uint32Array(B);
  for (let b = 0; b < B; b++) rangesPerBucket[b] = bucketStart[b + 1]! - bucketStart[b]!;
  return { ...cols, bucketStart, rangesPerBucket, partitionRows };
}

/** Every rule of the ranges table checked and reported (the validator's path, and the reader's on a bad table). */
function checkAndIndexRanges(cols: RangeColumns, m: ArtifactManifest, problems: ProblemList): RangesIndex | undefined {
  const n = cols.partition.length;
  const P = m.num_partitions;
  const B = m.buckets.length;
  const before = problems.items.length;
  const stage = "ranges";
  if (n !== m.ranges.num_ranges) problems.add("ARTIFACT_ROW_COUNT_MISMATCH", stage, `ranges table has ${n} rows, manifest says ${m.ranges.num_ranges}`);
  const partitionRows = new Float64Array(P);
  const rangesPerBucket = new Uint32Array(B);
  const bucketStart = new Uint32Array(B + 1);
  const bucketRows = Float64Array.from(m.buckets, (b) => b.num_rows);
  // The policy as one lookup per range: p mod B, or a table of P buckets for the range kinds.
  const hash = m.bucket_policy.kind === "hash-modulo";
  const policyOf = hash ? undefined : new Uint32Array(P);
  if (policyOf !== undefined) for (let p = 0; p < P; p++) policyOf[p] = bucketOfPartition(m.bucket_policy, p);
  const { partition, bucket, rowOffset, rowCount } = cols;
  let prevB = -1;
  let prevO = -1;
  let end = 0;
  const closeBucket = (b: number): void => {
    const rows = bucketRows[b]!;
    if (end < rows) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${rows} belong to no range`);
  };
  const openBuckets = (from: number, to: number, at: number): void => {
    // Buckets from..to-1 have no ranges (their runs start and end at table row `at`); `to` starts here.
    for (let e = from; e < to; e++) {
      bucketStart[e] = at;
      end = 0;
      closeBucket(e);
    }
    bucketStart[to] = at;
  };
  for (let i = 0; i < n; i++) {
    const p = partition[i]!;
    const b = bucket[i]!;
    const o = rowOffset[i]!;
    const c = rowCount[i]!;
    if (p >= P) {
      problems.add("ARTIFACT_PARTITION_OUT_OF_RANGE", stage, `range ${i}: partition ${p} >= num_partitions ${P}`);
      continue;
    }
    if (b >= B) {
      problems.add("ARTIFACT_BUCKET_OUT_OF_RANGE", stage, `range ${i}: bucket ${b} >= ${B} buckets`);
      continue;
    }
    if (c === 0) problems.add("ARTIFACT_EMPTY_RANGE", stage, `range ${i} has row_count 0`);
    if (b !== prevB) {
      if (b < prevB) {
        problems.add("ARTIFACT_RANGES_UNSORTED", stage, `range ${i} (bucket ${b}, row ${o}) is not after range ${i - 1} in (bucket, row_offset) order`);
        continue;
      }
      if (prevB >= 0) closeBucket(prevB);
      openBuckets(prevB + 1, b, i);
      end = 0;
      prevB = b;
    } else if (o <= prevO) {
      problems.add("ARTIFACT_RANGES_UNSORTED", stage, `range ${i} (bucket ${b}, row ${o}) is not after range ${i - 1} in (bucket, row_offset) order`);
      continue;
    }
    prevO = o;
    const policyBucket = hash ? p % B : policyOf![p]!;
    if (policyBucket !== b) problems.add("ARTIFACT_POLICY_VIOLATION", stage, `range ${i}: partition ${p} is in bucket ${b}, the ${m.bucket_policy.kind} policy says ${policyBucket}`);
    if (o + c > bucketRows[b]!) problems.add("ARTIFACT_RANGE_PAST_END", stage, `range ${i}: rows ${o}+${c} past the ${bucketRows[b]} rows of bucket ${b}`);
    if (o !== end) {
      if (o < end) problems.add("ARTIFACT_RANGE_OVERLAP", stage, `bucket ${b}: range at row ${o} overlaps the previous range ending at ${end}`);
      else problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${o} belong to no range`);
      end = Math.max(end, o + c);
    } else end = o + c;
    rangesPerBucket[b]!++;
    partitionRows[p]! += c;
  }
  if (prevB >= 0) closeBucket(prevB);
  openBuckets(prevB + 1, B, n);
  if (problems.items.length !== before) return undefined;
  return { ...cols, bucketStart, rangesPerBucket, partitionRows };
}
