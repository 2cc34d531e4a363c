/**
 * `IvfIndexState`: everything needed to rebuild a live IVF index without touching the store (no
 * read, no HEAD), and its cache codec (spec/ivf.md#cached-state).
 */
import type { CacheCodec } from "@quiver/cache";
import {
  type Frame,
  type SectionInput,
  QuiverFormatError,
  describeValue,
  getSection,
  jsonSection,
  readJsonSection,
  readTypedSection,
  typedSection,
} from "@quiver/format";
import {
  IVF_LIMITS,
  IVF_SECTION,
  type IvfIndexMetadata,
  type PartitionLocation,
  checkPartitionLocations,
  parseIvfIndexMetadata,
  quantizerMetadataOf,
} from "./index-format.js";
import { quantizerCodeWidth, validateQuantizerMetadata } from "./compute/internal/metadata-validation.js";
import { computeIndexIdentity } from "./identity.js";
import { type RawRowGroupTable, rawRowGroupTable } from "./raw-row-groups.js";
import type { QuantizerMetadata } from "./quantizer.js";
import { quantizerArraySection } from "./writer.js";

/** The cacheable state of an opened IVF index. */
export interface IvfIndexState {
  /** Object path of the index file. */
  readonly path: string;
  /** Size of the index file in bytes (so a reconstruction needs no HEAD). */
  readonly fileSize: number;
  readonly metadata: IvfIndexMetadata;
  /** numPartitions x dim centroids. */
  readonly centroids: Float32Array;
  readonly quantizer: QuantizerMetadata;
  /** Where each partition's sections are in the file. */
  readonly partitions: readonly PartitionLocation[];
  /** Kind version 3 with raw vectors: the CRC-32 of every raw-vector row group (refine verifies each read against it). */
  readonly rawRowGroups?: RawRowGroupTable;
}

/** Cache type name of {@link IvfIndexState} (spec/registry.csv). */
export const IVF_INDEX_STATE_TYPE_NAME = "IvfIndexState";

/** Section ids of the cached state frame. */
export const IVF_STATE_SECTION = {
  /** JSON: { path, fileSize, metadata }. */
  info: 0,
  centroids: 1,
  /** u32 rows per partition. */
  rowCounts: 2,
  /** u64 per partition: code offset, code length, raw offset, raw length (raw 0/0 when absent). */
  ranges: 3,
  /** u32 per partition: code CRC-32, raw CRC-32 (0 when absent). */
  checksums: 4,
  /** Version 3, index of kind version 3 with raw vectors: u32 raw row-group CRC-32s (as section 3 of the file). */
  rawRowGroupChecksums: 5,
  quantizerArrayBase: 16,
} as const;

/** Bytes kept alive by a set of views: each distinct underlying buffer counted once, whole. */
export function retainedBufferBytes(views: readonly ArrayBufferView[]): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const v of views) {
    if (seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    total += v.buffer.byteLength;
  }
  return total;
}

function fail(code: string, message: string, offset?: number): never {
  throw new QuiverFormatError(code, message, offset === undefined ? { stage: "payload" } : { stage: "payload", offset });
}

/** Validate partition locations against the file size (every section inside the file, in order). */
export function checkLocationsInFile(meta: IvfIndexMetadata, parts: readonly PartitionLocation[], fileSize: number, stage: string): void {
  checkPartitionLocations(meta, parts, stage);
  let prevEnd = 0;
  const check = (offset: number, length: number, what: string): void => {
    if (offset < prevEnd || offset > fileSize || length > fileSize - offset) {
      throw new QuiverFormatError("SECTION_OUT_OF_BOUNDS", `${what}: [${offset}, +${length}) is outside [${prevEnd}, ${fileSize})`, { stage, offset });
    }
    prevEnd = offset + length;
  };
  parts.forEach((p, i) => {
    check(p.offset, p.length, `partition ${i}`);
    if (p.raw !== undefined) check(p.raw.offset, p.raw.length, `partition ${i} raw vectors`);
  });
}

/** True when `values` holds a NaN or an infinity (builtin scans: fast before the JIT has warmed up). */
export function hasNonFinite(values: Float32Array): boolean {
  return values.includes(Number.NaN) || values.includes(Number.POSITIVE_INFINITY) || values.includes(Number.NEGATIVE_INFINITY);
}

/** States this process built itself or decoded and checked in full (cold open, codec decode). */
const checkedStates = new WeakSet<IvfIndexState>();

/** True when `state` was produced by this package's own checks (not handed in from outside). */
export function isCheckedState(state: unknown): boolean {
  return typeof state === "object" && state !== null && checkedStates.has(state as IvfIndexState);
}

/** The parts of a state before the cross-checks of {@link assembleState}. */
export interface StateParts {
  readonly path: string;
  readonly fileSize: number;
  readonly metadata: IvfIndexMetadata;
  readonly centroids: Float32Array;
  readonly arrays: readonly (Float32Array | Uint8Array | Uint32Array)[];
  readonly partitions: readonly PartitionLocation[];
  /** Kind version 3 with raw vectors: the row-group checksum table (section 3). */
  readonly rawRowGroupCrcs?: Uint32Array;
}

/**
 * The checks a cold open and the state codec share, in the order of spec/ivf.md#check-order:
 * finite centroids (INVALID_VALUE), quantizer metadata and its code width
 * (BAD_QUANTIZER_METADATA), partition locations, then the identity digest (IDENTITY_MISMATCH).
 */
export function assembleState(parts: StateParts, stage: string): IvfIndexState {
  const { metadata, centroids } = parts;
  // Three builtin scans (includes finds NaN: SameValueZero), then the slow search for the first
  // bad value only when there is one. A JS loop here runs in the interpreter on the first decode
  // of a new process (every element boxed): 32k centroids took 2-9 ms there, the scans ~0.1 ms.
  if (hasNonFinite(centroids)) {
    for (let i = 0; i < centroids.length; i++) {
      if (!Number.isFinite(centroids[i])) throw new QuiverFormatError("INVALID_VALUE", `centroid value ${i} (partition ${Math.floor(i / metadata.dim)}) is ${centroids[i]}`, { stage });
    }
  }
  const quantizer = validateQuantizerMetadata(quantizerMetadataOf(metadata, parts.arrays));
  const width = quantizerCodeWidth(quantizer);
  if (width !== metadata.quantizer.codeWidth) {
    throw new QuiverFormatError("BAD_QUANTIZER_METADATA", `codeWidth ${metadata.quantizer.codeWidth}, a ${quantizer.kind} quantizer of dim ${metadata.dim} has ${width}`, { stage: "quantizer-metadata" });
  }
  checkLocationsInFile(metadata, parts.partitions, parts.fileSize, stage);
  let rawRowGroups: RawRowGroupTable | undefined;
  if (metadata.rawRowGroupRows !== undefined) {
    if (parts.rawRowGroupCrcs === undefined) throw new QuiverFormatError("MISSING_SECTION", "no raw row-group checksums for an index with rawRowGroupRows", { stage });
    rawRowGroups = rawRowGroupTable(metadata.rawRowGroupRows, parts.partitions.map((p) => p.rows), parts.rawRowGroupCrcs, stage);
  } else if (parts.rawRowGroupCrcs !== undefined) throw new QuiverFormatError("SCHEMA_VIOLATION", "raw row-group checksums without rawRowGroupRows", { stage });
  const identity = computeIndexIdentity({ metadata, centroids, arrays: parts.arrays, partitions: parts.partitions, ...(parts.rawRowGroupCrcs === undefined ? {} : { rawRowGroupCrcs: parts.rawRowGroupCrcs }) });
  if (identity !== metadata.identity) {
    throw new QuiverFormatError("IDENTITY_MISMATCH", `content digest ${identity} differs from the recorded identity ${describeValue(metadata.identity)}`, { stage: "identity" });
  }
  const state: IvfIndexState = { path: parts.path, fileSize: parts.fileSize, metadata, centroids, quantizer, partitions: parts.partitions, ...(rawRowGroups === undefined ? {} : { rawRowGroups }) };
  checkedStates.add(state);
  return state;
}

/** The codec of {@link IvfIndexState}: JSON info, centroids and quantizer arrays as aligned typed sections. */
export const ivfIndexStateCodec: CacheCodec<IvfIndexState> = {
  typeName: IVF_INDEX_STATE_TYPE_NAME,
  // Version 2 added the identity to the metadata; version 1 entries are misses (reloaded).
  // Version 3 carries the raw row-group checksums of kind version 3 indexes (section 5); a
  // version 2 entry still decodes (it can only describe a kind version 2 index).
  version: 3,
  minVersion: 2,
  encode(state: IvfIndexState): SectionInput[] {
    const P = state.partitions.length;
    const rowCounts = new Uint32Array(P);
    const ranges = new BigUint64Array(P * 4);
    const checksums = new Uint32Array(P * 2);
    state.partitions.forEach((p, i) => {
      rowCounts[i] = p.rows;
      ranges[i * 4] = BigInt(p.offset);
      ranges[i * 4 + 1] = BigInt(p.length);
      checksums[i * 2] = p.crc32;
      if (p.raw !== undefined) {
        ranges[i * 4 + 2] = BigInt(p.raw.offset);
        ranges[i * 4 + 3] = BigInt(p.raw.length);
        checksums[i * 2 + 1] = p.raw.crc32;
      }
    });
    return [
      jsonSection(IVF_STATE_SECTION.info, { path: state.path, fileSize: state.fileSize, metadata: state.metadata }),
      typedSection(IVF_STATE_SECTION.centroids, "f32", state.centroids),
      typedSection(IVF_STATE_SECTION.rowCounts, "u32", rowCounts),
      typedSection(IVF_STATE_SECTION.ranges, "u64", ranges),
      typedSection(IVF_STATE_SECTION.checksums, "u32", checksums),
      ...(state.rawRowGroups === undefined ? [] : [typedSection(IVF_STATE_SECTION.rawRowGroupChecksums, "u32", state.rawRowGroups.crcs)]),
      ...state.metadata.quantizer.arrays.map((a, i) => quantizerArraySection(IVF_STATE_SECTION.quantizerArrayBase + i, state.quantizer.arrays[a.name]!)),
    ];
  },
  decode(frame: Frame): IvfIndexState {
    const infoSection = getSection(frame, IVF_STATE_SECTION.info, "json");
    if (infoSection.length > IVF_LIMITS.maxMetadataBytes + 8192) fail("LIMIT_EXCEEDED", `state info of ${infoSection.length} bytes`, infoSection.offset);
    const info = readJsonSection(frame, IVF_STATE_SECTION.info);
    if (typeof info !== "object" || info === null || Array.isArray(info)) fail("SCHEMA_VIOLATION", "state info is not an object");
    const o = info as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== "path" && k !== "fileSize" && k !== "metadata") fail("SCHEMA_VIOLATION", `state info: unknown field ${describeValue(k)}`);
    if (typeof o.path !== "string" || o.path.length === 0 || o.path.length > 4096) fail("SCHEMA_VIOLATION", "state info: path");
    if (typeof o.fileSize !== "number" || !Number.isSafeInteger(o.fileSize) || o.fileSize < 0) fail("SCHEMA_VIOLATION", "state info: fileSize");
    const metadata = parseIvfIndexMetadata(o.metadata, "payload", frame.kindVersion >= 3 ? "optional" : "forbidden");
    const P = metadata.numPartitions;
    const centroids = readTypedSection(frame, IVF_STATE_SECTION.centroids, "f32");
    if (centroids.length !== P * metadata.dim) fail("SCHEMA_VIOLATION", `centroids has ${centroids.length} values, expected ${P * metadata.dim}`);
    const rowCounts = readTypedSection(frame, IVF_STATE_SECTION.rowCounts, "u32");
    const ranges = readTypedSection(frame, IVF_STATE_SECTION.ranges, "u64");
    const checksums = readTypedSection(frame, IVF_STATE_SECTION.checksums, "u32");
    if (rowCounts.length !== P || ranges.length !== P * 4 || checksums.length !== P * 2) fail("SCHEMA_VIOLATION", "partition table length does not match numPartitions");
    const arrays = metadata.quantizer.arrays.map((a, i) => {
      const id = IVF_STATE_SECTION.quantizerArrayBase + i;
      const arr = readTypedSection(frame, id, a.encoding);
      if (arr.length !== a.length) fail("SCHEMA_VIOLATION", `quantizer array ${a.name}: ${arr.length} values, expected ${a.length}`, getSection(frame, id).offset);
      return arr;
    });
    // One pass, no object spreads or closures: this loop runs once per partition on every first
    // decode in a process, before the JIT has warmed it (spreads cost ~2 µs each there).
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    const over = (i: number): never => fail("LIMIT_EXCEEDED", `offset ${ranges[i]} exceeds 2^53-1`);
    const partitions: PartitionLocation[] = new Array<PartitionLocation>(P);
    const raw = metadata.rawVectors;
    for (let i = 0; i < P; i++) {
      const r = i * 4;
      // The same checks in the same order as before: offset, length, then the raw fields.
      if (ranges[r]! > max) over(r);
      if (ranges[r + 1]! > max) over(r + 1);
      if (raw) {
        if (ranges[r + 2]! > max) over(r + 2);
        if (ranges[r + 3]! > max) over(r + 3);
        partitions[i] = {
          rows: rowCounts[i]!,
          offset: Number(ranges[r]!),
          length: Number(ranges[r + 1]!),
          crc32: checksums[i * 2]!,
          raw: { offset: Number(ranges[r + 2]!), length: Number(ranges[r + 3]!), crc32: checksums[i * 2 + 1]! },
        };
      } else {
        if (ranges[r + 2] !== 0n || ranges[r + 3] !== 0n || checksums[i * 2 + 1] !== 0) fail("RESERVED_NONZERO", `partition ${i}: raw-vector fields set in an index without raw vectors`);
        partitions[i] = { rows: rowCounts[i]!, offset: Number(ranges[r]!), length: Number(ranges[r + 1]!), crc32: checksums[i * 2]! };
      }
    }
    const hasTable = frame.sections.some((x) => x.id === IVF_STATE_SECTION.rawRowGroupChecksums);
    if (hasTable && frame.kindVersion < 3) fail("SCHEMA_VIOLATION", "raw row-group checksums in a version 2 state entry");
    const rawRowGroupCrcs = hasTable ? readTypedSection(frame, IVF_STATE_SECTION.rawRowGroupChecksums, "u32") : undefined;
    return assembleState({ path: o.path, fileSize: o.fileSize, metadata, centroids, arrays, partitions, ...(rawRowGroupCrcs === undefined ? {} : { rawRowGroupCrcs }) }, "payload");
  },
  sizeOf(state: IvfIndexState): number {
    const views: ArrayBufferView[] = [state.centroids, ...Object.values(state.quantizer.arrays)];
    if (state.rawRowGroups !== undefined) views.push(state.rawRowGroups.crcs);
    return retainedBufferBytes(views) + 64 * state.partitions.length + (state.rawRowGroups?.first.byteLength ?? 0) + 1024;
  },
};
