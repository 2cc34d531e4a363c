import type { Frame, SectionChecksum, SectionInput } from "@quiver/format";

/**
 * The contracts of the cache layer. `CacheBackend` is what a plugin author implements;
 * `CacheKey` / `CacheCodec` are what index code declares; `IndexCache` (index-cache.ts) is the
 * one typed class index code touches.
 */

/** A live value with its size in bytes (the memory it keeps alive). */
export interface CacheEntry {
  readonly value: unknown;
  readonly sizeBytes: number;
}

/**
 * A type-erased codec handed to backends. `encode` returns a complete container frame (kind
 * CACHE_ENTRY, the type name, the codec version, checksums); `decode` verifies one and returns
 * the entry, throwing `QuiverFormatError` on any bad input. Backends that store bytes treat a
 * throw as a miss (and delete the entry); they never pass the error to the query path.
 */
export interface ErasedCodec {
  readonly typeName: string;
  readonly version: number;
  /**
   * True when `decode` keeps no view of the bytes it is given unless they fill their whole
   * ArrayBuffer (it copies a sub-range view before it keeps anything). A backend may then hand it
   * a view of a buffer it reuses for the next read; without it a backend passes bytes it never reuses.
   */
  readonly copiesInput?: boolean;
  /**
   * The same object for every erased form of one codec (its source codec): a backend may key a
   * per-process memo of decoded values on it (the disk backend's unchanged-file memo).
   */
  readonly source?: object;
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): CacheEntry;
}

/** Result of {@link CacheBackend.getOrInsert}. */
export interface GetOrInsertResult {
  readonly entry: CacheEntry;
  /** True when the loader did not run for this call (the value came from the cache or another caller's load). */
  readonly wasCached: boolean;
}

/**
 * Storage behind the typed cache. Keys are strings whose UTF-8 bytes follow spec/cache.md
 * (prefix, user key, NUL, type name); backends may treat them as opaque or split them with
 * `parseCacheKey`. All methods are async except the approximate counters.
 */
export interface CacheBackend {
  /** True when entries survive the process (values are stored as encoded bytes). */
  readonly persistent: boolean;
  /** The entry, or undefined on a miss (absent, evicted, or undecodable). */
  get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined>;
  /** Store an entry. A persistent backend stores `codec.encode(value)`; without a codec it skips (and counts the skip). */
  insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void>;
  /**
   * The cached entry, or run `loader` (a pending load), store its result and return it.
   * Concurrent calls for one key run the loader once; a loader error reaches every waiter and
   * nothing is cached.
   */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult>;
  /** Remove every entry whose key starts with `prefix`. */
  invalidatePrefix(prefix: string): Promise<void>;
  /** Remove every entry. */
  clear(): Promise<void>;
  /** Approximate number of entries. */
  approxEntryCount(): number;
  /** Approximate bytes held. */
  approxSizeBytes(): number;
  /**
   * Wait until every write this instance started in the background (a get-or-insert's store) has
   * finished. Required of a backend that stores in the background.
   */
  flush?(): Promise<void>;
  /** Wait for background writes, then release connections / handles. */
  close?(): Promise<void>;
  /**
   * The live entry when the backend can answer synchronously (an in-memory backend: exactly
   * what `get` would resolve to on a hit), else undefined; never loads. Optional: a hot lookup
   * without the promises of `get` (those were most of a warm search query's garbage).
   */
  peekLive?(key: string): CacheEntry | undefined;
}

/**
 * Encodes a value of type T into container-frame sections and decodes it back, zero-copy where
 * the value allows (decoded arrays view the frame bytes). The cache wraps the sections in a frame
 * of kind CACHE_ENTRY carrying `typeName` and `version`.
 */
export interface CacheCodec<T> {
  /** Stable, human-readable type name, e.g. `IvfIndexState` (spec/registry.csv). */
  readonly typeName: string;
  /** Current codec version; frames with a newer version are misses. */
  readonly version: number;
  /** Oldest frame version `decode` still reads (default 0); older frames are misses. */
  readonly minVersion?: number;
  /**
   * Section checksum of this codec's entry frames (spec/cache.md#entry-frame); default "xxh3-64".
   * An entry with the other algorithm is a miss (WRONG_SECTION_CHECKSUM) that is rewritten. A codec
   * whose values carry their sections' CRC-32s (compared with the CRC-32s an index file records)
   * keeps "crc32".
   */
  readonly sectionChecksum?: SectionChecksum;
  encode(value: T): SectionInput[];
  /** Decode a verified frame (kind, type name and checksums already checked); `frame.kindVersion` <= `version`. */
  decode(frame: Frame): T;
  /** Bytes the value keeps alive: count whole underlying buffers of views (see `retainedBytes`). */
  sizeOf(value: T): number;
}

/** A typed cache key: a user key, a stable type name and optionally a codec. */
export interface CacheKey<T> {
  readonly key: string;
  readonly typeName: string;
  readonly codec?: CacheCodec<T>;
  /** Size of a value; required when there is no codec (the codec's `sizeOf` is used otherwise). */
  readonly sizeOf?: (value: T) => number;
}

/** Where backends report problems they absorb (dropped writes, deleted corrupt entries). */
export interface CacheLogger {
  warn(message: string): void;
}
