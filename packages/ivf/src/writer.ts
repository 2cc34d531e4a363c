/**
 * The finalize writer: consumes any `PartitionSource`, partition by partition, and writes the IVF
 * index file (spec/ivf.md) to an object store with one atomic put.
 */
import type { PartitionSource } from "@quiver/artifact";
import { QuiverArgumentError, QuiverFormatError, type SectionInput, checkInteger, checkOneOf, checkOptions, crc32, encodeFrame, jsonSection, rawSection, typedSection } from "@quiver/format";
import { quantizerCodeWidth, validateQuantizerMetadata } from "./compute/internal/metadata-validation.js";
import type { ObjectStore } from "@quiver/store";
import type { Data, RecordBatch } from "apache-arrow";
import {
  IVF_INDEX_KIND,
  IVF_INDEX_KIND_VERSION,
  IVF_INDEX_TYPE_NAME,
  IVF_LIMITS,
  IVF_SECTION,
  type IvfIndexMetadata,
  describeIndex,
  partitionSectionLength,
} from "./index-format.js";
import { computeIndexIdentity } from "./identity.js";
import { computeRawRowGroupChecksums, rawRowGroupRowsFor } from "./raw-row-groups.js";
import { PAYLOAD_FIELDS } from "./memory-partition-source.js";
import type { DistanceType, QuantizerMetadata } from "./quantizer.js";

/** What the finalize writer needs besides the partitions. */
export interface IvfIndexWriteInput {
  readonly dim: number;
  readonly distance: DistanceType;
  /** IVF centroids, numPartitions x dim. */
  readonly centroids: Float32Array;
  readonly quantizer: QuantizerMetadata;
  /** Bytes per encoded row. */
  readonly codeWidth: number;
  /** Encoded rows grouped by partition; a `vector` column (FixedSizeList<Float32>[dim]) makes the index store raw vectors. */
  readonly source: PartitionSource;
  /**
   * Kind version of the file (default 3). 2 writes the older layout without raw row-group
   * checksums (refine then verifies whole raw-vector sections), for readers that predate 3.
   */
  readonly kindVersion?: 2 | 3;
}

/** Summary of a written index. */
export interface IvfIndexWriteResult {
  readonly path: string;
  readonly fileSize: number;
  readonly numRows: number;
  /** The index identity (content digest, spec/ivf.md#index-identity): pass it to `openVectorIndex` for a zero-IO reopen. */
  readonly identity: string;
  readonly metadata: IvfIndexMetadata;
}

/** Bytes of a batch column of fixed width per row: a view over the column's child values (no copy). */
function fixedWidthColumnBytes(batch: RecordBatch, name: string, bytesPerRow: number): Uint8Array {
  const col = batch.getChild(name);
  if (col === null) throw new TypeError(`partition batch has no ${JSON.stringify(name)} column`);
  const data = col.data[0] as Data | undefined;
  const n = batch.numRows;
  if (data === undefined) return new Uint8Array(0);
  const child = data.children[0];
  const values = (child === undefined ? data.values : child.values) as ArrayBufferView | undefined;
  if (values === undefined) throw new TypeError(`column ${name} has no values buffer`);
  const elem = (values as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const perRowElems = bytesPerRow / elem;
  const firstElem = child === undefined ? data.offset : (data.offset * perRowElems) + child.offset;
  const bytes = new Uint8Array(values.buffer, values.byteOffset + firstElem * elem, n * bytesPerRow);
  return bytes;
}

const WRITE_INPUT_FIELDS = ["dim", "distance", "centroids", "quantizer", "codeWidth", "source", "kindVersion"] as const;

/**
 * Validate the finalizer's input before any work (QuiverArgumentError): known fields, dim and
 * distance, the quantizer metadata by the reader's own rules (a 10-float codebook, bits 7, NaN
 * bounds are rejected), its dim/distance agreeing with the index, `codeWidth` equal to the
 * quantizer's, finite centroids of numPartitions x dim, and a partition source whose payload
 * schema has that code width (and `dim` for a vector column).
 */
export function checkWriteInput(input: unknown): IvfIndexWriteInput {
  if (input === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "input", expected: "an IvfIndexWriteInput", given: input });
  checkOptions("input", input, WRITE_INPUT_FIELDS);
  const o = input as Record<string, unknown>;
  const dim = checkInteger("input.dim", o.dim, 1, IVF_LIMITS.maxDim);
  if (o.kindVersion !== undefined && o.kindVersion !== 2 && o.kindVersion !== 3) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.kindVersion", expected: "2 or 3", given: o.kindVersion });
  }
  const distance = checkOneOf("input.distance", o.distance, ["l2", "cosine", "dot"] as const);
  const q = o.quantizer as QuantizerMetadata;
  try {
    validateQuantizerMetadata(q);
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw e;
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.quantizer", expected: "valid quantizer metadata (spec/ivf.md#quantizer-metadata)", given: q, hint: e.message });
  }
  if (q.dim !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.quantizer.dim", expected: `the index dim ${dim}`, given: q.dim });
  if (q.distance !== distance) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.quantizer.distance", expected: `the index distance ${distance}`, given: q.distance });
  const width = quantizerCodeWidth(q);
  if (o.codeWidth !== width) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.codeWidth", expected: `${width} (the code width of this ${q.kind} quantizer)`, given: o.codeWidth });
  const source = o.source as Partial<PartitionSource> | undefined;
  if (typeof source !== "object" || source === null || typeof source.partitionSize !== "function" || typeof source.readPartition !== "function" || typeof source.payloadSchema !== "object") {
    throw new QuiverArgumentError(source === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "input.source", expected: "a PartitionSource", given: source });
  }
  const P = checkInteger("input.source.numPartitions", source.numPartitions, 1, IVF_LIMITS.maxPartitions);
  const fields = (source.payloadSchema as { fields?: { name: string; type: { listSize?: number } }[] }).fields ?? [];
  const code = fields.find((f) => f.name === PAYLOAD_FIELDS.code);
  if (code === undefined || code.type.listSize !== width) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.source.payloadSchema", expected: `a ${PAYLOAD_FIELDS.code} column of ${width} bytes per row`, given: code?.type.listSize });
  }
  const vector = fields.find((f) => f.name === PAYLOAD_FIELDS.vector);
  if (vector !== undefined && vector.type.listSize !== dim) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.source.payloadSchema", expected: `a ${PAYLOAD_FIELDS.vector} column of ${dim} floats per row`, given: vector.type.listSize });
  }
  const c = o.centroids;
  if (!(c instanceof Float32Array) || c.length !== P * dim) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.centroids", expected: `a Float32Array of numPartitions x dim = ${P * dim} values`, given: c });
  }
  for (let i = 0; i < c.length; i++) {
    if (!Number.isFinite(c[i])) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `input.centroids[${i}]`, expected: "a finite value", given: c[i] });
  }
  return input as IvfIndexWriteInput;
}

/** Encode the whole index file in memory from a partition source. */
export async function encodeIvfIndex(input: IvfIndexWriteInput): Promise<{ bytes: Uint8Array; metadata: IvfIndexMetadata }> {
  checkWriteInput(input);
  const { source, dim, codeWidth } = input;
  const P = source.numPartitions;
  const rawVectors = source.payloadSchema.fields.some((f: { name: string }) => f.name === PAYLOAD_FIELDS.vector);
  const rowCounts = new Uint32Array(P);
  const kindVersion = input.kindVersion ?? IVF_INDEX_KIND_VERSION;
  // Kind version 3 with raw vectors: one CRC-32 per raw row group (spec/ivf.md#raw-row-group-checksums).
  const rowsPerGroup = kindVersion >= 3 && rawVectors ? rawRowGroupRowsFor(dim) : undefined;
  const groupCrcs: Uint32Array[] = [];
  const partitionSections: SectionInput[] = [];
  const digestParts: { rows: number; length: number; crc32: number; raw?: { offset: number; length: number; crc32: number } }[] = [];
  let numRows = 0;
  for (let p = 0; p < P; p++) {
    const rows = source.partitionSize(p);
    if (!Number.isSafeInteger(rows) || rows < 0 || rows > IVF_LIMITS.maxRowsPerPartition) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `input.source.partitionSize(${p})`, expected: `an integer in [0, ${IVF_LIMITS.maxRowsPerPartition}]`, given: rows });
    }
    const body = new Uint8Array(partitionSectionLength(rows, codeWidth));
    const ids = new BigUint64Array(body.buffer, 0, rows);
    const raw = rawVectors ? new Float32Array(rows * dim) : undefined;
    const rawBytes = raw === undefined ? undefined : new Uint8Array(raw.buffer);
    let at = 0;
    for await (const batch of source.readPartition(p)) {
      const n = batch.numRows;
      if (at + n > rows) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `input.source.readPartition(${p})`, expected: `at most partitionSize = ${rows} rows`, given: at + n });
      ids.set(fixedWidthColumnBytesAsU64(batch), at);
      body.set(fixedWidthColumnBytes(batch, PAYLOAD_FIELDS.code, codeWidth), rows * 8 + at * codeWidth);
      if (rawBytes !== undefined) rawBytes.set(fixedWidthColumnBytes(batch, PAYLOAD_FIELDS.vector, dim * 4), at * dim * 4);
      at += n;
    }
    if (at !== rows) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `input.source.readPartition(${p})`, expected: `partitionSize = ${rows} rows`, given: at });
    rowCounts[p] = rows;
    numRows += rows;
    partitionSections.push(rawSection(IVF_SECTION.partitionBase + p, body));
    if (raw !== undefined) partitionSections.push(typedSection(IVF_SECTION.rawVectorBase + p, "f32", raw));
    if (rawBytes !== undefined && rowsPerGroup !== undefined) groupCrcs.push(computeRawRowGroupChecksums(rawBytes, rows, dim, rowsPerGroup));
    digestParts.push({ rows, length: body.byteLength, crc32: crc32(body), ...(rawBytes === undefined ? {} : { raw: { offset: 0, length: rawBytes.byteLength, crc32: crc32(rawBytes) } }) });
  }
  const draft = describeIndex({ identity: "0".repeat(64), dim, distance: input.distance, numPartitions: P, numRows, rawVectors, quantizer: input.quantizer, codeWidth, ...(rowsPerGroup === undefined ? {} : { rawRowGroupRows: rowsPerGroup }) });
  const rawRowGroupCrcs = rowsPerGroup === undefined ? undefined : concatU32(groupCrcs);
  const identity = computeIndexIdentity({ metadata: draft, centroids: input.centroids, arrays: draft.quantizer.arrays.map((a) => input.quantizer.arrays[a.name]!), partitions: digestParts, ...(rawRowGroupCrcs === undefined ? {} : { rawRowGroupCrcs }) });
  const metadata = { ...draft, identity };
  const sections: SectionInput[] = [
    jsonSection(IVF_SECTION.metadata, metadata),
    typedSection(IVF_SECTION.centroids, "f32", input.centroids),
    typedSection(IVF_SECTION.rowCounts, "u32", rowCounts),
    ...(rawRowGroupCrcs === undefined ? [] : [typedSection(IVF_SECTION.rawRowGroupChecksums, "u32", rawRowGroupCrcs)]),
    ...metadata.quantizer.arrays.map((a, i) => quantizerArraySection(IVF_SECTION.quantizerArrayBase + i, input.quantizer.arrays[a.name]!)),
    ...partitionSections,
  ];
  return { bytes: encodeFrame({ kind: IVF_INDEX_KIND, kindVersion, typeName: IVF_INDEX_TYPE_NAME, sections }), metadata };
}

function concatU32(parts: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

function fixedWidthColumnBytesAsU64(batch: RecordBatch): BigUint64Array {
  const bytes = fixedWidthColumnBytes(batch, PAYLOAD_FIELDS.rowId, 8);
  if (bytes.byteOffset % 8 === 0) return new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  return new BigUint64Array(bytes.slice().buffer);
}

/** A section holding one quantizer array with its natural encoding. */
export function quantizerArraySection(id: number, a: Float32Array | Uint8Array | Uint32Array): SectionInput {
  if (a instanceof Float32Array) return typedSection(id, "f32", a);
  if (a instanceof Uint32Array) return typedSection(id, "u32", a);
  return typedSection(id, "u8", a);
}

/** Write the index to `store` at `path` (one atomic put, so a reader never sees a partial index). */
export async function writeIvfIndex(store: ObjectStore, path: string, input: IvfIndexWriteInput): Promise<IvfIndexWriteResult> {
  if (typeof store !== "object" || store === null || typeof (store as Partial<ObjectStore>).put !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore", given: store });
  }
  if (typeof path !== "string" || path.length === 0 || path.length > 4096) {
    throw new QuiverArgumentError(path === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "path", expected: "an object path of 1..4096 characters", given: path });
  }
  const { bytes, metadata } = await encodeIvfIndex(input);
  await store.put(path, bytes);
  return { path, fileSize: bytes.byteLength, numRows: metadata.numRows, identity: metadata.identity, metadata };
}
