/**
 * Raw-vector row groups (spec/ivf.md#raw-row-group-checksums): refine reads the raw vectors of
 * candidate rows in groups of `rawRowGroupRows` consecutive rows of one partition. Since kind
 * version 3 the index file stores a CRC-32 per row group (section 3), covered by the identity,
 * so a partial read of raw vectors is verified like a whole section read, and cached row groups
 * or whole raw-vector partitions are checked against the same table.
 */
import { QuiverFormatError, crc32 } from "@quiver/format";

/** Target bytes of one raw-vector row group (refine's read and cache unit). */
export const RAW_ROW_GROUP_TARGET_BYTES = 16 * 1024;
/** Largest `rawRowGroupRows` a reader accepts. */
export const MAX_RAW_ROW_GROUP_ROWS = 65_536;

/** Rows per raw-vector row group a writer records for `dim`: max(1, floor(16,384 / (4 * dim))). */
export function rawRowGroupRowsFor(dim: number): number {
  return Math.max(1, Math.floor(RAW_ROW_GROUP_TARGET_BYTES / (4 * dim)));
}

/** Row groups of a partition of `rows` rows: ceil(rows / rowsPerGroup). */
export function rawRowGroupCount(rows: number, rowsPerGroup: number): number {
  return Math.ceil(rows / rowsPerGroup);
}

/**
 * The CRC-32 of each row group of one partition's raw vectors (`rows * dim` little-endian f32,
 * as stored): group g covers rows [g * rowsPerGroup, min(rows, (g + 1) * rowsPerGroup)). Written
 * into `out` at `at` when given (the writers fill one table for every partition).
 */
export function computeRawRowGroupChecksums(raw: Uint8Array, rows: number, dim: number, rowsPerGroup: number, out?: Uint32Array, at = 0): Uint32Array {
  const rowBytes = 4 * dim;
  if (raw.byteLength !== rows * rowBytes) throw new RangeError(`raw vectors of ${raw.byteLength} bytes for ${rows} rows of dim ${dim}`);
  const n = rawRowGroupCount(rows, rowsPerGroup);
  const target = out ?? new Uint32Array(n);
  if (at + n > target.length) throw new RangeError(`row-group table of ${target.length} values has no room for ${n} at ${at}`);
  const groupBytes = rowsPerGroup * rowBytes;
  for (let g = 0; g < n; g++) target[at + g] = crc32(raw.subarray(g * groupBytes, Math.min(raw.byteLength, (g + 1) * groupBytes)));
  return target;
}

/** The row-group checksums of a version 3 index with raw vectors, indexed per partition. */
export interface RawRowGroupTable {
  readonly rowsPerGroup: number;
  /** Every partition's row-group CRC-32s, partition 0 first (section 3 of the file). */
  readonly crcs: Uint32Array;
  /** P + 1 prefix sums: partition p's groups are crcs[first[p] .. first[p + 1]). */
  readonly first: Uint32Array;
}

/**
 * Index a row-group table by partition, checking its length against the row counts: exactly
 * sum over p of ceil(rows(p) / rowsPerGroup) values (SCHEMA_VIOLATION otherwise).
 */
export function rawRowGroupTable(rowsPerGroup: number, rowCounts: ArrayLike<number>, crcs: Uint32Array, stage: string): RawRowGroupTable {
  const first = new Uint32Array(rowCounts.length + 1);
  let total = 0;
  for (let p = 0; p < rowCounts.length; p++) {
    first[p] = total;
    total += rawRowGroupCount(rowCounts[p]!, rowsPerGroup);
  }
  first[rowCounts.length] = total;
  if (crcs.length !== total) {
    throw new QuiverFormatError("SCHEMA_VIOLATION", `raw row-group checksums hold ${crcs.length} values, the row counts and rawRowGroupRows ${rowsPerGroup} give ${total}`, { stage });
  }
  return { rowsPerGroup, crcs, first };
}

/** True when `bytes` (group g of partition p, as stored) has the CRC-32 the table records. */
export function rawRowGroupMatches(table: RawRowGroupTable, p: number, g: number, bytes: Uint8Array): boolean {
  const at = table.first[p]! + g;
  return at < table.first[p + 1]! && crc32(bytes) === table.crcs[at];
}

/** The error of a raw row group whose bytes fail its CRC-32 (stage checksum, offset of the group in the file). */
export function rawRowGroupMismatch(p: number, g: number, offset: number): QuiverFormatError {
  return new QuiverFormatError("RAW_ROW_GROUP_CHECKSUM_MISMATCH", `raw vectors of partition ${p}, row group ${g}: CRC-32 differs from the row-group checksum table`, { stage: "checksum", offset });
}

/** Verify row group g of partition p read from the file (RAW_ROW_GROUP_CHECKSUM_MISMATCH, stage checksum). */
export function verifyRawRowGroup(table: RawRowGroupTable, p: number, g: number, bytes: Uint8Array, offset: number): void {
  if (!rawRowGroupMatches(table, p, g, bytes)) throw rawRowGroupMismatch(p, g, offset);
}

/** Index of the first row group of whole raw vectors `raw` of partition p that fails its CRC-32, or -1. */
export function firstBadRawRowGroup(table: RawRowGroupTable, p: number, raw: Uint8Array, dim: number): number {
  const groupBytes = table.rowsPerGroup * 4 * dim;
  const n = table.first[p + 1]! - table.first[p]!;
  if (raw.byteLength > n * groupBytes || (n > 0 && raw.byteLength <= (n - 1) * groupBytes)) return 0;
  for (let g = 0; g < n; g++) {
    if (crc32(raw.subarray(g * groupBytes, Math.min(raw.byteLength, (g + 1) * groupBytes))) !== table.crcs[table.first[p]! + g]) return g;
  }
  return -1;
}
