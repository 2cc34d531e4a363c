import { MAX_TYPE_NAME_LENGTH } from "@quiver/format";
import type { CacheCodec, CacheKey } from "./types.js";

/** The container kind of a cache entry frame (spec/registry.csv: `cache-entry`). */
export const CACHE_ENTRY_KIND = 16;
/** Separator between the user key and the type name in a byte key. */
export const CACHE_KEY_SEPARATOR = "\0";
/** MUST-level maximum of a byte key's UTF-8 length (spec/cache.md#byte-keys). */
export const MAX_CACHE_KEY_BYTES = 65_536;

const TYPE_NAME_RE = /^[A-Za-z0-9._:-]+$/;
const utf8 = new TextEncoder();
const utf8Lenient = new TextDecoder("utf-8", { fatal: false });

/** True when `name` is a legal cache type name (1..255 bytes of `[A-Za-z0-9._:-]`). */
export function isCacheTypeName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_TYPE_NAME_LENGTH && TYPE_NAME_RE.test(name);
}

/**
 * Build a byte key: `prefix + userKey + "\0" + typeName` (spec/cache.md#byte-keys). Throws
 * RangeError on an illegal type name or a key over {@link MAX_CACHE_KEY_BYTES} (programming errors).
 */
export function formatCacheKey(prefix: string, userKey: string, typeName: string): string {
  if (!isCacheTypeName(typeName)) throw new RangeError(`illegal cache type name ${JSON.stringify(typeName)}`);
  const key = prefix + userKey + CACHE_KEY_SEPARATOR + typeName;
  // UTF-16 length * 3 bounds the UTF-8 length; only encode when it might be over.
  if (key.length * 3 > MAX_CACHE_KEY_BYTES && utf8.encode(key).byteLength > MAX_CACHE_KEY_BYTES) {
    throw new RangeError(`cache key longer than ${MAX_CACHE_KEY_BYTES} UTF-8 bytes`);
  }
  return key;
}

/** A byte key split into its namespaced user key (prefix included) and its type name. */
export interface ParsedCacheKey {
  /** Everything before the last NUL: the prefix and the user key. */
  readonly userKey: string;
  /** Everything after the last NUL; "" when the key has no NUL. */
  readonly typeName: string;
}

/**
 * Split a byte key at its last NUL. Never throws: a key without NUL is all user key with an
 * empty type name; bytes that are not UTF-8 decode with U+FFFD.
 */
export function parseCacheKey(key: string | Uint8Array): ParsedCacheKey {
  let s: string;
  if (typeof key === "string") s = key;
  else if (key instanceof Uint8Array) s = utf8Lenient.decode(key);
  else s = "";
  const at = s.lastIndexOf(CACHE_KEY_SEPARATOR);
  if (at < 0) return { userKey: s, typeName: "" };
  return { userKey: s.slice(0, at), typeName: s.slice(at + 1) };
}

/** A typed key whose values go through `codec` (and so may live in persistent backends). */
export function cacheKey<T>(key: string, codec: CacheCodec<T>): CacheKey<T> {
  if (!isCacheTypeName(codec.typeName)) throw new RangeError(`illegal cache type name ${JSON.stringify(codec.typeName)}`);
  return { key, typeName: codec.typeName, codec };
}

/** A typed key without a codec: its values only ever live in memory tiers. */
export function memoryCacheKey<T>(key: string, typeName: string, sizeOf: (value: T) => number): CacheKey<T> {
  if (!isCacheTypeName(typeName)) throw new RangeError(`illegal cache type name ${JSON.stringify(typeName)}`);
  return { key, typeName, sizeOf };
}
