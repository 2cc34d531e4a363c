/**
 * Opening an IVF index (cold from the store with a bounded number of reads, or rebuilt from the
 * cached `IvfIndexState` with none), loading partitions through the typed cache, and search.
 */
import { type CacheKey, type IndexCache, cacheKey } from "@quiver/cache";
import {
  type FrameSection,
  QuiverFormatError,
  frameTableLength,
  inspectFrameHeader,
  parseJsonBytes,
  typedView,
  verifySection,
} from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { distance as exactDistance, nearestCentroids, quantizerFromMetadata } from "./compute/index.js";
import {
  COLD_OPEN_PREFIX_BYTES,
  IVF_INDEX_KIND,
  IVF_INDEX_KIND_VERSION,
  IVF_INDEX_TYPE_NAME,
  IVF_LIMITS,
  IVF_SECTION,
  type PartitionLocation,
  parseIvfIndexMetadata,
  quantizerMetadataOf,
} from "./index-format.js";
import {
  type IvfPartitionEntry,
  type IvfPartitionVectors,
  partitionEntryCodecs,
  partitionEntryFromSection,
  partitionVectorsCodec,
} from "./partition-codecs.js";
import type { TrainedQuantizer } from "./quantizer.js";
import { type IvfIndexState, checkLocationsInFile, ivfIndexStateCodec } from "./state-codec.js";
import { TopKCandidates } from "./top-k.js";

/** Options of {@link openVectorIndex}. */
export interface OpenVectorIndexOptions {
  /** Typed cache for the state and partitions; without one every search reads its partitions. */
  readonly cache?: IndexCache;
  /** Size of the index file when the caller knows it (e.g. from a manifest): the first read is then never speculative. */
  readonly fileSize?: number;
  /** Cache key namespace of this index (default: the path). */
  readonly cacheKey?: string;
}

/** Search parameters. */
export interface VectorSearchOptions {
  /** Results wanted (>= 1). */
  readonly k: number;
  /** Partitions probed (default 20, clamped to the partition count). */
  readonly nprobes?: number;
  /** Re-rank k * refineFactor candidates with exact distances on raw vectors (needs an index with raw vectors; >= 1). */
  readonly refineFactor?: number;
  /** Only these row ids may be returned. */
  readonly allowList?: Iterable<bigint | number>;
  /** Only row ids this filter holds may be returned (e.g. a scalar index's row-address set); checked only for candidates that would enter the top k. */
  readonly prefilter?: RowIdPrefilter;
}

/** The minimal row-id set search accepts as a prefilter. */
export interface RowIdPrefilter {
  has(rowId: bigint): boolean;
}

/** One search result. */
export interface VectorSearchHit {
  readonly rowId: bigint;
  readonly distance: number;
}

/** Search defaults. */
export const DEFAULT_NPROBES = 20;

function formatError(code: string, message: string, stage: string, offset?: number): QuiverFormatError {
  return new QuiverFormatError(code, message, offset === undefined ? { stage } : { stage, offset });
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
  const metadata = parseIvfIndexMetadata(parseJsonBytes(metaSection.bytes, metaSection.offset), "metadata");
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
  if (byId.size !== 3 + arrays.length) throw formatError("SCHEMA_VIOLATION", `${byId.size - 3 - arrays.length} unknown metadata sections`, "section-table");
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
  checkLocationsInFile(metadata, partitions, frameLength, "payload");
  return { path, fileSize: frameLength, metadata, centroids, quantizer: quantizerMetadataOf(metadata, arrays), partitions };
}

/** Rebuild the quantizer of a state, reporting bad parameters as QuiverFormatError. */
function liveQuantizer(state: IvfIndexState): TrainedQuantizer {
  let q: TrainedQuantizer;
  try {
    q = quantizerFromMetadata(state.quantizer);
  } catch (cause) {
    if (cause instanceof QuiverFormatError) throw cause;
    throw new QuiverFormatError("INVALID_VALUE", `quantizer metadata rejected: ${(cause as Error)?.message ?? String(cause)}`, { stage: "payload", cause });
  }
  if (q.codeWidth !== state.metadata.quantizer.codeWidth) {
    throw formatError("SCHEMA_VIOLATION", `quantizer code width ${q.codeWidth}, metadata says ${state.metadata.quantizer.codeWidth}`, "payload");
  }
  return q;
}

/** A live IVF index: search, partition loads through the cache, prewarm. */
export class IvfVectorIndex {
  readonly store: ObjectStore;
  readonly state: IvfIndexState;
  readonly quantizer: TrainedQuantizer;
  readonly cache: IndexCache | undefined;
  readonly #keyBase: string;
  readonly #entryKeys: CacheKey<IvfPartitionEntry>[] = [];
  readonly #vectorKeys: CacheKey<IvfPartitionVectors>[] = [];

  /** Build a live index from a state (no IO). */
  constructor(store: ObjectStore, state: IvfIndexState, options: { cache?: IndexCache; cacheKey?: string } = {}) {
    this.store = store;
    this.state = state;
    this.quantizer = liveQuantizer(state);
    this.cache = options.cache;
    this.#keyBase = options.cacheKey ?? state.path;
    const codec = partitionEntryCodecs[state.metadata.quantizer.kind];
    for (let p = 0; p < state.metadata.numPartitions; p++) {
      this.#entryKeys.push(cacheKey(`${this.#keyBase}/partition/${p}`, codec));
      this.#vectorKeys.push(cacheKey(`${this.#keyBase}/vectors/${p}`, partitionVectorsCodec));
    }
  }

  /** The cache key of partition p's entry (for tools that pre-populate a cache). */
  partitionCacheKey(p: number): CacheKey<IvfPartitionEntry> {
    const k = this.#entryKeys[p];
    if (k === undefined) throw new RangeError(`partition ${p} of ${this.numPartitions}`);
    return k;
  }

  /** The cache key of partition p's raw vectors. */
  vectorsCacheKey(p: number): CacheKey<IvfPartitionVectors> {
    const k = this.#vectorKeys[p];
    if (k === undefined) throw new RangeError(`partition ${p} of ${this.numPartitions}`);
    return k;
  }

  get dim(): number {
    return this.state.metadata.dim;
  }

  get numPartitions(): number {
    return this.state.metadata.numPartitions;
  }

  /** Read and verify partition p's row ids and codes from the store (one ranged read; none when empty). */
  async readPartition(p: number): Promise<IvfPartitionEntry> {
    const loc = this.#location(p);
    const { kind, codeWidth } = this.state.metadata.quantizer;
    if (loc.rows === 0) return partitionEntryFromSection(kind, p, 0, codeWidth, new Uint8Array(0));
    const bytes = await readRange(this.store, this.state.path, loc.offset, loc.length, "section");
    verifySection({ id: IVF_SECTION.partitionBase + p, encoding: "raw", offset: loc.offset, length: loc.length, crc32: loc.crc32 }, bytes);
    return partitionEntryFromSection(kind, p, loc.rows, codeWidth, bytes);
  }

  /** Read and verify partition p's raw vectors (one ranged read; none when empty). */
  async readPartitionVectors(p: number): Promise<IvfPartitionVectors> {
    const loc = this.#location(p);
    const dim = this.dim;
    if (loc.raw === undefined) throw new RangeError("this index stores no raw vectors");
    if (loc.rows === 0) return { partition: p, rows: 0, dim, vectors: new Float32Array(0) };
    const bytes = await readRange(this.store, this.state.path, loc.raw.offset, loc.raw.length, "section");
    verifySection({ id: IVF_SECTION.rawVectorBase + p, encoding: "f32", ...loc.raw }, bytes);
    return { partition: p, rows: loc.rows, dim, vectors: typedView(bytes, "f32", loc.raw.offset) };
  }

  #location(p: number): PartitionLocation {
    const loc = this.state.partitions[p];
    if (loc === undefined) throw new RangeError(`partition ${p} of ${this.numPartitions}`);
    return loc;
  }

  /** Partition p's entry, through the cache when there is one. */
  loadPartition(p: number): Promise<IvfPartitionEntry> {
    if (this.cache === undefined) return this.readPartition(p);
    return this.cache.getOrInsert(this.#entryKeys[p]!, () => this.readPartition(p));
  }

  /** Partition p's raw vectors, through the cache when there is one. */
  loadPartitionVectors(p: number): Promise<IvfPartitionVectors> {
    if (this.cache === undefined) return this.readPartitionVectors(p);
    return this.cache.getOrInsert(this.#vectorKeys[p]!, () => this.readPartitionVectors(p));
  }

  /** Nearest rows to `query`: sorted by (distance, rowId). */
  async search(query: Float32Array, options: VectorSearchOptions): Promise<VectorSearchHit[]> {
    const { dim, numPartitions, distance } = this.state.metadata;
    if (query.length !== dim) throw new RangeError(`query has ${query.length} values, index dim is ${dim}`);
    const k = options.k;
    if (!Number.isSafeInteger(k) || k < 1) throw new RangeError(`k ${k}`);
    const nprobes = Math.min(options.nprobes ?? DEFAULT_NPROBES, numPartitions);
    if (!Number.isSafeInteger(nprobes) || nprobes < 1) throw new RangeError(`nprobes ${options.nprobes}`);
    const refine = options.refineFactor;
    if (refine !== undefined && (!Number.isSafeInteger(refine) || refine < 1)) throw new RangeError(`refineFactor ${refine} (must be an integer >= 1)`);
    if (refine !== undefined && !this.state.metadata.rawVectors) throw new RangeError("refineFactor needs an index that stores raw vectors");
    let allow: Set<bigint> | undefined;
    if (options.allowList !== undefined) {
      allow = new Set();
      for (const id of options.allowList) allow.add(BigInt(id));
    }
    const prefilter = options.prefilter;
    if (prefilter !== undefined && typeof prefilter?.has !== "function") throw new RangeError("prefilter must have a has(rowId) method");
    const probes = nearestCentroids(query, this.state.centroids, numPartitions, dim, distance, nprobes);
    const entries = await Promise.all(Array.from(probes, (p) => this.loadPartition(p)));
    const top = new TopKCandidates(k * (refine ?? 1));
    let scratch = new Float32Array(0);
    // Codes of a non-residual quantizer do not depend on the partition, so neither does the
    // scorer: prepare it (e.g. SQ's dim x 256 table) once per query instead of once per probe.
    const shared = this.quantizer.metadata.residual ? undefined : this.quantizer.scorer(query, this.state.centroids.subarray(0, dim));
    entries.forEach((entry, slot) => {
      const n = entry.rows;
      if (n === 0) return;
      if (scratch.length < n) scratch = new Float32Array(n);
      const p = probes[slot]!;
      const scorer = shared ?? this.quantizer.scorer(query, this.state.centroids.subarray(p * dim, (p + 1) * dim));
      scorer.score(entry.codes, n, scratch);
      const ids = entry.rowIds;
      for (let i = 0; i < n; i++) {
        const d = scratch[i]!;
        // NaN fails this comparison, so a NaN distance never becomes a result.
        if (!(d <= top.threshold())) continue;
        const id = ids[i]!;
        if (allow !== undefined && !allow.has(id)) continue;
        if (prefilter !== undefined && !prefilter.has(id)) continue;
        top.offer(d, id, slot, i);
      }
    });
    const order = top.sortedOrder();
    if (refine === undefined) return order.slice(0, k).map((c) => ({ rowId: top.rowIds[c]!, distance: top.distances[c]! }));
    // Refine: exact distances on the raw vectors of the candidates.
    const slots = [...new Set(order.map((c) => top.tagA[c]!))];
    const vectors = new Map<number, IvfPartitionVectors>();
    await Promise.all(slots.map(async (slot) => vectors.set(slot, await this.loadPartitionVectors(probes[slot]!))));
    const exact = new TopKCandidates(k);
    for (const c of order) {
      const v = vectors.get(top.tagA[c]!)!;
      const i = top.tagB[c]!;
      const d = exactDistance(query, v.vectors.subarray(i * dim, (i + 1) * dim), dim, distance);
      if (d <= exact.threshold()) exact.offer(d, top.rowIds[c]!, 0, 0);
    }
    return exact.sortedOrder().map((c) => ({ rowId: exact.rowIds[c]!, distance: exact.distances[c]! }));
  }

  /** Load the state and every partition (and raw vectors, when stored) into the cache. */
  async prewarm(options: { concurrency?: number; vectors?: boolean } = {}): Promise<void> {
    if (this.cache === undefined) throw new RangeError("prewarm needs an index opened with a cache");
    await this.cache.insert(cacheKey(stateKey(this.#keyBase), ivfIndexStateCodec), this.state);
    const withVectors = (options.vectors ?? true) && this.state.metadata.rawVectors;
    const jobs: (() => Promise<unknown>)[] = [];
    for (let p = 0; p < this.numPartitions; p++) {
      jobs.push(() => this.loadPartition(p));
      if (withVectors) jobs.push(() => this.loadPartitionVectors(p));
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < jobs.length) await jobs[next++]!();
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 8) }, worker));
  }
}

function stateKey(base: string): string {
  return `${base}/state`;
}

/**
 * Open an IVF index. With a cache holding its state (e.g. after {@link prewarm} through a
 * persistent backend) this makes no store request at all; otherwise it reads the state with at
 * most three ranged reads (see {@link readIvfIndexState}) and caches it.
 */
export async function openVectorIndex(store: ObjectStore, path: string, options: OpenVectorIndexOptions = {}): Promise<IvfVectorIndex> {
  const base = options.cacheKey ?? path;
  const load = (): Promise<IvfIndexState> => readIvfIndexState(store, path, options.fileSize);
  const state = options.cache === undefined ? await load() : await options.cache.getOrInsert(cacheKey(stateKey(base), ivfIndexStateCodec), load);
  if (state.path !== path) throw new RangeError(`cached state is for ${JSON.stringify(state.path)}, not ${JSON.stringify(path)}`);
  const live: { cache?: IndexCache; cacheKey?: string } = { cacheKey: base };
  if (options.cache !== undefined) live.cache = options.cache;
  return new IvfVectorIndex(store, state, live);
}

/** Load the index state and every partition into the index's cache. */
export function prewarm(index: IvfVectorIndex): Promise<void> {
  return index.prewarm();
}
