/**
 * Test-only byte surgery on encoded frames: patch a header or table field, and recompute the
 * header CRC so that a deliberately corrupted field reaches the check it is meant to reach.
 */
import { crc32, FRAME_HEADER, MAX_SECTION_COUNT, MAX_TYPE_NAME_LENGTH, SECTION_ENTRY, tableEnd } from "@quiver/format";

/** A little-endian view of the whole input. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Offset of a named header field (throws on an unknown name, so typos fail the test). */
export function headerField(name: string): { offset: number; size: number } {
  const f = FRAME_HEADER.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no header field ${name}`);
  return f;
}

/** Offset of a named section-entry field within entry `index`, for a frame with the given header. */
export function entryField(bytes: Uint8Array, index: number, name: string): number {
  const f = SECTION_ENTRY.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no entry field ${name}`);
  return tableStartOf(bytes) + index * SECTION_ENTRY.size + f.offset;
}

/** Start of the section table as declared by the header. */
export function tableStartOf(bytes: Uint8Array): number {
  const v = viewOf(bytes);
  const nameLength = v.getUint16(20, true);
  return tableEnd(nameLength, 0);
}

/** Write an unsigned little-endian integer of `size` bytes (1, 2, 4 or 8). */
export function writeUint(bytes: Uint8Array, at: number, size: number, value: number | bigint): void {
  const v = viewOf(bytes);
  if (size === 1) v.setUint8(at, Number(value));
  else if (size === 2) v.setUint16(at, Number(value), true);
  else if (size === 4) v.setUint32(at, Number(value), true);
  else if (size === 8) v.setBigUint64(at, BigInt(value), true);
  else throw new Error(`size ${size}`);
}

/** Read an unsigned little-endian integer of `size` bytes as a bigint. */
export function readUint(bytes: Uint8Array, at: number, size: number): bigint {
  const v = viewOf(bytes);
  if (size === 1) return BigInt(v.getUint8(at));
  if (size === 2) return BigInt(v.getUint16(at, true));
  if (size === 4) return BigInt(v.getUint32(at, true));
  return v.getBigUint64(at, true);
}

/**
 * Recompute header_crc32 over [0, table_end) as the header declares it. Returns false (and leaves
 * the bytes alone) when the declared table does not fit in the input or its limits are exceeded.
 */
export function rewriteHeaderCrc(bytes: Uint8Array): boolean {
  if (bytes.byteLength < FRAME_HEADER.size) return false;
  const v = viewOf(bytes);
  const nameLength = v.getUint16(20, true);
  const count = v.getUint32(24, true);
  if (nameLength > MAX_TYPE_NAME_LENGTH || count > MAX_SECTION_COUNT) return false;
  const end = tableEnd(nameLength, count);
  if (end > bytes.byteLength) return false;
  let c = crc32(bytes.subarray(0, 28));
  c = crc32(new Uint8Array(4), c);
  c = crc32(bytes.subarray(32, end), c);
  v.setUint32(28, c, true);
  return true;
}

/** A copy of `bytes` whose byteOffset within its buffer is `misalign` (mod 8). */
export function atByteOffset(bytes: Uint8Array, misalign: number): Uint8Array {
  const buf = new Uint8Array(bytes.byteLength + 16);
  const out = buf.subarray(misalign, misalign + bytes.byteLength);
  out.set(bytes);
  return out;
}

/** Lowercase hex of some bytes. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}
