/**
 * Plain TypeScript reference implementations of every SIMD kernel. Tests compare the WASM
 * kernels against these; they are also the readable statement of what each kernel computes.
 */

/** out[i] = squared L2 distance between q and row i of x (n rows of dim). */
export function l2BatchRef(q: Float32Array, x: Float32Array, n: number, dim: number, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let t = 0; t < dim; t++) {
      const d = (q[t] as number) - (x[base + t] as number);
      s += d * d;
    }
    out[i] = s;
  }
}

/** out[i] = inner product of q and row i of x. */
export function dotBatchRef(q: Float32Array, x: Float32Array, n: number, dim: number, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let t = 0; t < dim; t++) s += (q[t] as number) * (x[base + t] as number);
    out[i] = s;
  }
}

/**
 * For each row i (at offset i * xstride floats, dim floats long) the centroid j minimising
 * bias[j] + alpha * (x_i . c_j); ties go to the smaller j. Writes index, score and the
 * runner-up score (the smallest score of any other centroid).
 */
export function assignRef(
  x: Float32Array, xstride: number, n: number, c: Float32Array, k: number, dim: number,
  bias: Float32Array, alpha: number, outIdx: Uint32Array, outScore: Float32Array, outSecond?: Float32Array,
): void {
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let second = Infinity;
    let bestJ = 0;
    const xb = i * xstride;
    for (let j = 0; j < k; j++) {
      let dot = 0;
      const cb = j * dim;
      for (let t = 0; t < dim; t++) dot += (x[xb + t] as number) * (c[cb + t] as number);
      const s = (bias[j] as number) + alpha * dot;
      second = Math.min(second, Math.max(s, best));
      if (s < best) {
        best = s;
        bestJ = j;
      }
    }
    outIdx[i] = bestJ;
    outScore[i] = best;
    if (outSecond !== undefined) outSecond[i] = second;
  }
}

/** out[i] = sum over s < m of table[s * 256 + codes[i * stride + s]]. */
export function adcRef(codes: Uint8Array, n: number, m: number, stride: number, table: Float32Array, out: Float32Array): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * stride;
    for (let j = 0; j < m; j++) s += table[j * 256 + (codes[base + j] as number)] as number;
    out[i] = s;
  }
}

/** out[s * 256 + j] = bias[s * 256 + j] + alpha * (q_s . y_sj), codebook laid out [s][j][dsub]. */
export function pqTableRef(
  q: Float32Array, codebook: Float32Array, m: number, dsub: number, bias: Float32Array, alpha: number, out: Float32Array,
): void {
  for (let s = 0; s < m; s++) {
    for (let j = 0; j < 256; j++) {
      let dot = 0;
      for (let d = 0; d < dsub; d++) dot += (q[s * dsub + d] as number) * (codebook[(s * 256 + j) * dsub + d] as number);
      out[s * 256 + j] = (bias[s * 256 + j] as number) + alpha * dot;
    }
  }
}
