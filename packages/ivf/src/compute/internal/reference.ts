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

/**
 * `assignRef` in the SIMD kernels' exact f32 order, so their output can be checked bit for bit:
 * rows padded with zeros to a multiple of 4 floats; dimension t of a (row, centroid) product goes
 * to lane t mod 4, each lane summed in order from +0, the dot is (l0 + l1) + (l2 + l3), the score
 * f32(bias + f32(alpha * dot)); an odd k is scanned with its last centroid repeated (as the
 * kernel's caller pads it). The runner-up is min(second, max(s, best)) per centroid, NaN-propagating.
 */
export function assignLaneOrderRef(
  x: Float32Array, xstride: number, n: number, c: Float32Array, k: number, dim: number,
  bias: Float32Array, alpha: number, outIdx: Uint32Array, outScore: Float32Array, outSecond?: Float32Array,
): void {
  const f = Math.fround;
  const kScan = k + (k & 1);
  const lanes = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let second = Infinity;
    let bestJ = 0;
    for (let jj = 0; jj < kScan; jj++) {
      const j = Math.min(jj, k - 1);
      lanes.fill(0);
      for (let t = 0; t < dim; t++) lanes[t & 3] = f((lanes[t & 3] as number) + f((x[i * xstride + t] as number) * (c[j * dim + t] as number)));
      const dot = f(f((lanes[0] as number) + (lanes[1] as number)) + f((lanes[2] as number) + (lanes[3] as number)));
      const s = f((bias[j] as number) + f(alpha * dot));
      second = Math.min(second, Math.max(s, best));
      if (s < best) {
        best = s;
        bestJ = jj;
      }
    }
    outIdx[i] = bestJ;
    outScore[i] = best;
    if (outSecond !== undefined) outSecond[i] = second;
  }
}

/**
 * `assignRef` for rows of at most 8 floats in the narrow kernel's exact f32 order: zero-padded to
 * 8, even dimensions summed into one partial (from the first product, no leading zero) and odd
 * ones into another, dot = even + odd, score f32(bias + f32(alpha * dot)). Runner-up as above.
 */
export function assignNarrowOrderRef(
  x: Float32Array, xstride: number, n: number, c: Float32Array, k: number, dim: number,
  bias: Float32Array, alpha: number, outIdx: Uint32Array, outScore: Float32Array, outSecond?: Float32Array,
): void {
  const f = Math.fround;
  const prod = (i: number, j: number, t: number): number => (t < dim ? f((x[i * xstride + t] as number) * (c[j * dim + t] as number)) : 0);
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    let second = Infinity;
    let bestJ = 0;
    for (let j = 0; j < k; j++) {
      let even = prod(i, j, 0);
      let odd = prod(i, j, 1);
      for (let t = 2; t < 8; t += 2) {
        even = f(even + prod(i, j, t));
        odd = f(odd + prod(i, j, t + 1));
      }
      const s = f((bias[j] as number) + f(alpha * f(even + odd)));
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
