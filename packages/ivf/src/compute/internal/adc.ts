/** Lookup-table scan (PQ ADC, SQ per-dimension tables, RaBitQ byte tables) on the SIMD module. */
import { kernels } from "./wasm-kernels.js";

/** Rows per kernel call, bounding the arena copy for very large partitions. */
const SCAN_BLOCK_ROWS = 65536;

/** out[i] = sum over s < m of table[s * 256 + codes[i * stride + s]], for i < n. */
export function adcScan(codes: Uint8Array, n: number, m: number, stride: number, table: Float32Array, out: Float32Array): void {
  if (n === 0) return;
  if (codes.length < (n - 1) * stride + m) throw new RangeError(`codes hold ${codes.length} bytes, need ${(n - 1) * stride + m}`);
  if (table.length < m * 256) throw new RangeError(`table holds ${table.length} floats, need ${m * 256}`);
  if (out.length < n) throw new RangeError(`out holds ${out.length} floats, need ${n}`);
  const w = kernels();
  const mark = w.mark();
  try {
    // Every byte of these buffers is written before the kernel reads it: no zero fill (a memset
    // of ~90 KiB per 4k-row partition at PQ16, as much as the copies).
    const tp = w.allocUninit(m * 256 * 4);
    w.f32(tp, m * 256).set(table.subarray(0, m * 256));
    const block = Math.min(n, SCAN_BLOCK_ROWS);
    const cp = w.allocUninit(block * stride);
    const op = w.allocUninit(block * 4);
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

/** The scalar reference of {@link adcScan} (tests compare the kernels with it). */
export function adcScanReference(codes: Uint8Array, n: number, m: number, stride: number, table: Float32Array, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    // the kernels' order: even sub-spaces into one f32 sum, odd into another, then their sum
    let even = 0;
    let odd = 0;
    for (let s = 0; s < m; s++) {
      const v = table[s * 256 + codes[i * stride + s]!]!;
      if ((s & 1) === 0) even = Math.fround(even + v);
      else odd = Math.fround(odd + v);
    }
    out[i] = Math.fround(even + odd);
  }
}
