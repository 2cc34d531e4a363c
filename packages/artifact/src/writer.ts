import { type RecordBatch, type Schema, Type } from "apache-arrow";
import { QuiverFormatError } from "@quiver/format";
import type { ObjectStore } from "@quiver/store";
import { ArrowFileAppender } from "./internal/arrow-file.js";
import { batchOf, fixedWidthBytes, singleChunk } from "./internal/columns.js";
import { type PendingFile, artifactPath, openPendingFile } from "./internal/output.js";
import { encodeRangesTable } from "./internal/ranges-table.js";
import {
  ARTIFACT_FORMAT_NAME,
  ARTIFACT_FORMAT_VERSION,
  type ArtifactManifest,
  type BucketPolicyKind,
  MANIFEST_FILE,
  RANGES_FILE,
  encodeManifest,
} from "./manifest.js";
import { payloadFieldsOf, payloadTypeWidth } from "./payload-schema.js";
import { BucketAssignment, planBucketPolicy } from "./policy.js";
import { crc32 } from "@quiver/format";

/** Default memory budget of a {@link PartitionArtifactWriter}: 64 MiB. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 64 * 1024 * 1024;
/** Default name of the input column holding each row's partition id. */
export const DEFAULT_PARTITION_ID_COLUMN = "_part_id";
/** MUST-level maximum rows in one bucket file (row offsets are uint32). */
export const MAX_BUCKET_ROWS = 0xffffffff;

/** Options of {@link PartitionArtifactWriter}. */
export interface PartitionArtifactWriterOptions {
  readonly store: ObjectStore;
  /** Artifact location: a path prefix in the store ("" for the store root). */
  readonly uri: string;
  readonly numPartitions: number;
  /** Payload schema: the input schema without the partition id column; fixed-width, non-nullable fields. */
  readonly payloadSchema: Schema;
  /** Bucket assignment policy (default "hash-modulo"). */
  readonly policy?: BucketPolicyKind;
  /** Estimated rows per partition (required by "size-balanced-range"; also feeds the adaptive count). */
  readonly partitionSizeEstimates?: ArrayLike<number>;
  /** Estimated total rows, for the adaptive bucket count. */
  readonly estimatedRows?: number;
  /** Fixed bucket count instead of the adaptive one. */
  readonly numBuckets?: number;
  /** Bytes the writer may hold: bucket buffers plus flush scratch (default 64 MiB). */
  readonly memoryBudgetBytes?: number;
  /** Adaptive rule: target bytes per bucket (default 64 MiB), min (1) and max (256) buckets. */
  readonly targetBucketBytes?: number;
  readonly minBuckets?: number;
  readonly maxBuckets?: number;
  /** Input column with the partition id (default "_part_id"); any integer type. */
  readonly partitionIdColumn?: string;
}

/** What the writer did, for benchmarks and logs. */
export interface PartitionArtifactWriterStats {
  readonly rows: number;
  readonly flushes: number;
  readonly ranges: number;
  readonly flushThresholdRows: number;
  readonly numBuckets: number;
  readonly bytesWritten: number;
}

class GrowableU32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

interface BucketState {
  readonly file: PendingFile;
  readonly appender: ArrowFileAppender;
  part: Uint32Array | undefined;
  cols: Uint8Array[] | undefined;
  fill: number;
}

/**
 * Streams rows into a partition artifact (spec/artifact.md) with bounded memory. Each row goes to
 * its partition's bucket buffer; a full buffer is counting-sorted by partition id and appended to
 * the bucket file as one record batch per partition run, and those runs become the partition's
 * ranges. Nothing is re-read or rewritten: `finish` flushes the rest, writes the ranges table and
 * commits the manifest last.
 */
export class PartitionArtifactWriter {
  readonly numBuckets: number;
  /** Rows a bucket buffer holds before it is flushed. */
  readonly flushThresholdRows: number;
  readonly #o: PartitionArtifactWriterOptions;
  readonly #assign: BucketAssignment;
  readonly #policy: ReturnType<typeof planBucketPolicy>;
  readonly #widths: number[];
  readonly #buckets: BucketState[];
  readonly #scratch: Uint8Array[];
  readonly #rangePart = new GrowableU32();
  readonly #rangeBucket = new GrowableU32();
  readonly #rangeOffset = new GrowableU32();
  readonly #rangeCount = new GrowableU32();
  readonly #rangeCrc = new GrowableU32();
  #rows = 0;
  #flushes = 0;
  #state: "open" | "finished" | "failed" = "open";

  private constructor(o: PartitionArtifactWriterOptions, buckets: BucketState[], policy: ReturnType<typeof planBucketPolicy>, widths: number[], threshold: number) {
    this.#o = o;
    this.#policy = policy;
    this.numBuckets = policy.num_buckets;
    this.#assign = new BucketAssignment(policy, o.numPartitions);
    this.#widths = widths;
    this.#buckets = buckets;
    this.flushThresholdRows = threshold;
    this.#scratch = widths.map((w) => new Uint8Array(threshold * w));
  }

  /** Plan buckets, open every bucket file and write its header. */
  static async create(o: PartitionArtifactWriterOptions): Promise<PartitionArtifactWriter> {
    payloadFieldsOf(o.payloadSchema);
    const widths = o.payloadSchema.fields.map((f) => payloadTypeWidth(f.type));
    const rowBytes = widths.reduce((a, b) => a + b, 0) + 4;
    const policy = planBucketPolicy({
      kind: o.policy ?? "hash-modulo",
      numPartitions: o.numPartitions,
      rowBytes: rowBytes - 4,
      ...(o.numBuckets !== undefined ? { numBuckets: o.numBuckets } : {}),
      ...(o.estimatedRows !== undefined ? { estimatedRows: o.estimatedRows } : {}),
      ...(o.partitionSizeEstimates !== undefined ? { partitionSizeEstimates: o.partitionSizeEstimates } : {}),
      ...(o.targetBucketBytes !== undefined ? { targetBucketBytes: o.targetBucketBytes } : {}),
      ...(o.minBuckets !== undefined ? { minBuckets: o.minBuckets } : {}),
      ...(o.maxBuckets !== undefined ? { maxBuckets: o.maxBuckets } : {}),
    });
    const budget = o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES;
    // Budget = B bucket buffers + one sorted scratch copy + the encoded flush (about one more copy).
    const threshold = Math.max(1, Math.min(MAX_BUCKET_ROWS, Math.floor(budget / ((policy.num_buckets + 2) * rowBytes))));
    const buckets: BucketState[] = [];
    for (let b = 0; b < policy.num_buckets; b++) {
      const file = await openPendingFile(o.store, artifactPath(o.uri, bucketFileName(b)));
      const appender = new ArrowFileAppender(o.payloadSchema, file);
      await appender.start();
      buckets.push({ file, appender, part: undefined, cols: undefined, fill: 0 });
    }
    return new PartitionArtifactWriter(o, buckets, policy, widths, threshold);
  }

  /** Counters so far. */
  get stats(): PartitionArtifactWriterStats {
    return {
      rows: this.#rows,
      flushes: this.#flushes,
      ranges: this.#rangePart.length,
      flushThresholdRows: this.flushThresholdRows,
      numBuckets: this.numBuckets,
      bytesWritten: this.#buckets.reduce((s, b) => s + b.appender.byteSize, 0),
    };
  }

  /** Append a batch of the input schema: the payload fields plus the partition id column. */
  async append(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const idName = this.#o.partitionIdColumn ?? DEFAULT_PARTITION_ID_COLUMN;
    const idVec = batch.getChild(idName);
    if (idVec === null || idVec.type.typeId !== Type.Int) throw new QuiverFormatError("INVALID_VALUE", `input has no integer column ${idName}`, { stage: "write" });
    const srcs = this.#o.payloadSchema.fields.map((f, c) => {
      const v = batch.getChild(f.name);
      if (v === null || payloadTypeWidth(v.type) !== this.#widths[c] || v.type.typeId !== f.type.typeId) {
        throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `input column ${f.name} is missing or not ${String(f.type)}`, { stage: "write" });
      }
      return fixedWidthBytes(singleChunk(v, "write"), this.#widths[c]!, "write");
    });
    await this.appendRows(idVec.toArray() as ArrayLike<number | bigint>, srcs);
  }

  /**
   * Append rows given as column bytes: `columns[c]` holds `partitionIds.length` rows of payload
   * field c, row-contiguous and little-endian (the Arrow value layout). No Arrow objects needed.
   */
  async appendRows(partitionIds: ArrayLike<number | bigint>, columns: readonly Uint8Array[]): Promise<void> {
    if (this.#state !== "open") throw new QuiverFormatError("INVALID_VALUE", `writer is ${this.#state}`, { stage: "write" });
    const n = partitionIds.length;
    const widths = this.#widths;
    if (columns.length !== widths.length || columns.some((col, c) => col.byteLength !== n * widths[c]!)) {
      throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `expected ${widths.length} columns of ${widths.join("/")} bytes per row for ${n} rows`, { stage: "write" });
    }
    const P = this.#o.numPartitions;
    const bucketOf = this.#assign.bucketOf;
    const T = this.flushThresholdRows;
    for (let i = 0; i < n; i++) {
      const p = Number(partitionIds[i]);
      if (!(p >= 0 && p < P) || !Number.isInteger(p)) {
        this.#state = "failed";
        throw new QuiverFormatError("INVALID_VALUE", `row ${i}: partition id ${String(partitionIds[i])} is not in [0, ${P})`, { stage: "write" });
      }
      const bs = this.#buckets[bucketOf[p]!]!;
      if (bs.part === undefined) {
        bs.part = new Uint32Array(T);
        bs.cols = widths.map((w) => new Uint8Array(T * w));
      }
      const slot = bs.fill++;
      bs.part[slot] = p;
      for (let c = 0; c < widths.length; c++) {
        const w = widths[c]!;
        const src = columns[c]!;
        const dst = bs.cols![c]!;
        let s = i * w;
        let d = slot * w;
        const end = s + w;
        while (s < end) dst[d++] = src[s++]!;
      }
      if (bs.fill === T) await this.#flush(bucketOf[p]!);
    }
    this.#rows += n;
  }

  async #flush(b: number): Promise<void> {
    const bs = this.#buckets[b]!;
    const n = bs.fill;
    if (n === 0 || bs.part === undefined || bs.cols === undefined) return;
    if (bs.appender.numRows + n > MAX_BUCKET_ROWS) throw new QuiverFormatError("LIMIT_EXCEEDED", `bucket ${b} would exceed ${MAX_BUCKET_ROWS} rows`, { stage: "write" });
    const a = this.#assign;
    const k = a.partitionsIn(b);
    // Counting sort by local partition index: O(rows + partitions in the bucket), stable.
    const start = new Uint32Array(k + 1);
    for (let i = 0; i < n; i++) start[a.localIndex(bs.part[i]!) + 1]!++;
    for (let l = 0; l < k; l++) start[l + 1]! += start[l]!;
    const next = start.slice(0, k);
    const widths = this.#widths;
    for (let i = 0; i < n; i++) {
      const dstRow = next[a.localIndex(bs.part[i]!)]!++;
      for (let c = 0; c < widths.length; c++) {
        const w = widths[c]!;
        const src = bs.cols[c]!;
        const dst = this.#scratch[c]!;
        let s = i * w;
        let d = dstRow * w;
        const end = s + w;
        while (s < end) dst[d++] = src[s++]!;
      }
    }
    const base = bs.appender.numRows;
    const batches: RecordBatch[] = [];
    for (let l = 0; l < k; l++) {
      const s = start[l]!;
      const cnt = start[l + 1]! - s;
      if (cnt === 0) continue;
      this.#rangePart.push(a.partitionAt(b, l));
      this.#rangeBucket.push(b);
      this.#rangeOffset.push(base + s);
      this.#rangeCount.push(cnt);
      batches.push(batchOf(this.#o.payloadSchema, this.#scratch.map((col, c) => col.subarray(s * widths[c]!, (s + cnt) * widths[c]!)), cnt));
    }
    // One record batch per range, in the order the ranges were pushed: the CRCs line up.
    for (const c of await bs.appender.append(batches)) this.#rangeCrc.push(c);
    bs.fill = 0;
    this.#flushes++;
  }

  /** Flush every buffer, finish the bucket files, write the ranges table, then commit the manifest. */
  async finish(): Promise<ArtifactManifest> {
    if (this.#state !== "open") throw new QuiverFormatError("INVALID_VALUE", `writer is ${this.#state}`, { stage: "write" });
    this.#state = "finished";
    const o = this.#o;
    for (let b = 0; b < this.#buckets.length; b++) await this.#flush(b);
    const buckets = [];
    for (let b = 0; b < this.#buckets.length; b++) {
      const bs = this.#buckets[b]!;
      bs.part = undefined;
      bs.cols = undefined;
      await bs.appender.finish();
      await bs.file.commit();
      buckets.push({ path: bucketFileName(b), num_rows: bs.appender.numRows, byte_size: bs.appender.byteSize, crc32: bs.appender.crc32 });
    }
    // Ranges come out in flush order, and a bucket's flushes only move forward: a stable counting
    // sort by bucket gives the table's (bucket, row_offset) order.
    const m = this.#rangePart.length;
    const B = this.numBuckets;
    const P = o.numPartitions;
    const start = new Uint32Array(B + 1);
    const rb = this.#rangeBucket.view();
    for (let i = 0; i < m; i++) start[rb[i]! + 1]!++;
    for (let b = 0; b < B; b++) start[b + 1]! += start[b]!;
    const cols = { partition: new Uint32Array(m), bucket: new Uint32Array(m), rowOffset: new Uint32Array(m), rowCount: new Uint32Array(m), crc32: new Uint32Array(m) };
    const rp = this.#rangePart.view();
    const ro = this.#rangeOffset.view();
    const rc = this.#rangeCount.view();
    const rcrc = this.#rangeCrc.view();
    for (let i = 0; i < m; i++) {
      const j = start[rb[i]!]!++;
      cols.partition[j] = rp[i]!;
      cols.bucket[j] = rb[i]!;
      cols.rowOffset[j] = ro[i]!;
      cols.rowCount[j] = rc[i]!;
      cols.crc32[j] = rcrc[i]!;
    }
    const rangesBytes = encodeRangesTable(cols);
    await o.store.put(artifactPath(o.uri, RANGES_FILE), rangesBytes);
    const manifest: ArtifactManifest = {
      format: ARTIFACT_FORMAT_NAME,
      version: ARTIFACT_FORMAT_VERSION,
      num_partitions: P,
      payload_schema: payloadFieldsOf(o.payloadSchema),
      bucket_policy: this.#policy,
      buckets,
      ranges: { path: RANGES_FILE, num_ranges: m, byte_size: rangesBytes.byteLength, crc32: crc32(rangesBytes) },
      total_rows: this.#rows,
    };
    // The manifest is the commit point: written last, with one atomic put.
    await o.store.put(artifactPath(o.uri, MANIFEST_FILE), encodeManifest(manifest));
    return manifest;
  }

  /** Drop temp files without committing anything. */
  async abort(): Promise<void> {
    this.#state = "failed";
    for (const bs of this.#buckets) await bs.file.abort();
  }
}

/** Relative path of bucket b: `buckets/bucket-00000.arrow`. */
export function bucketFileName(b: number): string {
  return `buckets/bucket-${String(b).padStart(5, "0")}.arrow`;
}

/** An Arrow IPC file of payload rows (column bytes as in {@link PartitionArtifactWriter.appendRows}), one record batch per entry of `batchRows`. */
export async function encodePayloadFile(payloadSchema: Schema, columns: readonly Uint8Array[], batchRows: readonly number[]): Promise<Uint8Array> {
  const widths = payloadSchema.fields.map((f) => payloadTypeWidth(f.type));
  const chunks: Uint8Array[] = [];
  const appender = new ArrowFileAppender(payloadSchema, { write: async (b) => void chunks.push(b.slice()) });
  await appender.start();
  let row = 0;
  for (const n of batchRows) {
    await appender.append([batchOf(payloadSchema, columns.map((col, c) => col.slice(row * widths[c]!, (row + n) * widths[c]!)), n)]);
    row += n;
  }
  await appender.finish();
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}
