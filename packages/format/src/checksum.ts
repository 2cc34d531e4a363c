import { crc32 as zlibCrc32 } from "node:zlib";

/**
 * CRC-32 as used by zlib, PNG and Ethernet (CRC-32/ISO-HDLC): reflected polynomial 0xEDB88320,
 * initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. `crc32("123456789") === 0xCBF43926`.
 * `previous` continues a running checksum over concatenated inputs.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlibCrc32(bytes, previous) >>> 0;
}
