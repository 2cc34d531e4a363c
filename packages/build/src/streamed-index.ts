/**
 * The streamed index write: the IVF index file of spec/ivf.md written section by section as the
 * partitions are read from any `PartitionSource`, byte-identical to the in-memory encoder. Section
 * lengths follow from the partition sizes, so every offset is known before the first byte; the
 * header and section table (which hold the CRCs) are written last, at offset 0.
 *
 * On a `LocalDirectoryStore` the bytes go to a temp file in the target directory (positional
 * writes, fsync, rename = the atomic commit), so memory holds one partition at a time. Temp files
 * are named with the store's TEMP_FILE_PREFIX and removed on failure; a SIGKILLed writer leaves
 * one, which the next build of the same path removes before writing. Other stores have only an
 * atomic whole-object `put`, so there the chunks are joined once at the end (bounded by the index
 * size, as before).
 */
import { mkdir, open, readdir, rename, rm } from "node:fs/promises";
import * as nodePath from "node:path";
import type { PartitionSource } from "@quiver/artifact";
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
  type IvfIndexWriteInput,
  type IvfIndexWriteResult,
  PAYLOAD_FIELDS,
  parseIvfIndexMetadata,
  partitionSectionLength,
} from "@quiver/ivf";
import { LocalDirectoryStore, type ObjectStore, TEMP_FILE_PREFIX } from "@quiver/store";
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

async function openSink(store: ObjectStore, path: string, totalBytes: number): Promise<Sink> {
  if (store instanceof LocalDirectoryStore) {
    const final = store.filePath(path);
    const dir = nodePath.dirname(final);
    await mkdir(dir, { recursive: true });
    // reclaim temp files of earlier killed writes of this same object
    const base = nodePath.basename(final);
    for (const name of await readdir(dir)) if (name.startsWith(TEMP_FILE_PREFIX) && name.endsWith(`-idx-${base}`)) await rm(nodePath.join(dir, name), { force: true });
    const temp = nodePath.join(dir, `${TEMP_FILE_PREFIX}${process.pid}-${++tempCounter}-idx-${base}`);
    const fh = await open(temp, "w");
    let closed = false;
    return {
      async write(offset, bytes) {
        let done = 0;
        while (done < bytes.byteLength) done += (await fh.write(bytes, done, bytes.byteLength - done, offset + done)).bytesWritten;
      },
      async commit() {
        await fh.truncate(totalBytes);
        await fh.sync();
        await fh.close();
        closed = true;
        await rename(temp, final);
      },
      async abort() {
        if (!closed) await fh.close();
        await rm(temp, { force: true });
      },
    };
  }
  const chunks: { offset: number; bytes: Uint8Array }[] = [];
  return {
    async write(offset, bytes) {
      chunks.push({ offset, bytes: bytes.slice() });
    },
    async commit() {
      const all = new Uint8Array(totalBytes);
      for (const c of chunks) all.set(c.bytes, c.offset);
      chunks.length = 0;
      await store.put(path, all);
    },
    async abort() {
      chunks.length = 0;
    },
  };
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

/** Write the IVF index of `input` to `store` at `path`, streaming partition by partition. */
export async function writeIvfIndexStreamed(
  store: ObjectStore,
  path: string,
  input: IvfIndexWriteInput,
  onProgress?: StreamedWriteProgress,
): Promise<IvfIndexWriteResult & { peakPartitionBytes: number }> {
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
  // only once the partitions are written: plan with a placeholder of the same length (64 hex
  // digits), write the metadata section last.
  const draft = describe(input, P, numRows, rawVectors, "0".repeat(64));
  const names = Object.keys(input.quantizer.arrays).sort();
  const small = [
    jsonSection(IVF_SECTION.metadata, draft),
    typedSection(IVF_SECTION.centroids, "f32", input.centroids),
    typedSection(IVF_SECTION.rowCounts, "u32", rowCounts),
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
  const sink = await openSink(store, path, end);
  let peakPartitionBytes = 0;
  const digestParts: { rows: number; length: number; crc32: number; raw?: { offset: number; length: number; crc32: number } }[] = [];
  let metadata = draft;
  try {
    for (let i = 1; i < small.length; i++) {
      plan[i]!.crc = crc32(small[i]!.bytes);
      await sink.write(plan[i]!.offset, small[i]!.bytes);
    }
    let at = small.length;
    for (let p = 0; p < P; p++) {
      const rows = rowCounts[p]!;
      // One partition in memory at a time: its ids + codes section and its raw vectors.
      const body = new Uint8Array(partitionSectionLength(rows, codeWidth));
      const raw = rawVectors ? new Uint8Array(rows * dim * 4) : undefined;
      peakPartitionBytes = Math.max(peakPartitionBytes, body.byteLength + (raw?.byteLength ?? 0));
      let got = 0;
      for await (const batch of source.readPartition(p)) {
        const n = batch.numRows;
        if (got + n > rows) throw new RangeError(`partition ${p} yields more than its ${rows} rows`);
        body.set(columnBytes(batch, PAYLOAD_FIELDS.rowId, 8), got * 8);
        body.set(columnBytes(batch, PAYLOAD_FIELDS.code, codeWidth), rows * 8 + got * codeWidth);
        if (raw !== undefined) raw.set(columnBytes(batch, PAYLOAD_FIELDS.vector, dim * 4), got * dim * 4);
        got += n;
      }
      if (got !== rows) throw new RangeError(`partition ${p} yields ${got} rows, partitionSize says ${rows}`);
      const sec = plan[at++]!;
      sec.crc = crc32(body);
      await sink.write(sec.offset, body);
      let rawPart: { offset: number; length: number; crc32: number } | undefined;
      if (raw !== undefined) {
        const rs = plan[at++]!;
        rs.crc = crc32(raw);
        await sink.write(rs.offset, raw);
        rawPart = { offset: 0, length: raw.byteLength, crc32: rs.crc };
      }
      digestParts.push({ rows, length: body.byteLength, crc32: sec.crc, ...(rawPart === undefined ? {} : { raw: rawPart }) });
      onProgress?.(p + 1, P);
    }
    const identity = computeIndexIdentity({ metadata: draft, centroids: input.centroids, arrays: draft.quantizer.arrays.map((a) => input.quantizer.arrays[a.name]!), partitions: digestParts });
    metadata = describe(input, P, numRows, rawVectors, identity);
    const metaBytes = jsonSection(IVF_SECTION.metadata, metadata).bytes;
    if (metaBytes.byteLength !== plan[0]!.length) throw new Error("metadata length changed with the identity");
    plan[0]!.crc = crc32(metaBytes);
    await sink.write(plan[0]!.offset, metaBytes);
    await sink.write(0, frameHead(nameBytes, plan, tEnd, end));
    await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
  return { path, fileSize: end, numRows, identity: metadata.identity, metadata, peakPartitionBytes };
}

/** The index metadata, built and checked exactly as the in-memory writer does. */
function describe(input: IvfIndexWriteInput, P: number, numRows: number, rawVectors: boolean, identity: string): IvfIndexMetadata {
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
    quantizer: { kind: q.kind, residual: q.residual, codeWidth: input.codeWidth, params: { ...q.params }, arrays },
  };
  return parseIvfIndexMetadata(JSON.parse(JSON.stringify(meta)), "encode");
}

/** Header + type name + section table (spec/container.md), with the header CRC. */
function frameHead(nameBytes: Uint8Array, plan: readonly PlannedSection[], tEnd: number, frameLength: number): Uint8Array {
  const out = new Uint8Array(tEnd);
  const view = new DataView(out.buffer);
  out.set(FRAME_MAGIC, 0);
  view.setUint16(4, FRAME_VERSION_MAJOR, true);
  view.setUint16(6, FRAME_VERSION_MINOR, true);
  view.setUint32(12, IVF_INDEX_KIND, true);
  view.setUint32(16, IVF_INDEX_KIND_VERSION, true);
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
