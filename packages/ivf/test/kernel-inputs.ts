/**
 * Random inputs for the bit-exactness properties of the assignment kernels (shared by
 * kernels-exact.test.ts and the bench-only module's test): shapes around the kernels' block
 * sizes, overflowing scales, exact ties and a bias of -0.
 */
import fc from "fast-check";
import { createRng } from "../src/compute/index.js";

export function randomArray(len: number, seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.nextGaussian() * scale;
  return a;
}

/** Float bits, so +0 / -0 and NaN payload-free comparisons are exact. */
export function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length), (v, i) => (Number.isNaN(a[i]) ? -1 : v));
}

export const shape = fc.record({
  n: fc.integer({ min: 1, max: 13 }),
  k: fc.integer({ min: 1, max: 11 }),
  dim: fc.integer({ min: 1, max: 40 }),
  extra: fc.integer({ min: 0, max: 3 }),
  seed: fc.integer({ min: 0, max: 1 << 30 }),
  // 1e19: products near the f32 limit, sums and norms overflow (Infinity, NaN scores)
  scale: fc.constantFrom(1, 1, 1, 1e19),
  // copy some centroids / rows onto others: exact ties between centroids
  ties: fc.boolean(),
  // a bias of -0 (the runner-up then needs the signed-zero-exact kernel)
  negZero: fc.boolean(),
});

export function inputs(s: { n: number; k: number; dim: number; extra: number; seed: number; scale: number; ties: boolean; negZero: boolean }) {
  const stride = s.dim + s.extra;
  const offset = s.extra > 0 ? s.seed % (s.extra + 1) : 0;
  const x = randomArray(s.n * stride + offset, s.seed, 2 * s.scale);
  const c = randomArray(s.k * s.dim, s.seed + 7, 2 * s.scale);
  if (s.ties && s.k > 1) c.copyWithin((s.k - 1) * s.dim, 0, s.dim);
  if (s.ties && s.n > 1) x.copyWithin(offset + stride, offset, offset + s.dim);
  const bias = new Float32Array(s.k);
  for (let j = 0; j < s.k; j++) {
    let b = 0;
    for (let t = 0; t < s.dim; t++) b = Math.fround(b + Math.fround(c[j * s.dim + t]! * c[j * s.dim + t]!));
    bias[j] = b;
  }
  if (s.negZero) {
    bias[0] = -0;
    c.fill(0, 0, s.dim);
  }
  return { stride, offset, x, c, bias };
}
