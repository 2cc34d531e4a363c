/**
 * Raw-vector row groups (spec/ivf.md#raw-row-group-checksums): refine reads the raw vectors of
 * candidate rows in groups of `rawRowGroupRows` consecutive rows of one partition. Since kind
 * version 3 the index file stores a CRC-32 per row group (section 3), covered by the identity,
 * so a partial read of raw vectors is verified like a whole section read, and cached row groups
 * or whole raw-vector partitions are checked against the same table.
 */
import { QuiverFormatError, crc32 } from "@quiver/format";
import { type ByteRange, type ObjectReader, type ObjectStore, getRangesInto, isStoreError, openObjectReader } from "@quiver/store";

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

/** Largest scratch slab {@link RawRowGroupReads} keeps for reuse (bigger ones serve one query and are dropped). */
export const MAX_KEPT_SLAB_BYTES = 4 * 1024 * 1024;
/** Slabs kept for reuse (queries in flight at once beyond this allocate their own). */
const KEPT_SLABS = 4;

/**
 * Refine's cold row-group reads of one index: on a store with `openReader` (local directory,
 * memory, their wrappers), one object reader on the index file, opened on the first cold read and kept open (no open / fstat / close per query), reading into reused scratch
 * slabs (no fresh buffers per query). Reclaimed by {@link close} (the index's `close`; a
 * finalizer of the index as a fallback); after it, each read opens and closes its own reader.
 * A reader is tied to the state it was opened for: a new state (a healed index) gets a new one.
 * A store without `openReader` (S3) is read by `getRanges`, copied into the slab (no extra HEAD).
 */
export class RawRowGroupReads {
  readonly #store: Pick<ObjectStore, "head" | "getRanges" | "openReader">;
  #reader: Promise<ObjectReader> | undefined;
  #for: object | undefined;
  #closed = false;
  readonly #slabs: Uint8Array[] = [];
  /** Readers opened so far (the shared one and one-shot ones), for tests and stats. */
  opens = 0;

  constructor(store: Pick<ObjectStore, "head" | "getRanges" | "openReader">) {
    this.#store = store;
  }

  /** A scratch buffer of at least `bytes` bytes (a kept one when one is big enough); give it back with {@link release}. */
  acquire(bytes: number): Uint8Array {
    for (let i = 0; i < this.#slabs.length; i++) {
      if (this.#slabs[i]!.byteLength >= bytes) return this.#slabs.splice(i, 1)[0]!;
    }
    let size = 64 * 1024;
    while (size < bytes) size *= 2;
    return new Uint8Array(size > MAX_KEPT_SLAB_BYTES ? bytes : size);
  }

  /** Return a slab from {@link acquire}: nothing may use views of it afterwards. */
  release(slab: Uint8Array): void {
    if (!this.#closed && slab.byteLength <= MAX_KEPT_SLAB_BYTES && this.#slabs.length < KEPT_SLABS) this.#slabs.push(slab);
  }

  /** Read `ranges` of the file at `path` (described by `state`) back to back into `target`. */
  async readInto(state: object, path: string, ranges: readonly ByteRange[], target: Uint8Array): Promise<void> {
    // a store without readers (S3 and other remote stores) keeps the getRanges path: no extra HEAD
    if (typeof this.#store.openReader !== "function") return getRangesInto(this.#store, path, ranges, target, { coalesceGap: 0 });
    if (this.#closed) return this.#oneShot(path, ranges, target);
    if (this.#for !== state) {
      const old = this.#reader;
      this.#reader = undefined;
      this.#for = state;
      void old?.then((r) => r.close(), () => undefined);
    }
    let opening = this.#reader;
    if (opening === undefined) {
      this.opens++;
      this.#reader = opening = openObjectReader(this.#store, path);
    }
    let reader: ObjectReader;
    try {
      reader = await opening;
    } catch (e) {
      // a failed open is not kept: the next read tries again
      if (this.#reader === opening) this.#reader = undefined;
      throw e;
    }
    try {
      await reader.readRangesInto(ranges, target, { coalesceGap: 0 });
    } catch (e) {
      // closed under this read (index closed, or a new state): read once on a reader of its own
      if (isStoreError(e, "READER_CLOSED")) return this.#oneShot(path, ranges, target);
      throw e;
    }
  }

  async #oneShot(path: string, ranges: readonly ByteRange[], target: Uint8Array): Promise<void> {
    this.opens++;
    const reader = await openObjectReader(this.#store, path);
    try {
      await reader.readRangesInto(ranges, target, { coalesceGap: 0 });
    } finally {
      await reader.close();
    }
  }

  /** Close the shared reader (idempotent) and drop the kept slabs. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#slabs.length = 0;
    const r = this.#reader;
    this.#reader = undefined;
    await r?.then((x) => x.close(), () => undefined);
  }
}
