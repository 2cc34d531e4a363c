import { type Frame, QuiverFormatError, decodeFrame, encodeFrame } from "@quiver/format";
import { CACHE_ENTRY_KIND } from "./cache-key.js";
import type { CacheCodec, CacheEntry, ErasedCodec } from "./types.js";

/**
 * Default section checksum of cache-entry frames (spec/cache.md#entry-frame): XXH3-64, which a reader
 * verifies faster than it could copy the bytes (bench/cache-decode.bench.ts). Entries written with
 * CRC-32 sections (before container 1.1) are rejected with WRONG_SECTION_CHECKSUM, a miss that
 * rewrites them: old entries self-heal.
 */
export const CACHE_ENTRY_SECTION_CHECKSUM = "xxh3-64" as const;

/** Wrap a value in a cache-entry frame: kind 16, the codec's type name and version, its sections (XXH3-64 checksums). */
export function encodeCacheEntry<T>(codec: CacheCodec<T>, value: T): Uint8Array {
  return encodeFrame({
    kind: CACHE_ENTRY_KIND,
    kindVersion: codec.version,
    typeName: codec.typeName,
    sectionChecksum: codec.sectionChecksum ?? CACHE_ENTRY_SECTION_CHECKSUM,
    sections: codec.encode(value),
  });
}

/** A decoded cache entry: the value, the frame version it came from and the bytes it keeps alive. */
export interface DecodedCacheEntry<T> {
  readonly value: T;
  readonly version: number;
  readonly sizeBytes: number;
}

/**
 * Verify and decode a cache-entry frame. Throws QuiverFormatError on every bad input: wrong kind,
 * wrong type name, a version outside `[minVersion, version]`, CRC-32 section checksums (an entry
 * from before container 1.1: WRONG_SECTION_CHECKSUM), checksum or truncation errors, and
 * whatever the codec raises (a non-QuiverFormatError from the codec becomes CACHE_CODEC_FAILED).
 * When `bytes` is a view of a larger buffer it is copied before it is decoded, so the value never
 * pins memory the cache does not count (spec/cache.md#size-accounting), and never keeps a view of
 * the caller's buffer: a backend may read into a reused buffer (`ErasedCodec.copiesInput`).
 */
export function decodeCacheEntry<T>(codec: CacheCodec<T>, bytes: Uint8Array): DecodedCacheEntry<T> {
  // The memo is checked on the input as it is: a hit keeps nothing of `bytes`, so a view of a
  // larger (or reused) buffer is copied only when it has to be decoded.
  const memoKey = verifiedKey(bytes);
  const seen = memoKey === undefined ? undefined : verifiedFrames.get(codec)?.get(memoKey);
  if (seen !== undefined) {
    const before = seen.length === bytes.byteLength ? seen.buffer.deref() : undefined;
    const value = before === undefined ? undefined : seen.value.deref();
    // Byte-identical to a frame that passed every check in this process: it passes them again.
    if (value !== undefined && before!.byteLength === bytes.byteLength && Buffer.compare(new Uint8Array(before!), bytes) === 0) return { value: value as T, version: seen.version, sizeBytes: seen.sizeBytes };
  }
  const own = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength ? bytes : copyBytes(bytes);
  const frame = decodeFrame(own, { kind: CACHE_ENTRY_KIND, typeName: codec.typeName, maxKindVersion: codec.version, sectionChecksum: codec.sectionChecksum ?? CACHE_ENTRY_SECTION_CHECKSUM });
  const minVersion = codec.minVersion ?? 0;
  if (frame.kindVersion < minVersion) {
    throw new QuiverFormatError("UNSUPPORTED_KIND_VERSION", `codec version ${frame.kindVersion} is older than ${minVersion}`, { stage: "header", offset: 16 });
  }
  let value: T;
  try {
    value = codec.decode(frame);
  } catch (cause) {
    if (cause instanceof QuiverFormatError) throw cause;
    throw new QuiverFormatError("CACHE_CODEC_FAILED", `${codec.typeName} decode threw ${String(cause)}`, { stage: "payload", cause });
  }
  const decoded = { value, version: frame.kindVersion, sizeBytes: codec.sizeOf(value) };
  if (memoKey !== undefined) rememberVerified(codec, memoKey, own, decoded);
  return decoded;
}

/**
 * Frames this process verified and decoded, per codec, by header CRC-32 (which covers the section
 * table and so every section's checksum; a number key, not a string built per decode), with the
 * frame length checked on a hit (two frames with one CRC: the later one replaces the earlier). A later input that is byte-identical
 * to one of them (one memcmp, several times faster than re-computing the checksums) gets the same
 * decoded value back: each entry is verified once per process while its value (and the bytes it
 * was decoded from) stay in memory. Only weak references are kept, so nothing is pinned.
 */
interface VerifiedFrame {
  /** The whole buffer the frame was decoded from (zero-copy values keep it alive). */
  readonly buffer: WeakRef<ArrayBufferLike>;
  /** Frame length in bytes. */
  readonly length: number;
  readonly value: WeakRef<object>;
  readonly version: number;
  readonly sizeBytes: number;
}
const verifiedFrames = new WeakMap<object, Map<number, VerifiedFrame>>();
/**
 * Bound on remembered frames per codec. Entries whose value died stay until the map is full and
 * is cleared (a few hundred bytes each): registering every decoded value with a
 * FinalizationRegistry to delete them earlier cost more per decode than the entries cost in memory.
 */
const MAX_VERIFIED_PER_CODEC = 16_384;

/** The header CRC-32 (bytes 28..32, little-endian) of a frame-sized input, read without a DataView. */
function verifiedKey(bytes: Uint8Array): number | undefined {
  if (bytes.byteLength < 64) return undefined;
  return (bytes[28]! | (bytes[29]! << 8) | (bytes[30]! << 16) | (bytes[31]! << 24)) >>> 0;
}

function rememberVerified(codec: object, key: number, bytes: Uint8Array, decoded: DecodedCacheEntry<unknown>): void {
  const value = decoded.value;
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return;
  let map = verifiedFrames.get(codec);
  if (map === undefined) verifiedFrames.set(codec, (map = new Map()));
  if (map.size >= MAX_VERIFIED_PER_CODEC) map.clear();
  map.set(key, { buffer: new WeakRef(bytes.buffer), length: bytes.byteLength, value: new WeakRef(value), version: decoded.version, sizeBytes: decoded.sizeBytes });
}

/** A copy in a fresh, exactly sized buffer (not `slice()`: on a Node Buffer that is a view). */
function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** The type-erased form of a codec that backends receive. */
export function frameCodec<T>(codec: CacheCodec<T>): ErasedCodec {
  return {
    typeName: codec.typeName,
    version: codec.version,
    copiesInput: true,
    source: codec,
    encode: (value: unknown) => encodeCacheEntry(codec, value as T),
    decode: (bytes: Uint8Array): CacheEntry => {
      const d = decodeCacheEntry(codec, bytes);
      return { value: d.value, sizeBytes: d.sizeBytes };
    },
  };
}

/** Anything backed by an ArrayBuffer: typed arrays, DataViews, Buffers. */
export type BufferView = ArrayBufferView;

/**
 * Bytes kept alive by these views: the sum of the byteLength of each distinct underlying buffer
 * (not of the views). Codecs build `sizeOf` on it so that a zero-copy value that views a larger
 * buffer reports the whole buffer.
 */
export function retainedBytes(views: Iterable<BufferView | null | undefined>): number {
  const seen = new Set<ArrayBufferLike>();
  let total = 0;
  for (const v of views) {
    if (v == null || seen.has(v.buffer)) continue;
    seen.add(v.buffer);
    total += v.buffer.byteLength;
  }
  return total;
}

/** The frame a codec's `decode` received; re-exported for codec authors. */
export type { Frame };
