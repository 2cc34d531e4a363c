import { LRUCache } from "lru-cache";
import { LoadDeduplicator } from "./load-deduplicator.js";
import type { CacheBackend, CacheEntry, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Options of {@link MemoryCacheBackend}. */
export interface MemoryCacheBackendOptions {
  /** Byte capacity (sum of entries' `sizeBytes`); default 256 MiB. */
  readonly maxBytes?: number;
}

/** Default capacity of the in-memory backend. */
export const DEFAULT_MEMORY_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * The default backend: live values in an LRU bounded by bytes (`lru-cache`). Not persistent, so
 * it ignores codecs and never encodes. An entry larger than the capacity is not stored.
 */
export class MemoryCacheBackend implements CacheBackend {
  readonly persistent = false;
  readonly maxBytes: number;
  readonly #lru: LRUCache<string, CacheEntry>;
  readonly #loads = new LoadDeduplicator();

  constructor(options: MemoryCacheBackendOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MEMORY_CACHE_BYTES;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) throw new RangeError(`maxBytes ${this.maxBytes}`);
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize: this.maxBytes,
      // lru-cache needs a positive integer; a zero-size value still occupies a slot.
      sizeCalculation: (e) => Math.max(1, Math.ceil(e.sizeBytes)),
    });
  }

  /** The live entry, or undefined. */
  async get(key: string, _codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    return this.#loads.peek(key) ?? this.#lru.get(key);
  }

  /** `get` without the promise: the live entry or undefined (the same lookup, recency updated the same way). */
  peekLive(key: string): CacheEntry | undefined {
    return this.#loads.peek(key) ?? this.#lru.get(key);
  }

  /** Store the live entry (not stored when larger than the capacity). */
  async insert(key: string, entry: CacheEntry, _codec?: ErasedCodec): Promise<void> {
    this.#insertSync(key, entry);
  }

  /** The cached entry or the de-duplicated result of `loader`. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }

  /** Remove every key starting with `prefix`. */
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#loads.flush();
    for (const k of [...this.#lru.keys()]) if (k.startsWith(prefix)) this.#lru.delete(k);
  }

  /** Remove everything. */
  async clear(): Promise<void> {
    await this.#loads.flush();
    this.#lru.clear();
  }

  /** Wait until the background stores of `getOrInsert` started so far have finished. */
  async flush(): Promise<void> {
    await this.#loads.flush();
  }

  /** Entries held. */
  approxEntryCount(): number {
    return this.#lru.size;
  }

  /** Sum of the entries' sizes. */
  approxSizeBytes(): number {
    return this.#lru.calculatedSize;
  }

  #insertSync(key: string, entry: CacheEntry): void {
    if (!(entry.sizeBytes >= 0) || !Number.isFinite(entry.sizeBytes)) throw new RangeError(`entry size ${entry.sizeBytes}`);
    // lru-cache silently refuses oversized entries but would keep the old value: drop it instead.
    if (Math.max(1, Math.ceil(entry.sizeBytes)) > this.maxBytes) {
      this.#lru.delete(key);
      return;
    }
    this.#lru.set(key, entry);
  }
}
