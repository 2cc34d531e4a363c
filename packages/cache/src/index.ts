/**
 * @quiver/cache: the typed index cache (`IndexCache`), the `CacheBackend` plugin interface, cache
 * codecs wrapped in container frames, and the memory, disk, Redis and tiered backends.
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
export { decodeCacheEntry, encodeCacheEntry, frameCodec, retainedBytes } from "./codec.js";
export type { DecodedCacheEntry } from "./codec.js";
export { IndexCache } from "./index-cache.js";
export type { CacheStatsSnapshot, IndexCacheOptions, TypeStats } from "./index-cache.js";
export { DEFAULT_MEMORY_CACHE_BYTES, MemoryCacheBackend } from "./memory-backend.js";
export type { MemoryCacheBackendOptions } from "./memory-backend.js";
export {
  DISK_ENTRY_HEADER_SIZE,
  DISK_ENTRY_MAGIC,
  DISK_ENTRY_VERSION,
  DiskCacheBackend,
  parseDiskEntryHeader,
} from "./disk-backend.js";
export type { DiskCacheBackendOptions, DiskCacheCounters } from "./disk-backend.js";
export { testVectorsCodec } from "./test-vectors-codec.js";
export type { TestVectors } from "./test-vectors-codec.js";
export { RedisCacheBackend } from "./redis-backend.js";
export type { RedisCacheBackendOptions, RedisCacheCounters } from "./redis-backend.js";
export { TieredCacheBackend } from "./tiered-backend.js";
export type { TieredCacheCounters } from "./tiered-backend.js";
