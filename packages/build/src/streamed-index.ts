/**
 * The streamed index write: the IVF index file of spec/ivf.md written section by section as the
 * partitions are read from any `PartitionSource`, byte-identical to the in-memory encoder, on
 * every store, holding one batch of the source (local directory) or one partition (+ the store
 * writer's part buffer; other stores) at a time.
 *
 * The container frame (spec/container.md) puts the header and the section table, which hold every
 * section's CRC-32, at offset 0, and the index metadata (whose identity digests every partition's
 * CRCs, spec/ivf.md#index-identity) in the first section: values known only after the last
 * partition are needed before the first. Section lengths follow from the partition sizes, so
 * every offset is known up front; only the CRCs and the identity are not. Two ways out, without
 * changing the format:
 *
 * - `LocalDirectoryStore`: one pass. Positional writes into a temp file in the target directory
 *   (partitions at their planned offsets, the metadata and frame head last, at their offsets),
 *   fsync, rename = the atomic commit. Temp files are named with the store's TEMP_FILE_PREFIX and
 *   removed on failure; a SIGKILLed writer leaves one, which the next build of the same path
 *   removes before writing (and the store's age rule reclaims otherwise).
 * - Every other store (S3, memory, wrappers, third-party), by default: one pass into a local spill
 *   file (the same positional writes as above, in `tempDir`, default the OS temp dir), then that
 *   file streamed in file order through `openObjectWriter` (the store's streaming writer: a
 *   multipart upload on S3; the buffering fallback, one put, on a store without one), then the
 *   spill file removed. The source is read once; the cost is local disk the size of the index
 *   while it is written. Spill files are named `quiver-index-spill-<pid>-...`: removed on success
 *   and on failure; a SIGKILLed writer leaves one, which the next streamed write using the same
 *   temp dir removes (any spill file whose writer process is no longer alive). An interrupted
 *   object writer is never visible (see the S3 store's README).
 * - `mode: "two-pass"` (for a machine without local disk to spare): two passes over the source,
 *   which the `PartitionSource` contract allows (a partition's rows come in a stable order). Pass 1
 *   reads each partition and computes its CRCs (nothing is written, nothing kept but the CRCs);
 *   then the metadata, identity and frame head are final, and pass 2 writes every byte in file
 *   order through `openObjectWriter`, re-checking each partition's CRCs against pass 1 (a source
 *   that changed between the passes aborts the write: nothing visible). No temp file at all; the
 *   source is read twice.
 *
 * File writes go through a write-combining buffer (contiguous writes, and the alignment padding
 * between sections, merged into writes of up to 4 MiB): a partition of a few dozen rows is not two
 * positional writes of its own.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import type { PartitionSource } from "@quiver/artifact";
import { QuiverArgumentError, checkOneOf, checkOptions } from "@quiver/format";
import {
  FRAME_HEADER,
  FRAME_MAGIC,
  FRAME_VERSION_MAJOR,
  FRAME_VERSION_MINOR,
  SECTION_ALIGNMENT,
  SECTION_ENCODINGS,
  SECTION_ENTRY,
  type SectionEncoding,
  alignUp,
  crc32,
  crc32Combine,
  jsonSection,
  tableEnd,
  typedSection,
} from "@quiver/format";
import {
  IVF_INDEX_KIND,
  IVF_INDEX_KIND_VERSION,
  IVF_INDEX_TYPE_NAME,
  IVF_LIMITS,
  IVF_SECTION,
  type IvfIndexMetadata,
  computeIndexIdentity,
  computeRawRowGroupChecksums,
  rawRowGroupCount,
  rawRowGroupRowsFor,
  type IvfIndexWriteInput,
  type IvfIndexWriteResult,
  PAYLOAD_FIELDS,
  parseIvfIndexMetadata,
  partitionSectionLength,
} from "@quiver/ivf";
import { LocalDirectoryStore, type ObjectStore, type ObjectWriter, TEMP_FILE_PREFIX, openObjectWriter } from "@quiver/store";
import type { Data, RecordBatch } from "apache-arrow";

interface PlannedSection {
  readonly id: number;
  readonly encoding: SectionEncoding;
  readonly length: number;
  readonly offset: number;
  crc: number;
}

/** Where the streamed bytes go. */
interface Sink {
  write(offset: number, bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

let tempCounter = 0;

/** Bytes a file sink gathers before one positional write. */
const COMBINE_BYTES = 4 * 1024 * 1024;

/**
 * Positional writes into an open file through a write-combining buffer: a write that starts where
 * the buffered run ends (or within a section alignment's padding after it: zeros, what the file
 * holds there anyway) is appended; anything else flushes first, so the file ends up exactly as if
 * every write had been made on its own, in order. Two buffers: one is written to the file while
 * the next fills, so the disk write overlaps the reading and decoding of the next partitions.
 */
class CombiningFile {
  readonly #fh: import("node:fs/promises").FileHandle;
  #buf = new Uint8Array(COMBINE_BYTES);
  #spare = new Uint8Array(COMBINE_BYTES);
  #start = 0;
  #len = 0;
  #inflight: Promise<void> | undefined;

  constructor(fh: import("node:fs/promises").FileHandle) {
    this.#fh = fh;
  }

  async write(offset: number, bytes: Uint8Array): Promise<void> {
    const end = this.#start + this.#len;
    const gap = offset - end;
    if (this.#len > 0 && gap >= 0 && gap < SECTION_ALIGNMENT && this.#len + gap + bytes.byteLength <= COMBINE_BYTES) {
      if (gap > 0) this.#buf.fill(0, this.#len, this.#len + gap);
      this.#buf.set(bytes, this.#len + gap);
      this.#len += gap + bytes.byteLength;
      return;
    }
    await this.#launch();
    if (bytes.byteLength >= COMBINE_BYTES / 2) {
      // large: written from the caller's bytes, after the write in flight (order kept)
      await this.#settle();
      return this.#direct(offset, bytes);
    }
    this.#buf.set(bytes, 0);
    this.#start = offset;
    this.#len = bytes.byteLength;
  }

  /** Every buffered byte written (and the write in flight finished). */
  async flush(): Promise<void> {
    await this.#launch();
    await this.#settle();
  }

  /** Wait for the write in flight, ignoring its failure (before closing the file on an abort). */
  async drain(): Promise<void> {
    try {
      await this.#settle();
    } catch {
      // the abort reports the first failure
    }
  }

  /** The buffered run becomes the write in flight (after the previous one finished); filling goes on in the other buffer. */
  async #launch(): Promise<void> {
    if (this.#len === 0) return;
    await this.#settle();
    const bytes = this.#buf.subarray(0, this.#len);
    const at = this.#start;
    this.#len = 0;
    [this.#buf, this.#spare] = [this.#spare, this.#buf];
    const w = this.#direct(at, bytes);
    w.catch(() => undefined); // reported when settled
    this.#inflight = w;
  }

  async #settle(): Promise<void> {
    const w = this.#inflight;
    this.#inflight = undefined;
    if (w !== undefined) await w;
  }

  async #direct(offset: number, bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) done += (await this.#fh.write(bytes, done, bytes.byteLength - done, offset + done)).bytesWritten;
  }
}

async function openLocalSink(store: LocalDirectoryStore, path: string, totalBytes: number): Promise<Sink> {
  const final = store.filePath(path);
  const dir = nodePath.dirname(final);
  await mkdir(dir, { recursive: true });
  // reclaim temp files of earlier killed writes of this same object
  const base = nodePath.basename(final);
  for (const name of await readdir(dir)) if (name.startsWith(TEMP_FILE_PREFIX) && name.endsWith(`-idx-${base}`)) await rm(nodePath.join(dir, name), { force: true });
  const temp = nodePath.join(dir, `${TEMP_FILE_PREFIX}${process.pid}-${++tempCounter}-idx-${base}`);
  const fh = await open(temp, "w");
  const file = new CombiningFile(fh);
  let closed = false;
  return {
    write: (offset, bytes) => file.write(offset, bytes),
    async commit() {
      await file.flush();
      await fh.truncate(totalBytes);
      await fh.sync();
      await fh.close();
      closed = true;
      await rename(temp, final);
    },
    async abort() {
      await file.drain();
      if (!closed) await fh.close();
      await rm(temp, { force: true });
    },
  };
}

/** Name prefix of the spill files of {@link writeIvfIndexStreamed} (in its `tempDir`). */
export const INDEX_SPILL_PREFIX = "quiver-index-spill-";

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by someone else
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Remove spill files in `dir` left by writers that are no longer running (SIGKILLed ones). */
export async function reclaimIndexSpillFiles(dir: string): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!name.startsWith(INDEX_SPILL_PREFIX)) continue;
    const pid = Number(name.slice(INDEX_SPILL_PREFIX.length).split("-")[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    await rm(nodePath.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

/**
 * The one-pass sink of a non-local store: positional writes into a spill file in `dir`; commit
 * streams the file in order through the store's object writer (8 MiB chunks), then removes it.
 */
async function openSpillSink(store: ObjectStore, path: string, dir: string, totalBytes: number): Promise<Sink & { readonly file: string }> {
  await mkdir(dir, { recursive: true });
  await reclaimIndexSpillFiles(dir);
  const file = nodePath.join(dir, `${INDEX_SPILL_PREFIX}${process.pid}-${++tempCounter}-${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(file, "w+");
  const combining = new CombiningFile(fh);
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  return {
    file,
    write: (offset, bytes) => combining.write(offset, bytes),
    async commit() {
      try {
        await combining.flush();
        await fh.truncate(totalBytes);
        const writer = await openObjectWriter(store, path);
        try {
          const CHUNK = 8 * 1024 * 1024;
          for (let at = 0; at < totalBytes; ) {
            // a fresh buffer per chunk: a writer may keep what it was given (the buffering fallback does)
            const chunk = new Uint8Array(Math.min(CHUNK, totalBytes - at));
            let got = 0;
            while (got < chunk.byteLength) {
              const { bytesRead } = await fh.read(chunk, got, chunk.byteLength - got, at + got);
              if (bytesRead === 0) throw new Error(`spill file ${file} ended at ${at + got} of ${totalBytes} bytes`);
              got += bytesRead;
            }
            await writer.write(chunk);
            at += chunk.byteLength;
          }
          await writer.commit();
        } catch (e) {
          await writer.abort();
          throw e;
        }
      } finally {
        await close();
        await rm(file, { force: true });
      }
    },
    async abort() {
      await combining.drain();
      await close();
      await rm(file, { force: true });
    },
  };
}

/** Sequential sink over a store's object writer: every byte in file order, zero padding between sections. */
class SequentialSink {
  readonly #writer: ObjectWriter;
  #at = 0;

  constructor(writer: ObjectWriter) {
    this.#writer = writer;
  }

  async writeAt(offset: number, bytes: Uint8Array): Promise<void> {
    if (offset < this.#at) throw new Error(`sequential write at ${offset}, already at ${this.#at}`);
    if (offset > this.#at) await this.#writer.write(new Uint8Array(offset - this.#at));
    await this.#writer.write(bytes);
    this.#at = offset + bytes.byteLength;
  }

  commit(): Promise<void> {
    return this.#writer.commit();
  }

  abort(): Promise<void> {
    return this.#writer.abort();
  }
}

/** A view of a fixed-width column's values of a batch (no copy). */
function columnBytes(batch: RecordBatch, name: string, bytesPerRow: number): Uint8Array {
  const col = batch.getChild(name);
  if (col === null) throw new TypeError(`partition batch has no ${JSON.stringify(name)} column`);
  const n = batch.numRows;
  if (n === 0) return new Uint8Array(0);
  if (col.data.length !== 1) throw new TypeError(`column ${name} has ${col.data.length} chunks`);
  const data = col.data[0] as Data;
  const child = data.children[0];
  const values = (child === undefined ? data.values : child.values) as ArrayBufferView & { BYTES_PER_ELEMENT: number };
  const elem = values.BYTES_PER_ELEMENT;
  const perRow = bytesPerRow / elem;
  const first = child === undefined ? data.offset : data.offset * perRow + child.offset;
  return new Uint8Array(values.buffer, values.byteOffset + first * elem, n * bytesPerRow);
}

/** Progress callback of {@link writeIvfIndexStreamed}: partitions written so far. */
export type StreamedWriteProgress = (done: number, total: number) => void;

/** Options of {@link writeIvfIndexStreamed} (they matter only on stores other than a local directory). */
export interface StreamedWriteOptions {
  /** "spill" (default): one source pass into a local spill file, then streamed to the store; "two-pass": no local file, the source read twice. */
  readonly mode?: "spill" | "two-pass";
  /** Directory of the spill file (default: the OS temp dir); needs free space the size of the index. */
  readonly tempDir?: string;
}

/**
 * Write the IVF index of `input` to `store` at `path`, streaming partition by partition on every
 * store: one source pass (on a store other than a local directory through a local spill file, or
 * two passes with `mode: "two-pass"`: see the file comment).
 */
export async function writeIvfIndexStreamed(
  store: ObjectStore,
  path: string,
  input: IvfIndexWriteInput,
  onProgress?: StreamedWriteProgress,
  options: StreamedWriteOptions = {},
): Promise<IvfIndexWriteResult & { peakPartitionBytes: number; sourcePasses: 1 | 2 }> {
  checkOptions("options", options, ["mode", "tempDir"]);
  const mode = options.mode === undefined ? "spill" : checkOneOf("options.mode", options.mode, ["spill", "two-pass"] as const);
  if (options.tempDir !== undefined && (typeof options.tempDir !== "string" || options.tempDir === "")) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.tempDir", expected: "a directory path", given: options.tempDir });
  }
  const { source, dim, codeWidth } = input;
  const P = source.numPartitions;
  if (P < 1 || P > IVF_LIMITS.maxPartitions) throw new RangeError(`numPartitions ${P}`);
  if (input.centroids.length !== P * dim) throw new RangeError(`centroids has ${input.centroids.length} values, expected ${P * dim}`);
  const rawVectors = source.payloadSchema.fields.some((f: { name: string }) => f.name === PAYLOAD_FIELDS.vector);
  const rowCounts = new Uint32Array(P);
  let numRows = 0;
  for (let p = 0; p < P; p++) {
    const rows = source.partitionSize(p);
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > IVF_LIMITS.maxRowsPerPartition) throw new RangeError(`partition ${p}: ${rows} rows`);
    rowCounts[p] = rows;
    numRows += rows;
  }
  // The identity (spec/ivf.md#index-identity) digests every partition's rows, length and CRCs, known
  // only once every partition was read: plan with a placeholder of the same length (64 hex
  // digits); the final metadata is written last (local) or first, after pass 1 (elsewhere).
  const kindVersion = input.kindVersion ?? IVF_INDEX_KIND_VERSION;
  // Kind version 3 with raw vectors: a CRC-32 per raw row group (spec/ivf.md#raw-row-group-checksums),
  // one table for every partition; its length is known now, its values after each partition is read.
  const rowsPerGroup = kindVersion >= 3 && rawVectors ? rawRowGroupRowsFor(dim) : undefined;
  const groupFirst = new Uint32Array(P + 1);
  for (let p = 0; p < P; p++) groupFirst[p + 1] = groupFirst[p]! + (rowsPerGroup === undefined ? 0 : rawRowGroupCount(rowCounts[p]!, rowsPerGroup));
  const groupCrcs = rowsPerGroup === undefined ? undefined : new Uint32Array(groupFirst[P]!);
  const draft = describe(input, P, numRows, rawVectors, "0".repeat(64), rowsPerGroup);
  const names = Object.keys(input.quantizer.arrays).sort();
  const small = [
    jsonSection(IVF_SECTION.metadata, draft),
    typedSection(IVF_SECTION.centroids, "f32", input.centroids),
    typedSection(IVF_SECTION.rowCounts, "u32", rowCounts),
    // a view of groupCrcs: filled in as partitions are read, written (and its CRC taken) after the last
    ...(groupCrcs === undefined ? [] : [typedSection(IVF_SECTION.rawRowGroupChecksums, "u32", groupCrcs)]),
    ...names.map((n, i) => {
      const a = input.quantizer.arrays[n]!;
      const id = IVF_SECTION.quantizerArrayBase + i;
      return a instanceof Float32Array ? typedSection(id, "f32", a) : a instanceof Uint32Array ? typedSection(id, "u32", a) : typedSection(id, "u8", a);
    }),
  ];
  const specs: { id: number; encoding: SectionEncoding; length: number }[] = small.map((s) => ({ id: s.id, encoding: s.encoding, length: s.bytes.byteLength }));
  for (let p = 0; p < P; p++) {
    specs.push({ id: IVF_SECTION.partitionBase + p, encoding: "raw", length: partitionSectionLength(rowCounts[p]!, codeWidth) });
    if (rawVectors) specs.push({ id: IVF_SECTION.rawVectorBase + p, encoding: "f32", length: rowCounts[p]! * dim * 4 });
  }
  const nameBytes = new TextEncoder().encode(IVF_INDEX_TYPE_NAME);
  const tEnd = tableEnd(nameBytes.length, specs.length);
  let end = tEnd;
  const plan: PlannedSection[] = specs.map((s) => {
    const offset = alignUp(end, SECTION_ALIGNMENT);
    end = offset + s.length;
    return { ...s, offset, crc: 0 };
  });
  let peakPartitionBytes = 0;
  const digestParts: DigestPart[] = [];
  const fieldIndex = (name: string): number => source.payloadSchema.fields.findIndex((f: { name: string }) => f.name === name);
  const idCol = fieldIndex(PAYLOAD_FIELDS.rowId);
  const codeCol = fieldIndex(PAYLOAD_FIELDS.code);
  const rawCol = rawVectors ? fieldIndex(PAYLOAD_FIELDS.vector) : -1;
  if (idCol < 0 || codeCol < 0) throw new TypeError(`the payload schema needs ${JSON.stringify(PAYLOAD_FIELDS.rowId)} and ${JSON.stringify(PAYLOAD_FIELDS.code)} columns`);
  /**
   * Partition p's rows as column bytes: from the source's column read when it has one (no Arrow
   * objects), else from its record batches (views of their value buffers).
   */
  const pieces = async function* (p: number): AsyncGenerator<{ n: number; ids: Uint8Array; codes: Uint8Array; raw: Uint8Array | undefined }> {
    if (source.readPartitionColumns !== undefined) {
      for await (const e of source.readPartitionColumns(p)) {
        const n = e.rows;
        const ids = e.columns[idCol]!;
        const codes = e.columns[codeCol]!;
        const raw = rawCol < 0 ? undefined : e.columns[rawCol]!;
        if (ids.byteLength !== n * 8 || codes.byteLength !== n * codeWidth || (raw !== undefined && raw.byteLength !== n * dim * 4)) {
          throw new RangeError(`partition ${p}: a piece of ${n} rows has column bytes ${ids.byteLength} / ${codes.byteLength}${raw === undefined ? "" : ` / ${raw.byteLength}`}`);
        }
        yield { n, ids, codes, raw };
      }
      return;
    }
    for await (const batch of source.readPartition(p)) {
      yield { n: batch.numRows, ids: columnBytes(batch, PAYLOAD_FIELDS.rowId, 8), codes: columnBytes(batch, PAYLOAD_FIELDS.code, codeWidth), raw: rawVectors ? columnBytes(batch, PAYLOAD_FIELDS.vector, dim * 4) : undefined };
    }
  };

  /** Partition p's ids + codes section and raw-vector section, one partition in memory at a time. */
  const assemble = async (p: number): Promise<{ body: Uint8Array; raw: Uint8Array | undefined }> => {
    const rows = rowCounts[p]!;
    const body = new Uint8Array(partitionSectionLength(rows, codeWidth));
    const raw = rawVectors ? new Uint8Array(rows * dim * 4) : undefined;
    peakPartitionBytes = Math.max(peakPartitionBytes, body.byteLength + (raw?.byteLength ?? 0));
    let got = 0;
    for await (const piece of pieces(p)) {
      const n = piece.n;
      if (got + n > rows) throw new RangeError(`partition ${p} yields more than its ${rows} rows`);
      body.set(piece.ids, got * 8);
      body.set(piece.codes, rows * 8 + got * codeWidth);
      if (raw !== undefined) raw.set(piece.raw!, got * dim * 4);
      got += n;
    }
    if (got !== rows) throw new RangeError(`partition ${p} yields ${got} rows, partitionSize says ${rows}`);
    return { body, raw };
  };
  /** Record partition p's CRCs in the plan and the identity digest (plan index `at`). */
  const record = (p: number, at: number, body: Uint8Array, raw: Uint8Array | undefined): void => {
    const sec = plan[at]!;
    sec.crc = crc32(body);
    let rawPart: DigestPart["raw"];
    if (raw !== undefined) {
      const rs = plan[at + 1]!;
      rs.crc = crc32(raw);
      rawPart = { offset: 0, length: raw.byteLength, crc32: rs.crc };
      if (groupCrcs !== undefined) computeRawRowGroupChecksums(raw, rowCounts[p]!, dim, rowsPerGroup!, groupCrcs, groupFirst[p]!);
    }
    digestParts.push({ rows: rowCounts[p]!, length: body.byteLength, crc32: sec.crc, ...(rawPart === undefined ? {} : { raw: rawPart }) });
  };
  /**
   * Local one-pass path: partition p streamed batch by batch to its planned offsets (ids, codes and
   * raw vectors each at their place), the CRCs kept running (the section's ids ++ codes CRC put
   * together with crc32Combine), so what is held is one batch of the source, not the partition.
   */
  const streamPartition = async (p: number, at: number, sink: Sink): Promise<void> => {
    const rows = rowCounts[p]!;
    const bodyAt = plan[at]!.offset;
    const rawAt = rawVectors ? plan[at + 1]!.offset : 0;
    let idsCrc = 0;
    let codesCrc = 0;
    let sectionCrc: number | undefined;
    let rawCrc = 0;
    let got = 0;
    for await (const piece of pieces(p)) {
      const n = piece.n;
      if (got + n > rows) throw new RangeError(`partition ${p} yields more than its ${rows} rows`);
      const { ids, codes, raw } = piece;
      peakPartitionBytes = Math.max(peakPartitionBytes, ids.byteLength + codes.byteLength + (raw?.byteLength ?? 0));
      idsCrc = crc32(ids, idsCrc);
      // the whole partition in one piece (the usual case): the section's CRC runs on from the ids, no combine
      if (n === rows) sectionCrc = crc32(codes, idsCrc);
      else codesCrc = crc32(codes, codesCrc);
      await sink.write(bodyAt + got * 8, ids);
      await sink.write(bodyAt + rows * 8 + got * codeWidth, codes);
      if (raw !== undefined) {
        // with row-group CRCs the section's CRC is put together from them at the end (one CRC pass over the raw bytes, not two)
        if (groupCrcs === undefined) rawCrc = crc32(raw, rawCrc);
        else {
          // row-group CRCs kept running too: a batch may start or end inside a group
          const rowBytes = dim * 4;
          for (let r = 0; r < n; ) {
            const row = got + r;
            const g = groupFirst[p]! + Math.floor(row / rowsPerGroup!);
            const take = Math.min(n - r, rowsPerGroup! - (row % rowsPerGroup!));
            groupCrcs[g] = crc32(raw.subarray(r * rowBytes, (r + take) * rowBytes), row % rowsPerGroup! === 0 ? 0 : groupCrcs[g]!);
            r += take;
          }
        }
        await sink.write(rawAt + got * dim * 4, raw);
      }
      got += n;
    }
    if (got !== rows) throw new RangeError(`partition ${p} yields ${got} rows, partitionSize says ${rows}`);
    const sec = plan[at]!;
    sec.crc = sectionCrc ?? crc32Combine(idsCrc, codesCrc, rows * codeWidth);
    let rawPart: DigestPart["raw"];
    if (rawVectors) {
      if (groupCrcs !== undefined) {
        const rowBytes = dim * 4;
        for (let g = groupFirst[p]!, row = 0; g < groupFirst[p + 1]!; g++, row += rowsPerGroup!) {
          rawCrc = crc32Combine(rawCrc, groupCrcs[g]!, Math.min(rowsPerGroup!, rows - row) * rowBytes);
        }
      }
      plan[at + 1]!.crc = rawCrc;
      rawPart = { offset: 0, length: rows * dim * 4, crc32: rawCrc };
    }
    digestParts.push({ rows, length: sec.length, crc32: sec.crc, ...(rawPart === undefined ? {} : { raw: rawPart }) });
  };
  const sectionsPer = rawVectors ? 2 : 1;
  const finalMetadata = (): { metadata: IvfIndexMetadata; metaBytes: Uint8Array } => {
    const identity = computeIndexIdentity({
      metadata: draft,
      centroids: input.centroids,
      arrays: draft.quantizer.arrays.map((a) => input.quantizer.arrays[a.name]!),
      partitions: digestParts,
      ...(groupCrcs === undefined ? {} : { rawRowGroupCrcs: groupCrcs }),
    });
    const metadata = describe(input, P, numRows, rawVectors, identity, rowsPerGroup);
    const metaBytes = jsonSection(IVF_SECTION.metadata, metadata).bytes;
    if (metaBytes.byteLength !== plan[0]!.length) throw new Error("metadata length changed with the identity");
    plan[0]!.crc = crc32(metaBytes);
    if (groupAt >= 0) plan[groupAt]!.crc = crc32(small[groupAt]!.bytes);
    return { metadata, metaBytes };
  };
  // The row-group table (plan index groupAt) is final only after the last partition: it is written with the metadata.
  const groupAt = groupCrcs === undefined ? -1 : 3;
  for (let i = 1; i < small.length; i++) if (i !== groupAt) plan[i]!.crc = crc32(small[i]!.bytes);

  let metadata: IvfIndexMetadata;
  let sourcePasses: 1 | 2;
  if (store instanceof LocalDirectoryStore || mode === "spill") {
    // One pass: positional writes, metadata and frame head last (see the file comment); into the
    // target directory's temp file (renamed) or a spill file (streamed to the store).
    sourcePasses = 1;
    const sink = store instanceof LocalDirectoryStore ? await openLocalSink(store, path, end) : await openSpillSink(store, path, options.tempDir ?? tmpdir(), end);
    try {
      for (let i = 1; i < small.length; i++) if (i !== groupAt) await sink.write(plan[i]!.offset, small[i]!.bytes);
      for (let p = 0; p < P; p++) {
        await streamPartition(p, small.length + p * sectionsPer, sink);
        onProgress?.(p + 1, P);
      }
      const fin = finalMetadata();
      metadata = fin.metadata;
      await sink.write(plan[0]!.offset, fin.metaBytes);
      if (groupAt >= 0) await sink.write(plan[groupAt]!.offset, small[groupAt]!.bytes);
      await sink.write(0, frameHead(nameBytes, plan, tEnd, end, kindVersion));
      await sink.commit();
    } catch (e) {
      await sink.abort();
      throw e;
    }
  } else {
    // Two passes: CRCs first, then every byte in file order through the store's writer.
    sourcePasses = 2;
    for (let p = 0; p < P; p++) {
      const { body, raw } = await assemble(p);
      record(p, small.length + p * sectionsPer, body, raw);
      onProgress?.(p + 1, 2 * P);
    }
    const fin = finalMetadata();
    metadata = fin.metadata;
    const sink = new SequentialSink(await openObjectWriter(store, path));
    try {
      await sink.writeAt(0, frameHead(nameBytes, plan, tEnd, end, kindVersion));
      await sink.writeAt(plan[0]!.offset, fin.metaBytes);
      for (let i = 1; i < small.length; i++) await sink.writeAt(plan[i]!.offset, small[i]!.bytes);
      for (let p = 0; p < P; p++) {
        const { body, raw } = await assemble(p);
        const at = small.length + p * sectionsPer;
        if (crc32(body) !== plan[at]!.crc || (raw !== undefined && crc32(raw) !== plan[at + 1]!.crc)) {
          throw new RangeError(`partition ${p} read back different bytes on the second pass: the source must yield a partition's rows in a stable order`);
        }
        await sink.writeAt(plan[at]!.offset, body);
        if (raw !== undefined) await sink.writeAt(plan[at + 1]!.offset, raw);
        onProgress?.(P + p + 1, 2 * P);
      }
      await sink.commit();
    } catch (e) {
      await sink.abort();
      throw e;
    }
  }
  return { path, fileSize: end, numRows, identity: metadata.identity, metadata, peakPartitionBytes, sourcePasses };
}

type DigestPart = { rows: number; length: number; crc32: number; raw?: { offset: number; length: number; crc32: number } };

/** The index metadata, built and checked exactly as the in-memory writer does. */
function describe(input: IvfIndexWriteInput, P: number, numRows: number, rawVectors: boolean, identity: string, rawRowGroupRows: number | undefined): IvfIndexMetadata {
  const q = input.quantizer;
  const arrays = Object.keys(q.arrays)
    .sort()
    .map((name) => {
      const a = q.arrays[name]!;
      return { name, encoding: a instanceof Float32Array ? "f32" : a instanceof Uint32Array ? "u32" : "u8", length: a.length };
    });
  const meta = {
    identity,
    dim: input.dim,
    distance: input.distance,
    numPartitions: P,
    numRows,
    rawVectors,
    ...(rawRowGroupRows === undefined ? {} : { rawRowGroupRows }),
    quantizer: { kind: q.kind, residual: q.residual, codeWidth: input.codeWidth, params: { ...q.params }, arrays },
  };
  return parseIvfIndexMetadata(JSON.parse(JSON.stringify(meta)), "encode");
}

/** Header + type name + section table (spec/container.md), with the header CRC. */
function frameHead(nameBytes: Uint8Array, plan: readonly PlannedSection[], tEnd: number, frameLength: number, kindVersion: number): Uint8Array {
  const out = new Uint8Array(tEnd);
  const view = new DataView(out.buffer);
  out.set(FRAME_MAGIC, 0);
  view.setUint16(4, FRAME_VERSION_MAJOR, true);
  view.setUint16(6, FRAME_VERSION_MINOR, true);
  view.setUint32(12, IVF_INDEX_KIND, true);
  view.setUint32(16, kindVersion, true);
  view.setUint16(20, nameBytes.length, true);
  view.setUint32(24, plan.length, true);
  view.setBigUint64(32, BigInt(frameLength), true);
  out.set(nameBytes, FRAME_HEADER.size);
  let e = tEnd - plan.length * SECTION_ENTRY.size;
  for (const s of plan) {
    view.setUint32(e, s.id, true);
    view.setUint8(e + 4, SECTION_ENCODINGS[s.encoding].code);
    view.setBigUint64(e + 8, BigInt(s.offset), true);
    view.setBigUint64(e + 16, BigInt(s.length), true);
    view.setUint32(e + 24, s.crc, true);
    e += SECTION_ENTRY.size;
  }
  // header CRC over [0, tEnd) with its own field (bytes 28..32) as zero, which it still is here
  view.setUint32(28, crc32(out), true);
  return out;
}
