/**
 * Segment descriptors: what one shard build records about the segment file it wrote, and the
 * model digest that says which segments may be searched together (spec/segments.md#model-digest).
 */
import { QuiverArgumentError, checkOptions, describeValue } from "@quiver/format";
import { CanonicalDigest, type IvfIndexState, isIndexIdentity, readIvfIndexState } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { QuiverSegmentError, type SegmentProblem, problemCauses } from "./errors.js";
import { type BigRange, canonicalize, rangeListProblem, rangeRows, rangeStrings, toBigRanges } from "./ranges.js";

/** What one shard build records about the segment it wrote (JSON-safe; uint64 row ids as decimal strings). */
export interface SegmentDescriptor {
  /** Unique within an index; matches {@link SEGMENT_ID_PATTERN}. */
  readonly segmentId: string;
  /** The shard's name, used in error messages ("shard-3"). */
  readonly shard: string;
  /** Object path of the segment's IVF index file (a complete IVF file over a subset of rows). */
  readonly path: string;
  readonly rows: number;
  /** Sorted, disjoint, non-empty, half-open [start, end) uint64 decimal strings, recorded at shard build time. */
  readonly rowIdRanges: readonly (readonly [string, string])[];
  /** Hex SHA-256 over the file's model: centroids, quantizer kind/parameters/arrays, metric, dims (spec/segments.md#model-digest). */
  readonly modelDigest: string;
  /** The pinned input version the shard was built from (opaque, e.g. "<uri>#size=..;mtime=.." or an ETag). */
  readonly inputVersion: string;
  /** The segment IVF file's identity (hex), as @quiver/ivf computes it. */
  readonly indexIdentity: string;
  /** Size of the segment file in bytes. */
  readonly bytes: number;
}

/** A segment id: 1..128 of [a-z0-9._-], starting with a letter or digit. */
export const SEGMENT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;
/** MUST-level maxima of descriptors and manifests (spec/segments.md#limits). */
export const SEGMENT_LIMITS = {
  maxSegments: 100_000,
  maxRangesPerSegment: 65_536,
  maxShardLength: 256,
  maxPathLength: 1024,
  maxInputVersionLength: 1024,
  maxManifestBytes: 64 * 1024 * 1024,
} as const;
const DIGEST_PATTERN = /^[0-9a-f]{64}$/;
const DIGEST_DOMAIN = "QVR-SEGMENT-MODEL-1";

/**
 * The model digest of an opened segment: SHA-256 over the canonical bytes of
 * spec/segments.md#model-digest (metric, dims, partitions, quantizer kind, residual flag, code
 * width, parameters, every quantizer array and the centroids). Row data is not covered: two
 * segments with equal digests encode rows identically.
 */
export function segmentModelDigest(state: IvfIndexState): string {
  const m = state.metadata;
  const d = new CanonicalDigest(DIGEST_DOMAIN);
  d.u32(m.dim);
  d.u32(m.numPartitions);
  d.model(m);
  d.quantizerAndCentroids(m, m.quantizer.arrays.map((a) => state.quantizer.arrays[a.name]!), state.centroids);
  return d.hex();
}

/** True when `s` is 64 lowercase hex digits. */
export function isDigest(s: unknown): s is string {
  return typeof s === "string" && DIGEST_PATTERN.test(s);
}

/** Problems of one descriptor's own fields (shape, limits, canonical ranges, rows = range lengths). */
export function descriptorProblems(d: unknown, index: number): SegmentProblem[] {
  const at = `segments[${index}]`;
  if (typeof d !== "object" || d === null || Array.isArray(d)) return [{ code: "SEGMENT_BAD_DESCRIPTOR", message: `${at} is not an object: ${describeValue(d)}` }];
  const o = d as Record<string, unknown>;
  const shard = typeof o.shard === "string" && o.shard.length > 0 && o.shard.length <= SEGMENT_LIMITS.maxShardLength ? o.shard : undefined;
  const segmentId = typeof o.segmentId === "string" && SEGMENT_ID_PATTERN.test(o.segmentId) ? o.segmentId : undefined;
  const bad = (message: string, code = "SEGMENT_BAD_DESCRIPTOR"): SegmentProblem => ({
    code,
    ...(shard === undefined ? {} : { shard }),
    ...(segmentId === undefined ? {} : { segmentId }),
    message: `${at}: ${message}`,
  });
  const out: SegmentProblem[] = [];
  const known = ["segmentId", "shard", "path", "rows", "rowIdRanges", "modelDigest", "inputVersion", "indexIdentity", "bytes"];
  for (const k of Object.keys(o)) if (!known.includes(k)) out.push(bad(`unknown field ${describeValue(k)}`));
  if (segmentId === undefined) out.push(bad(`segmentId ${describeValue(o.segmentId)} does not match ${SEGMENT_ID_PATTERN.source}`));
  if (shard === undefined) out.push(bad(`shard ${describeValue(o.shard)} is not a string of 1..${SEGMENT_LIMITS.maxShardLength} characters`));
  if (typeof o.path !== "string" || o.path.length === 0 || o.path.length > SEGMENT_LIMITS.maxPathLength) out.push(bad(`path ${describeValue(o.path)} is not a string of 1..${SEGMENT_LIMITS.maxPathLength} characters`));
  if (typeof o.inputVersion !== "string" || o.inputVersion.length === 0 || o.inputVersion.length > SEGMENT_LIMITS.maxInputVersionLength) {
    out.push(bad(`inputVersion ${describeValue(o.inputVersion)} is not a string of 1..${SEGMENT_LIMITS.maxInputVersionLength} characters`));
  }
  if (!isDigest(o.modelDigest)) out.push(bad(`modelDigest ${describeValue(o.modelDigest)} is not 64 lowercase hex digits`));
  if (!isIndexIdentity(o.indexIdentity)) out.push(bad(`indexIdentity ${describeValue(o.indexIdentity)} is not 64 lowercase hex digits`));
  if (typeof o.bytes !== "number" || !Number.isSafeInteger(o.bytes) || o.bytes < 0) out.push(bad(`bytes ${describeValue(o.bytes)} is not a non-negative integer`));
  const rowsOk = typeof o.rows === "number" && Number.isSafeInteger(o.rows) && o.rows >= 0;
  if (!rowsOk) out.push(bad(`rows ${describeValue(o.rows)} is not a non-negative integer`));
  else if (o.rows === 0) out.push(bad("the segment has no rows", "SEGMENT_EMPTY"));
  const rangeProblem = rangeListProblem(o.rowIdRanges, SEGMENT_LIMITS.maxRangesPerSegment);
  if (rangeProblem !== undefined) {
    // An empty range list of an empty segment is the same problem, said once.
    if (!(o.rows === 0 && Array.isArray(o.rowIdRanges) && o.rowIdRanges.length === 0)) out.push(bad(rangeProblem));
  } else {
    const ranges = toBigRanges(o.rowIdRanges as [unknown, unknown][]);
    let canonical = true;
    for (let i = 1; i < ranges.length; i++) {
      if (ranges[i]![0] < ranges[i - 1]![1]) {
        out.push(bad(`rowIdRanges[${i}] overlaps or precedes rowIdRanges[${i - 1}] (duplicate rows)`, ranges[i]![0] >= ranges[i - 1]![0] ? "SEGMENT_ROWS_OVERLAP" : "SEGMENT_BAD_DESCRIPTOR"));
        canonical = false;
        break;
      }
      if (ranges[i]![0] === ranges[i - 1]![1]) {
        out.push(bad(`rowIdRanges[${i}] touches rowIdRanges[${i - 1}]: touching ranges are written merged`));
        canonical = false;
        break;
      }
    }
    if (canonical && rowsOk) {
      const n = rangeRows(ranges);
      if (n !== BigInt(o.rows as number)) out.push(bad(`rows = ${o.rows as number}, but its row-id ranges cover ${n} ids`, "SEGMENT_ROW_COUNT_MISMATCH"));
    }
  }
  return out;
}

/** The ranges of a descriptor that passed {@link descriptorProblems}. */
export function descriptorRanges(d: SegmentDescriptor): BigRange[] {
  return toBigRanges(d.rowIdRanges);
}

/**
 * Describe a segment file a shard build just wrote: reads only its header and metadata sections
 * (one ranged read, or a few for large metadata), computes the model digest, and records the row-id
 * ranges the shard was given (canonicalized: sorted, touching ranges merged). Throws
 * QuiverSegmentError (SEGMENT_UNREADABLE, SEGMENT_EMPTY, SEGMENT_ROW_COUNT_MISMATCH,
 * SEGMENT_BAD_DESCRIPTOR) naming the shard when the file and the ranges disagree.
 */
export async function describeSegment(
  store: ObjectStore,
  path: string,
  info: { segmentId: string; shard: string; rowIdRanges: readonly (readonly [string | bigint, string | bigint])[]; inputVersion: string },
): Promise<SegmentDescriptor> {
  if (typeof store !== "object" || store === null || typeof (store as Partial<ObjectStore>).getRange !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore", given: store });
  }
  if (typeof path !== "string" || path.length === 0 || path.length > SEGMENT_LIMITS.maxPathLength) {
    throw new QuiverArgumentError(path === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "path", expected: `an object path of 1..${SEGMENT_LIMITS.maxPathLength} characters`, given: path });
  }
  if (info === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "info", expected: "{ segmentId, shard, rowIdRanges, inputVersion }", given: info });
  checkOptions("info", info, ["segmentId", "shard", "rowIdRanges", "inputVersion"]);
  const rangeProblem = rangeListProblem(info.rowIdRanges, SEGMENT_LIMITS.maxRangesPerSegment);
  const shardProblem = descriptorProblems({ ...info, path, rows: 1, rowIdRanges: [["0", "1"]], modelDigest: "0".repeat(64), indexIdentity: "0".repeat(64), bytes: 0 }, 0);
  if (shardProblem.length > 0) throw new QuiverSegmentError(shardProblem);
  const problem = (code: string, message: string, cause?: unknown, causeCode?: string): QuiverSegmentError =>
    new QuiverSegmentError([{ code, shard: info.shard, segmentId: info.segmentId, message, ...(causeCode === undefined ? {} : { causeCode }) }], cause === undefined ? {} : { cause });
  if (rangeProblem !== undefined) throw problem("SEGMENT_BAD_DESCRIPTOR", `info.${rangeProblem}`);
  const ranges = canonicalize(toBigRanges(info.rowIdRanges as readonly (readonly [unknown, unknown])[]));
  if (ranges === undefined) throw problem("SEGMENT_ROWS_OVERLAP", "info.rowIdRanges overlap (duplicate rows)");
  let state: IvfIndexState;
  try {
    state = await readIvfIndexState(store, path);
  } catch (e) {
    throw unreadable(e, info.shard, info.segmentId, path);
  }
  const rows = state.metadata.numRows;
  if (rows === 0) throw problem("SEGMENT_EMPTY", `${describeValue(path)} has no rows`);
  const covered = rangeRows(ranges);
  if (covered !== BigInt(rows)) throw problem("SEGMENT_ROW_COUNT_MISMATCH", `${describeValue(path)} has ${rows} rows, but the shard's row-id ranges cover ${covered} ids`);
  return {
    segmentId: info.segmentId,
    shard: info.shard,
    path,
    rows,
    rowIdRanges: rangeStrings(ranges),
    modelDigest: segmentModelDigest(state),
    inputVersion: info.inputVersion,
    indexIdentity: state.metadata.identity,
    bytes: state.fileSize,
  };
}

/** SEGMENT_UNREADABLE for a decode or store error (other errors pass through unchanged). */
export function unreadable(e: unknown, shard: string | undefined, segmentId: string | undefined, path: string): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  const name = (e as { name?: unknown } | null)?.name;
  if (typeof code !== "string" || (name !== "QuiverFormatError" && name !== "QuiverStoreError")) return e;
  const problem: SegmentProblem = { code: "SEGMENT_UNREADABLE", ...(shard === undefined ? {} : { shard }), ...(segmentId === undefined ? {} : { segmentId }), message: `${describeValue(path)} cannot be read as an IVF index (${code})`, causeCode: code };
  problemCauses.set(problem, e);
  return new QuiverSegmentError([problem], { cause: e });
}
