import { QuiverFormatError } from "@quiver/format";
import { formatCacheKey, isCacheTypeName } from "./cache-key.js";
import { frameCodec } from "./codec.js";
import { MemoryCacheBackend } from "./memory-backend.js";
import type { CacheBackend, CacheCodec, CacheEntry, CacheKey, ErasedCodec } from "./types.js";

/** Counters of one type name. */
export interface TypeStats {
  hits: number;
  misses: number;
  /** Loader runs (a miss of `getOrInsert` that this call loaded). */
  loads: number;
  /** Entries that failed to decode (each also counted as a miss). */
  decodeFailures: number;
  /** Decode failures by QuiverFormatError code. */
  failureCodes: Record<string, number>;
}

/** A snapshot of the cache counters, by type name. */
export interface CacheStatsSnapshot {
  readonly byType: Readonly<Record<string, Readonly<TypeStats>>>;
  readonly hits: number;
  readonly misses: number;
  readonly loads: number;
  readonly decodeFailures: number;
  readonly entryCount: number;
  readonly sizeBytes: number;
}

/** Options of {@link IndexCache}. */
export interface IndexCacheOptions {
  /** Prefix of every key of this cache (children append to it). Default "". */
  readonly prefix?: string;
}

/** Counters shared by a root cache and every child derived from it. */
class StatsRecorder {
  readonly byType = new Map<string, TypeStats>();
  of(typeName: string): TypeStats {
    let s = this.byType.get(typeName);
    if (s === undefined) {
      s = { hits: 0, misses: 0, loads: 0, decodeFailures: 0, failureCodes: Object.create(null) as Record<string, number> };
      this.byType.set(typeName, s);
    }
    return s;
  }
}

/**
 * The typed cache index code touches. Keys are `CacheKey<T>`s; values with a codec can live in
 * persistent backends (wrapped in cache-entry frames), values without one only in memory. Decode
 * failures are misses (counted per type name and code), never exceptions on the query path.
 */
export class IndexCache {
  readonly backend: CacheBackend;
  readonly prefix: string;
  #stats: StatsRecorder;
  #codecs: Map<CacheCodec<unknown>, ErasedCodec>;
  readonly #peekKeys = new WeakMap<object, { key: string; typeName: string; byteKey: string }>();

  constructor(backend: CacheBackend, options: IndexCacheOptions = {}) {
    this.backend = backend;
    this.prefix = options.prefix ?? "";
    this.#stats = new StatsRecorder();
    this.#codecs = new Map();
  }

  /** A cache over a fresh {@link MemoryCacheBackend} of `maxBytes` (default 256 MiB). */
  static inMemory(maxBytes?: number): IndexCache {
    return new IndexCache(new MemoryCacheBackend(maxBytes === undefined ? {} : { maxBytes }));
  }

  /** A child cache whose keys live under `prefix + "/"`, sharing the backend and the stats. */
  withPrefix(prefix: string): IndexCache {
    const child = new IndexCache(this.backend, { prefix: `${this.prefix}${prefix}/` });
    child.#stats = this.#stats;
    child.#codecs = this.#codecs;
    return child;
  }

  /** The child cache of one index: prefix `index/<uuid>/`. */
  forIndex(uuid: string): IndexCache {
    return this.withPrefix(`index/${uuid}`);
  }

  /** The value, or undefined on a miss (absent, evicted or undecodable). */
  async get<T>(key: CacheKey<T>): Promise<T | undefined> {
    const { byteKey, codec } = this.#resolve(key);
    const stats = this.#stats.of(key.typeName);
    const entry = await this.backend.get(byteKey, codec);
    if (entry === undefined) {
      stats.misses++;
      return undefined;
    }
    stats.hits++;
    return entry.value as T;
  }

  /**
   * The value when the backend holds it live and answers synchronously (counted as a hit), else
   * undefined and nothing counted: the caller then goes through `get` / `getOrInsert`, which
   * count the miss. No promise on a hit (a search's per-partition lookups).
   */
  peekLive<T>(key: CacheKey<T>): T | undefined {
    const peek = this.backend.peekLive;
    if (peek === undefined) return undefined;
    // the byte key of a key object is remembered (callers keep their key objects): no string per lookup
    let known = this.#peekKeys.get(key);
    if (known === undefined || known.key !== key.key || known.typeName !== key.typeName) {
      known = { key: key.key, typeName: key.typeName, byteKey: this.#resolve(key).byteKey };
      this.#peekKeys.set(key, known);
    }
    const entry = peek.call(this.backend, known.byteKey);
    if (entry === undefined) return undefined;
    this.#stats.of(key.typeName).hits++;
    return entry.value as T;
  }

  /** Store a value (persistent backends skip values whose key has no codec). */
  async insert<T>(key: CacheKey<T>, value: T): Promise<void> {
    const { byteKey, codec } = this.#resolve(key);
    await this.backend.insert(byteKey, { value, sizeBytes: sizeOfValue(key, value) }, codec);
  }

  /**
   * The cached value, or `loader()`'s result, stored. Concurrent calls for one key run the loader
   * once; a loader error reaches every waiter unchanged and nothing is stored.
   */
  async getOrInsert<T>(key: CacheKey<T>, loader: () => Promise<T>): Promise<T> {
    const { byteKey, codec } = this.#resolve(key);
    const stats = this.#stats.of(key.typeName);
    const load = async (): Promise<CacheEntry> => {
      stats.loads++;
      const value = await loader();
      return { value, sizeBytes: sizeOfValue(key, value) };
    };
    const r = await this.backend.getOrInsert(byteKey, load, codec);
    if (r.wasCached) stats.hits++;
    else stats.misses++;
    return r.entry.value as T;
  }

  /**
   * Wait until the backend's background writes have finished (`getOrInsert` returns as soon as
   * the value is loaded and stores it in the background). Call before handing the cache to
   * another process or exiting.
   */
  async flush(): Promise<void> {
    await this.backend.flush?.();
  }

  /** Remove every entry of this cache whose user key starts with `prefix`. */
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.backend.invalidatePrefix(this.prefix + prefix);
  }

  /** Remove every entry of this cache (the whole backend for a root cache without prefix). */
  async clear(): Promise<void> {
    if (this.prefix === "") await this.backend.clear();
    else await this.backend.invalidatePrefix(this.prefix);
  }

  /** A snapshot of the counters (shared by the root cache and all its children). */
  stats(): CacheStatsSnapshot {
    const byType: Record<string, TypeStats> = Object.create(null) as Record<string, TypeStats>;
    let hits = 0;
    let misses = 0;
    let loads = 0;
    let decodeFailures = 0;
    for (const [name, s] of [...this.#stats.byType].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      byType[name] = { ...s, failureCodes: { ...s.failureCodes } };
      hits += s.hits;
      misses += s.misses;
      loads += s.loads;
      decodeFailures += s.decodeFailures;
    }
    return {
      byType,
      hits,
      misses,
      loads,
      decodeFailures,
      entryCount: this.backend.approxEntryCount(),
      sizeBytes: this.backend.approxSizeBytes(),
    };
  }

  #resolve<T>(key: CacheKey<T>): { byteKey: string; codec: ErasedCodec | undefined } {
    if (!isCacheTypeName(key.typeName)) throw new RangeError(`illegal cache type name ${JSON.stringify(key.typeName)}`);
    const byteKey = formatCacheKey(this.prefix, key.key, key.typeName);
    if (key.codec === undefined) return { byteKey, codec: undefined };
    if (key.codec.typeName !== key.typeName) {
      throw new RangeError(`key type name ${key.typeName} differs from its codec's ${key.codec.typeName}`);
    }
    return { byteKey, codec: this.#erased(key.codec as CacheCodec<unknown>) };
  }

  /** The erased codec of `codec`, instrumented to count decode failures before the backend swallows them. */
  #erased(codec: CacheCodec<unknown>): ErasedCodec {
    let e = this.#codecs.get(codec);
    if (e === undefined) {
      const inner = frameCodec(codec);
      const stats = this.#stats;
      e = {
        typeName: inner.typeName,
        version: inner.version,
        copiesInput: inner.copiesInput === true,
        source: codec,
        encode: (v) => inner.encode(v),
        decode: (bytes) => {
          try {
            return inner.decode(bytes);
          } catch (err) {
            const s = stats.of(codec.typeName);
            s.decodeFailures++;
            const code = err instanceof QuiverFormatError ? err.code : "UNKNOWN";
            s.failureCodes[code] = (s.failureCodes[code] ?? 0) + 1;
            throw err;
          }
        },
      };
      this.#codecs.set(codec, e);
    }
    return e;
  }
}

function sizeOfValue<T>(key: CacheKey<T>, value: T): number {
  if (key.codec !== undefined) return key.codec.sizeOf(value);
  if (key.sizeOf !== undefined) return key.sizeOf(value);
  throw new RangeError(`cache key ${JSON.stringify(key.key)} (${key.typeName}) has neither a codec nor sizeOf`);
}
