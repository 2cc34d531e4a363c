/**
 * The on-store IVF index layout (spec/ivf.md): one Quiver container frame of kind 32
 * (`ivf-index`), metadata sections first, then one contiguous section per partition (row ids +
 * codes) and, optionally, one raw-vector section per partition right after it.
 */
import { QuiverFormatError, SECTION_ALIGNMENT, describeValue } from "@quiver/format";
import { isIndexIdentity } from "./identity.js";
import { MAX_RAW_ROW_GROUP_ROWS } from "./raw-row-groups.js";
import type { DistanceType, QuantizerKind, QuantizerMetadata } from "./quantizer.js";

/** Container kind of an IVF index file (spec/registry.csv). */
export const IVF_INDEX_KIND = 32;
/** Type name written in the frame header of an IVF index file. */
export const IVF_INDEX_TYPE_NAME = "ivf-index";
/** Payload layout version of kind 32 this implementation writes by default and the newest it reads (3 added the raw row-group checksums). */
export const IVF_INDEX_KIND_VERSION = 3;
/** Oldest payload layout version read: 2 (version 1 had no identity member). */
export const IVF_INDEX_MIN_KIND_VERSION = 2;

/** Section ids of an IVF index file. */
export const IVF_SECTION = {
  /** JSON metadata ({@link IvfIndexMetadata}). */
  metadata: 0,
  /** f32 centroids, numPartitions x dim, row-major. */
  centroids: 1,
  /** u32 row count per partition. */
  rowCounts: 2,
  /** Kind version 3 with raw vectors: u32 CRC-32 per raw-vector row group, every partition's in order. */
  rawRowGroupChecksums: 3,
  /** First quantizer array; array i (in metadata order) has id 16 + i. */
  quantizerArrayBase: 16,
  /** Partition p's row ids + codes: id 0x10000000 + p. */
  partitionBase: 0x1000_0000,
  /** Partition p's raw vectors (f32, rows x dim): id 0x20000000 + p. */
  rawVectorBase: 0x2000_0000,
} as const;

/** MUST-level maxima of the IVF layout. */
export const IVF_LIMITS = {
  maxDim: 65_536,
  maxPartitions: 65_536,
  maxQuantizerArrays: 16,
  maxQuantizerParams: 64,
  maxNameLength: 64,
  /** Longest string parameter value. */
  maxParamStringLength: 256,
  maxMetadataBytes: 1 << 20,
  maxRowsPerPartition: 0xffff_ffff,
  maxRows: Number.MAX_SAFE_INTEGER,
  /** Code width at most dim * 4 (flat f32 is the widest). */
  maxCodeWidthPerDim: 4,
} as const;

/** Bytes of the speculative first read of a cold open (header + section table + small metadata). */
export const COLD_OPEN_PREFIX_BYTES = 64 * 1024;

const DISTANCES: readonly DistanceType[] = ["l2", "cosine", "dot"];
const KINDS: readonly QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
const ARRAY_ENCODINGS = ["f32", "u8", "u32"] as const;
/** Encoding of a quantizer array section. */
export type QuantizerArrayEncoding = (typeof ARRAY_ENCODINGS)[number];

/** One quantizer array as described in the metadata. */
export interface QuantizerArrayInfo {
  readonly name: string;
  readonly encoding: QuantizerArrayEncoding;
  /** Element count. */
  readonly length: number;
}

/** The JSON metadata section of an IVF index file (and of the cached state). */
export interface IvfIndexMetadata {
  /** Content digest of the index (spec/ivf.md#index-identity): 64 lowercase hex digits. */
  readonly identity: string;
  readonly dim: number;
  readonly distance: DistanceType;
  readonly numPartitions: number;
  readonly numRows: number;
  /** True when every partition has a raw-vector section (refine is possible). */
  readonly rawVectors: boolean;
  /** Kind version 3 with raw vectors: rows per raw-vector row group (spec/ivf.md#raw-row-group-checksums). */
  readonly rawRowGroupRows?: number;
  readonly quantizer: {
    readonly kind: QuantizerKind;
    readonly residual: boolean;
    readonly codeWidth: number;
    readonly params: Readonly<Record<string, number | boolean | string>>;
    readonly arrays: readonly QuantizerArrayInfo[];
  };
}

/** Where one partition's bytes are in the index file. */
export interface PartitionLocation {
  readonly rows: number;
  /** Row ids + codes section. */
  readonly offset: number;
  readonly length: number;
  readonly crc32: number;
  /** Raw-vector section, when the index stores raw vectors. */
  readonly raw?: { readonly offset: number; readonly length: number; readonly crc32: number };
}

function fail(code: string, message: string, stage: string, offset?: number): never {
  throw new QuiverFormatError(code, message, offset === undefined ? { stage } : { stage, offset });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], what: string, stage: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail("SCHEMA_VIOLATION", `${what}: unknown field ${describeValue(k)}`, stage);
  for (const k of allowed) if (!Object.hasOwn(o, k)) fail("SCHEMA_VIOLATION", `${what}: missing field ${describeValue(k)}`, stage);
}

/** Type first (SCHEMA_VIOLATION), then below the minimum (INVALID_VALUE), then above the maximum (LIMIT_EXCEEDED). */
function intIn(v: unknown, min: number, max: number, what: string, stage: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail("SCHEMA_VIOLATION", `${what} is not an integer: ${describeValue(v)}`, stage);
  if (v < min) fail("INVALID_VALUE", `${what} = ${v}, below the minimum ${min}`, stage);
  if (v > max) fail("LIMIT_EXCEEDED", `${what} = ${v}, above the maximum ${max}`, stage);
  return v;
}

/** Bytes of partition p's row-id + code section for `rows` rows. */
export function partitionSectionLength(rows: number, codeWidth: number): number {
  return rows * (8 + codeWidth);
}

/**
 * Validate parsed metadata JSON against the schema and limits of spec/ivf.md; returns it typed.
 * `stage` names where it came from ("metadata" for index files, "payload" for cache entries).
 */
export function parseIvfIndexMetadata(json: unknown, stage = "metadata", rowGroups: RowGroupMember = "optional"): IvfIndexMetadata {
  if (!isObject(json)) fail("SCHEMA_VIOLATION", "metadata is not an object", stage);
  const hasRowGroups = rowGroups !== "forbidden" && Object.hasOwn(json, ROW_GROUP_MEMBER);
  checkKeys(json, hasRowGroups ? [...METADATA_KEYS, ROW_GROUP_MEMBER] : METADATA_KEYS, "metadata", stage);
  const identity = json.identity;
  if (!isIndexIdentity(identity)) fail("SCHEMA_VIOLATION", `identity is not 64 lowercase hex digits: ${describeValue(identity)}`, stage);
  const dim = intIn(json.dim, 1, IVF_LIMITS.maxDim, "dim", stage);
  const distance = json.distance;
  if (typeof distance !== "string" || !DISTANCES.includes(distance as DistanceType)) fail("SCHEMA_VIOLATION", `distance ${describeValue(distance)}`, stage);
  const numPartitions = intIn(json.numPartitions, 1, IVF_LIMITS.maxPartitions, "numPartitions", stage);
  const numRows = intIn(json.numRows, 0, IVF_LIMITS.maxRows, "numRows", stage);
  if (typeof json.rawVectors !== "boolean") fail("SCHEMA_VIOLATION", "rawVectors is not a boolean", stage);
  // rawRowGroupRows: kind version 3 only, present exactly when raw vectors are.
  if (hasRowGroups && !json.rawVectors) fail("SCHEMA_VIOLATION", "rawRowGroupRows in an index without raw vectors", stage);
  if (!hasRowGroups && rowGroups === "required" && json.rawVectors) fail("SCHEMA_VIOLATION", "metadata: missing field \"rawRowGroupRows\"", stage);
  const rawRowGroupRows = hasRowGroups ? intIn(json.rawRowGroupRows, 1, MAX_RAW_ROW_GROUP_ROWS, "rawRowGroupRows", stage) : undefined;
  const q = json.quantizer;
  if (!isObject(q)) fail("SCHEMA_VIOLATION", "quantizer is not an object", stage);
  checkKeys(q, ["kind", "residual", "codeWidth", "params", "arrays"], "quantizer", stage);
  if (typeof q.kind !== "string" || !KINDS.includes(q.kind as QuantizerKind)) fail("SCHEMA_VIOLATION", `quantizer kind ${describeValue(q.kind)}`, stage);
  if (typeof q.residual !== "boolean") fail("SCHEMA_VIOLATION", "quantizer.residual is not a boolean", stage);
  const codeWidth = intIn(q.codeWidth, 1, dim * IVF_LIMITS.maxCodeWidthPerDim, "codeWidth", stage);
  if (!isObject(q.params)) fail("SCHEMA_VIOLATION", "quantizer.params is not an object", stage);
  const paramKeys = Object.keys(q.params);
  if (paramKeys.length > IVF_LIMITS.maxQuantizerParams) fail("LIMIT_EXCEEDED", `${paramKeys.length} quantizer params, above the maximum ${IVF_LIMITS.maxQuantizerParams}`, stage);
  const params: Record<string, number | boolean | string> = Object.create(null);
  for (const k of paramKeys) {
    if (k.length === 0) fail("INVALID_VALUE", "empty param name", stage);
    if (k.length > IVF_LIMITS.maxNameLength) fail("LIMIT_EXCEEDED", `param name of ${k.length} chars`, stage);
    const v = q.params[k];
    if (typeof v === "number" ? !Number.isFinite(v) : typeof v === "string" ? v.length > IVF_LIMITS.maxParamStringLength : typeof v !== "boolean") {
      fail("SCHEMA_VIOLATION", `param ${describeValue(k)} is not a finite number, boolean or short string: ${describeValue(v)}`, stage);
    }
    params[k] = v as number | boolean | string;
  }
  if (!Array.isArray(q.arrays)) fail("SCHEMA_VIOLATION", "quantizer.arrays is not an array", stage);
  if (q.arrays.length > IVF_LIMITS.maxQuantizerArrays) fail("LIMIT_EXCEEDED", `${q.arrays.length} quantizer arrays, above the maximum ${IVF_LIMITS.maxQuantizerArrays}`, stage);
  const names = new Set<string>();
  const arrays: QuantizerArrayInfo[] = q.arrays.map((a: unknown, i: number) => {
    if (!isObject(a)) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}] is not an object`, stage);
    checkKeys(a, ["name", "encoding", "length"], `quantizer.arrays[${i}]`, stage);
    if (typeof a.name !== "string" || a.name.length === 0 || a.name.length > IVF_LIMITS.maxNameLength) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}].name`, stage);
    if (names.has(a.name)) fail("SCHEMA_VIOLATION", `quantizer array ${describeValue(a.name)} appears twice`, stage);
    names.add(a.name);
    if (!ARRAY_ENCODINGS.includes(a.encoding as QuantizerArrayEncoding)) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}].encoding`, stage);
    const length = intIn(a.length, 0, Number.MAX_SAFE_INTEGER / 8, `quantizer.arrays[${i}].length`, stage);
    return { name: a.name, encoding: a.encoding as QuantizerArrayEncoding, length };
  });
  return {
    identity,
    dim,
    distance: distance as DistanceType,
    numPartitions,
    numRows,
    rawVectors: json.rawVectors,
    ...(rawRowGroupRows === undefined ? {} : { rawRowGroupRows }),
    quantizer: { kind: q.kind as QuantizerKind, residual: q.residual, codeWidth, params, arrays },
  };
}

const METADATA_KEYS = ["identity", "dim", "distance", "numPartitions", "numRows", "rawVectors", "quantizer"] as const;
const ROW_GROUP_MEMBER = "rawRowGroupRows";

/**
 * How metadata treats `rawRowGroupRows`: `forbidden` (kind version 2: an unknown member),
 * `required` (kind version 3: present iff rawVectors), `optional` (a cached state, whose file may
 * be of either version: the identity digest tells them apart).
 */
export type RowGroupMember = "forbidden" | "required" | "optional";

/** The metadata rule for `rawRowGroupRows` in an index file of kind version `v`. */
export function rowGroupMemberOf(kindVersion: number): RowGroupMember {
  return kindVersion >= 3 ? "required" : "forbidden";
}

/** Metadata for a trained quantizer and IVF model (the writer's input). */
export function describeIndex(opts: {
  identity: string;
  dim: number;
  distance: DistanceType;
  numPartitions: number;
  numRows: number;
  rawVectors: boolean;
  quantizer: QuantizerMetadata;
  codeWidth: number;
  /** Kind version 3 with raw vectors: rows per raw-vector row group. */
  rawRowGroupRows?: number;
}): IvfIndexMetadata {
  const arrays = Object.keys(opts.quantizer.arrays)
    .sort()
    .map((name): QuantizerArrayInfo => {
      const a = opts.quantizer.arrays[name]!;
      return { name, encoding: arrayEncoding(a), length: a.length };
    });
  const meta: IvfIndexMetadata = {
    identity: opts.identity,
    dim: opts.dim,
    distance: opts.distance,
    numPartitions: opts.numPartitions,
    numRows: opts.numRows,
    rawVectors: opts.rawVectors,
    ...(opts.rawRowGroupRows === undefined ? {} : { rawRowGroupRows: opts.rawRowGroupRows }),
    quantizer: {
      kind: opts.quantizer.kind,
      residual: opts.quantizer.residual,
      codeWidth: opts.codeWidth,
      params: { ...opts.quantizer.params },
      arrays,
    },
  };
  // Validate what we are about to write with the reader's own rules.
  return parseIvfIndexMetadata(JSON.parse(JSON.stringify(meta)), "encode");
}

/** Section encoding of a quantizer array. */
export function arrayEncoding(a: Float32Array | Uint8Array | Uint32Array): QuantizerArrayEncoding {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Uint8Array) return "u8";
  if (a instanceof Uint32Array) return "u32";
  return fail("INVALID_VALUE", "quantizer arrays must be Float32Array, Uint8Array or Uint32Array", "encode");
}

/** Rebuild the quantizer metadata from the parsed JSON and the array sections (views, no copy). */
export function quantizerMetadataOf(meta: IvfIndexMetadata, arrays: readonly (Float32Array | Uint8Array | Uint32Array)[]): QuantizerMetadata {
  const out: Record<string, Float32Array | Uint8Array | Uint32Array> = Object.create(null);
  meta.quantizer.arrays.forEach((info, i) => {
    out[info.name] = arrays[i]!;
  });
  return {
    kind: meta.quantizer.kind,
    dim: meta.dim,
    distance: meta.distance,
    residual: meta.quantizer.residual,
    params: meta.quantizer.params,
    arrays: out,
  };
}

/**
 * Check that partition locations agree with the metadata: row counts sum to numRows, every
 * section has exactly the length its row count implies, raw sections present iff rawVectors.
 */
export function checkPartitionLocations(meta: IvfIndexMetadata, parts: readonly PartitionLocation[], stage: string): void {
  if (parts.length !== meta.numPartitions) fail("SCHEMA_VIOLATION", `${parts.length} partitions, metadata says ${meta.numPartitions}`, stage);
  let total = 0;
  parts.forEach((p, i) => {
    const want = partitionSectionLength(p.rows, meta.quantizer.codeWidth);
    if (p.length !== want) fail("PARTITION_LENGTH_MISMATCH", `partition ${i}: ${p.length} bytes for ${p.rows} rows, expected ${want}`, stage, p.offset);
    if (p.offset % SECTION_ALIGNMENT !== 0) fail("SECTION_MISALIGNED", `partition ${i} at ${p.offset}`, stage, p.offset);
    if (meta.rawVectors !== (p.raw !== undefined)) fail("MISSING_SECTION", `partition ${i}: raw-vector section ${meta.rawVectors ? "missing" : "unexpected"}`, stage, p.offset);
    if (p.raw !== undefined && p.raw.length !== p.rows * meta.dim * 4) {
      fail("PARTITION_LENGTH_MISMATCH", `partition ${i}: raw section of ${p.raw.length} bytes for ${p.rows} rows of dim ${meta.dim}`, stage, p.raw.offset);
    }
    if (p.raw !== undefined && p.raw.offset % SECTION_ALIGNMENT !== 0) fail("SECTION_MISALIGNED", `raw vectors of partition ${i} at ${p.raw.offset}`, stage, p.raw.offset);
    total += p.rows;
  });
  if (total !== meta.numRows) fail("PARTITION_LENGTH_MISMATCH", `partition rows sum to ${total}, metadata says ${meta.numRows}`, stage);
}
