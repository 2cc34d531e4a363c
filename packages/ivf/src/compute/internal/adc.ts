/** Lookup-table scan (PQ ADC, SQ per-dimension tables, RaBitQ byte tables) on the SIMD module. */
import { kernels } from "./wasm-kernels.js";

/** Rows per kernel call, bounding the arena copy for very large partitions. */
const SCAN_BLOCK_ROWS = 65536;

/** out[i] = sum over s < m of table[s * 256 + codes[i * stride + s]], for i < n. */
export function adcScan(codes: Uint8Array, n: number, m: number, stride: number, table: Float32Array, out: Float32Array): void {
  if (n === 0) return;
  if (codes.length < (n - 1) * stride + m) throw new RangeError(`codes hold ${codes.length} bytes, need ${(n - 1) * stride + m}`);
  const w = kernels();
  const mark = w.mark();
  try {
    const tp = w.alloc(m * 256 * 4);
    w.f32(tp, m * 256).set(table.subarray(0, m * 256));
    const block = Math.min(n, SCAN_BLOCK_ROWS);
    const cp = w.alloc(block * stride);
    const op = w.alloc(block * 4);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      const bytes = Math.min(count * stride, codes.length - start * stride);
      w.u8(cp, bytes).set(codes.subarray(start * stride, start * stride + bytes));
      w.exports.adc(cp, count, m, stride, tp, op);
      out.set(w.f32(op, count), start);
    }
  } finally {
    w.release(mark);
  }
}
