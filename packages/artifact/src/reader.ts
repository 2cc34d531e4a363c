import type { RecordBatch, Schema } from "apache-arrow";
import { QuiverFormatError, crc32 } from "@quiver/format";
import { type GetRangesOptions, type ObjectStore, coalesceRanges, isStoreError } from "@quiver/store";
import { type BatchBlock, FILE_TRAILER_SIZE, MAX_HEAD_EXTRA_BYTES, checkFileFrame, decodeFileFooter, fileHeadEnd, footerLength } from "./internal/arrow-file.js";
import { type PayloadLayout, decodePayloadMessage, payloadLayout } from "./internal/columns.js";
import { artifactPath } from "./internal/output.js";
import { ProblemList } from "./internal/problems.js";
import { type RangesIndex, decodeRangesTable, indexRanges } from "./internal/ranges-table.js";
import { type ArtifactManifest, MANIFEST_FILE, RANGES_STAGE, parseManifest } from "./manifest.js";
import type { PartitionSource } from "./partition-source.js";
import { bucketSchemaMismatch, payloadSchemaOf } from "./payload-schema.js";

/** Requests and bytes one read cost (requests after coalescing, as the store counts them). */
export interface ReadCost {
  readonly requests: number;
  readonly bytes: number;
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
    const index = indexRanges(decodeRangesTable(rangesBytes), m, problems);
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
    const out = [];
    for (let k = ix.partStart[p]!; k < ix.partStart[p + 1]!; k++) {
      const i = ix.byPartition[k]!;
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
    const first = ix.partStart[p]!;
    const end = ix.partStart[p + 1]!;
    if (first === end) {
      this.#costs.set(p, { requests: 0, bytes: 0 });
      return [];
    }
    // A partition's ranges are all in one bucket (the policy), but nothing here relies on it.
    const groups: { bucket: number; from: number; to: number }[] = [];
    for (let k = first; k < end; k++) {
      const b = ix.bucket[ix.byPartition[k]!]!;
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
        const blk = footer.blocks[ix.batchIndex[ix.byPartition[k]!]!]!;
        byteRanges.push({ offset: blk.offset, length: blk.metaDataLength + blk.bodyLength, meta: blk.metaDataLength });
      }
      const plan = coalesceRanges(byteRanges, this.#options.coalesce);
      requests += plan.length;
      for (const r of plan) bytes += r.length;
      const path = artifactPath(this.#uri, this.manifest.buckets[g.bucket]!.path);
      const parts = await this.#store.getRanges(path, byteRanges, this.#options.coalesce);
      return parts.map((part, k) => {
        const i = ix.byPartition[g.from + k]!;
        // The range CRC covers exactly the fetched message: check it before any byte is decoded.
        const crc = crc32(part);
        if (crc !== ix.crc32[i]) {
          throw new QuiverFormatError("ARTIFACT_RANGE_CHECKSUM_MISMATCH", `range ${i} (partition ${p}, bucket ${g.bucket}, row ${ix.rowOffset[i]}): record batch CRC-32 ${crc}, ranges table says ${ix.crc32[i]}`, { stage: "bucket" });
        }
        return decodePayloadMessage(part, byteRanges[k]!.meta, this.payloadSchema, this.#layout, ix.rowCount[i]!, `record batch ${ix.batchIndex[i]} of bucket ${this.manifest.buckets[g.bucket]!.path}`);
      });
    }));
    this.#costs.set(p, { requests, bytes });
    return perGroup.flat();
  }
}
