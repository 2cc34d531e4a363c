/**
 * CRC-32 (the zlib polynomial, as `crc32` of @quiver/format) of a concatenation A ++ B from the
 * CRCs of A and B and B's length, without the bytes: zlib's crc32_combine (multiplying by the
 * matrix of "append one zero bit" over GF(2), squared log2(len) times). The streamed index write
 * uses it to checksum a partition section (ids, then codes) whose two halves arrive interleaved.
 */

function times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if ((vec & 1) !== 0) sum ^= mat[i]!;
  return sum >>> 0;
}

function square(out: Uint32Array, mat: Uint32Array): void {
  for (let n = 0; n < 32; n++) out[n] = times(mat, mat[n]!);
}

/** CRC-32 of A ++ B given crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`length ${lengthB}`);
  if (lengthB === 0) return (crcA ^ crcB) >>> 0; // crc(empty) = 0: B adds nothing
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320; // the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  square(even, odd); // two zero bits
  square(odd, even); // four zero bits
  let crc = crcA >>> 0;
  let len = lengthB;
  // apply len zero bytes to crc(A): the first squaring below is one zero byte (eight bits)
  for (;;) {
    square(even, odd);
    if (len % 2 === 1) crc = times(even, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
    square(odd, even);
    if (len % 2 === 1) crc = times(odd, crc);
    len = Math.floor(len / 2);
    if (len === 0) break;
  }
  return (crc ^ crcB) >>> 0;
}
