/**
 * Opening an IVF index (cold from the store with a bounded number of reads, or rebuilt from the
 * cached `IvfIndexState` with none), loading partitions through the typed cache, and search.
 *
 * Nothing taken from a cache is trusted: a state must carry the identity the caller asked for and
 * match its own content digest; a partition entry must match the state's partition id, row count,
 * code width and CRC-32; raw vectors likewise. A mismatch is counted and treated as a miss (the
 * store is read and the entry replaced); a state that leads to failing reads is replaced by a
 * fresh cold open, so the index heals itself.
 */
import { type CacheKey, IndexCache, cacheKey, formatCacheKey } from "@quiver/cache";
import {
  type FrameSection,
  QuiverArgumentError,
  QuiverFormatError,
  checkInteger,
  checkOneOf,
  checkOptions,
  crc32,
  describeValue,
  frameTableLength,
  inspectFrameHeader,
  parseJsonBytes,
  typedView,
  verifySection,
} from "@quiver/format";
import { type ByteRange, type ObjectStore, isStoreError } from "@quiver/store";
import { totalmem } from "node:os";
import { type Table, tableFromArrays } from "apache-arrow";
import { quantizerFromMetadata, vectorDistance as exactDistance } from "./compute/index.js";
import { distanceFrom } from "./compute/internal/vector-math.js";
import {
  COLD_OPEN_PREFIX_BYTES,
  IVF_INDEX_KIND,
  IVF_INDEX_KIND_VERSION,
  IVF_INDEX_MIN_KIND_VERSION,
  IVF_INDEX_TYPE_NAME,
  IVF_LIMITS,
  IVF_SECTION,
  type PartitionLocation,
  parseIvfIndexMetadata,
  rowGroupMemberOf,
} from "./index-format.js";
import { RawRowGroupReads, firstBadRawRowGroup, rawRowGroupMatches, rawRowGroupMismatch, rawRowGroupRowsFor, verifyRawRowGroup } from "./raw-row-groups.js";
import { isIndexIdentity } from "./identity.js";
import {
  type IvfPartitionEntry,
  type IvfPartitionVectors,
  PARTITION_TYPE_NAMES,
  PARTITION_VECTORS_TYPE_NAME,
  partitionEntryCodecs,
  partitionEntryFromSection,
  partitionVectorsCodec,
} from "./partition-codecs.js";
import type { DistanceType, PartitionScorer, QuantizerMetadata, TrainedQuantizer } from "./quantizer.js";
import { IVF_INDEX_STATE_TYPE_NAME, type IvfIndexState, assembleState, isCheckedState, ivfIndexStateCodec } from "./state-codec.js";
import { CHUNK_INTS, CONTROL_NEXT, type SearchPlan, type SearchSetup, type SearchTask, type SharedPartition } from "./search-protocol.js";
import { PqSearchTables, usesPqSearchTables } from "./search-pq.js";
import { rankCentroids } from "./search-kernels.js";
import { SearchPool, SharedPartitions, ThreadCostModel, defaultSearchThreads, makeSearchSetup, planChunks, searchTestHooks } from "./search-pool.js";
import { PartitionScanner, type ScanJob, type ScanPartition, mergeCandidates, scanPartitions } from "./search-scan.js";
import { TopKCandidates, idHalves } from "./top-k.js";

/** Options of {@link openVectorIndex}. */
export interface OpenVectorIndexOptions {
  /** Typed cache for the state and partitions; without one every search reads its partitions. */
  readonly cache?: IndexCache;
  /** Size of the index file when the caller knows it (e.g. from a manifest): the first read is then never speculative. */
  readonly fileSize?: number;
  /** Cache key namespace of this index (default: the path). */
  readonly cacheKey?: string;
  /**
   * The identity of the index file the caller means (from the build result or its own manifest).
   * With it and a cache holding the state, the open makes no store request; the cold open checks
   * that the file has this identity (IDENTITY_MISMATCH otherwise). Without it the open always
   * reads the state from the store (at most three reads) and learns the identity there.
   */
  readonly identity?: string;
  /** Load the state and every partition into the cache right after opening. */
  readonly prewarm?: boolean;
  /**
   * Budget in bytes of the default cache made when `cache` is not given (default: what the index
   * needs, its file size, capped at {@link DEFAULT_CACHE_MEMORY_SHARE} of the machine's memory).
   * It is the total: the codes cache gets code partitions + state + 1/16 + 1 MiB (or all of it,
   * if smaller), the raw-vector row cache the rest (so `cacheBytes` = 144 MiB at 1M x 128 PQ16 is
   * about 26 MiB of codes + 118 MiB of raw row groups). Raw rows beyond the row cache are read
   * from the store per refine (verified row groups that do not enter a full row cache).
   */
  readonly cacheBytes?: number;
  /** Budget in bytes of the raw-vector row cache used by refine (default: see `cacheBytes`; with a given `cache`, the raw vectors' size capped at half the memory share). */
  readonly rawVectorCacheBytes?: number;
  /** Called once with the numbers when the working set (codes + raw vectors) cannot fit the budgets (default: `process.emitWarning`). */
  readonly onWarning?: (message: string) => void;
}

/** Search parameters (LanceDB names and defaults). */
export interface VectorSearchOptions {
  /** Results wanted (1 ..= 100,000; default 10). */
  readonly k?: number;
  /** Same as `k` (LanceDB's name); give one of the two. */
  readonly limit?: number;
  /** Partitions probed (default 20, clamped to the partition count). */
  readonly nprobes?: number;
  /** Re-rank k * refineFactor candidates with exact distances on raw vectors (needs an index with raw vectors; 1 ..= 1,000). */
  readonly refineFactor?: number;
  /** The metric the caller expects; must be the index's own (an index answers in the metric it was built for). */
  readonly distanceType?: DistanceType;
  /** Only these row ids may be returned (non-negative integers below 2^64). */
  readonly allowList?: Iterable<bigint | number>;
  /** Only row ids this filter holds may be returned (e.g. a scalar index's row-address set); checked only for candidates that would enter the top k. */
  readonly prefilter?: RowIdPrefilter;
  /** `"number"` (default): ids as numbers (JSON-safe; an id above 2^53 - 1 comes back as a bigint); `"bigint"`: always bigint. */
  readonly idType?: "number" | "bigint";
  /**
   * Threads that score partitions (1 ..= 256): this one plus worker threads of a persistent pool
   * (see {@link IvfVectorIndex.close}). Default: all cores for a batch (more than one query)
   * that scores at least 65,536 rows, else 1 (a single query stays on the calling thread unless
   * `threads` is given). Results do not depend on it. Searches with `allowList` or `prefilter`
   * run on one thread.
   */
  readonly threads?: number;
}

/** The minimal row-id set search accepts as a prefilter. */
export interface RowIdPrefilter {
  has(rowId: bigint): boolean;
}

/** A query: `dim` finite values. */
export type VectorQuery = Float32Array | readonly number[];

/** One search result: a plain, JSON-safe object (with the default `idType`). */
export interface VectorSearchHit {
  readonly id: number | bigint;
  readonly distance: number;
}

/** Counters of cache contents this index refused (each was replaced by a store read). */
export interface IvfCacheRejects {
  /** Cached states that did not match the requested path/identity or their own digest. */
  state: number;
  /** Partition entries that did not match the state. */
  partitions: number;
  /** Raw-vector entries that did not match the state. */
  vectors: number;
  /** Cached raw-vector row groups that did not match the state's row-group checksums. */
  rowGroups: number;
  /** Times a state that led to failing reads was replaced by a fresh cold open. */
  healed: number;
}

/** What {@link IvfVectorIndex.searchThreadStats} reports. */
export interface IvfSearchThreadStats {
  /** Scans split over more than one thread. */
  readonly threadedScans: number;
  /** Shares of those scans answered by worker threads. */
  readonly workerTasks: number;
  /** Worker tasks that failed (their chunks were scored on this thread). */
  readonly workerFailures: number;
  /** Worker tasks not posted because the worker had not answered an earlier batch's task yet. */
  readonly skippedTasks: number;
  /** Chunks of threaded scans scored by this thread, by workers, and again here after a worker failed or gave one back. */
  readonly mainChunks: number;
  readonly workerChunks: number;
  readonly rescannedChunks: number;
  /** Row scores (rows x queries) of threaded scans done on this thread and on workers. */
  readonly mainRowScores: number;
  readonly workerRowScores: number;
  /** Scans big enough for the default to consider threads that the cost model kept on this thread. */
  readonly declinedScans: number;
  /** Scans the cost model ran the way its figures did not choose (threaded or on this thread), to keep both figures current. */
  readonly probeScans: number;
  /** Wall-clock ms of threaded scans, split: plan + hand-off (posting the tasks), this thread's own chunks, waiting for the workers' last chunks, merging their candidates (and rescans). */
  readonly handoffMs: number;
  readonly mainScanMs: number;
  readonly waitMs: number;
  readonly mergeMs: number;
  /** Wall-clock ms of the default's scans kept on this thread (threads not forced), and their row scores. */
  readonly oneThreadMs: number;
  readonly oneThreadRowScores: number;
  /** Partitions the workers hold in shared memory (one copy each, shared with this thread), and their bytes; 0 after close(). */
  readonly residentPartitions: number;
  readonly residentBytes: number;
  /** The cost model's estimates: ns per row score here, ms of extra main-thread time per threaded scan, the workers' share of the work. */
  readonly rowNs: number;
  readonly overheadMs: number;
  readonly workerShare: number;
}

/** Hit rate of one kind of cache entry. */
export interface IvfCacheTypeStats {
  readonly hits: number;
  readonly misses: number;
  /** hits / (hits + misses), or 0 before the first lookup. */
  readonly hitRate: number;
}

/** What {@link IvfVectorIndex.cacheStats} reports. */
export interface IvfCacheStats {
  /** The index state (open). */
  readonly state: IvfCacheTypeStats;
  /** Code partitions (row ids + codes). */
  readonly codes: IvfCacheTypeStats;
  /** Whole-partition raw vectors (filled by prewarm; refine uses them when present). */
  readonly vectors: IvfCacheTypeStats;
  /** Raw-vector row groups read by refine (their own cache and budget). */
  readonly rawRows: IvfCacheTypeStats;
  /** Budget of the codes cache when the index made it (undefined for a cache given by the caller). */
  readonly cacheBytes: number | undefined;
  readonly rawVectorCacheBytes: number;
  /** Bytes the row cache holds now. */
  readonly rawVectorCacheUsedBytes: number;
}

/** Share of the machine's memory a self-sized cache may take at most (codes and raw vectors together). */
export const DEFAULT_CACHE_MEMORY_SHARE = 0.25;
/** Bytes of one raw-vector row group (refine's read and cache unit); at least one row. */
export const RAW_ROW_GROUP_BYTES = 16 * 1024;
/** Cache type name of a raw-vector row group (in-memory only). */
export const RAW_ROW_GROUP_TYPE_NAME = "IvfRawRowGroup";

interface RawRowGroup {
  readonly partition: number;
  readonly group: number;
  readonly vectors: Float32Array;
}

function rawRowGroupSize(v: RawRowGroup): number {
  return v.vectors.byteLength;
}

/** Bytes of an index's parts, from its state. */
function indexByteCounts(state: IvfIndexState): { codes: number; raw: number; meta: number } {
  let codes = 0;
  let raw = 0;
  for (const p of state.partitions) {
    codes += p.length;
    raw += p.raw?.length ?? 0;
  }
  return { codes, raw, meta: Math.max(0, state.fileSize - codes - raw) };
}

/** Search defaults. */
export const DEFAULT_NPROBES = 20;
/** Largest `k` a search accepts. */
export const MAX_SEARCH_K = 100_000;


/** Row groups one refine reads from the store (parallel arrays) and the candidates waiting for them. */
interface ColdGroups {
  parts: number[];
  groups: number[];
  /** Whether the group goes into the row cache (it had room) or only serves this query. */
  insert: boolean[];
  /** Candidate slot, its row within the group's first row, and the index of its group in the arrays above. */
  slots: number[];
  offsets: number[];
  of: number[];
  /** Row-cache bytes reserved for the groups flagged `insert` (given back when the read is done). */
  reserved: number;
}

/** Largest `refineFactor` a search accepts. */
export const MAX_REFINE_FACTOR = 1000;

/** Default number of results (LanceDB's `limit`). */
export const DEFAULT_K = 10;
const OPEN_OPTIONS = ["cache", "fileSize", "cacheKey", "identity", "prewarm", "cacheBytes", "rawVectorCacheBytes", "onWarning"] as const;
const SEARCH_OPTIONS = ["k", "limit", "nprobes", "refineFactor", "distanceType", "allowList", "prefilter", "idType", "threads"] as const;
/** Rows scored by one call (rows of each probed partition x its queries) from which the default uses every core. */
const MIN_THREADED_ROWS = 262_144;
/** Owner of a threaded scan's chunk before anyone claimed it. */
const UNCLAIMED = -2;
/** Largest `threads` a search accepts. */
const MAX_SEARCH_THREADS = 256;
const MAX_BATCH = 1_000_000;
/** Queries of a batch searched together (sharing partition loads and scans). */
const BATCH_CHUNK = 256;
/** Candidate heaps an index keeps for reuse, and the largest capacity kept (k x refineFactor). */
const MAX_FREE_TOPS = 16;
const MAX_POOLED_CAPACITY = 4096;
/** Bytes per candidate slot of a heap (distance f64, row id u64, two i32 tags). */
const TOP_SLOT_BYTES = 24;

/** Candidates per query of the all-live refine path, and the row groups per partition it can key (p x 2^20 + g, times this, stays below 2^53). */
const LIVE_REFINE_MAX = 8192;
const GROUP_SPAN = 1 << 20;

/** The first k candidates of a heap sorted in place, as hits. */
function hitsOf(top: TopKCandidates, k: number): { id: bigint; distance: number }[] {
  const n = Math.min(k, top.size);
  const out = new Array<{ id: bigint; distance: number }>(n);
  for (let i = 0; i < n; i++) out[i] = { id: top.rowIds[i]!, distance: top.distances[i]! };
  return out;
}

/** The (query 0, slot) user pair of a one-query scan, shared (never written). */
const SINGLE_USERS: Int32Array[] = [];
function singleUser(slot: number): Int32Array {
  return (SINGLE_USERS[slot] ??= Int32Array.of(0, slot));
}

/** Read failures that may come from a stale or wrong cached state rather than from the file. */
const HEALABLE = new Set(["CHECKSUM_MISMATCH", "RAW_ROW_GROUP_CHECKSUM_MISMATCH", "TRUNCATED", "PARTITION_LENGTH_MISMATCH", "SECTION_OUT_OF_BOUNDS"]);

function formatError(code: string, message: string, stage: string, offset?: number): QuiverFormatError {
  return new QuiverFormatError(code, message, offset === undefined ? { stage } : { stage, offset });
}

function checkStore(store: unknown): asserts store is ObjectStore {
  const s = store as Partial<ObjectStore> | null;
  if (typeof s !== "object" || s === null || typeof s.getRange !== "function" || typeof s.get !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore (get, getRange)", given: store });
  }
}

function checkPath(path: unknown): asserts path is string {
  if (typeof path !== "string" || path.length === 0 || path.length > 4096) {
    throw new QuiverArgumentError(path === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "path", expected: "an object path of 1..4096 characters", given: path });
  }
}

function checkOpenOptions(options: unknown): void {
  checkOptions("options", options, OPEN_OPTIONS);
  const o = (options ?? {}) as Record<string, unknown>;
  if (o.cache !== undefined && !(o.cache instanceof IndexCache)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.cache", expected: "an IndexCache", given: o.cache });
  }
  if (o.fileSize !== undefined) checkInteger("options.fileSize", o.fileSize, 0, Number.MAX_SAFE_INTEGER);
  if (o.cacheKey !== undefined && (typeof o.cacheKey !== "string" || o.cacheKey.length === 0 || o.cacheKey.length > 4096)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.cacheKey", expected: "a string of 1..4096 characters", given: o.cacheKey });
  }
  if (o.prewarm !== undefined && typeof o.prewarm !== "boolean") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.prewarm", expected: "a boolean", given: o.prewarm });
  }
  if (o.cacheBytes !== undefined) {
    checkInteger("options.cacheBytes", o.cacheBytes, 1, Number.MAX_SAFE_INTEGER);
    if (o.cache !== undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.cacheBytes", expected: "no cacheBytes when a cache is given (it has its own budget)", given: o.cacheBytes });
  }
  if (o.rawVectorCacheBytes !== undefined) checkInteger("options.rawVectorCacheBytes", o.rawVectorCacheBytes, 1, Number.MAX_SAFE_INTEGER);
  if (o.onWarning !== undefined && typeof o.onWarning !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.onWarning", expected: "a function", given: o.onWarning });
  }
  if (o.identity !== undefined && !isIndexIdentity(o.identity)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.identity", expected: "an index identity (64 lowercase hex digits)", given: o.identity });
  }
}

const MAX_ROW_ID = (1n << 64n) - 1n;
const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);

function rowIdOf(v: unknown, i: number): bigint {
  if (typeof v === "bigint" && v >= 0n && v <= MAX_ROW_ID) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `options.allowList[${i}]`, expected: "a row id (a non-negative safe integer or a bigint below 2^64)", given: v });
}

/** The validated query as a Float32Array of `dim` finite values. */
function checkQuery(query: unknown, dim: number): Float32Array {
  let q: Float32Array;
  if (query instanceof Float32Array) q = query;
  else if (Array.isArray(query)) {
    if (query.length !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "query", expected: `${dim} numbers (the index dim)`, given: query });
    for (let i = 0; i < query.length; i++) {
      if (typeof query[i] !== "number") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `query[${i}]`, expected: "a finite number", given: query[i] });
    }
    q = Float32Array.from(query as number[]);
  } else throw new QuiverArgumentError(query === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "query", expected: "a Float32Array or an array of numbers", given: query });
  if (q.length !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "query", expected: `${dim} values (the index dim)`, given: query });
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i])) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `query[${i}]`, expected: "a finite number", given: q[i] });
  }
  return q;
}

interface CheckedSearch {
  readonly query: Float32Array;
  readonly bigintIds: boolean;
  readonly k: number;
  readonly nprobes: number;
  readonly refine: number | undefined;
  readonly allow: Set<bigint> | undefined;
  readonly prefilter: RowIdPrefilter | undefined;
  readonly threads: number | undefined;
}

/** A ranged read where a range past the object's end (the file is shorter than its header says) is TRUNCATED. */
async function readRange(store: ObjectStore, path: string, offset: number, length: number, stage: string): Promise<Uint8Array> {
  try {
    return await store.getRange(path, { offset, length });
  } catch (cause) {
    if (!isStoreError(cause, "RANGE_OUT_OF_BOUNDS")) throw cause;
    throw new QuiverFormatError("TRUNCATED", `${path}: bytes [${offset}, +${length}) are past the end of the object`, { stage, offset, cause });
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Read the index state from the store. Reads (spec/ivf.md#cold-open): 1) bytes [0, 64 KiB) (the
 * whole object when it is shorter: with `fileSize` known that is one read; without it the ranged
 * read fails with RANGE_OUT_OF_BOUNDS and a whole-object get follows); 2) only when the section
 * table ends past what was read, the rest of it; 3) only when the metadata sections end past what
 * was read, the rest of them. Never a HEAD.
 */
export async function readIvfIndexState(store: ObjectStore, path: string, fileSize?: number): Promise<IvfIndexState> {
  checkStore(store);
  checkPath(path);
  if (fileSize !== undefined) checkInteger("fileSize", fileSize, 0, Number.MAX_SAFE_INTEGER);
  let prefix: Uint8Array;
  if (fileSize !== undefined) {
    prefix = await readRange(store, path, 0, Math.min(COLD_OPEN_PREFIX_BYTES, fileSize), "header");
  } else {
    try {
      prefix = await store.getRange(path, { offset: 0, length: COLD_OPEN_PREFIX_BYTES });
    } catch (e) {
      if (!isStoreError(e, "RANGE_OUT_OF_BOUNDS")) throw e;
      prefix = await store.get(path);
    }
  }
  const { tableEnd, frameLength } = frameTableLength(prefix.subarray(0, Math.min(prefix.byteLength, 64)));
  if (fileSize !== undefined && frameLength !== fileSize) {
    throw formatError("BAD_FRAME_LENGTH", `frame_length ${frameLength}, but the file has ${fileSize} bytes`, "header", 32);
  }
  if (prefix.byteLength > frameLength) throw formatError("TRAILING_BYTES", `${prefix.byteLength - frameLength} bytes after the frame`, "header", frameLength);
  // A first read shorter than the prefix was the whole object: it must hold the whole frame.
  if (prefix.byteLength < COLD_OPEN_PREFIX_BYTES && prefix.byteLength < frameLength) {
    throw formatError("TRUNCATED", `the object has ${prefix.byteLength} bytes, frame_length says ${frameLength}`, "header", prefix.byteLength);
  }
  if (tableEnd > prefix.byteLength) prefix = concat(prefix, await readRange(store, path, prefix.byteLength, tableEnd - prefix.byteLength, "section-table"));
  const header = inspectFrameHeader(prefix, { kind: IVF_INDEX_KIND, typeName: IVF_INDEX_TYPE_NAME, maxKindVersion: IVF_INDEX_KIND_VERSION });
  if (header.kindVersion < IVF_INDEX_MIN_KIND_VERSION) {
    throw formatError("UNSUPPORTED_KIND_VERSION", `kind version ${header.kindVersion}; this reader reads ${IVF_INDEX_MIN_KIND_VERSION} ..= ${IVF_INDEX_KIND_VERSION}`, "header", 20);
  }
  // Metadata sections come first; the first partition section ends them.
  const firstPartition = header.sections.findIndex((s) => s.id >= IVF_SECTION.partitionBase);
  const metaSections = firstPartition < 0 ? header.sections : header.sections.slice(0, firstPartition);
  const metaEnd = metaSections.reduce((end, s) => Math.max(end, s.offset + s.length), header.tableEnd);
  if (metaEnd > prefix.byteLength) prefix = concat(prefix, await readRange(store, path, prefix.byteLength, metaEnd - prefix.byteLength, "section"));
  const byId = new Map<number, FrameSection>();
  for (const s of metaSections) {
    if (s.id >= IVF_SECTION.partitionBase) throw formatError("SCHEMA_VIOLATION", `section ${s.id} is not a metadata section`, "section-table");
    byId.set(s.id, verifySection(s, prefix.subarray(s.offset, s.offset + s.length)));
  }
  const need = (id: number, encoding: string): FrameSection => {
    const s = byId.get(id);
    if (s === undefined) throw formatError("MISSING_SECTION", `no section with id ${id}`, "payload");
    if (s.encoding !== encoding) throw formatError("WRONG_SECTION_ENCODING", `section ${id} is ${s.encoding}, expected ${encoding}`, "payload", s.offset);
    return s;
  };
  const metaSection = need(IVF_SECTION.metadata, "json");
  if (metaSection.length > IVF_LIMITS.maxMetadataBytes) throw formatError("LIMIT_EXCEEDED", `metadata of ${metaSection.length} bytes (max ${IVF_LIMITS.maxMetadataBytes})`, "metadata", metaSection.offset);
  const metadata = parseIvfIndexMetadata(parseJsonBytes(metaSection.bytes, metaSection.offset), "metadata", rowGroupMemberOf(header.kindVersion));
  const P = metadata.numPartitions;
  const centroids = typedView(need(IVF_SECTION.centroids, "f32").bytes, "f32");
  if (centroids.length !== P * metadata.dim) throw formatError("SCHEMA_VIOLATION", `centroids has ${centroids.length} values, expected ${P * metadata.dim}`, "payload");
  const rowCounts = typedView(need(IVF_SECTION.rowCounts, "u32").bytes, "u32");
  if (rowCounts.length !== P) throw formatError("SCHEMA_VIOLATION", `${rowCounts.length} row counts for ${P} partitions`, "payload");
  const arrays = metadata.quantizer.arrays.map((a, i) => {
    const s = need(IVF_SECTION.quantizerArrayBase + i, a.encoding);
    const arr = typedView(s.bytes, a.encoding);
    if (arr.length !== a.length) throw formatError("SCHEMA_VIOLATION", `quantizer array ${a.name}: ${arr.length} values, expected ${a.length}`, "payload", s.offset);
    return arr;
  });
  // Kind version 3 with raw vectors: the raw row-group checksums (section 3).
  const rawRowGroupCrcs = metadata.rawRowGroupRows === undefined ? undefined : typedView(need(IVF_SECTION.rawRowGroupChecksums, "u32").bytes, "u32");
  const known = 3 + arrays.length + (rawRowGroupCrcs === undefined ? 0 : 1);
  if (byId.size !== known) throw formatError("SCHEMA_VIOLATION", `${byId.size - known} unknown metadata sections`, "section-table");
  // Partition sections: exactly codes (and raw, when stored) for p = 0..P-1, in order.
  const partSections = header.sections.slice(metaSections.length);
  const per = metadata.rawVectors ? 2 : 1;
  if (partSections.length !== P * per) throw formatError("SCHEMA_VIOLATION", `${partSections.length} partition sections, expected ${P * per}`, "section-table");
  const partitions: PartitionLocation[] = [];
  for (let p = 0; p < P; p++) {
    const s = partSections[p * per]!;
    if (s.id !== IVF_SECTION.partitionBase + p || s.encoding !== "raw") throw formatError("SCHEMA_VIOLATION", `section ${s.id} where partition ${p} was expected`, "section-table", s.offset);
    const base = { rows: rowCounts[p]!, offset: s.offset, length: s.length, crc32: s.crc32 };
    if (metadata.rawVectors) {
      const r = partSections[p * per + 1]!;
      if (r.id !== IVF_SECTION.rawVectorBase + p || r.encoding !== "f32") throw formatError("SCHEMA_VIOLATION", `section ${r.id} where raw vectors of partition ${p} were expected`, "section-table", r.offset);
      partitions.push({ ...base, raw: { offset: r.offset, length: r.length, crc32: r.crc32 } });
    } else partitions.push(base);
  }
  return assembleState({ path, fileSize: frameLength, metadata, centroids, arrays, partitions, ...(rawRowGroupCrcs === undefined ? {} : { rawRowGroupCrcs }) }, "payload");
}

/**
 * Per-process memos keyed by a checked state object (a state is immutable once checked): its live
 * quantizer, and the cached values already checked against it. A reopen that gets the same state
 * object back (a memory cache, or a persistent entry whose bytes match ones verified before, see
 * `decodeCacheEntry`) then rebuilds nothing and re-checks nothing it already checked.
 */
const LIVE_QUANTIZERS = new WeakMap<IvfIndexState, TrainedQuantizer>();
const CHECKED_AGAINST = new WeakMap<IvfIndexState, WeakMap<object, string>>();

/**
 * The values checked against `state`, each with what it was checked as (`e<p>` partition entry,
 * `v<p>` raw vectors, `g<p>/<g>` row group), shared by every index over that state object: a
 * value checked as partition 3 is not thereby accepted as partition 5.
 */
function checkedSetOf(state: IvfIndexState): WeakMap<object, string> {
  if (!isCheckedState(state)) return new WeakMap();
  let set = CHECKED_AGAINST.get(state);
  if (set === undefined) CHECKED_AGAINST.set(state, (set = new WeakMap()));
  return set;
}

/**
 * The last checked state seen per identity. Two checked states with one identity have the same
 * content: the identity is a digest over the metadata, centroids, quantizer arrays and partition
 * table, recomputed by every check. So a state decoded afresh (a persistent cache entry read for the
 * first time in this process) takes the quantizer and scoring tables of an earlier checked state
 * with its identity instead of building them again. Weak references; cleared when full.
 */
const TWINS = new Map<string, WeakRef<IvfIndexState>>();
const MAX_TWINS = 1024;

/** An earlier checked state with the identity of checked `state` (not `state` itself), remembering `state`. */
function twinOf(state: IvfIndexState): IvfIndexState | undefined {
  const id = state.metadata.identity;
  const twin = TWINS.get(id)?.deref();
  if (twin !== state) {
    if (TWINS.size >= MAX_TWINS) TWINS.clear();
    if (twin === undefined) TWINS.set(id, new WeakRef(state));
  }
  return twin === state ? undefined : twin;
}

/** Live quantizers built from checked states so far in this process (a test hook: opens must not build them). */
let deferredBuilds = 0;

/** How many live quantizers of checked states this process has built (tests). */
export function liveQuantizerBuildCount(): number {
  return deferredBuilds;
}

/**
 * The live quantizer of a checked state, built on first use: residual PQ search scores with the
 * state's PqSearchTables and never calls it, so an open no longer builds one (the codebook's
 * squared norms and a second validation of the arrays: ~4 ms on the first open in a new process,
 * before the JIT has warmed up). The state's checks already validated its quantizer metadata and
 * code width, so building it later cannot fail where the open would have succeeded.
 */
class DeferredQuantizer implements TrainedQuantizer {
  readonly #state: IvfIndexState;
  #built: TrainedQuantizer | undefined;
  constructor(state: IvfIndexState) {
    this.#state = state;
  }
  get metadata(): QuantizerMetadata {
    return this.#state.quantizer;
  }
  get codeWidth(): number {
    return this.#state.metadata.quantizer.codeWidth;
  }
  encode(vectors: Float32Array, n: number, out: Uint8Array): void {
    this.#live().encode(vectors, n, out);
  }
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer {
    return this.#live().scorer(query, centroid);
  }
  #live(): TrainedQuantizer {
    if (this.#built === undefined) {
      this.#built = liveQuantizer(this.#state);
      deferredBuilds++;
    }
    return this.#built;
  }
}

/** The live quantizer of a state: for a checked state one per state object (or taken from a twin), built on first use. */
function liveQuantizerOf(state: IvfIndexState): TrainedQuantizer {
  if (!isCheckedState(state)) return liveQuantizer(state);
  let q = LIVE_QUANTIZERS.get(state);
  if (q === undefined) {
    const twin = twinOf(state);
    LIVE_QUANTIZERS.set(state, (q = (twin === undefined ? undefined : LIVE_QUANTIZERS.get(twin)) ?? new DeferredQuantizer(state)));
  }
  return q;
}

const PQ_TABLES = new WeakMap<IvfIndexState, PqSearchTables>();

/**
 * This thread's residual-PQ scoring tables of a state (they depend on the state only), built once
 * per checked state object: a reopen keeps the codebook transpose and the partition terms already
 * computed, instead of redoing them on its first query.
 */
function pqSearchTablesOf(state: IvfIndexState): PqSearchTables {
  if (!isCheckedState(state)) return new PqSearchTables(state.quantizer, state.centroids, state.metadata.numPartitions);
  let t = PQ_TABLES.get(state);
  if (t === undefined) {
    const twin = twinOf(state);
    PQ_TABLES.set(state, (t = (twin === undefined ? undefined : PQ_TABLES.get(twin)) ?? new PqSearchTables(state.quantizer, state.centroids, state.metadata.numPartitions)));
  }
  return t;
}

/** States kept alive by {@link RecentStates} at most, and their bytes (the state's `sizeOf`) at most. */
const RECENT_STATE_COUNT = 8;
const RECENT_STATE_BYTES = 64 * 1024 * 1024;

/**
 * The checked states of the last few opens, held strongly (least recently opened dropped first,
 * within {@link RECENT_STATE_COUNT} states and {@link RECENT_STATE_BYTES} bytes). The memos above
 * and the cache codec's verified-frame memo hold their values weakly, so without this a reopen in
 * the same process after the last index over a state was dropped (and a GC ran) re-verified the
 * whole state: CRCs, the identity digest, the quantizer and scoring tables (milliseconds). Held,
 * a reopen from a persistent cache compares the state bytes it reads with the bytes verified
 * before (a memcmp) and reuses the quantizer and tables; bytes that differ are decoded and
 * checked in full, so nothing is skipped. The memory held is what one open index holds.
 */
class RecentStates {
  readonly #states = new Map<IvfIndexState, number>();
  #bytes = 0;

  /** Mark `state` as just opened (kept until enough newer states push it out). */
  touch(state: IvfIndexState): void {
    if (!isCheckedState(state)) return;
    const old = this.#states.get(state);
    if (old !== undefined) {
      // re-insert: Map order is the drop order
      this.#states.delete(state);
      this.#states.set(state, old);
      return;
    }
    const size = ivfIndexStateCodec.sizeOf(state);
    if (size > RECENT_STATE_BYTES) return;
    this.#states.set(state, size);
    this.#bytes += size;
    for (const [s, n] of this.#states) {
      if (this.#states.size <= RECENT_STATE_COUNT && this.#bytes <= RECENT_STATE_BYTES) break;
      this.#states.delete(s);
      this.#bytes -= n;
    }
  }

  /** States held now (for tests). */
  get size(): number {
    return this.#states.size;
  }
}

const RECENT_STATES = new RecentStates();

/** How many states the reader holds for reopens (tests; not exported from the package). */
export function heldRecentStates(): number {
  return RECENT_STATES.size;
}

let machineMemory: number | undefined;
/** The machine's memory (read once: a syscall on every open otherwise). */
function machineMemoryBytes(): number {
  return (machineMemory ??= totalmem());
}

/** Rebuild the quantizer of a state, reporting bad parameters as QuiverFormatError. */
function liveQuantizer(state: IvfIndexState): TrainedQuantizer {
  let q: TrainedQuantizer;
  try {
    q = quantizerFromMetadata(state.quantizer);
  } catch (cause) {
    if (cause instanceof QuiverFormatError) throw cause;
    throw new QuiverFormatError("BAD_QUANTIZER_METADATA", `quantizer metadata rejected: ${describeValue((cause as Error)?.message)}`, { stage: "quantizer-metadata", cause });
  }
  if (q.codeWidth !== state.metadata.quantizer.codeWidth) {
    throw formatError("BAD_QUANTIZER_METADATA", `quantizer code width ${q.codeWidth}, metadata says ${state.metadata.quantizer.codeWidth}`, "quantizer-metadata");
  }
  return q;
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Cache key of an index state: the identity is part of every key of the index. */
function stateKey(base: string, identity: string): string {
  return `${base}/${identity}/state`;
}

/**
 * A state handed in from a cache, checked as if decoded: states this package built are taken as
 * they are (after the path/identity match); anything else is rebuilt from its parts through the
 * full checks. Undefined when it does not hold.
 */
function acceptCachedState(value: unknown, path: string, identity: string): IvfIndexState | undefined {
  try {
    const s = value as IvfIndexState;
    if (typeof s !== "object" || s === null || s.path !== path || s.metadata?.identity !== identity) return undefined;
    if (isCheckedState(s)) return s;
    const metadata = parseIvfIndexMetadata(JSON.parse(JSON.stringify(s.metadata)) as unknown, "payload");
    if (!(s.centroids instanceof Float32Array) || s.centroids.length !== metadata.numPartitions * metadata.dim) return undefined;
    const arrays = metadata.quantizer.arrays.map((a) => {
      const arr = s.quantizer.arrays[a.name];
      const ok = a.encoding === "f32" ? arr instanceof Float32Array : a.encoding === "u8" ? arr instanceof Uint8Array : arr instanceof Uint32Array;
      if (!ok || arr === undefined || arr.length !== a.length) throw new RangeError("array");
      return arr;
    });
    if (!Array.isArray(s.partitions)) return undefined;
    const int = (v: unknown): number => {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new RangeError("int");
      return v;
    };
    const partitions: PartitionLocation[] = s.partitions.map((p: PartitionLocation) => {
      const base = { rows: int(p.rows), offset: int(p.offset), length: int(p.length), crc32: int(p.crc32) };
      return p.raw === undefined ? base : { ...base, raw: { offset: int(p.raw.offset), length: int(p.raw.length), crc32: int(p.raw.crc32) } };
    });
    const crcs = s.rawRowGroups?.crcs;
    const checked = assembleState({ path, fileSize: int(s.fileSize), metadata, centroids: s.centroids, arrays, partitions, ...(crcs instanceof Uint32Array ? { rawRowGroupCrcs: crcs } : {}) }, "payload");
    return checked.metadata.identity === identity ? checked : undefined;
  } catch {
    return undefined;
  }
}

/** Insert into a cache without ever failing the caller (a cache write is an optimisation). */
async function insertQuietly<T>(cache: IndexCache, key: CacheKey<T>, value: T): Promise<void> {
  try {
    await cache.insert(key, value);
  } catch {
    // Backends degrade to misses on their own; a failed insert only costs a later reload.
  }
}

/** Budgets of the caches {@link openVectorIndex} made itself, by index. */
const OWN_CACHE_BYTES = new WeakMap<IvfVectorIndex, number>();
/** Closes the file reader of an index that was dropped without `close` (the fallback; `close` is the rule). */
const RAW_READS_FINALIZER = new FinalizationRegistry<RawRowGroupReads>((reads) => void reads.close());

/** Options of the {@link IvfVectorIndex} constructor. */
export interface IndexLiveOptions {
  readonly cache?: IndexCache;
  readonly cacheKey?: string;
  readonly rawVectorCacheBytes?: number;
}

/** A live IVF index: search, partition loads through the cache, prewarm. */
export class IvfVectorIndex {
  readonly store: ObjectStore;
  readonly cache: IndexCache | undefined;
  readonly #keyBase: string;
  #state: IvfIndexState;
  #quantizer: TrainedQuantizer;
  #entryKeys: CacheKey<IvfPartitionEntry>[] = [];
  #vectorKeys: CacheKey<IvfPartitionVectors>[] = [];
  /** Entries already checked against the current state (memory backends hand out the same object). */
  #checked: WeakMap<object, string>;
  /** True while the state came from a cache and has not been confirmed by a store read. */
  #stateFromCache: boolean;
  #healing: Promise<void> | undefined;
  readonly #rejects: IvfCacheRejects = { state: 0, partitions: 0, vectors: 0, rowGroups: 0, healed: 0 };
  /** Raw-vector row groups for refine: a separate in-memory cache, so raw rows never evict code partitions. */
  /** Made on first use (refine or stats): an open and a plain query never build it. */
  #rowCacheMade: IndexCache | undefined;
  readonly #rowCacheBytes: number;
  /** Bytes of row groups being read that will enter the row cache (admission counts them as used). */
  #pendingRowBytes = 0;
  #rowsPerGroup = 1;
  /** Refine's cold row-group reads: one file reader kept open and reused scratch slabs (made on the first cold read; closed by `close`). */
  #rawReadsMade: RawRowGroupReads | undefined;
  /** Search worker pool (started by the first threaded scan) and what the workers share. */
  #pool: SearchPool | undefined;
  #setup: SearchSetup | undefined;
  /** Residual PQ scoring tables of this thread (per state). */
  #pqTables: PqSearchTables | undefined;
  /** Row-cache key prefixes by partition (per state). */
  #rowKeyPrefix: (string | undefined)[] = [];
  readonly #shared = new SharedPartitions();
  /** Scratch of {@link #refineLive} (synchronous: one per index). */
  #liveKeys = new Float64Array(0);
  #liveAt = new Int32Array(0);
  #liveBufs: (Float32Array | undefined)[] = [];
  #rowKeys: { key: CacheKey<RawRowGroup>; byteKey: string; tag: string }[][] = [];
  #rowKeysState: IvfIndexState | undefined;
  /** Candidate heaps of finished searches, reused by later ones (each checked out by one search at a time). */
  readonly #freeTops: TopKCandidates[] = [];
  #closed = false;
  readonly #threadStats = { threadedScans: 0, workerTasks: 0, workerFailures: 0, skippedTasks: 0, mainChunks: 0, workerChunks: 0, rescannedChunks: 0, mainRowScores: 0, workerRowScores: 0, declinedScans: 0, handoffMs: 0, mainScanMs: 0, waitMs: 0, mergeMs: 0, oneThreadMs: 0, oneThreadRowScores: 0 };
  readonly #cost = new ThreadCostModel(defaultSearchThreads());

  /** Build a live index from a state (no IO). `rawVectorCacheBytes`: budget of refine's row cache (default: the raw vectors' size, capped at half of {@link DEFAULT_CACHE_MEMORY_SHARE} of memory). */
  constructor(store: ObjectStore, state: IvfIndexState, options: IndexLiveOptions = {}) {
    checkStore(store);
    checkOptions("options", options, ["cache", "cacheKey", "rawVectorCacheBytes"]);
    if (options.rawVectorCacheBytes !== undefined) checkInteger("options.rawVectorCacheBytes", options.rawVectorCacheBytes, 1, Number.MAX_SAFE_INTEGER);
    if (options.cache !== undefined && !(options.cache instanceof IndexCache)) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.cache", expected: "an IndexCache", given: options.cache });
    }
    if (typeof state !== "object" || state === null || typeof state.metadata !== "object") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "state", expected: "an IvfIndexState", given: state });
    }
    this.store = store;
    this.#state = state;
    this.#quantizer = liveQuantizerOf(state);
    RECENT_STATES.touch(state);
    this.#checked = checkedSetOf(state);
    this.cache = options.cache;
    this.#keyBase = options.cacheKey ?? state.path;
    this.#stateFromCache = false;
    const raw = indexByteCounts(state).raw;
    this.#rowCacheBytes = options.rawVectorCacheBytes ?? Math.max(1, Math.min(raw + (raw >> 4), Math.floor((machineMemoryBytes() * DEFAULT_CACHE_MEMORY_SHARE) / 2)));
    this.#makeKeys();
  }

  /** An index over a state that came from a cache (healed by a cold open when it leads to failing reads). */
  static fromCachedState(store: ObjectStore, state: IvfIndexState, options: IndexLiveOptions, rejectedStates = 0): IvfVectorIndex {
    const index = new IvfVectorIndex(store, state, options);
    index.#stateFromCache = true;
    index.#rejects.state += rejectedStates;
    return index;
  }

  /** An index over a freshly read state, counting the cached states refused on the way. */
  static fromStoreState(store: ObjectStore, state: IvfIndexState, options: IndexLiveOptions, rejectedStates: number): IvfVectorIndex {
    const index = new IvfVectorIndex(store, state, options);
    index.#rejects.state += rejectedStates;
    return index;
  }

  get #rowCache(): IndexCache {
    return (this.#rowCacheMade ??= IndexCache.inMemory(this.#rowCacheBytes));
  }

  #makeKeys(): void {
    // Keys are made on first use: an open that probes 20 of 256 partitions makes 20, not 512.
    this.#entryKeys = [];
    this.#vectorKeys = [];
    // Kind version 3 records the row-group size; version 2 derives it from dim the same way.
    this.#rowsPerGroup = this.#state.rawRowGroups?.rowsPerGroup ?? rawRowGroupRowsFor(this.#state.metadata.dim);
  }

  #entryKey(p: number): CacheKey<IvfPartitionEntry> {
    return (this.#entryKeys[p] ??= cacheKey(`${this.#keyBase}/${this.#state.metadata.identity}/partition/${p}`, partitionEntryCodecs[this.#state.metadata.quantizer.kind]));
  }

  #vectorKey(p: number): CacheKey<IvfPartitionVectors> {
    return (this.#vectorKeys[p] ??= cacheKey(`${this.#keyBase}/${this.#state.metadata.identity}/vectors/${p}`, partitionVectorsCodec));
  }

  /** The index state (replaced when the index heals a bad cached state). */
  get state(): IvfIndexState {
    return this.#state;
  }

  /** The live quantizer. */
  get quantizer(): TrainedQuantizer {
    return this.#quantizer;
  }

  /** The index identity (content digest; part of every cache key). */
  get identity(): string {
    return this.#state.metadata.identity;
  }

  /** Cache contents this index refused so far (each one was a counted miss that reloaded from the store). */
  cacheRejects(): Readonly<IvfCacheRejects> {
    return { ...this.#rejects };
  }

  /** The cache key of partition p's entry (for tools that pre-populate a cache). */
  partitionCacheKey(p: number): CacheKey<IvfPartitionEntry> {
    checkInteger("p", p, 0, this.numPartitions - 1);
    return this.#entryKey(p);
  }

  /** The cache key of partition p's raw vectors. */
  vectorsCacheKey(p: number): CacheKey<IvfPartitionVectors> {
    checkInteger("p", p, 0, this.numPartitions - 1);
    return this.#vectorKey(p);
  }

  get dim(): number {
    return this.#state.metadata.dim;
  }

  get numPartitions(): number {
    return this.#state.metadata.numPartitions;
  }

  /** Read and verify partition p's row ids and codes from the store (one ranged read; none when empty). */
  async readPartition(p: number): Promise<IvfPartitionEntry> {
    const loc = this.#location(p);
    const { kind, codeWidth } = this.#state.metadata.quantizer;
    let entry: IvfPartitionEntry;
    if (loc.rows === 0) entry = partitionEntryFromSection(kind, p, 0, codeWidth, new Uint8Array(0));
    else {
      const bytes = await readRange(this.store, this.#state.path, loc.offset, loc.length, "section");
      verifySection({ id: IVF_SECTION.partitionBase + p, encoding: "raw", offset: loc.offset, length: loc.length, crc32: loc.crc32 }, bytes);
      entry = partitionEntryFromSection(kind, p, loc.rows, codeWidth, bytes);
    }
    this.#checked.set(entry, `e${p}`);
    return entry;
  }

  /** Read and verify partition p's raw vectors (one ranged read; none when empty). */
  async readPartitionVectors(p: number): Promise<IvfPartitionVectors> {
    const loc = this.#location(p);
    const dim = this.dim;
    if (loc.raw === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "p", expected: "a partition of an index that stores raw vectors", given: p });
    let v: IvfPartitionVectors;
    if (loc.rows === 0) v = { partition: p, rows: 0, dim, vectors: new Float32Array(0) };
    else {
      const bytes = await readRange(this.store, this.#state.path, loc.raw.offset, loc.raw.length, "section");
      verifySection({ id: IVF_SECTION.rawVectorBase + p, encoding: "f32", ...loc.raw }, bytes);
      // Kind version 3: every row group against its own CRC-32 too (what refine's partial reads check).
      const table = this.#state.rawRowGroups;
      const bad = table === undefined ? -1 : firstBadRawRowGroup(table, p, bytes, dim);
      if (bad >= 0) throw rawRowGroupMismatch(p, bad, loc.raw.offset + bad * this.#rowsPerGroup * dim * 4);
      v = { partition: p, rows: loc.rows, dim, vectors: typedView(bytes, "f32", loc.raw.offset) };
    }
    this.#checked.set(v, `v${p}`);
    return v;
  }

  #location(p: number): PartitionLocation {
    checkInteger("p", p, 0, this.numPartitions - 1);
    return this.#state.partitions[p]!;
  }

  /** True when a cached partition entry is exactly what the state says partition p holds. */
  #entryMatches(e: unknown, p: number): boolean {
    try {
      if (typeof e !== "object" || e === null) return false;
      if (this.#checked.get(e) === `e${p}`) return true;
      const entry = e as IvfPartitionEntry;
      const loc = this.#state.partitions[p]!;
      const { kind, codeWidth } = this.#state.metadata.quantizer;
      if (entry.kind !== kind || entry.partition !== p || entry.rows !== loc.rows || entry.codeWidth !== codeWidth) return false;
      if (!(entry.rowIds instanceof BigUint64Array) || entry.rowIds.length !== loc.rows) return false;
      if (!(entry.codes instanceof Uint8Array) || entry.codes.length !== loc.rows * codeWidth) return false;
      if (loc.rows > 0 && crc32(entry.codes, crc32(viewBytes(entry.rowIds))) !== loc.crc32) return false;
      this.#checked.set(e, `e${p}`);
      return true;
    } catch {
      return false;
    }
  }

  /** True when cached raw vectors are exactly what the state says partition p holds. */
  #vectorsMatch(v: unknown, p: number): boolean {
    try {
      if (typeof v !== "object" || v === null) return false;
      if (this.#checked.get(v) === `v${p}`) return true;
      const vec = v as IvfPartitionVectors;
      const loc = this.#state.partitions[p]!;
      if (loc.raw === undefined) return false;
      if (vec.partition !== p || vec.rows !== loc.rows || vec.dim !== this.dim) return false;
      if (!(vec.vectors instanceof Float32Array) || vec.vectors.length !== loc.rows * this.dim) return false;
      // Kind version 3: the row-group CRCs cover every byte (and are covered by the identity).
      const table = this.#state.rawRowGroups;
      if (loc.rows > 0 && (table === undefined ? crc32(viewBytes(vec.vectors)) !== loc.raw.crc32 : firstBadRawRowGroup(table, p, viewBytes(vec.vectors), this.dim) >= 0)) return false;
      this.#checked.set(v, `v${p}`);
      return true;
    } catch {
      return false;
    }
  }

  /** Partition p's entry, through the cache when there is one (a cached entry that disagrees with the state is a counted miss). */
  async loadPartition(p: number): Promise<IvfPartitionEntry> {
    checkInteger("p", p, 0, this.numPartitions - 1);
    const cache = this.cache;
    if (cache === undefined) return this.readPartition(p);
    const key = this.#entryKey(p);
    let entry: IvfPartitionEntry | undefined;
    try {
      entry = await cache.getOrInsert(key, () => this.readPartition(p));
    } catch (e) {
      if (e instanceof QuiverFormatError) throw e;
      entry = undefined; // a broken backend is a miss
    }
    if (entry !== undefined && this.#entryMatches(entry, p)) return entry;
    this.#rejects.partitions++;
    const fresh = await this.readPartition(p);
    await insertQuietly(cache, key, fresh);
    return fresh;
  }

  /** Partition p's raw vectors, through the cache when there is one (checked like {@link loadPartition}). */
  async loadPartitionVectors(p: number): Promise<IvfPartitionVectors> {
    checkInteger("p", p, 0, this.numPartitions - 1);
    const cache = this.cache;
    if (cache === undefined) return this.readPartitionVectors(p);
    const key = this.#vectorKey(p);
    let v: IvfPartitionVectors | undefined;
    try {
      v = await cache.getOrInsert(key, () => this.readPartitionVectors(p));
    } catch (e) {
      if (e instanceof QuiverFormatError) throw e;
      v = undefined;
    }
    if (v !== undefined && this.#vectorsMatch(v, p)) return v;
    this.#rejects.vectors++;
    const fresh = await this.readPartitionVectors(p);
    await insertQuietly(cache, key, fresh);
    return fresh;
  }

  /** Validate search options (before any work). */
  #checkSearchOptions(options: unknown): Omit<CheckedSearch, "query"> {
    const { numPartitions } = this.#state.metadata;
    checkOptions("options", options, SEARCH_OPTIONS);
    const o = (options ?? {}) as Record<string, unknown>;
    if (o.k !== undefined && o.limit !== undefined && o.k !== o.limit) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.limit", expected: `the same value as options.k (${describeValue(o.k)}), or only one of the two`, given: o.limit });
    }
    const k = o.k === undefined && o.limit === undefined ? DEFAULT_K : checkInteger(o.k !== undefined ? "options.k" : "options.limit", o.k !== undefined ? o.k : o.limit, 1, MAX_SEARCH_K);
    const nprobes = Math.min(o.nprobes === undefined ? DEFAULT_NPROBES : checkInteger("options.nprobes", o.nprobes, 1, IVF_LIMITS.maxPartitions), numPartitions);
    const refine = o.refineFactor === undefined ? undefined : checkInteger("options.refineFactor", o.refineFactor, 1, MAX_REFINE_FACTOR);
    if (refine !== undefined && !this.#state.metadata.rawVectors) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.refineFactor", expected: "no refineFactor: this index stores no raw vectors", given: refine, hint: "build with raw vectors to refine" });
    }
    if (o.distanceType !== undefined) {
      const d = checkOneOf("options.distanceType", o.distanceType, ["l2", "cosine", "dot"] as const);
      if (d !== this.#state.metadata.distance) {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.distanceType", expected: `${this.#state.metadata.distance} (the metric this index was built for)`, given: d, hint: "build an index for that metric" });
      }
    }
    const bigintIds = o.idType === undefined ? false : checkOneOf("options.idType", o.idType, ["number", "bigint"] as const) === "bigint";
    let allow: Set<bigint> | undefined;
    if (o.allowList !== undefined) {
      const list = o.allowList as Iterable<unknown> | null;
      if (typeof list !== "object" || list === null || typeof (list as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.allowList", expected: "an iterable of row ids", given: o.allowList });
      }
      allow = new Set();
      let i = 0;
      for (const id of list) allow.add(rowIdOf(id, i++));
    }
    const prefilter = o.prefilter as RowIdPrefilter | undefined;
    if (prefilter !== undefined && (typeof prefilter !== "object" || prefilter === null || typeof prefilter.has !== "function")) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.prefilter", expected: "a row-id set with a has(rowId) method", given: o.prefilter });
    }
    const threads = o.threads === undefined ? undefined : checkInteger("options.threads", o.threads, 1, MAX_SEARCH_THREADS);
    return { k, nprobes, refine, allow, prefilter, bigintIds, threads };
  }

  /** Nearest rows to `query` (a Float32Array or number[] of `dim` values): `{ id, distance }` sorted by (distance, id). */
  async search(query: VectorQuery, options: VectorSearchOptions = {}): Promise<VectorSearchHit[]> {
    const opts = this.#checkSearchOptions(options);
    return this.#searchHealing({ ...opts, query: checkQuery(query, this.dim) });
  }

  /**
   * Many queries in one call: `queries` is an array of queries or one Float32Array of n x dim
   * values. Up to 256 queries at a time are scored partition by partition (each probed partition
   * loaded once for them); result i belongs to query i and equals `search(queries[i])`.
   */
  async searchBatch(queries: readonly VectorQuery[] | Float32Array, options: VectorSearchOptions = {}): Promise<VectorSearchHit[][]> {
    const opts = this.#checkSearchOptions(options);
    const list = this.#checkBatch(queries);
    const out: VectorSearchHit[][] = [];
    // Chunks bound the candidate heaps held at once; each chunk loads its probed partitions once.
    for (let at = 0; at < list.length; at += BATCH_CHUNK) {
      const chunk = list.slice(at, at + BATCH_CHUNK);
      let raw: { id: bigint; distance: number }[][];
      try {
        raw = await this.#searchMany(chunk, opts);
      } catch (e) {
        if (!this.#stateFromCache || !(e instanceof QuiverFormatError) || !HEALABLE.has(e.code)) throw e;
        await this.#heal();
        raw = await this.#searchMany(chunk, opts);
      }
      for (const r of raw) out.push(this.#publicHits(r, opts.bigintIds));
    }
    return out;
  }

  #publicHits(raw: { id: bigint; distance: number }[], bigintIds: boolean): VectorSearchHit[] {
    if (bigintIds) return raw;
    // the hits are this search's own objects: converted in place (no second array of hits)
    const out = raw as VectorSearchHit[];
    for (const h of out) if (typeof h.id === "bigint" && h.id <= MAX_SAFE_ID) (h as { id: number | bigint }).id = Number(h.id);
    return out;
  }

  /**
   * `searchBatch` as an Arrow table, one row per hit: `query` (uint32, the query's position),
   * `id` (uint64) and `_distance` (float32, LanceDB's column name), in result order.
   */
  async searchArrow(queries: readonly VectorQuery[] | Float32Array | VectorQuery, options: VectorSearchOptions = {}): Promise<Table> {
    const single = queries instanceof Float32Array ? queries.length === this.dim : Array.isArray(queries) && queries.length > 0 && typeof queries[0] === "number";
    const batch = single ? [queries as VectorQuery] : (queries as readonly VectorQuery[] | Float32Array);
    const results = await this.searchBatch(batch, { ...options, idType: "bigint" });
    const total = results.reduce((n, r) => n + r.length, 0);
    const query = new Uint32Array(total);
    const id = new BigUint64Array(total);
    const distance = new Float32Array(total);
    let at = 0;
    results.forEach((hits, qi) => {
      for (const h of hits) {
        query[at] = qi;
        id[at] = h.id as bigint;
        distance[at] = h.distance;
        at++;
      }
    });
    return tableFromArrays({ query, id, _distance: distance });
  }

  #checkBatch(queries: unknown): Float32Array[] {
    const dim = this.dim;
    if (queries instanceof Float32Array) {
      if (queries.length % dim !== 0 || queries.length === 0) {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "queries", expected: `a non-empty multiple of dim = ${dim} values`, given: queries });
      }
      const n = queries.length / dim;
      if (n > MAX_BATCH) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "queries", expected: `at most ${MAX_BATCH} queries`, given: n });
      return Array.from({ length: n }, (_, i) => checkQuery(queries.subarray(i * dim, (i + 1) * dim), dim));
    }
    if (!Array.isArray(queries)) throw new QuiverArgumentError(queries === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "queries", expected: "an array of queries or a Float32Array of n x dim values", given: queries });
    if (queries.length > MAX_BATCH) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "queries", expected: `at most ${MAX_BATCH} queries`, given: queries.length });
    return queries.map((q, i) => {
      try {
        return checkQuery(q, dim);
      } catch (e) {
        if (e instanceof QuiverArgumentError) throw new QuiverArgumentError(e.code, { argument: `queries[${i}]${e.argument.slice("query".length)}`, expected: e.expected, given: q });
        throw e;
      }
    });
  }

  async #searchHealing(args: CheckedSearch): Promise<VectorSearchHit[]> {
    let raw: { id: bigint; distance: number }[];
    try {
      raw = await this.#search(args);
    } catch (e) {
      if (!this.#stateFromCache || !(e instanceof QuiverFormatError) || !HEALABLE.has(e.code)) throw e;
      // The state came from a cache and led to a failing read: replace it by a cold open, once.
      await this.#heal();
      raw = await this.#search(args);
    }
    return this.#publicHits(raw, args.bigintIds);
  }

  #heal(): Promise<void> {
    this.#healing ??= (async () => {
      const fresh = await readIvfIndexState(this.store, this.#state.path);
      if (fresh.metadata.identity !== this.#state.metadata.identity) {
        throw formatError("IDENTITY_MISMATCH", `the file at ${describeValue(fresh.path)} now has identity ${fresh.metadata.identity}, not ${this.#state.metadata.identity}`, "identity");
      }
      this.#quantizer = liveQuantizerOf(fresh);
      RECENT_STATES.touch(fresh);
      this.#state = fresh;
      this.#setup = undefined;
      this.#pqTables = undefined;
      this.#rowKeyPrefix = [];
      this.#checked = checkedSetOf(fresh);
      this.#stateFromCache = false;
      this.#rejects.healed++;
      this.#makeKeys();
      if (this.cache !== undefined) await insertQuietly(this.cache, cacheKey(stateKey(this.#keyBase, fresh.metadata.identity), ivfIndexStateCodec), fresh);
    })();
    return this.#healing;
  }

  async #search(args: CheckedSearch): Promise<{ id: bigint; distance: number }[]> {
    return (await this.#searchMany([args.query], args))[0]!;
  }

  /**
   * Search several queries with the same options: each probed partition is loaded once and
   * scored for every query that probes it, one partition after the other (its codes stay hot).
   * Per query the result is exactly that of searching it alone: top-k selection by
   * (distance, row id) does not depend on the order candidates are offered in, which is also
   * why the partitions can be split over worker threads and the per-thread candidates merged.
   */
  async #searchMany(queries: readonly Float32Array[], opts: Omit<CheckedSearch, "query">): Promise<{ id: bigint; distance: number }[][]> {
    const { k, nprobes, refine, allow, prefilter } = opts;
    const state = this.#state;
    const { dim, numPartitions, distance } = state.metadata;
    const probesOf = queries.map((query) => rankCentroids(query, state.centroids, numPartitions, dim, distance, nprobes));
    // partition -> [query, slot] pairs, flattened; partitions in first-probed order
    const parts: number[] = [];
    const users: ArrayLike<number>[] = [];
    if (queries.length === 1) {
      // one query probes each partition once: its pairs are the shared constants (0, slot)
      const probes = probesOf[0]!;
      for (let slot = 0; slot < probes.length; slot++) {
        parts.push(probes[slot]!);
        users.push(singleUser(slot));
      }
    } else {
      const slotOf = new Int32Array(numPartitions).fill(-1);
      const lists: number[][] = [];
      for (let qi = 0; qi < probesOf.length; qi++) {
        const probes = probesOf[qi]!;
        for (let slot = 0; slot < probes.length; slot++) {
          const p = probes[slot]!;
          let j = slotOf[p]!;
          if (j < 0) {
            j = slotOf[p] = parts.length;
            parts.push(p);
            lists.push([]);
          }
          lists[j]!.push(qi, slot);
        }
      }
      for (const list of lists) users.push(list);
    }
    const entries = await this.#entriesOf(parts);
    const capacity = k * (refine ?? 1);
    const tops = queries.map(() => this.#takeTop(capacity));
    if (this.#pqTables === undefined && usesPqSearchTables(state.quantizer)) this.#pqTables = pqSearchTablesOf(state);
    const job: ScanJob = { quantizer: this.#quantizer, centroids: state.centroids, dim, queries, parts, entries, users, allow, prefilter, pqTables: this.#pqTables };
    let rowScores = 0;
    for (let j = 0; j < entries.length; j++) rowScores += entries[j]!.rows * (users[j]!.length >> 1);
    const threads = this.#threadsFor(opts, rowScores, queries.length);
    if (threads > 1) await this.#scanThreaded(job, tops, threads, capacity);
    else {
      const t = performance.now();
      scanPartitions(job, tops);
      const ms = performance.now() - t;
      this.#cost.scanned(rowScores, ms);
      if (opts.threads === undefined) {
        this.#threadStats.oneThreadMs += ms;
        this.#threadStats.oneThreadRowScores += rowScores;
      }
    }
    const results = await Promise.all(queries.map((query, qi) => this.#finish(query, tops[qi]!, probesOf[qi]!, k, refine)));
    // every finish is done with its heap (only now: a failed one drops them all, never reused while in use)
    for (const t of tops) this.#giveTop(t);
    return results;
  }

  /** A candidate heap of `capacity` checked out of this index's free list (or a new one); it belongs to one search until {@link giveTop}. */
  #takeTop(capacity: number): TopKCandidates {
    const free = this.#freeTops;
    for (let i = free.length - 1; i >= 0; i--) {
      const t = free[i]!;
      if (t.capacity !== capacity) continue;
      free[i] = free[free.length - 1]!;
      free.pop();
      t.reset();
      return t;
    }
    return new TopKCandidates(capacity);
  }

  /** Gives a heap back for reuse (a bounded number of bounded size; the rest are left to the GC). */
  #giveTop(t: TopKCandidates): void {
    if (this.#closed || t.capacity > MAX_POOLED_CAPACITY) return;
    const free = this.#freeTops;
    if (free.length >= MAX_FREE_TOPS) free.shift();
    free.push(t);
  }

  /** Scratch this index keeps for reuse across searches (a test and diagnostics hook): pooled candidate heaps and their bytes. */
  scratchStats(): { heaps: number; bytes: number } {
    let bytes = 0;
    for (const t of this.#freeTops) bytes += t.capacity * TOP_SLOT_BYTES;
    return { heaps: this.#freeTops.length, bytes };
  }

  /**
   * The entries of partitions `parts` for one scan. A partition the cache holds live (the
   * in-memory backend) is taken synchronously; the rest go through {@link loadPartition}
   * (`getOrInsert`, in parallel). The promises of `getOrInsert` for every probed partition were
   * ~3 KB of garbage per partition and query, most of a warm query's allocation.
   */
  async #entriesOf(parts: readonly number[]): Promise<IvfPartitionEntry[]> {
    const cache = this.cache;
    const out = new Array<IvfPartitionEntry>(parts.length);
    let missed: Promise<void>[] | undefined;
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j]!;
      let e: IvfPartitionEntry | undefined;
      try {
        e = cache?.peekLive(this.#entryKey(p));
      } catch {
        e = undefined; // a broken backend is a miss
      }
      if (e !== undefined && this.#entryMatches(e, p)) out[j] = e;
      else if (e !== undefined) {
        // a live entry that disagrees with the state: a counted reject, read again (as loadPartition does)
        this.#rejects.partitions++;
        (missed ??= []).push(this.#reread(p).then((fresh) => void (out[j] = fresh)));
      } else (missed ??= []).push(this.loadPartition(p).then((fresh) => void (out[j] = fresh)));
    }
    if (missed !== undefined) await Promise.all(missed);
    return out;
  }

  /** Partition p read from the store and put in the cache in place of a rejected entry. */
  async #reread(p: number): Promise<IvfPartitionEntry> {
    const fresh = await this.readPartition(p);
    await insertQuietly(this.cache!, this.#entryKey(p), fresh);
    return fresh;
  }

  /** Threads for one scan: 1 (this thread only) unless asked for, or a batch whose work the cost model says gains from workers. */
  #threadsFor(opts: Omit<CheckedSearch, "query">, rowScores: number, queryCount: number): number {
    // A filter is an arbitrary object of the caller's: it cannot cross to another thread.
    if (opts.allow !== undefined || opts.prefilter !== undefined || this.#closed) return 1;
    if (opts.threads !== undefined) return opts.threads;
    // One query stays on this thread by default: handing half a query to a worker only pays when
    // a core is idle, and on a busy machine the hand-off delay shows up in the tail latency.
    if (queryCount === 1) return 1;
    const threads = defaultSearchThreads();
    if (threads < 2) return 1;
    // before the pool exists (no hand-off measured yet) a fixed size decides whether to start it
    if (this.#pool === undefined) return rowScores >= MIN_THREADED_ROWS ? threads : 1;
    if (this.#cost.worthThreading(rowScores)) return threads;
    this.#threadStats.declinedScans++;
    return 1;
  }

  /**
   * The scan split over `threads` threads (this one and pool workers) by work stealing: the
   * partitions are cut into chunks of about equal row scores (a huge partition by its queries
   * and row ranges), laid out in shared memory, and every thread claims the next chunk from one
   * atomic counter until none are left. Workers get each partition's shared copy once (then its
   * serial) and return their best candidates per query, merged into `tops`. This thread waits
   * only for workers that joined before the chunks ran out (so at most for the chunks they are
   * scoring); a chunk whose worker failed or could not score it is scored here.
   */
  async #scanThreaded(job: ScanJob, tops: TopKCandidates[], threads: number, capacity: number): Promise<void> {
    const t0 = performance.now();
    this.#threadStats.threadedScans++;
    this.#setup ??= makeSearchSetup(this.#state.quantizer, this.#state.centroids, this.dim);
    const setup = this.#setup;
    if (this.#pool === undefined || this.#pool.closed) {
      this.#pool = new SearchPool(Math.max(1, threads - 1));
      await this.#warmWorkers(this.#pool, job.parts[0]!, job.entries[0]!);
    }
    const pool = this.#pool;
    // the clock of the cost model starts after a pool start (a one-off, not a cost of this scan)
    const tPlan = performance.now();
    const workers = Math.min(pool.workers, threads - 1);
    const J = job.parts.length;
    const rows = new Int32Array(J);
    const userCounts = new Int32Array(J);
    let userTotal = 0;
    for (let j = 0; j < J; j++) {
      rows[j] = job.entries[j]!.rows;
      userCounts[j] = job.users[j]!.length >> 1;
      userTotal += job.users[j]!.length;
    }
    const plan = this.#planOf(job, rows, userCounts, userTotal, threads, capacity);
    const total = plan.chunks.length / CHUNK_INTS;
    const handed: SharedPartition[] = [];
    const tCopy = performance.now();
    for (let j = 0; j < J; j++) {
      const sp = this.#shared.of(job.parts[j]!, job.entries[j]!);
      plan.serials[j] = sp.serial;
      if (!this.#shared.heldByAll(sp.serial, workers)) handed.push(sp);
    }
    // shared copies are made once per cache entry: a one-off the cost model does not charge to this scan
    const copyMs = handed.length === 0 ? 0 : performance.now() - tCopy;
    const drop = this.#shared.takeDropped();
    const withSetup = pool.setupKnown(setup.id) ? undefined : setup;
    if (!searchTestHooks.mainClaims) await pool.settle();
    // An earlier batch's answer may sit unread in the message queue (a caller whose awaits all
    // resolve as microtasks never lets it in, and piscina counts that worker busy until it is
    // read): one turn of the event loop lets it land before deciding whom to post to.
    if (pool.inFlight > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    // workers still busy with (or not yet scheduled for) an earlier batch's task get no new one
    const posted = Math.max(0, workers - pool.inFlight);
    if (posted < workers) this.#threadStats.skippedTasks += workers - posted;
    const pending = Array.from({ length: posted }, (_, w) => {
      const task: SearchTask = { setupId: setup.id, setup: withSetup, slot: w + 1, plan, partitions: handed, drop };
      return pool.run(task).then(
        (r) => {
          this.#threadStats.workerTasks++;
          this.#shared.held(r.threadId, handed);
          return r;
        },
        () => {
          this.#threadStats.workerFailures++;
          pool.forget();
          this.#shared.forget();
          return undefined;
        },
      );
    });
    const t1 = performance.now();
    if (!searchTestHooks.mainClaims) await Promise.all(pending);
    // this thread claims chunks like the workers (sharing the query terms it computes)
    const scanner = new PartitionScanner(plan.terms === undefined ? job : { ...job, sharedTerms: plan.terms }, tops);
    let mainScores = 0;
    try {
      for (;;) {
        const c = Atomics.add(plan.control, CONTROL_NEXT, 1);
        if (c >= total) break;
        Atomics.store(plan.owners, c, 0);
        const at = c * CHUNK_INTS;
        scanner.scan(plan.chunks[at]!, plan.chunks[at + 1]!, plan.chunks[at + 2]!, plan.chunks[at + 3]!, plan.chunks[at + 4]!);
        mainScores += (plan.chunks[at + 2]! - plan.chunks[at + 1]!) * (plan.chunks[at + 4]! - plan.chunks[at + 3]!);
        this.#threadStats.mainChunks++;
      }
      const t2 = performance.now();
      // a worker that had not joined when the chunks ran out claims none: do not wait for it
      const joined = pending.filter((_, w) => Atomics.load(plan.control, w + 1) === 1);
      const answers = await Promise.all(joined);
      const failed = new Set<number>();
      joined.forEach((_, i) => {
        if (answers[i] === undefined) failed.add(pending.indexOf(joined[i]!) + 1);
      });
      const t3 = performance.now();
      let workerScores = 0;
      for (const r of answers) if (r !== undefined && r.chunks > 0) mergeCandidates(tops, r.candidates);
      for (let c = 0; c < total; c++) {
        const owner = plan.owners[c]!;
        const at = c * CHUNK_INTS;
        const scores = (plan.chunks[at + 2]! - plan.chunks[at + 1]!) * (plan.chunks[at + 4]! - plan.chunks[at + 3]!);
        if (owner === 0) continue;
        if (owner > 0 && !failed.has(owner)) {
          workerScores += scores;
          this.#threadStats.workerChunks++;
          continue;
        }
        // given back, claimed by a worker that died before marking it, or owned by a failed worker
        scanner.scan(plan.chunks[at]!, plan.chunks[at + 1]!, plan.chunks[at + 2]!, plan.chunks[at + 3]!, plan.chunks[at + 4]!);
        this.#threadStats.rescannedChunks++;
      }
      const t4 = performance.now();
      const overhead = t1 - tPlan - copyMs + (t3 - t2) + (t4 - t3);
      this.#cost.threaded(overhead, workerScores / Math.max(1, workerScores + mainScores), workerScores + mainScores, t4 - tPlan - copyMs);
      const st = this.#threadStats;
      st.handoffMs += t1 - tPlan;
      st.mainScanMs += t2 - t1;
      st.waitMs += t3 - t2;
      st.mergeMs += t4 - t3;
      this.#threadStats.workerRowScores += workerScores;
      this.#threadStats.mainRowScores += mainScores;
    } finally {
      scanner.dispose();
    }
  }

  /** The shared-memory plan of a threaded scan. */
  #planOf(job: ScanJob, rows: Int32Array, userCounts: Int32Array, userTotal: number, threads: number, capacity: number): SearchPlan {
    const J = rows.length;
    const dim = this.dim;
    const sab = (n: number) => new SharedArrayBuffer(Math.max(4, n * 4));
    const queries = new Float32Array(sab(job.queries.length * dim), 0, job.queries.length * dim);
    job.queries.forEach((q, i) => queries.set(q, i * dim));
    const userStart = new Int32Array(sab(J + 1), 0, J + 1);
    const users = new Int32Array(sab(userTotal), 0, userTotal);
    let at = 0;
    for (let j = 0; j < J; j++) {
      userStart[j] = at;
      users.set(job.users[j]!, at);
      at += job.users[j]!.length;
    }
    userStart[J] = at;
    const chunks = planChunks(rows, userCounts, threads);
    const total = chunks.length / CHUNK_INTS;
    const owners = new Int32Array(sab(total), 0, total).fill(UNCLAIMED);
    const parts = new Int32Array(sab(J), 0, J);
    for (let j = 0; j < J; j++) parts[j] = job.parts[j]!;
    const nq = job.queries.length;
    const size = job.pqTables === undefined ? 0 : job.pqTables.m * 256;
    const terms = size === 0 ? undefined : { terms: new Float32Array(sab(nq * size), 0, nq * size), state: new Int32Array(sab(nq), 0, nq) };
    return { terms, queries, capacity, parts, serials: new Int32Array(sab(J), 0, J), userStart, users, chunks, control: new Int32Array(sab(threads + 1), 0, threads + 1), owners };
  }

  /** How searches used worker threads so far: scans split over threads, worker tasks answered and failed, chunks and row scores per side, scans the cost model kept on this thread, and what the workers hold. */
  searchThreadStats(): Readonly<IvfSearchThreadStats> {
    const resident = this.#pool?.resident() ?? { partitions: 0, bytes: 0 };
    return { ...this.#threadStats, probeScans: this.#cost.probes, residentPartitions: resident.partitions, residentBytes: resident.bytes, rowNs: this.#cost.rowNs, overheadMs: this.#cost.overheadMs, workerShare: this.#cost.workerShare };
  }

  /**
   * Stops this index's search worker threads (idle workers never keep the process alive, so
   * calling this is only needed to free them early). Later searches run on this thread.
   */
  async close(): Promise<void> {
    this.#closed = true;
    // the search scratch goes with the index (a search after close makes its own)
    this.#freeTops.length = 0;
    const pool = this.#pool;
    this.#pool = undefined;
    const reads = this.#rawReadsMade;
    if (reads !== undefined) RAW_READS_FINALIZER.unregister(reads);
    // refine after close still works: each cold read then opens and closes its own reader
    await Promise.all([pool?.close(), reads?.close()]);
  }

  /** Readers this index opened on its file for refine's cold row groups so far (the kept one and one-shot ones after close). */
  get rawReaderOpens(): number {
    return this.#rawReadsMade?.opens ?? 0;
  }

  get #rawReads(): RawRowGroupReads {
    let reads = this.#rawReadsMade;
    if (reads === undefined) {
      this.#rawReadsMade = reads = new RawRowGroupReads(this.store);
      if (this.#closed) void reads.close();
      else RAW_READS_FINALIZER.register(this, reads, reads);
    }
    return reads;
  }

  async #finish(query: Float32Array, top: TopKCandidates, probes: Uint32Array, k: number, refine: number | undefined): Promise<{ id: bigint; distance: number }[]> {
    const { dim, distance } = this.#state.metadata;
    // slot i is then the i-th best candidate
    top.sortInPlace();
    if (refine === undefined) return hitsOf(top, k);
    const live = this.#refineLive(query, top, probes, k);
    if (live !== undefined) return live;
    // Refine: exact distances on the raw vectors of the candidates only (whole cached partitions
    // when present, else the row groups holding them), so its cost follows k x refineFactor.
    const bySlot = new Map<number, number[]>();
    for (let c = 0; c < top.size; c++) {
      const slot = top.tagA[c]!;
      let list = bySlot.get(slot);
      if (list === undefined) bySlot.set(slot, (list = []));
      list.push(c);
    }
    const rowOf = new Array<Float32Array>(top.size);
    const cold: ColdGroups = { parts: [], groups: [], insert: [], slots: [], offsets: [], of: [], reserved: 0 };
    let slab: Uint8Array | undefined;
    try {
      try {
        await Promise.all([...bySlot].map(([slot, cands]) => this.#candidateRows(probes[slot]!, cands.map((c) => top.tagB[c]!), cands, rowOf, cold)));
        if (cold.groups.length > 0) {
          // the cold groups of every probed partition in one multi-range read into a scratch slab, each verified
          const read = await this.#readRowGroups(cold);
          slab = read.slab;
          cold.slots.forEach((c, i) => (rowOf[c] = read.groups[cold.of[i]!]!.subarray(cold.offsets[i]! * dim, (cold.offsets[i]! + 1) * dim)));
        }
      } finally {
        // the room reserved for admitted groups is given back whether or not they arrived
        this.#pendingRowBytes -= cold.reserved;
      }
      const exact = this.#takeTop(k);
      for (let c = 0; c < top.size; c++) {
        const d = exactDistance(query, rowOf[c]!, dim, distance);
        if (d <= exact.threshold()) exact.offer(d, top.rowIds[c]!, 0, 0);
      }
      exact.sortInPlace();
      const hits = hitsOf(exact, k);
      this.#giveTop(exact);
      return hits;
    } finally {
      // the rows viewed in the slab are used up: it serves the next query
      if (slab !== undefined) this.#rawReads.release(slab);
    }
  }

  /**
   * Refine without a promise or a copy when every candidate's row group is live in this index's
   * own row cache (the warm case): candidates keyed by (partition, group) and sorted (a typed
   * array sort, no comparator), each distinct group looked up once, exact distances read in
   * place from the groups. Returns undefined (nothing counted, nothing changed) when some group
   * is not live or the index has no own row cache: the general path then does the work. Runs
   * synchronously, so this index's scratch serves every search in turn.
   */
  #refineLive(query: Float32Array, top: TopKCandidates, probes: Uint32Array, k: number): { id: bigint; distance: number }[] | undefined {
    const n = top.size;
    if (this.#state.rawRowGroups === undefined || !OWN_CACHE_BYTES.has(this) || n === 0 || n >= LIVE_REFINE_MAX) return undefined;
    const rc = this.#rowCache;
    const peek = rc.backend.peekLive;
    if (peek === undefined) return undefined;
    const G = this.#rowsPerGroup;
    const { dim, distance } = this.#state.metadata;
    if (this.#liveKeys.length < n) {
      const size = Math.max(n, 2 * this.#liveKeys.length, 64);
      this.#liveKeys = new Float64Array(size);
      this.#liveAt = new Int32Array(size);
      this.#liveBufs = new Array(size);
    }
    const keys = this.#liveKeys;
    for (let c = 0; c < n; c++) {
      const g = Math.floor(top.tagB[c]! / G);
      // a partition of over 2^20 groups (only at dim >= 4096: one row per group) does not fit the key
      if (g >= GROUP_SPAN) return undefined;
      keys[c] = (probes[top.tagA[c]!]! * GROUP_SPAN + g) * LIVE_REFINE_MAX + c;
    }
    const sorted = keys.subarray(0, n).sort();
    const bufs = this.#liveBufs;
    const at = this.#liveAt;
    // pass 1: every group live and matching, through the backend (nothing counted yet)
    let prev = -1;
    let v: Float32Array | undefined;
    for (let i = 0; i < n; i++) {
      const key = sorted[i]!;
      const c = key % LIVE_REFINE_MAX;
      const gk = (key - c) / LIVE_REFINE_MAX;
      if (gk !== prev) {
        prev = gk;
        const p = Math.floor(gk / GROUP_SPAN);
        const g = gk - p * GROUP_SPAN;
        const rk = this.#rowKeyOf(p, g);
        const e = peek.call(rc.backend, rk.byteKey)?.value as RawRowGroup | undefined;
        v = e !== undefined && this.#rowGroupMatches(e, p, g, rk.tag) ? e.vectors : undefined;
        if (v === undefined) {
          bufs.fill(undefined, 0, n);
          return undefined;
        }
      }
      bufs[c] = v;
      at[c] = (top.tagB[c]! % G) * dim;
    }
    // pass 2: one counted hit per distinct group, as the general path counts them
    prev = -1;
    for (let i = 0; i < n; i++) {
      const key = sorted[i]!;
      const gk = (key - (key % LIVE_REFINE_MAX)) / LIVE_REFINE_MAX;
      if (gk === prev) continue;
      prev = gk;
      const p = Math.floor(gk / GROUP_SPAN);
      rc.peekLive(this.#rowKeyOf(p, gk - p * GROUP_SPAN).key);
    }
    const exact = this.#takeTop(k);
    const ids32 = idHalves(top.rowIds);
    for (let c = 0; c < n; c++) {
      const d = distanceFrom(query, bufs[c]!, at[c]!, dim, distance);
      if (d <= exact.threshold()) exact.offerAt(d, ids32, c, 0, 0);
    }
    // no group stays referenced by the scratch (the cache may evict it)
    bufs.fill(undefined, 0, n);
    exact.sortInPlace();
    const hits = hitsOf(exact, k);
    this.#giveTop(exact);
    return hits;
  }

  /** Row group g of partition p's cache key and byte key, made once per state. */
  #rowKeyOf(p: number, g: number): { key: CacheKey<RawRowGroup>; byteKey: string; tag: string } {
    if (this.#rowKeysState !== this.#state) {
      this.#rowKeysState = this.#state;
      this.#rowKeys = [];
    }
    const perPart = (this.#rowKeys[p] ??= []);
    let r = perPart[g];
    if (r === undefined) {
      const key = this.#rowKey(p, g);
      r = perPart[g] = { key, byteKey: formatCacheKey(this.#rowCache.prefix, key.key, key.typeName), tag: `g${p}/${g}` };
    }
    return r;
  }

  /**
   * Put the raw vector of row `rows[j]` of partition p into `out[slots[j]]` when its group is
   * cached, else queue its group in `cold` (read by the caller, for every partition at once).
   */
  async #candidateRows(p: number, rows: readonly number[], slots: readonly number[], out: Float32Array[], cold: ColdGroups): Promise<void> {
    const dim = this.dim;
    const whole = await this.#cachedVectors(p);
    if (whole !== undefined) {
      rows.forEach((r, j) => (out[slots[j]!] = whole.vectors.subarray(r * dim, (r + 1) * dim)));
      return;
    }
    const G = this.#rowsPerGroup;
    const ids = [...new Set(rows.map((r) => Math.floor(r / G)))];
    if (this.#state.rawRowGroups === undefined) {
      const groups = await this.#rowGroups(p, ids);
      rows.forEach((r, j) => {
        const g = groups.get(Math.floor(r / G))!;
        const at = (r % G) * dim;
        out[slots[j]!] = g.subarray(at, at + dim);
      });
      return;
    }
    // Kind version 3: cached groups serve their rows. A cold group is read whole and verified
    // against its CRC-32; it enters the row cache only while the cache has room for it, so a
    // full row cache is never churned by one query's candidates (no eviction, no GC of evictees).
    const hits = await this.#cachedRowGroups(p, ids);
    const rowsOfP = this.#location(p).rows;
    const at = new Map<number, number>();
    for (const g of ids) {
      if (hits.has(g)) continue;
      const bytes = Math.max(0, Math.min(G, rowsOfP - g * G)) * dim * 4;
      const room = this.#rowCacheBytes - this.#rowCache.backend.approxSizeBytes() - this.#pendingRowBytes;
      const insert = room >= bytes;
      if (insert) {
        this.#pendingRowBytes += bytes;
        cold.reserved += bytes;
      }
      at.set(g, cold.groups.length);
      cold.parts.push(p);
      cold.groups.push(g);
      cold.insert.push(insert);
    }
    rows.forEach((r, j) => {
      const g = Math.floor(r / G);
      const v = hits.get(g);
      if (v !== undefined) out[slots[j]!] = v.subarray((r % G) * dim, (r % G + 1) * dim);
      else {
        cold.slots.push(slots[j]!);
        cold.offsets.push(r % G);
        cold.of.push(at.get(g)!);
      }
    });
  }

  /** Row groups of partition p that the row cache holds and that match the state (no load; a mismatch is a counted miss). */
  async #cachedRowGroups(p: number, groups: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = new Map<number, Float32Array>();
    const cached = await Promise.all(groups.map((g) => this.#rowCache.get(this.#rowKey(p, g))));
    groups.forEach((g, j) => {
      const v = cached[j];
      if (v === undefined) return;
      if (this.#rowGroupMatches(v, p, g)) out.set(g, v.vectors);
      else this.#rejects.rowGroups++;
    });
    return out;
  }

  /**
   * Kind version 3: the row groups queued in `cold` (of any partitions) with one multi-range read
   * (adjacent groups merged) into a scratch slab, in file order (so merged groups land in one
   * direct read), each verified in place against its CRC-32 (RAW_ROW_GROUP_CHECKSUM_MISMATCH)
   * before use; only those flagged `insert` are copied out, into the row cache. The caller gives
   * the slab back once it no longer uses the views.
   */
  async #readRowGroups(cold: ColdGroups): Promise<{ groups: Float32Array[]; slab: Uint8Array }> {
    const table = this.#state.rawRowGroups!;
    const G = this.#rowsPerGroup;
    const rowBytes = 4 * this.dim;
    const ranges: ByteRange[] = cold.groups.map((g, j) => {
      const p = cold.parts[j]!;
      const loc = this.#location(p);
      if (loc.raw === undefined) throw formatError("MISSING_SECTION", `partition ${p} has no raw vectors`, "section");
      if (loc.raw.length !== loc.rows * rowBytes) throw formatError("PARTITION_LENGTH_MISMATCH", `raw vectors of partition ${p}: ${loc.raw.length} bytes for ${loc.rows} rows`, "section", loc.raw.offset);
      const first = g * G;
      if (first >= loc.rows) throw formatError("PARTITION_LENGTH_MISMATCH", `row group ${g} of partition ${p} is past its ${loc.rows} rows`, "section");
      const length = Math.min(G, loc.rows - first) * rowBytes;
      return { offset: loc.raw.offset + first * rowBytes, length };
    });
    // file order: adjacent groups are then back to back in the slab too (one read each run)
    const order = ranges.map((_, j) => j).sort((a, b) => ranges[a]!.offset - ranges[b]!.offset);
    const at = new Array<number>(ranges.length);
    let total = 0;
    for (const j of order) {
      at[j] = total;
      total += ranges[j]!.length;
    }
    const reads = this.#rawReads;
    const slab = reads.acquire(total);
    try {
      try {
        await reads.readInto(this.#state, this.#state.path, order.map((j) => ranges[j]!), slab);
      } catch (cause) {
        if (!isStoreError(cause, "RANGE_OUT_OF_BOUNDS")) throw cause;
        throw new QuiverFormatError("TRUNCATED", `${this.#state.path}: raw rows are past the end of the object`, { stage: "section", offset: ranges[0]!.offset, cause });
      }
      const groups = ranges.map((r, j) => {
        const p = cold.parts[j]!;
        const g = cold.groups[j]!;
        const bytes = slab.subarray(at[j]!, at[j]! + r.length);
        verifyRawRowGroup(table, p, g, bytes, r.offset);
        const vectors = new Float32Array(slab.buffer, slab.byteOffset + at[j]!, r.length >> 2);
        if (cold.insert[j]) {
          // the cache keeps its own copy (the slab is reused by the next query)
          const group: RawRowGroup = { partition: p, group: g, vectors: vectors.slice() };
          this.#checked.set(group, `g${p}/${g}`);
          void this.#rowCache.insert(this.#rowKey(p, g), group);
        }
        return vectors;
      });
      return { groups, slab };
    } catch (e) {
      reads.release(slab);
      throw e;
    }
  }

  /** Whole raw vectors of partition p when the main cache holds a matching entry (no load). */
  async #cachedVectors(p: number): Promise<IvfPartitionVectors | undefined> {
    const cache = this.cache;
    // A cache the index made itself never holds whole raw-vector partitions (they go to the row cache).
    if (cache === undefined || OWN_CACHE_BYTES.has(this)) return undefined;
    let v: unknown;
    try {
      v = await cache.get(this.#vectorKey(p));
    } catch {
      return undefined;
    }
    if (v === undefined) return undefined;
    if (this.#vectorsMatch(v, p)) return v as IvfPartitionVectors;
    this.#rejects.vectors++;
    return undefined;
  }

  #rowKey(p: number, g: number): CacheKey<RawRowGroup> {
    // the per-partition prefix (path + identity, ~100 characters) is built once per state
    const prefix = (this.#rowKeyPrefix[p] ??= `${this.#keyBase}/${this.#state.metadata.identity}/rows/${p}/`);
    return { key: prefix + g, typeName: RAW_ROW_GROUP_TYPE_NAME, sizeOf: rawRowGroupSize };
  }

  /**
   * Kind version 2 (one CRC-32 per raw-vector section only): row groups `groups` of partition p
   * from the row cache, or else the whole raw-vector section read and verified once, its groups
   * then serving later refines from the row cache.
   */
  async #rowGroups(p: number, groups: readonly number[]): Promise<Map<number, Float32Array>> {
    const out = await this.#cachedRowGroups(p, groups);
    const missing = groups.filter((g) => !out.has(g));
    if (missing.length === 0) return out;
    const loc = this.#location(p);
    if (loc.raw === undefined) throw formatError("MISSING_SECTION", `partition ${p} has no raw vectors`, "section");
    const G = this.#rowsPerGroup;
    const whole = await this.readPartitionVectors(p);
    for (const g of missing) {
      if (g * G >= loc.rows) throw formatError("PARTITION_LENGTH_MISMATCH", `row group ${g} of partition ${p} is past its ${loc.rows} rows`, "section");
      out.set(g, whole.vectors.subarray(g * G * this.dim, Math.min(loc.rows, (g + 1) * G) * this.dim));
    }
    await this.#fillRowGroups(whole);
    return out;
  }

  /** True when a cached row group is group g of partition p as the state records it (checked by this process, or its CRC-32 matches the row-group table). */
  #rowGroupMatches(v: RawRowGroup, p: number, g: number, tag?: string): boolean {
    try {
      if (typeof v !== "object" || v === null || v.partition !== p || v.group !== g) return false;
      if (this.#checked.get(v) === (tag ?? `g${p}/${g}`)) return true;
      const table = this.#state.rawRowGroups;
      const loc = this.#state.partitions[p]!;
      const G = this.#rowsPerGroup;
      if (table === undefined || !(v.vectors instanceof Float32Array) || g * G >= loc.rows) return false;
      if (v.vectors.length !== (Math.min(loc.rows, (g + 1) * G) - g * G) * this.dim || !rawRowGroupMatches(table, p, g, viewBytes(v.vectors))) return false;
      this.#checked.set(v, `g${p}/${g}`);
      return true;
    } catch {
      return false;
    }
  }

  /** Split verified raw vectors of partition p into the row cache. */
  async #fillRowGroups(v: IvfPartitionVectors): Promise<void> {
    const G = this.#rowsPerGroup;
    const dim = this.dim;
    // Only what fits without evicting: a full row cache keeps its groups (no churn). When the
    // cache cannot hold all raw vectors, each group is copied out, so the groups it keeps do not
    // pin their whole partition's buffer (the budget counts group bytes only).
    const copy = this.#rowCacheBytes < indexByteCounts(this.#state).raw;
    for (let g = 0; g * G < v.rows; g++) {
      const view = v.vectors.subarray(g * G * dim, Math.min(v.rows, (g + 1) * G) * dim);
      if (this.#rowCache.backend.approxSizeBytes() + view.byteLength > this.#rowCacheBytes) return;
      const group: RawRowGroup = { partition: v.partition, group: g, vectors: copy ? view.slice() : view };
      this.#checked.set(group, `g${v.partition}/${g}`);
      await this.#rowCache.insert(this.#rowKey(v.partition, g), group);
    }
  }

  /** True when the row cache has no room for one more row. */
  #rowCacheFull(): boolean {
    return this.#rowCache.backend.approxSizeBytes() + this.dim * 4 > this.#rowCacheBytes;
  }

  /** Hit rates per entry type (the codes cache's counters are shared by every index on that cache) and the budgets. */
  cacheStats(): IvfCacheStats {
    const of = (s: { hits: number; misses: number } | undefined): IvfCacheTypeStats => {
      const hits = s?.hits ?? 0;
      const misses = s?.misses ?? 0;
      return { hits, misses, hitRate: hits + misses === 0 ? 0 : hits / (hits + misses) };
    };
    const byType = this.cache?.stats().byType ?? {};
    const rows = this.#rowCache.stats();
    return {
      state: of(byType[IVF_INDEX_STATE_TYPE_NAME]),
      codes: of(byType[PARTITION_TYPE_NAMES[this.#state.metadata.quantizer.kind]]),
      vectors: of(byType[PARTITION_VECTORS_TYPE_NAME]),
      rawRows: of(rows.byType[RAW_ROW_GROUP_TYPE_NAME]),
      cacheBytes: OWN_CACHE_BYTES.get(this),
      rawVectorCacheBytes: this.#rowCacheBytes,
      rawVectorCacheUsedBytes: rows.sizeBytes,
    };
  }

  /** Load the state and every partition (and raw vectors, when stored) into the cache. */
  async prewarm(options: { concurrency?: number; vectors?: boolean } = {}): Promise<void> {
    checkOptions("options", options, ["concurrency", "vectors"]);
    const concurrency = options.concurrency === undefined ? 8 : checkInteger("options.concurrency", options.concurrency, 1, 1024);
    if (options.vectors !== undefined && typeof options.vectors !== "boolean") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.vectors", expected: "a boolean", given: options.vectors });
    }
    if (this.cache === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "index", expected: "an index opened with a cache", given: undefined, hint: "open it with openVectorIndex (which makes one) or pass options.cache" });
    await this.cache.insert(cacheKey(stateKey(this.#keyBase, this.identity), ivfIndexStateCodec), this.#state);
    const withVectors = (options.vectors ?? true) && this.#state.metadata.rawVectors;
    // A cache the index made for itself keeps codes only; raw vectors go to the row cache (their own budget).
    const own = OWN_CACHE_BYTES.has(this);
    const jobs: (() => Promise<unknown>)[] = [];
    for (let p = 0; p < this.numPartitions; p++) {
      jobs.push(() => this.loadPartition(p));
      if (withVectors) jobs.push(own ? async () => (this.#rowCacheFull() ? undefined : this.#fillRowGroups(await this.readPartitionVectors(p))) : () => this.loadPartitionVectors(p));
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) await jobs[next++]!();
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    // Cache writes run in the background; prewarm promises they have landed.
    await this.cache.flush();
  }

  /**
   * Start a new pool's workers: a few real scans (partition `part` for 8 queries at its
   * centroid) on every worker, so module load and JIT happen here, not in the batches that
   * follow; then round trips of empty plans, whose median seeds the cost model's hand-off time.
   */
  async #warmWorkers(pool: SearchPool, part: number, entry: ScanPartition): Promise<void> {
    const dim = this.dim;
    const setup = this.#setup!;
    const nq = 8;
    const queries = Array.from({ length: nq }, () => this.#state.centroids.subarray(part * dim, (part + 1) * dim));
    const users = Array.from({ length: nq }, (_, i) => [i, 0]).flat();
    const job = { queries, entries: [entry], users: [users], parts: [part] } as unknown as ScanJob;
    const sp = this.#shared.of(part, entry);
    try {
      for (let round = 0; round < 4; round++) {
        await Promise.all(
          Array.from({ length: pool.workers }, () => {
            const plan = this.#planOf(job, Int32Array.of(entry.rows), Int32Array.of(nq), users.length, 2, 10);
            plan.serials[0] = sp.serial;
            return pool.run({ setupId: setup.id, setup: pool.setupKnown(setup.id) ? undefined : setup, slot: 1, plan, partitions: [sp], drop: new Int32Array(0) }).then((r) => this.#shared.held(r.threadId, [sp]));
          }),
        );
      }
      const trips: number[] = [];
      for (let round = 0; round < 5; round++) {
        const plan = this.#planOf({ ...job, entries: [], users: [], parts: [] } as unknown as ScanJob, new Int32Array(0), new Int32Array(0), 0, 2, 10);
        const t = performance.now();
        await pool.run({ setupId: setup.id, setup: undefined, slot: 1, plan, partitions: [], drop: new Int32Array(0) });
        trips.push(performance.now() - t);
      }
      trips.sort((a, b) => a - b);
      this.#cost.overheadMs = trips[2]!;
    } catch {
      // a worker that cannot start is found again (and counted) by the scan itself
    }
  }
}

/**
 * Open an IVF index. With `identity` and a cache holding that state (e.g. after {@link prewarm}
 * through a persistent backend) this makes no store request at all; otherwise it reads the state
 * with at most three ranged reads (see {@link readIvfIndexState}), checks the identity, and
 * caches the state under its identity.
 */
export async function openVectorIndex(store: ObjectStore, path: string, options: OpenVectorIndexOptions = {}): Promise<IvfVectorIndex> {
  checkStore(store);
  checkPath(path);
  checkOpenOptions(options);
  const base = options.cacheKey ?? path;
  if (options.cache === undefined) return openWithOwnCache(store, path, base, options);
  const cache = options.cache;
  const live: { cache?: IndexCache; cacheKey?: string; rawVectorCacheBytes?: number } = { cacheKey: base, cache };
  if (options.rawVectorCacheBytes !== undefined) live.rawVectorCacheBytes = options.rawVectorCacheBytes;
  let rejected = 0;
  if (cache !== undefined && options.identity !== undefined) {
    let cached: unknown;
    try {
      cached = await cache.get(cacheKey(stateKey(base, options.identity), ivfIndexStateCodec));
    } catch {
      cached = undefined;
    }
    if (cached !== undefined) {
      const state = acceptCachedState(cached, path, options.identity);
      if (state !== undefined) {
        let index: IvfVectorIndex | undefined;
        try {
          index = IvfVectorIndex.fromCachedState(store, state, live);
        } catch {
          // A state whose quantizer cannot be rebuilt is a miss like any other.
        }
        if (index !== undefined) {
          if (options.prewarm === true) await index.prewarm();
          return index;
        }
      }
      rejected++;
    }
  }
  const state = await readIvfIndexState(store, path, options.fileSize);
  if (options.identity !== undefined && state.metadata.identity !== options.identity) {
    throw formatError("IDENTITY_MISMATCH", `the file has identity ${state.metadata.identity}, the caller asked for ${options.identity}`, "identity");
  }
  const index = IvfVectorIndex.fromStoreState(store, state, live, rejected);
  if (cache !== undefined) await insertQuietly(cache, cacheKey(stateKey(base, state.metadata.identity), ivfIndexStateCodec), state);
  if (options.prewarm === true) await index.prewarm();
  return index;
}

/**
 * Open with a cache sized from the index itself: the budget is `cacheBytes`, or the file size
 * capped at {@link DEFAULT_CACHE_MEMORY_SHARE} of the machine's memory; code partitions and the
 * state get it first, raw-vector row groups the rest (or `rawVectorCacheBytes`). One warning
 * with the numbers when the working set does not fit.
 */
async function openWithOwnCache(store: ObjectStore, path: string, base: string, options: OpenVectorIndexOptions): Promise<IvfVectorIndex> {
  const state = await readIvfIndexState(store, path, options.fileSize);
  if (options.identity !== undefined && state.metadata.identity !== options.identity) {
    throw formatError("IDENTITY_MISMATCH", `the file has identity ${state.metadata.identity}, the caller asked for ${options.identity}`, "identity");
  }
  const { codes, raw, meta } = indexByteCounts(state);
  const share = Math.floor(machineMemoryBytes() * DEFAULT_CACHE_MEMORY_SHARE);
  const total = options.cacheBytes ?? Math.min(state.fileSize + (state.fileSize >> 4) + MIB, share);
  const wantCodes = codes + meta + (codes >> 4) + MIB;
  const codesBytes = Math.max(1, Math.min(total, wantCodes));
  const rawBytes = options.rawVectorCacheBytes ?? Math.max(1, total - codesBytes);
  const cache = IndexCache.inMemory(codesBytes);
  const index = IvfVectorIndex.fromStoreState(store, state, { cache, cacheKey: base, rawVectorCacheBytes: rawBytes }, 0);
  OWN_CACHE_BYTES.set(index, codesBytes);
  if (codes + meta > codesBytes || raw > rawBytes) {
    const mib = (b: number): string => `${(b / MIB).toFixed(1)} MiB`;
    const warn = options.onWarning ?? ((m: string) => process.emitWarning(m, "QuiverCacheWarning"));
    warn(
      `IVF index ${describeValue(path)}: working set does not fit the cache (codes + state ${mib(codes + meta)} in a ${mib(codesBytes)} budget, raw vectors ${mib(raw)} in ${mib(rawBytes)}; ` +
        `${options.cacheBytes === undefined ? `capped at ${DEFAULT_CACHE_MEMORY_SHARE * 100}% of ${mib(totalmem())} memory` : "cacheBytes given"}): searches will read from the store`,
    );
  }
  await insertQuietly(cache, cacheKey(stateKey(base, state.metadata.identity), ivfIndexStateCodec), state);
  if (options.prewarm === true) await index.prewarm();
  return index;
}

const MIB = 1024 * 1024;

/** Load the index state and every partition into the index's cache. */
export function prewarm(index: IvfVectorIndex): Promise<void> {
  if (!(index instanceof IvfVectorIndex)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "index", expected: "an IvfVectorIndex", given: index });
  return index.prewarm();
}
