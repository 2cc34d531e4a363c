/** Shared checks of the readers. */
import { QuiverInputError } from "../errors.js";

/** Values per block of the finite check's branch-free scan. */
const FINITE_BLOCK = 4096;

/** Rows of a batch must be finite: NaN or +-Infinity is rejected naming the row. */
export function checkFinite(vectors: Float32Array, rows: number, dim: number, firstRow: number, file: string, column: string): void {
  const len = rows * dim;
  for (let b = 0; b < len; b += FINITE_BLOCK) {
    const end = Math.min(len, b + FINITE_BLOCK);
    // v * 0 is 0 for a finite v and NaN for NaN and +-Infinity: four branch-free sums per block
    // (about twice the speed of a compare per value), the exact value found only when one is not 0
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = b;
    for (; i + 4 <= end; i += 4) {
      s0 += vectors[i]! * 0;
      s1 += vectors[i + 1]! * 0;
      s2 += vectors[i + 2]! * 0;
      s3 += vectors[i + 3]! * 0;
    }
    for (; i < end; i++) s0 += vectors[i]! * 0;
    if (s0 + s1 + s2 + s3 === 0) continue;
    for (let j = b; j < end; j++) {
      const v = vectors[j]!;
      // v - v is NaN exactly for NaN and +-Infinity
      if (v - v !== 0) {
        const row = firstRow + Math.floor(j / dim);
        throw new QuiverInputError("INPUT_NON_FINITE", `value ${j % dim} is ${String(v)}; vectors must be finite`, { file, row, column });
      }
    }
  }
}

const F16_SCRATCH = new Float32Array(1);
const F16_BITS = new Uint32Array(F16_SCRATCH.buffer);

/** IEEE half (bits) to float. */
export function halfToFloat(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) {
    // subnormal or zero: frac * 2^-24
    const v = frac * 5.960464477539063e-8;
    return sign === 0 ? v : -v;
  }
  if (exp === 31) F16_BITS[0] = sign | 0x7f800000 | (frac << 13);
  else F16_BITS[0] = sign | ((exp + 112) << 23) | (frac << 13);
  return F16_SCRATCH[0]!;
}

/** Rows per batch: at least 1, at most `maxRows`. */
export function batchRows(maxRows: number): number {
  if (!Number.isSafeInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows ${maxRows}`);
  return maxRows;
}
