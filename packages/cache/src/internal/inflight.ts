import type { CacheEntry, GetOrInsertResult } from "../types.js";

/**
 * Per-key load de-duplication shared by every backend. The leader's promise is registered
 * synchronously, before any await, and removed only after the value has been stored; so a caller
 * arriving at any point of a load either joins it or finds the stored value (never a second load).
 */
export class InflightLoads {
  readonly #pending = new Map<string, Promise<CacheEntry>>();

  /** Number of loads in progress. */
  get size(): number {
    return this.#pending.size;
  }

  /**
   * Join the load in progress for `key`, or start one: `lookup` (re-check the cache), else
   * `loader` then `store`. Errors reach every waiter unchanged; nothing is stored on error.
   */
  run(
    key: string,
    lookup: () => Promise<CacheEntry | undefined>,
    loader: () => Promise<CacheEntry>,
    store: (entry: CacheEntry) => Promise<void>,
  ): Promise<GetOrInsertResult> {
    const joined = this.#pending.get(key);
    if (joined !== undefined) return joined.then((entry) => ({ entry, wasCached: true }));
    let loaded = false;
    const self: { leader?: Promise<CacheEntry> } = {};
    const leader = (async (): Promise<CacheEntry> => {
      // Yield once so the promise is registered below before any of this body (even a sync throw) runs.
      await null;
      try {
        const hit = await lookup();
        if (hit !== undefined) return hit;
        loaded = true;
        const entry = await loader();
        await store(entry);
        return entry;
      } finally {
        if (this.#pending.get(key) === self.leader) this.#pending.delete(key);
      }
    })();
    self.leader = leader;
    this.#pending.set(key, leader);
    return leader.then((entry) => ({ entry, wasCached: !loaded }));
  }
}
