import { crc32 as zlibCrc32 } from "node:zlib";
import xxhash from "xxhash-addon";

/**
 * CRC-32 as used by zlib, PNG and Ethernet (CRC-32/ISO-HDLC): reflected polynomial 0xEDB88320,
 * initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. `crc32("123456789") === 0xCBF43926`.
 * `previous` continues a running checksum over concatenated inputs.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlibCrc32(bytes, previous) >>> 0;
}

/**
 * XXH3-64 (xxHash 0.8, 64-bit XXH3, seed 0, default secret) of `bytes` as an unsigned 64-bit
 * bigint. `xxh3_64("") === 0x2d06800538d394c2n`, `xxh3_64("123456789") === 0x72dcb18b67a17dffn`.
 * Native (xxhash-addon, SIMD-dispatched) and hashed in place: several times faster than zlib's
 * CRC-32 and, on large inputs, faster than copying the bytes (bench/cache-decode.bench.ts).
 */
export function xxh3_64(bytes: Uint8Array): bigint {
  // The addon returns the canonical (big-endian) 8-byte digest.
  const digest = xxhash.XXHash3.hash(bytes as Buffer);
  return digest.readBigUInt64BE(0);
}
