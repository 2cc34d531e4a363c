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

/**
 * OPS[k]: the operator "append 2^k zero bytes" (a 32 x 32 matrix over GF(2), one word per column),
 * built once per process by squaring, on first use: a combine is then one matrix-vector product
 * per set bit of the length instead of log2(len) squarings (which made the combine of many small
 * partitions cost more than their CRCs).
 */
const OPS: Uint32Array[] = [];

function zeroBytesOperator(k: number): Uint32Array {
  while (OPS.length <= k) {
    const out = new Uint32Array(32);
    if (OPS.length === 0) {
      // one zero byte = the one-zero-bit operator squared three times
      let cur = new Uint32Array(32);
      cur[0] = 0xedb88320;
      for (let n = 1, row = 1; n < 32; n++, row <<= 1) cur[n] = row;
      for (let i = 0; i < 3; i++) {
        const next = new Uint32Array(32);
        square(next, cur);
        cur = next;
      }
      out.set(cur);
    } else square(out, OPS[OPS.length - 1]!);
    OPS.push(out);
  }
  return OPS[k]!;
}

/** CRC-32 of A ++ B given crc(A), crc(B) and B's length in bytes. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (!Number.isSafeInteger(lengthB) || lengthB < 0) throw new RangeError(`length ${lengthB}`);
  if (lengthB === 0) return (crcA ^ crcB) >>> 0; // crc(empty) = 0: B adds nothing
  let crc = crcA >>> 0;
  // apply lengthB zero bytes to crc(A), one power of two at a time (in float64: lengths past 2^32)
  let len = lengthB;
  for (let k = 0; len > 0; k++, len = Math.floor(len / 2)) if (len % 2 === 1) crc = times(zeroBytesOperator(k), crc);
  return (crc ^ crcB) >>> 0;
}
