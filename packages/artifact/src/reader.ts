import type { RecordBatch, Schema } from "apache-arrow";
import { QuiverArgumentError, QuiverFormatError, checkInteger, checkOneOf, checkOptions, crc32 } from "@quiver/format";
import { type GetRangesOptions, type ObjectReader, type ObjectStore, coalesceRanges, isStoreError, openObjectReader } from "@quiver/store";
import { type BatchBlock, FILE_TRAILER_SIZE, MAX_HEAD_EXTRA_BYTES, checkFileFrame, decodeFileFooter, fileHeadEnd, footerLength } from "./internal/arrow-file.js";
import { type PayloadLayout, PayloadMessageDecoder, batchOf, decodePayloadMessage, fixedWidthBytes, payloadLayout, singleChunk } from "./internal/columns.js";
import { artifactPath } from "./internal/output.js";
import { CrcWorker, crcWorkerMinBytes } from "./internal/crc-worker.js";
import { ProblemList } from "./internal/problems.js";
import { type RangesIndex, indexRangesBytes, partitionOrder } from "./internal/ranges-table.js";
import { type ArtifactManifest, MANIFEST_FILE, RANGES_STAGE, parseManifest } from "./manifest.js";
import type { PartitionSource } from "./partition-source.js";
import { bucketSchemaMismatch, payloadSchemaOf } from "./payload-schema.js";

/** Requests and bytes one read cost (requests after coalescing, as the store counts them). */
export interface ReadCost {
  readonly requests: number;
  readonly bytes: number;
}

/** Options of {@link PartitionArtifactReader.partitionsInOrder}. */
export interface PartitionsInOrderOptions {
  /**
   * "bucket" (default): bucket 0's partitions in ascending id, then bucket 1's, and so on (the
   * fewest requests); "partition": ids 0..P-1 (what a sequential index writer needs). Under the
   * range policies the two orders are the same.
   */
  readonly order?: "bucket" | "partition";
  /** A merged request never grows past this (default 8 MiB); a single larger record batch is still one request. */
  readonly maxRequestBytes?: number;
  /**
   * Fetched bytes held at once (default 64 MiB): partitions are read in windows of at most half
   * of it, the next window fetched while the current one is yielded. A partition larger than half
   * is a window of its own, so the bound is max(maxBufferedBytes, 2 x the largest partition's bytes).
   */
  readonly maxBufferedBytes?: number;
  /** Requests in flight at once (default 16). */
  readonly maxConcurrentRequests?: number;
  /** Record batches at most this many bytes apart are fetched by one request (default 0: only touching ones). */
  readonly coalesceGap?: number;
  /**
   * Let a window end inside a partition (default false): a partition whose ranges do not fit in
   * half of `maxBufferedBytes` then comes as several consecutive entries with the same id, each
   * holding some of its ranges (`rows` is that entry's rows), so the bound is
   * max(maxBufferedBytes, 2 x the largest single range's bytes) whatever the partition sizes.
   */
  readonly splitPartitions?: boolean;
  /**
   * Recycle the read buffers (default false): two window buffers and two decode slabs are reused
   * in turn instead of fresh arrays per window (fresh ones were most of a bulk read's garbage and
   * their external memory set off full collections). An entry's `columns` (and its `batches`) are
   * then valid only until the next entry is asked for: for a consumer that is done with an entry
   * when it asks for the next, such as the streamed index writer.
   */
  readonly reuseBuffers?: boolean;
}

/**
 * One partition of {@link PartitionArtifactReader.partitionsInOrder}: every partition comes once
 * (with `splitPartitions`, possibly as several consecutive pieces), its rows in range order.
 * `columns` holds each payload column's row bytes (payload schema field order, `rows` x the
 * column's width, row-contiguous), read-only views of fetched or window-scratch bytes that stay
 * valid; `batches` is the same rows as one Arrow record batch (none when empty), built (copied)
 * on first access only, so a consumer that does not need Arrow does not pay for it.
 */
export interface OrderedPartition {
  readonly partition: number;
  readonly rows: number;
  readonly columns: readonly Uint8Array[];
  readonly batches: RecordBatch[];
}

/** A partition's rows as column bytes (see {@link OrderedPartition.columns}). */
export interface PartitionColumns {
  readonly rows: number;
  readonly columns: readonly Uint8Array[];
}

class OrderedEntry implements OrderedPartition {
  readonly partition: number;
  readonly rows: number;
  readonly columns: readonly Uint8Array[];
  readonly #schema: Schema;
  #batches: RecordBatch[] | undefined;

  constructor(schema: Schema, partition: number, rows: number, columns: readonly Uint8Array[]) {
    this.#schema = schema;
    this.partition = partition;
    this.rows = rows;
    this.columns = columns;
  }

  get batches(): RecordBatch[] {
    // copies: the views may sit at any byte offset, Arrow's typed arrays need element alignment
    this.#batches ??= this.rows === 0 ? [] : [batchOf(this.#schema, this.columns.map((c) => c.slice()), this.rows)];
    return this.#batches;
  }
}

/** What an ordered read cost so far (requests as the store counts them). */
export interface OrderedReadCost {
  requests: number;
  bytes: number;
  windows: number;
  /** Largest number of fetched bytes held at once. */
  peakBufferedBytes: number;
  /** Largest decoded entry (a partition, or a piece of one with `splitPartitions`) yielded, in bytes. */
  peakPieceBytes: number;
}

/** Defaults of {@link PartitionsInOrderOptions}. */
export const DEFAULT_ORDERED_MAX_REQUEST_BYTES = 8 * 1024 * 1024;
export const DEFAULT_ORDERED_MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
export const DEFAULT_ORDERED_CONCURRENCY = 16;

/** Run `tasks` with at most `limit` in flight. */
async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

/** Options of {@link PartitionArtifactReader.open}. */
export interface PartitionArtifactReaderOptions {
  /** Coalescing rule for a partition's byte ranges (default: the store's 1 MiB gap, 64 MiB cap). */
  readonly coalesce?: GetRangesOptions;
  /** Bytes of a bucket file's tail read at once to find its footer (default 64 KiB). */
  readonly footerProbeBytes?: number;
}


/** Read manifest.json; a missing manifest means the artifact was never committed. */
export async function readManifest(store: ObjectStore, uri: string): Promise<ArtifactManifest> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(artifactPath(uri, MANIFEST_FILE));
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) {
      throw new QuiverFormatError("ARTIFACT_UNCOMMITTED", `no ${MANIFEST_FILE} under ${JSON.stringify(uri)}: the artifact was never committed (or is still being written)`, { stage: "manifest" });
    }
    throw e;
  }
  return parseManifest(bytes);
}

/**
 * Read ranges.arrow and check it against the manifest: present (ARTIFACT_MISSING_FILE), then size
 * (ARTIFACT_SIZE_MISMATCH), then CRC-32 (CHECKSUM_MISMATCH). A failed check is added to `problems`
 * and ends the ranges table's checks (returns undefined).
 */
export async function readRangesFile(store: ObjectStore, uri: string, m: ArtifactManifest, problems: ProblemList): Promise<Uint8Array | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await store.get(artifactPath(uri, m.ranges.path));
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) {
      problems.add("ARTIFACT_MISSING_FILE", RANGES_STAGE, `ranges table ${m.ranges.path} is missing`);
      return undefined;
    }
    throw e;
  }
  if (bytes.byteLength !== m.ranges.byte_size) {
    problems.add("ARTIFACT_SIZE_MISMATCH", RANGES_STAGE, `ranges table is ${bytes.byteLength} bytes, manifest says ${m.ranges.byte_size}`);
    return undefined;
  }
  const crc = crc32(bytes);
  if (crc !== m.ranges.crc32) {
    problems.add("CHECKSUM_MISMATCH", RANGES_STAGE, `ranges table CRC-32 ${crc}, manifest says ${m.ranges.crc32}`);
    return undefined;
  }
  return bytes;
}

/** Read and check ranges.arrow against the manifest's size and CRC-32 (throws the first problem). */
export async function readRangesBytes(store: ObjectStore, uri: string, m: ArtifactManifest): Promise<Uint8Array> {
  const problems = new ProblemList(1);
  const bytes = await readRangesFile(store, uri, m, problems);
  problems.throwFirst();
  return bytes!;
}

interface BucketFooter {
  readonly blocks: readonly BatchBlock[];
}

/**
 * Reads a committed partition artifact partition by partition. `readPartition(p)` fetches only
 * p's recorded ranges (each range is one record batch message, so one contiguous byte range),
 * coalescing adjacent ones; `lastCost(p)` says what that read cost. Implements {@link PartitionSource}.
 */
export class PartitionArtifactReader implements PartitionSource {
  readonly manifest: ArtifactManifest;
  /** The write's id from the manifest: key anything cached from this artifact by (uri, artifactId). */
  readonly artifactId: string;
  readonly numPartitions: number;
  readonly payloadSchema: Schema;
  /** Requests and bytes spent opening (manifest + ranges table), plus bucket footers as they load. */
  readonly openCost: { requests: number; bytes: number };
  readonly #store: ObjectStore;
  readonly #uri: string;
  readonly #index: RangesIndex;
  readonly #options: PartitionArtifactReaderOptions;
  readonly #footers = new Map<number, Promise<BucketFooter>>();
  readonly #costs = new Map<number, ReadCost>();
  readonly #layout: PayloadLayout;

  private constructor(store: ObjectStore, uri: string, m: ArtifactManifest, index: RangesIndex, options: PartitionArtifactReaderOptions, openCost: ReadCost) {
    this.#store = store;
    this.#uri = uri;
    this.manifest = m;
    this.artifactId = m.artifact_id;
    this.numPartitions = m.num_partitions;
    this.payloadSchema = payloadSchemaOf(m.payload_schema);
    this.#index = index;
    this.#options = options;
    this.openCost = { ...openCost };
    this.#layout = payloadLayout(this.payloadSchema);
  }

  /** Open an artifact: read and check the manifest and the ranges table (2 requests). */
  static async open(store: ObjectStore, uri: string, options: PartitionArtifactReaderOptions = {}): Promise<PartitionArtifactReader> {
    const m = await readManifest(store, uri);
    const rangesBytes = await readRangesBytes(store, uri, m);
    const problems = new ProblemList(1);
    const index = indexRangesBytes(rangesBytes, m, problems);
    problems.throwFirst();
    return new PartitionArtifactReader(store, uri, m, index!, options, { requests: 2, bytes: rangesBytes.byteLength + JSON.stringify(m).length });
  }

  /** Rows in partition p (0 when empty). */
  partitionSize(p: number): number {
    this.#check(p);
    return this.#index.partitionRows[p]!;
  }

  /** The (bucket, row offset, row count) ranges of partition p, in read order. */
  rangesOf(p: number): { bucket: number; rowOffset: number; rowCount: number }[] {
    this.#check(p);
    const ix = this.#index;
    const { partStart, byPartition } = partitionOrder(ix);
    const out = [];
    for (let k = partStart[p]!; k < partStart[p + 1]!; k++) {
      const i = byPartition[k]!;
      out.push({ bucket: ix.bucket[i]!, rowOffset: ix.rowOffset[i]!, rowCount: ix.rowCount[i]! });
    }
    return out;
  }

  /** Requests and bytes the last `readPartition(p)` cost, once it has finished. */
  lastCost(p: number): ReadCost | undefined {
    return this.#costs.get(p);
  }

  #check(p: number): void {
    if (!Number.isInteger(p) || p < 0 || p >= this.numPartitions) throw new RangeError(`partition ${p} is not in [0, ${this.numPartitions})`);
  }

  #footer(b: number): Promise<BucketFooter> {
    let f = this.#footers.get(b);
    if (f === undefined) {
      f = this.#loadFooter(b);
      this.#footers.set(b, f);
    }
    return f;
  }

  async #loadFooter(b: number): Promise<BucketFooter> {
    const rec = this.manifest.buckets[b]!;
    const path = artifactPath(this.#uri, rec.path);
    const size = rec.byte_size;
    const probe = Math.min(size, this.#options.footerProbeBytes ?? 64 * 1024);
    let tail: Uint8Array;
    try {
      tail = await this.#store.getRange(path, { offset: size - probe, length: probe });
    } catch (e) {
      if (isStoreError(e, "NOT_FOUND")) throw new QuiverFormatError("ARTIFACT_MISSING_FILE", `bucket file ${rec.path} is missing`, { stage: "bucket" });
      if (isStoreError(e, "RANGE_OUT_OF_BOUNDS")) throw new QuiverFormatError("ARTIFACT_SIZE_MISMATCH", `bucket file ${rec.path} is shorter than ${size} bytes`, { stage: "bucket" });
      throw e;
    }
    this.openCost.requests++;
    this.openCost.bytes += tail.byteLength;
    const len = footerLength(tail.subarray(probe - FILE_TRAILER_SIZE), size);
    // The footer and the end-of-stream marker before it: from the probe, or with one more request.
    let eosAndFooter: Uint8Array;
    if (len + FILE_TRAILER_SIZE + 8 <= probe) eosAndFooter = tail.subarray(probe - FILE_TRAILER_SIZE - len - 8, probe - FILE_TRAILER_SIZE);
    else {
      eosAndFooter = await this.#store.getRange(path, { offset: size - FILE_TRAILER_SIZE - len - 8, length: len + 8 });
      this.openCost.requests++;
      this.openCost.bytes += len + 8;
    }
    const footerBytes = eosAndFooter.subarray(8);
    const { blocks, schema } = decodeFileFooter(footerBytes, size);
    // The same schema rule as the validator: a renamed or retyped column is never read as the manifest's.
    const mismatch = bucketSchemaMismatch(schema, this.manifest.payload_schema);
    if (mismatch !== undefined) throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `bucket ${rec.path}: ${mismatch}`, { stage: "bucket" });
    // The file head (magic + schema message), checked as the validator does: from the probe when it
    // covers the file, else with one bounded request.
    const headEnd = fileHeadEnd(blocks, size, len);
    if (headEnd > len + MAX_HEAD_EXTRA_BYTES) throw new QuiverFormatError("BAD_ARROW_IPC", `bucket ${rec.path}: the file head (${headEnd} bytes) is longer than its footer allows`, { stage: "bucket" });
    let head: Uint8Array;
    if (probe === size) head = tail.subarray(0, headEnd);
    else {
      head = await this.#store.getRange(path, { offset: 0, length: headEnd });
      this.openCost.requests++;
      this.openCost.bytes += headEnd;
    }
    checkFileFrame(head, eosAndFooter.subarray(0, 8), schema);
    if (blocks.length !== this.#index.rangesPerBucket[b]) {
      throw new QuiverFormatError("ARTIFACT_BATCH_MISMATCH", `bucket ${rec.path} has ${blocks.length} record batches, the ranges table has ${this.#index.rangesPerBucket[b]} ranges in it (one record batch per range; zero-row record batches are not allowed)`, { stage: "bucket" });
    }
    return { blocks };
  }

  /** Load every bucket footer now (otherwise each loads on first use), `concurrency` at a time. */
  async loadFooters(concurrency = 32): Promise<void> {
    let next = 0;
    const B = this.manifest.buckets.length;
    await Promise.all(Array.from({ length: Math.min(concurrency, B) }, async () => {
      while (next < B) await this.#footer(next++);
    }));
  }

  /** Partition p's rows as record batches (one per range), reading only its ranges; each range's CRC-32 is checked (ARTIFACT_RANGE_CHECKSUM_MISMATCH). */
  async *readPartition(p: number): AsyncIterable<RecordBatch> {
    for (const b of await this.readPartitionBatches(p)) yield b;
  }

  /** Partition p's rows, all at once (what `readPartition` yields). */
  async readPartitionBatches(p: number): Promise<RecordBatch[]> {
    this.#check(p);
    const ix = this.#index;
    const { partStart, byPartition } = partitionOrder(ix);
    const first = partStart[p]!;
    const end = partStart[p + 1]!;
    if (first === end) {
      this.#costs.set(p, { requests: 0, bytes: 0 });
      return [];
    }
    // A partition's ranges are all in one bucket (the policy), but nothing here relies on it.
    const groups: { bucket: number; from: number; to: number }[] = [];
    for (let k = first; k < end; k++) {
      const b = ix.bucket[byPartition[k]!]!;
      const g = groups[groups.length - 1];
      if (g !== undefined && g.bucket === b) g.to = k + 1;
      else groups.push({ bucket: b, from: k, to: k + 1 });
    }
    let requests = 0;
    let bytes = 0;
    const perGroup = await Promise.all(groups.map(async (g) => {
      const footer = await this.#footer(g.bucket);
      const byteRanges: { offset: number; length: number; meta: number }[] = [];
      for (let k = g.from; k < g.to; k++) {
        const i = byPartition[k]!;
        const blk = footer.blocks[i - ix.bucketStart[g.bucket]!]!;
        byteRanges.push({ offset: blk.offset, length: blk.metaDataLength + blk.bodyLength, meta: blk.metaDataLength });
      }
      const plan = coalesceRanges(byteRanges, this.#options.coalesce);
      requests += plan.length;
      for (const r of plan) bytes += r.length;
      const path = artifactPath(this.#uri, this.manifest.buckets[g.bucket]!.path);
      const parts = await this.#store.getRanges(path, byteRanges, this.#options.coalesce);
      return parts.map((part, k) => {
        const i = byPartition[g.from + k]!;
        // The range CRC covers exactly the fetched message: check it before any byte is decoded.
        const crc = crc32(part);
        if (crc !== ix.crc32[i]) {
          throw new QuiverFormatError("ARTIFACT_RANGE_CHECKSUM_MISMATCH", `range ${i} (partition ${p}, bucket ${g.bucket}, row ${ix.rowOffset[i]}): record batch CRC-32 ${crc}, ranges table says ${ix.crc32[i]}`, { stage: "bucket" });
        }
        return decodePayloadMessage(part, byteRanges[k]!.meta, this.payloadSchema, this.#layout, ix.rowCount[i]!, `record batch ${i - ix.bucketStart[g.bucket]!} of bucket ${this.manifest.buckets[g.bucket]!.path}`);
      });
    }));
    this.#costs.set(p, { requests, bytes });
    return perGroup.flat();
  }

  /** The partitions in the given order's sequence (ids). */
  #sequence(order: "bucket" | "partition"): Uint32Array {
    const P = this.numPartitions;
    const seq = new Uint32Array(P);
    if (order === "partition" || this.manifest.bucket_policy.kind !== "hash-modulo") {
      for (let p = 0; p < P; p++) seq[p] = p;
      return seq;
    }
    const B = this.manifest.buckets.length;
    let k = 0;
    for (let b = 0; b < B; b++) for (let p = b; p < P; p += B) seq[k++] = p;
    return seq;
  }

  /**
   * Every partition once, in bucket order (or partition-id order), read in windows of many
   * partitions: each window's record batches are grouped by bucket file, sorted by offset and
   * merged into few large requests (one per bucket flush the window touches, capped at
   * `maxRequestBytes`), and the next window is fetched while this one is yielded. Fetched bytes held
   * at once stay within `maxBufferedBytes` (see {@link PartitionsInOrderOptions}); each range's
   * CRC-32 is checked before its bytes are decoded, as in {@link readPartition}. `cost` counts the
   * requests and bytes as they are made. With `splitPartitions`, a window may end inside a
   * partition, which then comes as several consecutive pieces (see {@link PartitionsInOrderOptions.splitPartitions}).
   */
  partitionsInOrder(options: PartitionsInOrderOptions = {}): AsyncIterable<OrderedPartition> & { readonly cost: OrderedReadCost } {
    checkOptions("options", options, ["order", "maxRequestBytes", "maxBufferedBytes", "maxConcurrentRequests", "coalesceGap", "splitPartitions", "reuseBuffers"]);
    const order = options.order === undefined ? "bucket" : checkOneOf("options.order", options.order, ["bucket", "partition"] as const);
    const maxRequestBytes = options.maxRequestBytes === undefined ? DEFAULT_ORDERED_MAX_REQUEST_BYTES : checkInteger("options.maxRequestBytes", options.maxRequestBytes, 1, 2 ** 31);
    const maxBuffered = options.maxBufferedBytes === undefined ? DEFAULT_ORDERED_MAX_BUFFERED_BYTES : checkInteger("options.maxBufferedBytes", options.maxBufferedBytes, 2, 2 ** 40);
    const concurrency = options.maxConcurrentRequests === undefined ? DEFAULT_ORDERED_CONCURRENCY : checkInteger("options.maxConcurrentRequests", options.maxConcurrentRequests, 1, 1024);
    const gap = options.coalesceGap === undefined ? 0 : checkInteger("options.coalesceGap", options.coalesceGap, 0, 2 ** 31);
    if (options.splitPartitions !== undefined && typeof options.splitPartitions !== "boolean") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.splitPartitions", expected: "a boolean", given: options.splitPartitions });
    }
    const split = options.splitPartitions === true;
    if (options.reuseBuffers !== undefined && typeof options.reuseBuffers !== "boolean") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.reuseBuffers", expected: "a boolean", given: options.reuseBuffers });
    }
    const reuse = options.reuseBuffers === true;
    const cost: OrderedReadCost = { requests: 0, bytes: 0, windows: 0, peakBufferedBytes: 0, peakPieceBytes: 0 };
    const reader = this;
    return {
      cost,
      [Symbol.asyncIterator]: () => reader.#ordered(order, maxRequestBytes, maxBuffered, concurrency, gap, split, reuse, cost)[Symbol.asyncIterator](),
    };
  }

  async *#ordered(
    order: "bucket" | "partition", maxRequestBytes: number, maxBuffered: number, concurrency: number, gap: number, split: boolean, reuse: boolean, cost: OrderedReadCost,
  ): AsyncGenerator<OrderedPartition> {
    const ix = this.#index;
    const { partStart, byPartition } = partitionOrder(ix);
    const seq = this.#sequence(order);
    const P = seq.length;
    const half = Math.max(1, Math.floor(maxBuffered / 2));
    let buffered = 0;
    // The footers give each range's message extent: load them all first, `concurrency` at a time.
    await this.loadFooters(concurrency);
    const footers: (readonly BatchBlock[])[] = [];
    for (let b = 0; b < this.manifest.buckets.length; b++) footers.push((await this.#footer(b)).blocks);
    const blockOf = (i: number): BatchBlock => {
      const b = ix.bucket[i]!;
      return footers[b]![i - ix.bucketStart[b]!]!;
    };
    const rangeBytesOf = (i: number): number => {
      const blk = blockOf(i);
      return blk.metaDataLength + blk.bodyLength;
    };
    const decoder = new PayloadMessageDecoder(this.#layout);
    // One reader per bucket file for the whole read (no open per request; reads go straight into
    // the window's buffer), closed when the read ends.
    const readers = new Map<number, Promise<ObjectReader>>();
    const closeReaders = async (): Promise<void> => {
      const open = [...readers.values()];
      readers.clear();
      for (const r of open) await r.then((x) => x.close(), () => undefined);
    };
    const readerOf = (b: number): Promise<ObjectReader> => {
      let r = readers.get(b);
      if (r === undefined) {
        r = openObjectReader(this.#store, artifactPath(this.#uri, this.manifest.buckets[b]!.path));
        r.catch(() => undefined); // reported by the read that awaits it
        readers.set(b, r);
      }
      return r;
    };
    // A large read checks its range CRCs on a worker thread: window w + 1's while window w is
    // decoded and consumed here (its buffers are then shared memory). Smaller reads, or a worker
    // that cannot start, check them on this thread.
    let totalBytes = 0;
    for (let i = 0; i < ix.bucket.length; i++) totalBytes += rangeBytesOf(i);
    let crcWorker: CrcWorker | undefined;
    if (totalBytes >= crcWorkerMinBytes()) {
      try {
        crcWorker = new CrcWorker();
      } catch {
        crcWorker = undefined;
      }
    }
    const allocate = (bytes: number): Uint8Array => (crcWorker === undefined ? new Uint8Array(bytes) : new Uint8Array(new SharedArrayBuffer(bytes)));
    // reuseBuffers: window w reads into buffer w % 2 and decodes into slab w % 2; window w + 2 is
    // fetched only once every entry of window w was yielded and the next one asked for
    const buffers: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0)];
    const slabs = [new Uint8Array(0), new Uint8Array(0)];
    let bufferTurn = 0;
    let slabTurn = 0;
    const windowBuffer = (bytes: number): Uint8Array => {
      if (!reuse) return allocate(bytes);
      const t = bufferTurn;
      bufferTurn ^= 1;
      if (buffers[t]!.byteLength < bytes) buffers[t] = allocate(bytes);
      return buffers[t]!.subarray(0, bytes);
    };
    const slabOf = (bytes: number): Uint8Array => {
      if (!reuse) return new Uint8Array(bytes);
      const t = slabTurn;
      slabTurn ^= 1;
      if (slabs[t]!.byteLength < bytes) slabs[t] = new Uint8Array(bytes);
      return slabs[t]!.subarray(0, bytes);
    };
    // the message text of an error only: built when one is thrown
    const whereOf = (i: number): string => {
      const b = ix.bucket[i]!;
      return `record batch ${i - ix.bucketStart[b]!} of bucket ${this.manifest.buckets[b]!.path}`;
    };
    const rangeBytes = rangeBytesOf;
    /** A run of one partition's ranges, positions [from, to) of `byPartition` (the whole partition unless split). */
    interface Piece {
      readonly partition: number;
      readonly from: number;
      readonly to: number;
    }
    interface Window {
      readonly pieces: readonly Piece[];
      readonly bytes: number;
      /** Message bytes of every range of the window, by table row, and their CRC-32s when a worker took them. */
      readonly fetched: Promise<{ messages: Map<number, Uint8Array>; crcs: Map<number, number> | undefined }>;
    }
    // cursor: partition seq[k], next range position r within it (r = partStart[p] when it starts)
    let k = 0;
    let r = P > 0 ? partStart[seq[0]!]! : 0;
    const nextWindow = (): Window | undefined => {
      if (k >= P) return undefined;
      const pieces: Piece[] = [];
      let bytes = 0;
      while (k < P) {
        const p = seq[k]!;
        const end = partStart[p + 1]!;
        if (!split) {
          let e = 0;
          for (let q = r; q < end; q++) e += rangeBytes(byPartition[q]!);
          if (pieces.length > 0 && bytes + e > half) break;
          pieces.push({ partition: p, from: r, to: end });
          bytes += e;
        } else {
          // ranges one by one: the window ends where the next range would pass half the budget
          const from = r;
          while (r < end) {
            const e = rangeBytes(byPartition[r]!);
            if (bytes + e > half && (pieces.length > 0 || r > from)) break;
            bytes += e;
            r++;
          }
          if (r === from && from < end) break;
          pieces.push({ partition: p, from, to: r });
          if (r < end) break;
        }
        k++;
        if (k < P) r = partStart[seq[k]!]!;
      }
      const rows: number[] = [];
      for (const pc of pieces) for (let q = pc.from; q < pc.to; q++) rows.push(byPartition[q]!);
      const w = crcWorker;
      const fetched = this.#fetchWindow(rows, blockOf, maxRequestBytes, concurrency, gap, cost, readerOf, windowBuffer).then(async (messages) => {
        if (w === undefined || messages.size === 0) return { messages, crcs: undefined };
        const keys = [...messages.keys()];
        const spans = new Float64Array(keys.length * 2);
        let sab: SharedArrayBuffer | undefined;
        keys.forEach((i, j) => {
          const m = messages.get(i)!;
          sab = m.buffer as SharedArrayBuffer;
          spans[2 * j] = m.byteOffset;
          spans[2 * j + 1] = m.byteLength;
        });
        const got = await w.crcs(sab!, spans);
        const crcs = new Map<number, number>();
        keys.forEach((i, j) => crcs.set(i, got[j]!));
        return { messages, crcs };
      });
      // A prefetch that fails while the previous window is yielded is reported when it is awaited, not as an unhandled rejection.
      fetched.catch(() => undefined);
      return { pieces, bytes, fetched };
    };
    let current: Window | undefined;
    let ahead: Window | undefined;
    try {
      current = nextWindow();
      while (current !== undefined) {
        buffered += current.bytes;
        ahead = nextWindow();
        if (ahead !== undefined) buffered += ahead.bytes;
        cost.peakBufferedBytes = Math.max(cost.peakBufferedBytes, buffered);
        cost.windows++;
        const { messages, crcs } = await current.fetched;
        // the last window is in: the files are closed (and the worker stopped) now, not when (or
        // if) the consumer asks past the last entry
        if (ahead === undefined) {
          await closeReaders();
          await crcWorker?.close();
          crcWorker = undefined;
        }
        const widths = this.#layout.widths;
        // One scratch slab per window for the pieces of several ranges (their rows copied together,
        // column by column); a piece of one range is yielded as views of the fetched bytes. Either
        // way no allocation per range or per partition (the read was allocation- and GC-bound).
        let slabBytes = 0;
        for (const pc of current.pieces) {
          if (pc.to - pc.from < 2) continue;
          let rows = 0;
          for (let q = pc.from; q < pc.to; q++) rows += ix.rowCount[byPartition[q]!]!;
          for (const w of widths) slabBytes += rows * w;
        }
        const slab = slabOf(slabBytes);
        let slabAt = 0;
        for (const pc of current.pieces) {
          const p = pc.partition;
          let rows = 0;
          let cols: Uint8Array[] | undefined;
          for (let q = pc.from; q < pc.to; q++) rows += ix.rowCount[byPartition[q]!]!;
          if (rows > 0) {
            let size = 0;
            for (const w of widths) size += Math.ceil((rows * w) / 8) * 8;
            cost.peakPieceBytes = Math.max(cost.peakPieceBytes, size);
          }
          const multi = pc.to - pc.from > 1;
          const at: number[] = [];
          if (multi) {
            cols = widths.map((w) => {
              const c = slab.subarray(slabAt, slabAt + rows * w);
              slabAt += rows * w;
              return c;
            });
            for (let c = 0; c < widths.length; c++) at.push(0);
          }
          for (let q = pc.from; q < pc.to; q++) {
            const i = byPartition[q]!;
            const msg = messages.get(i)!;
            // The range CRC covers exactly the fetched message: checked before any byte is decoded.
            const crc = crcs?.get(i) ?? crc32(msg);
            if (crc !== ix.crc32[i]) {
              const b = ix.bucket[i]!;
              throw new QuiverFormatError("ARTIFACT_RANGE_CHECKSUM_MISMATCH", `range ${i} (partition ${p}, bucket ${b}, row ${ix.rowOffset[i]}): record batch CRC-32 ${crc}, ranges table says ${ix.crc32[i]}`, { stage: "bucket" });
            }
            const part = decoder.columns(msg, blockOf(i).metaDataLength, ix.rowCount[i]!, () => whereOf(i));
            messages.delete(i);
            if (!multi) cols = part;
            else {
              for (let c = 0; c < part.length; c++) {
                cols![c]!.set(part[c]!, at[c]!);
                at[c]! += part[c]!.byteLength;
              }
            }
          }
          yield new OrderedEntry(this.payloadSchema, p, rows, cols ?? widths.map(() => new Uint8Array(0)));
        }
        buffered -= current.bytes;
        if (ahead !== undefined) buffered -= ahead.bytes;
        current = ahead;
        ahead = undefined;
      }
    } finally {
      // reads in flight finish before their files are closed
      await current?.fetched.catch(() => undefined);
      await ahead?.fetched.catch(() => undefined);
      await closeReaders();
      await crcWorker?.close();
    }
  }

  /** Fetch the given ranges (table rows) with merged requests per bucket file, into one buffer of `take`. */
  async #fetchWindow(
    rows: readonly number[], blockOf: (i: number) => BatchBlock, maxRequestBytes: number, concurrency: number, gap: number, cost: OrderedReadCost,
    readerOf: (b: number) => Promise<ObjectReader>, take: (bytes: number) => Uint8Array,
  ): Promise<Map<number, Uint8Array>> {
    const ix = this.#index;
    const perBucket = new Map<number, { offset: number; length: number; i: number }[]>();
    for (const i of rows) {
      const b = ix.bucket[i]!;
      const blk = blockOf(i);
      let list = perBucket.get(b);
      if (list === undefined) perBucket.set(b, (list = []));
      list.push({ offset: blk.offset, length: blk.metaDataLength + blk.bodyLength, i });
    }
    const plans: { b: number; list: { offset: number; length: number; i: number }[]; req: ReturnType<typeof coalesceRanges>[number]; at: number }[] = [];
    let total = 0;
    for (const [b, list] of perBucket) {
      for (const req of coalesceRanges(list, { coalesceGap: gap, maxRequestBytes })) {
        plans.push({ b, list, req, at: total });
        total += req.length;
      }
    }
    const target = take(total);
    const out = new Map<number, Uint8Array>();
    const missing = (b: number): QuiverFormatError => new QuiverFormatError("ARTIFACT_MISSING_FILE", `bucket file ${this.manifest.buckets[b]!.path} is missing`, { stage: "bucket" });
    const short = (b: number): QuiverFormatError => new QuiverFormatError("ARTIFACT_SIZE_MISMATCH", `bucket file ${this.manifest.buckets[b]!.path} is shorter than its footer says`, { stage: "bucket" });
    const tasks = plans.map(({ b, list, req, at }) => async () => {
      const data = target.subarray(at, at + req.length);
      let r: ObjectReader;
      try {
        r = await readerOf(b);
      } catch (e) {
        if (isStoreError(e, "NOT_FOUND")) throw missing(b);
        throw e;
      }
      try {
        // one range: one request, read straight into the window's buffer
        await r.readRangesInto([{ offset: req.offset, length: req.length }], data);
      } catch (e) {
        if (isStoreError(e, "NOT_FOUND")) throw missing(b);
        if (isStoreError(e, "RANGE_OUT_OF_BOUNDS")) throw short(b);
        throw e;
      }
      cost.requests++;
      cost.bytes += data.byteLength;
      for (const m of req.members) {
        const x = list[m]!;
        out.set(x.i, data.subarray(x.offset - req.offset, x.offset - req.offset + x.length));
      }
    });
    await runLimited(tasks, concurrency);
    return out;
  }

  /**
   * A {@link PartitionSource} for a consumer that reads partitions 0, 1, 2, ... once each (the
   * streamed index writer): `readPartition(p)` is served from {@link partitionsInOrder} in
   * partition order, so the whole read costs few large requests. A partition asked for out of
   * that sequence is read on its own ({@link readPartition}). With `splitPartitions`, a partition
   * may come as several record batches, and each must be read to its end before the next is asked for.
   */
  sequentialSource(options: Omit<PartitionsInOrderOptions, "order"> = {}): PartitionSource & { readonly cost: OrderedReadCost; readPartitionColumns(p: number): AsyncIterable<PartitionColumns> } {
    checkOptions("options", options, ["maxRequestBytes", "maxBufferedBytes", "maxConcurrentRequests", "coalesceGap", "splitPartitions", "reuseBuffers"]);
    const ordered = this.partitionsInOrder({ ...options, order: "partition" });
    let it: AsyncIterator<OrderedPartition> | undefined;
    let next = 0;
    const reader = this;
    const layout = this.#layout;
    /** Partition p's entries from the bulk read (in sequence), or undefined when p is out of sequence. */
    const inSequence = (p: number): AsyncIterable<OrderedPartition> | undefined => {
      reader.#check(p);
      // Partition 0 again after a full pass: a consumer's second pass (the streamed index writer's
      // two-pass mode) gets a second bulk read, not P single reads.
      if (p === 0 && next === reader.numPartitions) {
        void it?.return?.();
        it = undefined;
        next = 0;
      }
      if (p !== next) return undefined;
      next++;
      return (async function* () {
        it ??= ordered[Symbol.asyncIterator]();
        // with splitPartitions a partition may come in pieces: read entries until its rows are in
        const want = reader.partitionSize(p);
        let got = 0;
        do {
          const r = await it.next();
          if (r.done === true || r.value.partition !== p) throw new Error(`ordered read out of step at partition ${p}`);
          got += r.value.rows;
          if (r.value.rows > 0) yield r.value;
        } while (got < want);
      })();
    };
    return {
      numPartitions: this.numPartitions,
      payloadSchema: this.payloadSchema,
      cost: ordered.cost,
      partitionSize: (p) => reader.partitionSize(p),
      readPartition(p: number): AsyncIterable<RecordBatch> {
        const entries = inSequence(p);
        if (entries === undefined) return reader.readPartition(p);
        return (async function* () {
          for await (const e of entries) yield* e.batches;
        })();
      },
      readPartitionColumns(p: number): AsyncIterable<PartitionColumns> {
        const entries = inSequence(p);
        if (entries !== undefined) return entries;
        return (async function* () {
          for (const b of await reader.readPartitionBatches(p)) {
            yield { rows: b.numRows, columns: b.schema.fields.map((f, c) => fixedWidthBytes(singleChunk(b.getChildAt(c)!, "bucket"), layout.widths[c]!, "bucket")) };
          }
        })();
      },
    };
  }
}
