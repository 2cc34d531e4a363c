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
export interface RangesIndex {
  /** Partition of each range (format 2 keeps the table's 1-, 2- or 4-byte column). */
  readonly partition: Uint8Array | Uint16Array | Uint32Array;
  readonly bucket: Uint32Array;
  readonly rowOffset: Uint32Array;
  readonly rowCount: Uint8Array | Uint16Array | Uint32Array;
  readonly crc32: Uint32Array;
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

/** A compact table's five columns in full (row_offset as the running sum per bucket, whatever the table's validity). */
function compactColumns(c: CompactRanges): RangeColumns {
  const n = c.numRanges;
  const bucket = new Uint32Array(n);
  const rowOffset = new Uint32Array(n);
  let i = 0;
  for (let b = 0; b < c.numBuckets; b++) {
    let end = 0;
    for (const runEnd = i + c.rangesPerBucket[b]!; i < runEnd; i++) {
      bucket[i] = b;
      rowOffset[i] = end;
      end += c.rowCount[i]!;
    }
  }
  return { partition: Uint32Array.from(c.partition), bucket, rowOffset, rowCount: Uint32Array.from(c.rowCount), crc32: Uint32Array.from(c.crc32) };
}

/**
 * Check ranges-table bytes against the manifest and index them: format 1 is the Arrow IPC table,
 * format 2 the compact table (chosen by the manifest's version, never by sniffing the bytes).
 */
export function indexRangesBytes(bytes: Uint8Array, m: ArtifactManifest, problems: ProblemList): RangesIndex | undefined {
  if (m.version === 1) return indexRanges(decodeArrowRangesTable(bytes), m, problems);
  return indexCompactRanges(decodeCompactRanges(bytes), m, problems);
}

/**
 * Decode a ranges table into flat columns: a format-2 compact table (by its magic; see
 * {@link decodeCompactRanges}) or ranges.arrow with Quiver's bounds-checked IPC parsing (columns are
 * identified by position: five non-null uint32 columns). BAD_ARROW_IPC / SCHEMA_VIOLATION. The
 * columns are views into `bytes` (no copy) when the table is one 4-aligned record batch.
 */
export function decodeRangesTable(bytes: Uint8Array): RangeColumns {
  return isCompactRanges(bytes) ? compactColumns(decodeCompactRanges(bytes)) : decodeArrowRangesTable(bytes);
}

/** Format 1's ranges.arrow as flat columns (see {@link decodeRangesTable}). */
function decodeArrowRangesTable(bytes: Uint8Array): RangeColumns {
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

// ---- format 2: the compact ranges table (spec/artifact.md#compact-ranges-table) -----------------

/** The 8 magic bytes a format-2 ranges table starts with: `QVRANGE2`. */
export const COMPACT_RANGES_MAGIC = Uint8Array.of(0x51, 0x56, 0x52, 0x41, 0x4e, 0x47, 0x45, 0x32);
/** Bytes before the per-bucket range counts. */
export const COMPACT_RANGES_HEADER_BYTES = 24;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

const pad4 = (n: number): number => (n + 3) & ~3;

/** Exact byte size of a compact ranges table with B buckets, R ranges and the two column widths. */
export function compactRangesSize(B: number, R: number, partitionWidth: number, rowCountWidth: number): number {
  return COMPACT_RANGES_HEADER_BYTES + 4 * B + 4 * R + pad4(partitionWidth * R) + pad4(rowCountWidth * R);
}

/** Smallest of 1, 2, 4 bytes that holds every value below `limit`. */
function widthFor(maxValue: number): 1 | 2 | 4 {
  return maxValue < 0x100 ? 1 : maxValue < 0x10000 ? 2 : 4;
}

/**
 * Encode range columns (sorted by (bucket, row_offset), tiling each bucket, as the writer makes
 * them) as a format-2 compact ranges table: a 24-byte header, the ranges per bucket, then the
 * columns crc32 (u32), partition and row_count at the narrowest width of 1, 2 or 4 bytes, each
 * column padded with zeros to a multiple of 4 bytes. `row_offset` and `bucket` are not stored:
 * they follow from the order and the counts.
 */
export function encodeCompactRanges(cols: Pick<RangeColumns, "partition" | "bucket" | "rowCount" | "crc32">, numBuckets: number, numPartitions: number): Uint8Array {
  const R = cols.partition.length;
  const B = numBuckets;
  let maxCount = 0;
  for (let i = 0; i < R; i++) if (cols.rowCount[i]! > maxCount) maxCount = cols.rowCount[i]!;
  const pw = widthFor(numPartitions - 1);
  const cw = widthFor(maxCount);
  const out = new Uint8Array(compactRangesSize(B, R, pw, cw));
  const v = new DataView(out.buffer);
  out.set(COMPACT_RANGES_MAGIC, 0);
  v.setUint32(8, B, true);
  v.setUint32(12, R, true);
  out[16] = pw;
  out[17] = cw;
  let at = COMPACT_RANGES_HEADER_BYTES;
  const counts = new Uint32Array(B);
  for (let i = 0; i < R; i++) counts[cols.bucket[i]!]!++;
  for (let b = 0; b < B; b++, at += 4) v.setUint32(at, counts[b]!, true);
  for (let i = 0; i < R; i++, at += 4) v.setUint32(at, cols.crc32[i]!, true);
  const put = (w: number, src: ArrayLike<number>): void => {
    for (let i = 0; i < R; i++, at += w) {
      if (w === 1) out[at] = src[i]!;
      else if (w === 2) v.setUint16(at, src[i]!, true);
      else v.setUint32(at, src[i]!, true);
    }
    at = pad4(at);
  };
  put(pw, cols.partition);
  put(cw, cols.rowCount);
  return out;
}

/** A format-2 ranges table as typed-array views of its bytes (decoded, not yet checked against a manifest). */
export interface CompactRanges {
  readonly numBuckets: number;
  readonly numRanges: number;
  /** Ranges in each bucket (B entries). */
  readonly rangesPerBucket: Uint32Array;
  readonly crc32: Uint32Array;
  readonly partition: Uint8Array | Uint16Array | Uint32Array;
  readonly rowCount: Uint8Array | Uint16Array | Uint32Array;
}

function bad(code: string, message: string): never {
  throw new QuiverFormatError(code, message, { stage: "ranges" });
}

/** A little-endian column of `n` values of `w` bytes at `at` (a view when aligned on a little-endian host, else a copy). */
function column(bytes: Uint8Array, at: number, n: number, w: 1 | 2 | 4): Uint8Array | Uint16Array | Uint32Array {
  if (w === 1) return bytes.subarray(at, at + n);
  if (LITTLE_ENDIAN && (bytes.byteOffset + at) % w === 0) return w === 2 ? new Uint16Array(bytes.buffer, bytes.byteOffset + at, n) : new Uint32Array(bytes.buffer, bytes.byteOffset + at, n);
  const out = w === 2 ? new Uint16Array(n) : new Uint32Array(n);
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, n * w);
  for (let i = 0; i < n; i++) out[i] = w === 2 ? v.getUint16(i * 2, true) : v.getUint32(i * 4, true);
  return out;
}

/**
 * Decode a format-2 compact ranges table into typed-array views (no per-range object, no copy on
 * a little-endian host when the bytes are 4-aligned). Checks the header and the framing only:
 * magic and widths and reserved bytes (ARTIFACT_RANGES_BAD_HEADER), the exact size the header
 * implies (ARTIFACT_RANGES_LENGTH_MISMATCH), zero padding (ARTIFACT_RANGES_BAD_HEADER) and the
 * per-bucket counts summing to the range count (ARTIFACT_RANGE_COUNT_MISMATCH). The rules against
 * the manifest are {@link indexCompactRanges}.
 */
export function decodeCompactRanges(bytes: Uint8Array): CompactRanges {
  const size = bytes.byteLength;
  if (size < COMPACT_RANGES_HEADER_BYTES) bad("ARTIFACT_RANGES_LENGTH_MISMATCH", `compact ranges table of ${size} bytes is shorter than its ${COMPACT_RANGES_HEADER_BYTES}-byte header`);
  for (let i = 0; i < 8; i++) if (bytes[i] !== COMPACT_RANGES_MAGIC[i]) bad("ARTIFACT_RANGES_BAD_HEADER", "ranges table does not start with the format-2 magic QVRANGE2");
  const v = new DataView(bytes.buffer, bytes.byteOffset, size);
  const B = v.getUint32(8, true);
  const R = v.getUint32(12, true);
  const pw = bytes[16]!;
  const cw = bytes[17]!;
  if ((pw !== 1 && pw !== 2 && pw !== 4) || (cw !== 1 && cw !== 2 && cw !== 4)) bad("ARTIFACT_RANGES_BAD_HEADER", `ranges table column widths ${pw} (partition) and ${cw} (row_count) are not 1, 2 or 4`);
  if (v.getUint16(18, true) !== 0 || v.getUint32(20, true) !== 0) bad("ARTIFACT_RANGES_BAD_HEADER", "ranges table reserved header bytes 18..24 are not zero");
  // Computed in float64: no overflow whatever B and R claim, and compared before any allocation.
  const expected = compactRangesSize(B, R, pw, cw);
  if (expected !== size) bad("ARTIFACT_RANGES_LENGTH_MISMATCH", `ranges table header says ${B} buckets and ${R} ranges (${expected} bytes), the table has ${size} bytes`);
  let at = COMPACT_RANGES_HEADER_BYTES;
  const rangesPerBucket = column(bytes, at, B, 4) as Uint32Array;
  at += 4 * B;
  let sum = 0;
  for (let b = 0; b < B; b++) sum += rangesPerBucket[b]!;
  if (sum !== R) bad("ARTIFACT_RANGE_COUNT_MISMATCH", `ranges table: the per-bucket range counts sum to ${sum}, the header says ${R} ranges`);
  const crcs = column(bytes, at, R, 4) as Uint32Array;
  at += 4 * R;
  const partition = column(bytes, at, R, pw);
  at += pw * R;
  for (const end = pad4(at); at < end; at++) if (bytes[at] !== 0) bad("ARTIFACT_RANGES_BAD_HEADER", `ranges table padding byte ${at} is not zero`);
  const rowCount = column(bytes, at, R, cw);
  at += cw * R;
  for (const end = pad4(at); at < end; at++) if (bytes[at] !== 0) bad("ARTIFACT_RANGES_BAD_HEADER", `ranges table padding byte ${at} is not zero`);
  return { numBuckets: B, numRanges: R, rangesPerBucket, crc32: crcs, partition, rowCount };
}

/** True when `bytes` start with the format-2 magic (a compact ranges table, not an Arrow IPC file). */
export function isCompactRanges(bytes: Uint8Array): boolean {
  if (bytes.byteLength < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== COMPACT_RANGES_MAGIC[i]) return false;
  return true;
}

/** The ranges index of a format-2 table: the narrow columns in place; `bucket` and `rowOffset` built on first use. */
class CompactRangesIndex implements RangesIndex {
  readonly partition: Uint8Array | Uint16Array | Uint32Array;
  readonly rowCount: Uint8Array | Uint16Array | Uint32Array;
  readonly crc32: Uint32Array;
  readonly bucketStart: Uint32Array;
  readonly rangesPerBucket: Uint32Array;
  readonly partitionRows: Float64Array;
  #bucket: Uint32Array | undefined;
  #rowOffset: Uint32Array | undefined;
  constructor(c: CompactRanges, bucketStart: Uint32Array, partitionRows: Float64Array) {
    this.partition = c.partition;
    this.rowCount = c.rowCount;
    this.crc32 = c.crc32;
    this.rangesPerBucket = c.rangesPerBucket;
    this.bucketStart = bucketStart;
    this.partitionRows = partitionRows;
  }
  /** Bucket of each range (4 bytes per range, built on first use: a fill per bucket). */
  get bucket(): Uint32Array {
    if (this.#bucket === undefined) {
      const out = new Uint32Array(this.partition.length);
      for (let b = 0; b + 1 < this.bucketStart.length; b++) out.fill(b, this.bucketStart[b]!, this.bucketStart[b + 1]!);
      this.#bucket = out;
    }
    return this.#bucket;
  }
  /** First row of each range in its bucket file (the running row sum per bucket, built on first use). */
  get rowOffset(): Uint32Array {
    if (this.#rowOffset === undefined) {
      const out = new Uint32Array(this.partition.length);
      const counts = this.rowCount;
      for (let b = 0; b + 1 < this.bucketStart.length; b++) {
        let end = 0;
        for (let i = this.bucketStart[b]!; i < this.bucketStart[b + 1]!; i++) {
          out[i] = end;
          end += counts[i]!;
        }
      }
      this.#rowOffset = out;
    }
    return this.#rowOffset;
  }
}

/**
 * Check a compact ranges table against the manifest and index it in one linear pass (every rule of
 * spec/artifact.md#compact-ranges-table): header counts against the manifest, then per bucket run
 * each range's partition (< P, in this bucket by the policy), row_count (>= 1), and the run's row
 * sum against the bucket's num_rows (short: ARTIFACT_RANGE_GAP, long: ARTIFACT_RANGE_PAST_END).
 * Ranges cannot overlap or be out of order here: a range's row_offset is the sum of the row counts
 * before it in its bucket. No column is copied: the index uses the table's typed-array views and
 * builds `bucket` / `rowOffset` only when first asked. Problems go to `problems`.
 */
export function indexCompactRanges(c: CompactRanges, m: ArtifactManifest, problems: ProblemList): RangesIndex | undefined {
  const stage = "ranges";
  const before = problems.items.length;
  const P = m.num_partitions;
  const B = m.buckets.length;
  if (c.numBuckets !== B) {
    problems.add("ARTIFACT_RANGES_BAD_HEADER", stage, `ranges table header says ${c.numBuckets} buckets, the manifest lists ${B}`);
    return undefined;
  }
  if (c.numRanges !== m.ranges.num_ranges) {
    problems.add("ARTIFACT_ROW_COUNT_MISMATCH", stage, `ranges table has ${c.numRanges} ranges, manifest says ${m.ranges.num_ranges}`);
    return undefined;
  }
  const n = c.numRanges;
  const partitionRows = new Float64Array(P);
  const bucketStart = new Uint32Array(B + 1);
  const { partition, rowCount } = c;
  // The policy as a table of P buckets: one load per range instead of a division.
  const policyOf = new Uint32Array(P);
  if (m.bucket_policy.kind === "hash-modulo") for (let p = 0, b = 0; p < P; p++, b = b + 1 === B ? 0 : b + 1) policyOf[p] = b;
  else for (let p = 0; p < P; p++) policyOf[p] = bucketOfPartition(m.bucket_policy, p);
  let i = 0;
  for (let b = 0; b < B; b++) {
    bucketStart[b] = i;
    const runEnd = i + c.rangesPerBucket[b]!;
    const limit = m.buckets[b]!.num_rows;
    // In float64: a row sum past 2^32 is reported, never wrapped.
    let end = 0;
    for (; i < runEnd; i++) {
      const p = partition[i]!;
      const cnt = rowCount[i]!;
      if (p >= P || cnt === 0 || policyOf[p] !== b) reportRange(problems, m, i, p, cnt, b, P, policyOf);
      else partitionRows[p]! += cnt;
      end += cnt;
    }
    if (end > limit) problems.add("ARTIFACT_RANGE_PAST_END", stage, `bucket ${b}: its ranges hold ${end} rows, past its ${limit} rows`);
    else if (end < limit) problems.add("ARTIFACT_RANGE_GAP", stage, `bucket ${b}: rows ${end}..${limit} belong to no range`);
  }
  bucketStart[B] = n;
  if (problems.items.length !== before) return undefined;
  return new CompactRangesIndex(c, bucketStart, partitionRows);
}

/** The problems of one range that broke a per-range rule of the compact table (kept out of the hot loop). */
function reportRange(problems: ProblemList, m: ArtifactManifest, i: number, p: number, cnt: number, b: number, P: number, policyOf: Uint32Array): void {
  const stage = "ranges";
  if (p >= P) {
    problems.add("ARTIFACT_PARTITION_OUT_OF_RANGE", stage, `range ${i}: partition ${p} >= num_partitions ${P}`);
    return;
  }
  if (cnt === 0) problems.add("ARTIFACT_EMPTY_RANGE", stage, `range ${i} has row_count 0`);
  if (policyOf[p] !== b) problems.add("ARTIFACT_POLICY_VIOLATION", stage, `range ${i}: partition ${p} is in bucket ${b}, the ${m.bucket_policy.kind} policy says ${policyOf[p]}`);
}
