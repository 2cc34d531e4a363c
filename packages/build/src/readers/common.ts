/** Shared checks of the readers. */
import { QuiverInputError } from "../errors.js";

/** Rows of a batch must be finite: NaN or +-Infinity is rejected naming the row. */
export function checkFinite(vectors: Float32Array, rows: number, dim: number, firstRow: number, file: string, column: string): void {
  for (let i = 0; i < rows * dim; i++) {
    const v = vectors[i]!;
    // v - v is NaN exactly for NaN and +-Infinity
    if (v - v !== 0) {
      const row = firstRow + Math.floor(i / dim);
      throw new QuiverInputError("INPUT_NON_FINITE", `value ${i % dim} is ${String(v)}; vectors must be finite`, { file, row, column });
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
