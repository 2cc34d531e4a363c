/**
 * Partition entries (row ids + codes of one partition, and optionally its raw vectors) and one
 * cache codec per quantizer kind. Row ids and codes are aligned sections decoded as views of the
 * cached bytes: no copy (spec/ivf.md#cached-partition-entries).
 */
import type { CacheCodec } from "@quiver/cache";
import {
  type Frame,
  type SectionInput,
  QuiverFormatError,
  describeValue,
  jsonSection,
  readJsonSection,
  readTypedSection,
  typedSection,
} from "@quiver/format";
import { IVF_LIMITS } from "./index-format.js";
import type { QuantizerKind } from "./quantizer.js";
import { retainedBufferBytes } from "./state-codec.js";

/** The encoded rows of one partition. */
export interface IvfPartitionEntry {
  readonly kind: QuantizerKind;
  readonly partition: number;
  readonly rows: number;
  readonly codeWidth: number;
  /** rows row ids. */
  readonly rowIds: BigUint64Array;
  /** rows x codeWidth bytes. */
  readonly codes: Uint8Array;
}

/** The raw vectors of one partition (for refine), in the partition's row order. */
export interface IvfPartitionVectors {
  readonly partition: number;
  readonly rows: number;
  readonly dim: number;
  readonly vectors: Float32Array;
}

/** Cache type name of the partition entry of each quantizer kind (spec/registry.csv). */
export const PARTITION_TYPE_NAMES: Readonly<Record<QuantizerKind, string>> = {
  flat: "IvfPartitionFlat",
  sq: "IvfPartitionSq",
  pq: "IvfPartitionPq",
  rabitq: "IvfPartitionRabitq",
};
/** Cache type name of {@link IvfPartitionVectors}. */
export const PARTITION_VECTORS_TYPE_NAME = "IvfPartitionVectors";

/** Section ids of a cached partition entry. */
export const PARTITION_ENTRY_SECTION = { info: 0, rowIds: 1, codes: 2 } as const;
/** Section ids of cached partition vectors. */
export const PARTITION_VECTORS_SECTION = { info: 0, vectors: 1 } as const;

function fail(code: string, message: string): never {
  throw new QuiverFormatError(code, message, { stage: "payload" });
}

function readInfo(frame: Frame, keys: readonly string[]): Record<string, number> {
  const info = readJsonSection(frame, 0);
  if (typeof info !== "object" || info === null || Array.isArray(info)) fail("SCHEMA_VIOLATION", "entry info is not an object");
  const o = info as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail("SCHEMA_VIOLATION", `entry info: unknown field ${describeValue(k)}`);
  const out: Record<string, number> = Object.create(null);
  for (const k of keys) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) fail("SCHEMA_VIOLATION", `entry info: ${k} is not a non-negative integer: ${describeValue(v)}`);
    out[k] = v;
  }
  return out;
}

function partitionEntryCodec(kind: QuantizerKind): CacheCodec<IvfPartitionEntry> {
  return {
    typeName: PARTITION_TYPE_NAMES[kind],
    version: 1,
    encode(e: IvfPartitionEntry): SectionInput[] {
      if (e.kind !== kind) throw new QuiverFormatError("INVALID_VALUE", `a ${e.kind} partition given to the ${kind} codec`, { stage: "encode" });
      return [
        jsonSection(PARTITION_ENTRY_SECTION.info, { partition: e.partition, rows: e.rows, codeWidth: e.codeWidth }),
        typedSection(PARTITION_ENTRY_SECTION.rowIds, "u64", e.rowIds),
        typedSection(PARTITION_ENTRY_SECTION.codes, "u8", e.codes),
      ];
    },
    decode(frame: Frame): IvfPartitionEntry {
      const info = readInfo(frame, ["partition", "rows", "codeWidth"]);
      const partition = info.partition!;
      const rows = info.rows!;
      const codeWidth = info.codeWidth!;
      if (partition >= IVF_LIMITS.maxPartitions) fail("LIMIT_EXCEEDED", `partition ${partition}`);
      if (rows > IVF_LIMITS.maxRowsPerPartition) fail("LIMIT_EXCEEDED", `${rows} rows`);
      if (codeWidth < 1 || codeWidth > IVF_LIMITS.maxDim * IVF_LIMITS.maxCodeWidthPerDim) fail("LIMIT_EXCEEDED", `code width ${codeWidth}`);
      const rowIds = readTypedSection(frame, PARTITION_ENTRY_SECTION.rowIds, "u64");
      const codes = readTypedSection(frame, PARTITION_ENTRY_SECTION.codes, "u8");
      if (rowIds.length !== rows) fail("PARTITION_LENGTH_MISMATCH", `${rowIds.length} row ids for ${rows} rows`);
      if (codes.length !== rows * codeWidth) fail("PARTITION_LENGTH_MISMATCH", `${codes.length} code bytes for ${rows} rows of width ${codeWidth}`);
      return { kind, partition, rows, codeWidth, rowIds, codes };
    },
    sizeOf(e: IvfPartitionEntry): number {
      return retainedBufferBytes([e.rowIds, e.codes]);
    },
  };
}

/** Cache codecs of partition entries, one per quantizer kind. */
export const partitionEntryCodecs: Readonly<Record<QuantizerKind, CacheCodec<IvfPartitionEntry>>> = {
  flat: partitionEntryCodec("flat"),
  sq: partitionEntryCodec("sq"),
  pq: partitionEntryCodec("pq"),
  rabitq: partitionEntryCodec("rabitq"),
};

/** Cache codec of a partition's raw vectors. */
export const partitionVectorsCodec: CacheCodec<IvfPartitionVectors> = {
  typeName: PARTITION_VECTORS_TYPE_NAME,
  version: 1,
  encode(v: IvfPartitionVectors): SectionInput[] {
    return [
      jsonSection(PARTITION_VECTORS_SECTION.info, { partition: v.partition, rows: v.rows, dim: v.dim }),
      typedSection(PARTITION_VECTORS_SECTION.vectors, "f32", v.vectors),
    ];
  },
  decode(frame: Frame): IvfPartitionVectors {
    const info = readInfo(frame, ["partition", "rows", "dim"]);
    const partition = info.partition!;
    const rows = info.rows!;
    const dim = info.dim!;
    if (partition >= IVF_LIMITS.maxPartitions) fail("LIMIT_EXCEEDED", `partition ${partition}`);
    if (rows > IVF_LIMITS.maxRowsPerPartition) fail("LIMIT_EXCEEDED", `${rows} rows`);
    if (dim < 1 || dim > IVF_LIMITS.maxDim) fail("LIMIT_EXCEEDED", `dim ${dim}`);
    const vectors = readTypedSection(frame, PARTITION_VECTORS_SECTION.vectors, "f32");
    if (vectors.length !== rows * dim) fail("PARTITION_LENGTH_MISMATCH", `${vectors.length} values for ${rows} rows of dim ${dim}`);
    return { partition, rows, dim, vectors };
  },
  sizeOf(v: IvfPartitionVectors): number {
    return retainedBufferBytes([v.vectors]);
  },
};

/**
 * Split the bytes of a partition section of the index file (row ids then codes) into an entry.
 * `bytes` must be 8-byte aligned (ObjectStore results are); views, no copy.
 */
export function partitionEntryFromSection(kind: QuantizerKind, partition: number, rows: number, codeWidth: number, bytes: Uint8Array): IvfPartitionEntry {
  if (bytes.byteLength !== rows * (8 + codeWidth)) fail("PARTITION_LENGTH_MISMATCH", `partition ${partition}: ${bytes.byteLength} bytes for ${rows} rows`);
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const rowIds = new BigUint64Array(aligned.buffer, aligned.byteOffset, rows);
  const codes = aligned.subarray(rows * 8);
  return { kind, partition, rows, codeWidth, rowIds, codes };
}
