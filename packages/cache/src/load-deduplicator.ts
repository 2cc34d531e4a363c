import type { CacheBackend, CacheEntry, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Options of {@link LoadDeduplicator}. */
export interface LoadDeduplicatorOptions {
  /**
   * Called when a background store of a loaded entry rejects (the caller already has its value).
   * Backends that count their own write failures leave it out; the default ignores the error.
   */
  readonly onStoreError?: (key: string, error: unknown) => void;
}

interface Pending {
  promise?: Promise<CacheEntry>;
  /** Set once the loader (or the lookup) produced the entry; the store may still be running. */
  entry?: CacheEntry;
}

/**
 * Per-key load de-duplication (single flight) for `CacheBackend.getOrInsert`, exported so that a
 * backend author gets the rules of spec/cache.md#backend-behaviour (rule 5) without writing them:
 *
 * - the leader's load is registered synchronously, before anything is awaited, so concurrent
 *   callers join it and the loader runs once; a loader error reaches every waiter, nothing is stored;
 * - callers get the value as soon as the loader returns: the store runs in the background, off the
 *   query's critical path (a slow or frozen backend never delays the answer);
 * - the load stays registered until the store has finished, and {@link peek} serves its value, so a
 *   caller arriving at any moment joins the load or finds the value (never a second load).
 *
 * Use one instance per backend; `getOrInsert(backend, ...)` is the whole method body.
 */
export class LoadDeduplicator {
  readonly #pending = new Map<string, Pending>();
  readonly #stores = new Set<Promise<void>>();
  readonly #onStoreError: (key: string, error: unknown) => void;

  constructor(options: LoadDeduplicatorOptions = {}) {
    this.#onStoreError = options.onStoreError ?? (() => undefined);
  }

  /** Loads (and their background stores) in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /** The value of a finished load whose store is still running (backends serve it from `get`). */
  peek(key: string): CacheEntry | undefined {
    return this.#pending.get(key)?.entry;
  }

  /** `getOrInsert` of a backend in terms of its own `get` and `insert`. */
  getOrInsert(
    backend: Pick<CacheBackend, "get" | "insert">,
    key: string,
    loader: () => Promise<CacheEntry>,
    codec?: ErasedCodec,
  ): Promise<GetOrInsertResult> {
    return this.run(
      key,
      () => backend.get(key, codec),
      loader,
      (entry) => backend.insert(key, entry, codec),
    );
  }

  /**
   * Join the load in progress for `key`, or start one: `lookup` (re-check the cache), else
   * `loader`, then `store` in the background. Resolves as soon as the value is known.
   */
  run(
    key: string,
    lookup: () => Promise<CacheEntry | undefined>,
    loader: () => Promise<CacheEntry>,
    store: (entry: CacheEntry) => Promise<void>,
  ): Promise<GetOrInsertResult> {
    const joined = this.#pending.get(key);
    if (joined?.promise !== undefined) return joined.promise.then((entry) => ({ entry, wasCached: true }));
    let loaded = false;
    const self: Pending = {};
    const release = () => {
      if (this.#pending.get(key) === self) this.#pending.delete(key);
    };
    const promise = (async (): Promise<CacheEntry> => {
      // Yield once so the load is registered below before any of this body (even a sync throw) runs.
      await null;
      let entry: CacheEntry;
      try {
        const hit = await lookup();
        if (hit !== undefined) {
          release();
          return hit;
        }
        loaded = true;
        entry = await loader();
      } catch (e) {
        release();
        throw e;
      }
      self.entry = entry;
      const stored = (async () => {
        try {
          await store(entry);
        } catch (e) {
          this.#onStoreError(key, e);
        } finally {
          release();
        }
      })();
      this.#stores.add(stored);
      void stored.then(() => this.#stores.delete(stored));
      return entry;
    })();
    self.promise = promise;
    this.#pending.set(key, self);
    return promise.then((entry) => ({ entry, wasCached: !loaded }));
  }

  /** Wait until every background store started so far has finished. */
  async flush(): Promise<void> {
    while (this.#stores.size > 0) await Promise.all([...this.#stores]);
  }
}
