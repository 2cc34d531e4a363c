/**
 * @quiver/cache: the typed index cache (`IndexCache`), the `CacheBackend` plugin interface and its
 * load de-duplication helper (`LoadDeduplicator`), cache codecs wrapped in container frames, and
 * the backends that need no driver: memory, disk (Node's fs only) and tiered. Redis is in
 * `@quiver/cache-redis`.
 * Implements cache spec 1.0 (spec/cache.md) over container spec 1.0.
 */
export type { CacheBackend, CacheCodec, CacheEntry, CacheKey, CacheLogger, ErasedCodec, GetOrInsertResult } from "./types.js";
export {
  CACHE_ENTRY_KIND,
  CACHE_KEY_SEPARATOR,
  MAX_CACHE_KEY_BYTES,
  cacheKey,
  formatCacheKey,
  isCacheTypeName,
  memoryCacheKey,
  parseCacheKey,
} from "./cache-key.js";
export type { ParsedCacheKey } from "./cache-key.js";
export { decodeCacheEntry, encodeCacheEntry, frameCodec, retainedBytes, CACHE_ENTRY_SECTION_CHECKSUM } from "./codec.js";
export type { DecodedCacheEntry } from "./codec.js";
export { IndexCache } from "./index-cache.js";
export type { CacheStatsSnapshot, IndexCacheOptions, TypeStats } from "./index-cache.js";
export { DEFAULT_MEMORY_CACHE_BYTES, MemoryCacheBackend } from "./memory-backend.js";
export type { MemoryCacheBackendOptions } from "./memory-backend.js";
export { LoadDeduplicator } from "./load-deduplicator.js";
export type { LoadDeduplicatorOptions } from "./load-deduplicator.js";
export {
  DEFAULT_DISK_SYNC_READ_MAX_BYTES,
  DEFAULT_DISK_TEMP_MAX_AGE_MS,
  DISK_ENTRY_HEADER_SIZE,
  DISK_ENTRY_MAGIC,
  DISK_ENTRY_VERSION,
  DiskCacheBackend,
  parseDiskEntryHeader,
} from "./disk-backend.js";
export type { DiskCacheBackendOptions, DiskCacheCounters } from "./disk-backend.js";
export { testVectorsCodec } from "./test-vectors-codec.js";
export type { TestVectors } from "./test-vectors-codec.js";
export { TieredCacheBackend } from "./tiered-backend.js";
export type { TieredCacheCounters } from "./tiered-backend.js";
