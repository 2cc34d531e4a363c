/**
 * Search over one committed version of a segmented index (spec/segments.md#search). The
 * manifest bytes read at open are the reader's pin: the segment set never changes for this
 * object, whatever is published later. Every segment shares the model, so a query probes the
 * same partitions in each; per-segment top-k lists merged by (distance, row id) are exactly the
 * top k of one index over the same rows. With refine, the candidates are first merged across
 * segments (k x refineFactor by approximate distance, as one index would keep), then re-ranked
 * exactly, so refine answers like one index too.
 */
import { IndexCache } from "@quiver/cache";
import { QuiverArgumentError, checkInteger, checkOneOf, checkOptions, describeValue } from "@quiver/format";
import { DEFAULT_K, IvfVectorIndex, MAX_REFINE_FACTOR, MAX_SEARCH_K, type OpenVectorIndexOptions, type VectorQuery, type VectorSearchHit, type VectorSearchOptions, openVectorIndex } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { segmentModelDigest } from "./descriptor.js";
import { QuiverSegmentError } from "./errors.js";
import { checkRoot } from "./layout.js";
import { type SegmentManifest, readSegmentManifest } from "./manifest.js";

/** An opened, pinned version of a segmented index. */
export interface SegmentedIndex {
  readonly version: number;
  readonly manifest: SegmentManifest;
  /** Nearest rows over all segments: `{ id, distance }` sorted by (distance, id), as `IvfVectorIndex.search`. */
  search(query: VectorQuery, options?: VectorSearchOptions): Promise<VectorSearchHit[]>;
  /** `search` for many queries (each segment scores them together); result i belongs to query i. */
  searchBatch(queries: readonly VectorQuery[], options?: VectorSearchOptions): Promise<VectorSearchHit[][]>;
  close?(): Promise<void>;
}

const OPEN_OPTIONS = ["cache", "fileSize", "cacheKey", "identity", "prewarm", "cacheBytes", "rawVectorCacheBytes", "onWarning", "version"] as const;
const SEARCH_OPTIONS = ["k", "limit", "nprobes", "refineFactor", "distanceType", "allowList", "prefilter", "idType", "threads"] as const;
const OPEN_CONCURRENCY = 16;
const MAX_SAFE_ID = BigInt(Number.MAX_SAFE_INTEGER);

interface Hit {
  readonly id: bigint;
  readonly distance: number;
}

function byDistanceThenId(a: Hit, b: Hit): number {
  return a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function publicHits(hits: readonly Hit[], bigintIds: boolean): VectorSearchHit[] {
  return bigintIds ? hits.map((h) => ({ id: h.id, distance: h.distance })) : hits.map((h) => ({ id: h.id <= MAX_SAFE_ID ? Number(h.id) : h.id, distance: h.distance }));
}

interface Plan {
  readonly k: number;
  readonly refine: number | undefined;
  readonly bigintIds: boolean;
  /** Options handed to every segment, without k/limit/refineFactor/idType. */
  readonly pass: VectorSearchOptions;
}

class PinnedSegmentedIndex implements SegmentedIndex {
  readonly version: number;
  readonly manifest: SegmentManifest;
  readonly #segments: readonly IvfVectorIndex[];

  constructor(manifest: SegmentManifest, segments: readonly IvfVectorIndex[]) {
    this.manifest = manifest;
    this.version = manifest.version;
    this.#segments = segments;
  }

  #plan(options: unknown): Plan {
    checkOptions("options", options, SEARCH_OPTIONS);
    const o = (options ?? {}) as Record<string, unknown>;
    if (o.k !== undefined && o.limit !== undefined && o.k !== o.limit) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.limit", expected: `the same value as options.k (${describeValue(o.k)}), or only one of the two`, given: o.limit });
    }
    const k = o.k === undefined && o.limit === undefined ? DEFAULT_K : checkInteger(o.k !== undefined ? "options.k" : "options.limit", o.k ?? o.limit, 1, MAX_SEARCH_K);
    const refine = o.refineFactor === undefined ? undefined : checkInteger("options.refineFactor", o.refineFactor, 1, MAX_REFINE_FACTOR);
    if (refine !== undefined && k * refine > MAX_SEARCH_K && this.#segments.length > 1) {
      throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "options.refineFactor", expected: `k x refineFactor <= ${MAX_SEARCH_K} over several segments`, given: refine });
    }
    const bigintIds = o.idType === undefined ? false : checkOneOf("options.idType", o.idType, ["number", "bigint"] as const) === "bigint";
    const pass: Record<string, unknown> = {};
    for (const key of ["nprobes", "distanceType", "prefilter", "threads"] as const) if (o[key] !== undefined) pass[key] = o[key];
    if (o.allowList !== undefined) {
      const list = o.allowList as Iterable<unknown> | null;
      if (typeof list !== "object" || list === null || typeof (list as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.allowList", expected: "an iterable of row ids", given: o.allowList });
      }
      // Materialized once: every segment iterates it (a generator could be read only once).
      pass.allowList = [...list];
    }
    return { k, refine, bigintIds, pass: pass as VectorSearchOptions };
  }

  async search(query: VectorQuery, options: VectorSearchOptions = {}): Promise<VectorSearchHit[]> {
    if (this.#segments.length === 1) return this.#segments[0]!.search(query, options);
    const plan = this.#plan(options);
    return (await this.#run([query], plan, false))[0]!;
  }

  async searchBatch(queries: readonly VectorQuery[], options: VectorSearchOptions = {}): Promise<VectorSearchHit[][]> {
    if (this.#segments.length === 1) return this.#segments[0]!.searchBatch(queries, options);
    const plan = this.#plan(options);
    if (!Array.isArray(queries)) throw new QuiverArgumentError(queries === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "queries", expected: "an array of queries", given: queries });
    return this.#run(queries, plan, true);
  }

  async #run(queries: readonly VectorQuery[], plan: Plan, batch: boolean): Promise<VectorSearchHit[][]> {
    const want = plan.k * (plan.refine ?? 1);
    const stage1: VectorSearchOptions = { ...plan.pass, k: want, idType: "bigint" };
    // Approximate candidates of every segment (each keeps its best `want` by (distance, id)).
    const perSegment = await Promise.all(
      this.#segments.map((s) => (batch ? s.searchBatch(queries, stage1) : s.search(queries[0]!, stage1).then((h) => [h]))),
    );
    const out: VectorSearchHit[][] = [];
    for (let qi = 0; qi < queries.length; qi++) {
      const merged: (Hit & { seg: number })[] = [];
      perSegment.forEach((lists, seg) => {
        for (const h of lists[qi]!) merged.push({ id: h.id as bigint, distance: h.distance, seg });
      });
      merged.sort(byDistanceThenId);
      const top = merged.slice(0, want);
      if (plan.refine === undefined) {
        out.push(publicHits(top, plan.bigintIds));
        continue;
      }
      // Exact distances of the merged candidates, each from its own segment's raw vectors:
      // restricted to exactly those ids, a refineFactor-1 search re-ranks all of them.
      const bySeg = new Map<number, bigint[]>();
      for (const h of top) {
        const list = bySeg.get(h.seg) ?? [];
        list.push(h.id);
        bySeg.set(h.seg, list);
      }
      const exact = await Promise.all(
        [...bySeg].map(([seg, ids]) => {
          const opts: VectorSearchOptions = { k: ids.length, refineFactor: 1, allowList: ids, idType: "bigint", ...(plan.pass.nprobes === undefined ? {} : { nprobes: plan.pass.nprobes }) };
          return this.#segments[seg]!.search(queries[qi]!, opts);
        }),
      );
      const all: Hit[] = exact.flat().map((h) => ({ id: h.id as bigint, distance: h.distance }));
      all.sort(byDistanceThenId);
      out.push(publicHits(all.slice(0, plan.k), plan.bigintIds));
    }
    return out;
  }

  /** Close every segment's index (each may hold a search worker pool); caches are garbage-collected with the index. */
  async close(): Promise<void> {
    await Promise.all(this.#segments.map((s) => s.close()));
  }
}

/**
 * Open one manifest version (the latest when `version` is omitted; pinned: a later publish never
 * changes what this object searches). Each segment is opened with its recorded size and identity
 * (one ranged read each, none with a warm cache), and its model digest is checked against the
 * manifest. Search has the option names and hit shape of `IvfVectorIndex.search`.
 */
export async function openSegmentedIndex(store: ObjectStore, root: string, options: OpenVectorIndexOptions & { version?: number } = {}): Promise<SegmentedIndex> {
  const r = checkRoot(root);
  checkOptions("options", options, OPEN_OPTIONS);
  if (options.fileSize !== undefined || options.identity !== undefined) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: options.fileSize !== undefined ? "options.fileSize" : "options.identity", expected: "nothing: every segment's size and identity come from the manifest", given: options.fileSize ?? options.identity });
  }
  if (options.cache !== undefined && !(options.cache instanceof IndexCache)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.cache", expected: "an IndexCache", given: options.cache });
  if (options.cacheBytes !== undefined) checkInteger("options.cacheBytes", options.cacheBytes, 1, Number.MAX_SAFE_INTEGER);
  if (options.rawVectorCacheBytes !== undefined) checkInteger("options.rawVectorCacheBytes", options.rawVectorCacheBytes, 1, Number.MAX_SAFE_INTEGER);
  const manifest = await readSegmentManifest(store, r, options.version === undefined ? {} : { version: options.version });
  const total = manifest.segments.reduce((n, s) => n + s.bytes, 0);
  // Budgets given for the whole index are shared out by segment size.
  const share = (b: number | undefined, bytes: number): number | undefined => (b === undefined ? undefined : Math.max(1, Math.floor((b * bytes) / Math.max(1, total))));
  const segments: IvfVectorIndex[] = new Array(manifest.segments.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < manifest.segments.length) {
      const i = next++;
      const s = manifest.segments[i]!;
      const o: Record<string, unknown> = { fileSize: s.bytes, identity: s.indexIdentity };
      if (options.cache !== undefined) o.cache = options.cache;
      if (options.cacheKey !== undefined) o.cacheKey = `${options.cacheKey}/${s.segmentId}`;
      if (options.prewarm !== undefined) o.prewarm = options.prewarm;
      if (options.onWarning !== undefined) o.onWarning = options.onWarning;
      const cb = share(options.cacheBytes, s.bytes);
      if (cb !== undefined) o.cacheBytes = cb;
      const rb = share(options.rawVectorCacheBytes, s.bytes);
      if (rb !== undefined) o.rawVectorCacheBytes = rb;
      let index: IvfVectorIndex;
      try {
        index = await openVectorIndex(store, s.path, o as OpenVectorIndexOptions);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (typeof code !== "string") throw e;
        // A file of another size or identity than recorded is not the manifest's file.
        const replaced = code === "IDENTITY_MISMATCH" || code === "BAD_FRAME_LENGTH" || code === "TRAILING_BYTES" || code === "TRUNCATED";
        throw new QuiverSegmentError([{ code: replaced ? "SEGMENT_IDENTITY_MISMATCH" : "SEGMENT_UNREADABLE", shard: s.shard, segmentId: s.segmentId, message: `${describeValue(s.path)} cannot be opened as the manifest's segment (${code})`, causeCode: code }], { stage: "open", cause: e });
      }
      if (index.state.metadata.numRows !== s.rows || segmentModelDigest(index.state) !== manifest.modelDigest) {
        throw new QuiverSegmentError([{ code: "SEGMENT_DESCRIPTOR_MISMATCH", shard: s.shard, segmentId: s.segmentId, message: `${describeValue(s.path)} does not have the manifest's rows and model digest` }], { stage: "open" });
      }
      segments[i] = index;
    }
  };
  await Promise.all(Array.from({ length: Math.min(OPEN_CONCURRENCY, manifest.segments.length) }, worker));
  return new PinnedSegmentedIndex(manifest, segments);
}
