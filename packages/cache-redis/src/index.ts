/**
 * @quiver/cache-redis: the Redis backend of the Quiver index cache (`RedisCacheBackend`, over
 * ioredis). The trait, typed cache, codecs and the other backends are in `@quiver/cache`.
 * Implements cache spec 1.0 (spec/cache.md#redis).
 */
export { RedisCacheBackend } from "./redis-backend.js";
export type { RedisCacheBackendOptions, RedisCacheCounters, RedisFailureKind } from "./redis-backend.js";
export { CircuitBreaker } from "./circuit-breaker.js";
export type { CircuitBreakerOptions, CircuitState } from "./circuit-breaker.js";
