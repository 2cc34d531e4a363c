/**
 * The backend suite against backends written the way a newcomer would: a small Map-based backend
 * built on the exported `LoadDeduplicator` passes all of it (without the helper, a newcomer's
 * backend failed 3 of 14 cases), and a Map-based persistent-looking backend passes too when it
 * provides `reopen`.
 */
import { type CacheBackend, type CacheEntry, type ErasedCodec, type GetOrInsertResult, LoadDeduplicator } from "@quiver/cache";
import { runCacheBackendConformance } from "@quiver/conformance";

/** Live values in a Map: what a plugin author writes first. */
class MapBackend implements CacheBackend {
  readonly persistent = false;
  readonly #map = new Map<string, CacheEntry>();
  readonly #loads = new LoadDeduplicator();
  async get(key: string): Promise<CacheEntry | undefined> {
    return this.#loads.peek(key) ?? this.#map.get(key);
  }
  async insert(key: string, entry: CacheEntry): Promise<void> {
    this.#map.set(key, entry);
  }
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#loads.flush();
    for (const k of [...this.#map.keys()]) if (k.startsWith(prefix)) this.#map.delete(k);
  }
  async clear(): Promise<void> {
    await this.#loads.flush();
    this.#map.clear();
  }
  approxEntryCount(): number {
    return this.#map.size;
  }
  approxSizeBytes(): number {
    let n = 0;
    for (const e of this.#map.values()) n += e.sizeBytes;
    return n;
  }
  flush(): Promise<void> {
    return this.#loads.flush();
  }
}

/** Encoded frames in a shared Map ("storage"): a persistent backend in ~40 lines. */
class BytesBackend implements CacheBackend {
  readonly persistent = true;
  readonly #loads = new LoadDeduplicator();
  constructor(readonly storage: Map<string, Uint8Array>) {}
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    const pending = this.#loads.peek(key);
    if (pending !== undefined) return pending;
    const bytes = this.storage.get(key);
    if (bytes === undefined || codec === undefined) return undefined;
    try {
      return codec.decode(bytes);
    } catch {
      this.storage.delete(key);
      return undefined;
    }
  }
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    if (codec !== undefined) this.storage.set(key, codec.encode(entry.value).slice());
  }
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#loads.flush();
    for (const k of [...this.storage.keys()]) if (k.startsWith(prefix)) this.storage.delete(k);
  }
  async clear(): Promise<void> {
    await this.invalidatePrefix("");
  }
  approxEntryCount(): number {
    return this.storage.size;
  }
  approxSizeBytes(): number {
    let n = 0;
    for (const b of this.storage.values()) n += b.byteLength;
    return n;
  }
  flush(): Promise<void> {
    return this.#loads.flush();
  }
}

await runCacheBackendConformance("a newcomer's MapBackend on LoadDeduplicator", () => new MapBackend(), { skipLargeReason: "live values: nothing is copied, 1 MiB covers it" });
await runCacheBackendConformance("a newcomer's persistent BytesBackend on LoadDeduplicator", () => new BytesBackend(new Map()), {
  reopen: (first) => new BytesBackend((first as BytesBackend).storage),
});
