import { LoadDeduplicator } from "./load-deduplicator.js";
import type { CacheBackend, CacheEntry, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Counters of the tiered backend. */
export interface TieredCacheCounters {
  /** Hits served by the memory tier. */
  memoryHits: number;
  /** Hits served by the persistent tier (each promoted into memory). */
  persistentHits: number;
}

/**
 * A memory tier over a persistent tier. Reads try memory, then the persistent tier, promoting a
 * persistent hit into memory; writes go to both (the persistent tier skips values without a codec,
 * so those live in memory only). De-duplicates loads across both tiers.
 */
export class TieredCacheBackend implements CacheBackend {
  readonly persistent: boolean;
  readonly memory: CacheBackend;
  readonly lower: CacheBackend;
  readonly counters: TieredCacheCounters = { memoryHits: 0, persistentHits: 0 };
  readonly #loads = new LoadDeduplicator();

  constructor(memory: CacheBackend, lower: CacheBackend) {
    this.memory = memory;
    this.lower = lower;
    this.persistent = lower.persistent;
  }

  /** Memory first, then the persistent tier (promoting the hit). */
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    const pending = this.#loads.peek(key);
    if (pending !== undefined) return pending;
    const m = await this.memory.get(key, codec);
    if (m !== undefined) {
      this.counters.memoryHits++;
      return m;
    }
    const p = await this.lower.get(key, codec);
    if (p !== undefined) {
      this.counters.persistentHits++;
      await this.memory.insert(key, p, codec);
    }
    return p;
  }

  /**
   * The memory tier's live entry (or a finished load whose store is still running), else
   * undefined: a synchronous hit for the search path. Never touches the persistent tier; a key
   * held only there comes back through `get` / `getOrInsert` (promoted into memory).
   */
  peekLive(key: string): CacheEntry | undefined {
    const pending = this.#loads.peek(key);
    if (pending !== undefined) return pending;
    const m = this.memory.peekLive?.(key);
    if (m !== undefined) this.counters.memoryHits++;
    return m;
  }

  /** Write to both tiers. */
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    await Promise.all([this.memory.insert(key, entry, codec), this.lower.insert(key, entry, codec)]);
  }

  /** The cached entry (either tier) or the de-duplicated result of `loader`, written to both tiers. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }

  /** Invalidate in both tiers. */
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#loads.flush();
    await Promise.all([this.memory.invalidatePrefix(prefix), this.lower.invalidatePrefix(prefix)]);
  }

  /** Clear both tiers. */
  async clear(): Promise<void> {
    await this.#loads.flush();
    await Promise.all([this.memory.clear(), this.lower.clear()]);
  }

  /** The larger tier's count (codec values sit in both; codec-less ones only in memory). */
  approxEntryCount(): number {
    return Math.max(this.memory.approxEntryCount(), this.lower.approxEntryCount());
  }

  /** Bytes held by both tiers together. */
  approxSizeBytes(): number {
    return this.memory.approxSizeBytes() + this.lower.approxSizeBytes();
  }

  /** Wait until the background writes of `getOrInsert` started so far have finished. */
  async flush(): Promise<void> {
    await this.#loads.flush();
  }

  /** Close both tiers. */
  async close(): Promise<void> {
    await this.#loads.flush();
    await Promise.all([this.memory.close?.(), this.lower.close?.()]);
  }
}
