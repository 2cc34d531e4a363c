import type { RecordBatch, Schema } from "apache-arrow";
import { QuiverFormatError } from "@quiver/format";
import { type GetRangesOptions, type ObjectStore, coalesceRanges } from "@quiver/store";
import { ArrowFileAppender, type BatchBlock, FILE_TRAILER_SIZE, decodeFooterBlocks, footerLength } from "./internal/arrow-file.js";
import { batchOf, fixedWidthBytes, payloadLayout, recordBatchMeta, singleChunk } from "./internal/columns.js";
import { type PendingFile, artifactPath, openPendingFile } from "./internal/output.js";
import type { PartitionSource } from "./partition-source.js";
import { payloadFieldsOf, payloadTypeWidth } from "./payload-schema.js";
import type { ReadCost } from "./reader.js";

/** Default flush group of the two-file shuffle: 128 MiB of buffered rows (as the modelled system). */
export const DEFAULT_FLUSH_GROUP_BYTES = 128 * 1024 * 1024;
const DATA_FILE = "shuffle_data.arrow";
const OFFSETS_FILE = "shuffle_offsets.bin";

/** Options of {@link TwoFileShuffleWriter}. */
export interface TwoFileShuffleWriterOptions {
  readonly store: ObjectStore;
  readonly uri: string;
  readonly numPartitions: number;
  readonly payloadSchema: Schema;
  /** Buffered bytes per flush group (default 128 MiB). */
  readonly flushGroupBytes?: number;
  readonly partitionIdColumn?: string;
}

/**
 * The layout the partition artifact replaces, for side-by-side measurement: one data file with one
 * record batch per flush group (rows sorted by partition id) and an offsets file holding, for every
 * group, numPartitions little-endian u64 cumulative END row offsets (global row numbers).
 */
export class TwoFileShuffleWriter {
  readonly groupRows: number;
  readonly #o: TwoFileShuffleWriterOptions;
  readonly #widths: number[];
  readonly #data: PendingFile;
  readonly #offsets: PendingFile;
  readonly #appender: ArrowFileAppender;
  readonly #part: Uint32Array;
  readonly #cols: Uint8Array[];
  readonly #sorted: Uint8Array[];
  #fill = 0;
  #written = 0;
  groups = 0;

  private constructor(o: TwoFileShuffleWriterOptions, data: PendingFile, offsets: PendingFile, appender: ArrowFileAppender) {
    this.#o = o;
    this.#widths = o.payloadSchema.fields.map((f) => payloadTypeWidth(f.type));
    const rowBytes = this.#widths.reduce((a, b) => a + b, 4);
    this.groupRows = Math.max(1, Math.floor((o.flushGroupBytes ?? DEFAULT_FLUSH_GROUP_BYTES) / rowBytes));
    this.#data = data;
    this.#offsets = offsets;
    this.#appender = appender;
    this.#part = new Uint32Array(this.groupRows);
    this.#cols = this.#widths.map((w) => new Uint8Array(this.groupRows * w));
    this.#sorted = this.#widths.map((w) => new Uint8Array(this.groupRows * w));
  }

  /** Open both files. */
  static async create(o: TwoFileShuffleWriterOptions): Promise<TwoFileShuffleWriter> {
    payloadFieldsOf(o.payloadSchema);
    const data = await openPendingFile(o.store, artifactPath(o.uri, DATA_FILE));
    const offsets = await openPendingFile(o.store, artifactPath(o.uri, OFFSETS_FILE));
    const appender = new ArrowFileAppender(o.payloadSchema, data);
    await appender.start();
    return new TwoFileShuffleWriter(o, data, offsets, appender);
  }

  /** Append a batch with the payload fields plus the partition id column. */
  async append(batch: RecordBatch): Promise<void> {
    const ids = batch.getChild(this.#o.partitionIdColumn ?? "_part_id")?.toArray() as ArrayLike<number> | undefined;
    if (ids === undefined) throw new QuiverFormatError("INVALID_VALUE", "input has no partition id column", { stage: "write" });
    await this.appendRows(ids, this.#o.payloadSchema.fields.map((f, c) => fixedWidthBytes(singleChunk(batch.getChild(f.name)!, "write"), this.#widths[c]!, "write")));
  }

  /** Append rows as column bytes (see PartitionArtifactWriter.appendRows). */
  async appendRows(partitionIds: ArrayLike<number | bigint>, srcs: readonly Uint8Array[]): Promise<void> {
    for (let i = 0; i < partitionIds.length; i++) {
      const p = Number(partitionIds[i]);
      if (!(p >= 0 && p < this.#o.numPartitions)) throw new QuiverFormatError("INVALID_VALUE", `partition id ${p}`, { stage: "write" });
      this.#part[this.#fill] = p;
      for (let c = 0; c < this.#widths.length; c++) {
        const w = this.#widths[c]!;
        const src = srcs[c]!;
        const dst = this.#cols[c]!;
        let s = i * w;
        let d = this.#fill * w;
        const end = s + w;
        while (s < end) dst[d++] = src[s++]!;
      }
      if (++this.#fill === this.groupRows) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    const n = this.#fill;
    if (n === 0) return;
    const P = this.#o.numPartitions;
    const start = new Uint32Array(P + 1);
    for (let i = 0; i < n; i++) start[this.#part[i]! + 1]!++;
    for (let p = 0; p < P; p++) start[p + 1]! += start[p]!;
    const ends = new BigUint64Array(P);
    for (let p = 0; p < P; p++) ends[p] = BigInt(this.#written + start[p + 1]!);
    const next = start.slice(0, P);
    for (let i = 0; i < n; i++) {
      const d = next[this.#part[i]!]!++;
      for (let c = 0; c < this.#widths.length; c++) {
        const w = this.#widths[c]!;
        const src = this.#cols[c]!;
        const dst = this.#sorted[c]!;
        for (let k = 0; k < w; k++) dst[d * w + k] = src[i * w + k]!;
      }
    }
    await this.#appender.append([batchOf(this.#o.payloadSchema, this.#sorted.map((s, c) => s.subarray(0, n * this.#widths[c]!)), n)]);
    await this.#offsets.write(new Uint8Array(ends.buffer));
    this.#written += n;
    this.#fill = 0;
    this.groups++;
  }

  /** Flush the last group and commit the data file, then the offsets file. */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#appender.finish();
    await this.#data.commit();
    await this.#offsets.commit();
  }
}

interface ColumnSlices {
  /** Absolute byte offset of each column's data buffer in each group's batch. */
  readonly dataOffset: number[][];
  readonly groupFirstRow: number[];
}

/**
 * Reads a two-file shuffle as a {@link PartitionSource}. Open preloads the data file footer, every
 * group's batch metadata and the whole offsets table; a partition then costs one byte range per
 * column per flush group (coalesced by the store rule).
 */
export class TwoFileShuffleSource implements PartitionSource {
  readonly numPartitions: number;
  readonly payloadSchema: Schema;
  readonly openCost: { requests: number; bytes: number };
  readonly #store: ObjectStore;
  readonly #uri: string;
  readonly #offsets: BigUint64Array;
  readonly #slices: ColumnSlices;
  readonly #widths: number[];
  readonly #coalesce: GetRangesOptions | undefined;
  readonly #costs = new Map<number, ReadCost>();
  readonly groups: number;

  private constructor(store: ObjectStore, uri: string, P: number, schema: Schema, offsets: BigUint64Array, slices: ColumnSlices, openCost: ReadCost, coalesce?: GetRangesOptions) {
    this.#store = store;
    this.#uri = uri;
    this.numPartitions = P;
    this.payloadSchema = schema;
    this.#offsets = offsets;
    this.#slices = slices;
    this.#widths = schema.fields.map((f) => payloadTypeWidth(f.type));
    this.openCost = { ...openCost };
    this.#coalesce = coalesce;
    this.groups = slices.groupFirstRow.length;
  }

  /** Open: data footer (1-2 requests), all batch metadata (coalesced), offsets table (1 request). */
  static async open(store: ObjectStore, uri: string, options: { numPartitions: number; payloadSchema: Schema; coalesce?: GetRangesOptions }): Promise<TwoFileShuffleSource> {
    const dataPath = artifactPath(uri, DATA_FILE);
    const size = (await store.head(dataPath)).size;
    let requests = 1;
    let bytes = 0;
    const probe = Math.min(size, 64 * 1024);
    const tail = await store.getRange(dataPath, { offset: size - probe, length: probe });
    requests++;
    bytes += probe;
    const len = footerLength(tail.subarray(probe - FILE_TRAILER_SIZE), size);
    let footerBytes = tail.subarray(Math.max(0, probe - FILE_TRAILER_SIZE - len), probe - FILE_TRAILER_SIZE);
    if (len + FILE_TRAILER_SIZE > probe) {
      footerBytes = await store.getRange(dataPath, { offset: size - FILE_TRAILER_SIZE - len, length: len });
      requests++;
      bytes += len;
    }
    const blocks = decodeFooterBlocks(footerBytes, size);
    const metaRanges = blocks.map((b) => ({ offset: b.offset, length: b.metaDataLength }));
    requests += coalesceRanges(metaRanges, options.coalesce).length;
    const metas = await store.getRanges(dataPath, metaRanges, options.coalesce);
    bytes += metas.reduce((s, m) => s + m.byteLength, 0);
    const slices = TwoFileShuffleSource.#layout(options.payloadSchema, blocks, metas);
    const offsetsBytes = await store.get(artifactPath(uri, OFFSETS_FILE));
    requests++;
    bytes += offsetsBytes.byteLength;
    const P = options.numPartitions;
    if (offsetsBytes.byteLength !== blocks.length * P * 8) throw new QuiverFormatError("ARTIFACT_ROW_COUNT_MISMATCH", `offsets file of ${offsetsBytes.byteLength} bytes for ${blocks.length} groups x ${P} partitions`, { stage: "ranges" });
    const offsets = new BigUint64Array(offsetsBytes.buffer, offsetsBytes.byteOffset, offsetsBytes.byteLength / 8);
    return new TwoFileShuffleSource(store, uri, P, options.payloadSchema, offsets, slices, { requests, bytes }, options.coalesce);
  }

  static #layout(schema: Schema, blocks: readonly BatchBlock[], metas: Uint8Array[]): ColumnSlices {
    const layout = payloadLayout(schema);
    const dataOffset: number[][] = [];
    const groupFirstRow: number[] = [];
    let row = 0;
    blocks.forEach((blk, g) => {
      const meta = metas[g]!;
      const len = meta.byteLength >= 8 ? new DataView(meta.buffer, meta.byteOffset, meta.byteLength).getInt32(4, true) : -1;
      if (len <= 0 || len > meta.byteLength - 8) throw new QuiverFormatError("BAD_ARROW_IPC", `group ${g} metadata length ${len}`, { stage: "bucket" });
      const header = recordBatchMeta(meta.subarray(8, 8 + len));
      const rows = header.length;
      if (header.buffers.length !== layout.bufferCount) throw new QuiverFormatError("BAD_ARROW_IPC", `group ${g}: ${header.buffers.length} buffers`, { stage: "bucket" });
      const bodyStart = blk.offset + blk.metaDataLength;
      dataOffset.push(layout.dataBuffer.map((bi, c) => {
        const region = header.buffers[bi]!;
        if (region.length < rows * layout.widths[c]! || region.offset + region.length > blk.bodyLength) {
          throw new QuiverFormatError("BAD_ARROW_IPC", `group ${g} column ${c} data buffer is out of bounds`, { stage: "bucket" });
        }
        return bodyStart + region.offset;
      }));
      groupFirstRow.push(row);
      row += rows;
    });
    return { dataOffset, groupFirstRow };
  }

  /** Rows in partition p. */
  partitionSize(p: number): number {
    const G = this.groups;
    const P = this.numPartitions;
    let n = 0;
    for (let g = 0; g < G; g++) n += Number(this.#offsets[g * P + p]!) - (g * P + p === 0 ? 0 : Number(this.#offsets[g * P + p - 1]!));
    return n;
  }

  /** Requests and bytes of the last read of p. */
  lastCost(p: number): ReadCost | undefined {
    return this.#costs.get(p);
  }

  /** Partition p's rows: one batch per flush group that holds any. */
  async *readPartition(p: number): AsyncIterable<RecordBatch> {
    for (const b of await this.readPartitionBatches(p)) yield b;
  }

  /** Partition p's rows, all at once. */
  async readPartitionBatches(p: number): Promise<RecordBatch[]> {
    const G = this.groups;
    const P = this.numPartitions;
    const widths = this.#widths;
    const ranges = [];
    const counts: number[] = [];
    for (let g = 0; g < G; g++) {
      const i = g * P + p;
      const s = i === 0 ? 0 : Number(this.#offsets[i - 1]!);
      const e = Number(this.#offsets[i]!);
      if (e <= s) continue;
      const r0 = s - this.#slices.groupFirstRow[g]!;
      counts.push(e - s);
      for (let c = 0; c < widths.length; c++) ranges.push({ offset: this.#slices.dataOffset[g]![c]! + r0 * widths[c]!, length: (e - s) * widths[c]! });
    }
    const plan = coalesceRanges(ranges, this.#coalesce);
    this.#costs.set(p, { requests: plan.length, bytes: plan.reduce((s, r) => s + r.length, 0) });
    if (ranges.length === 0) return [];
    const parts = await this.#store.getRanges(artifactPath(this.#uri, DATA_FILE), ranges, this.#coalesce);
    return counts.map((n, k) => batchOf(this.payloadSchema, parts.slice(k * widths.length, (k + 1) * widths.length).map((x) => (x.byteOffset === 0 ? x : x.slice())), n));
  }
}
