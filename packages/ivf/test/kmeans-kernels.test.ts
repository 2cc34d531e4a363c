/**
 * The k-means row kernels (vector.wat's ivffast block): centroid sums and distances to the
 * assigned centroid, bit-identical to the scalar f64 loops they replace, for any width (the
 * SIMD part and the scalar tail) and across kernel-block boundaries.
 */
import { describe, expect, it } from "vitest";
import { createRng } from "../src/compute/index.js";
import { accumulateRows, distancesToAssigned } from "../src/compute/internal/kmeans.js";

function case_(n: number, dim: number, k: number, seed: number): { x: Float32Array; a: Uint32Array; c: Float32Array } {
  const rng = createRng(seed);
  // mixed magnitudes, so a different summation order would show in the low bits
  const x = Float32Array.from({ length: n * dim }, () => rng.nextGaussian() * 10 ** (rng.nextInt(7) - 3));
  const c = Float32Array.from({ length: k * dim }, () => rng.nextGaussian());
  const a = Uint32Array.from({ length: n }, () => rng.nextInt(k));
  return { x, a, c };
}

describe("k-means row kernels", () => {
  for (const [n, dim, k] of [[1, 1, 1], [37, 3, 5], [200, 5, 7], [300, 8, 4], [9000, 6, 3], [500, 127, 9], [400, 128, 16], [50, 130, 2]] as const) {
    it(`sums and counts: the scalar loop's bits (n ${n}, dim ${dim}, k ${k})`, () => {
      const { x, a } = case_(n, dim, k, n * 31 + dim);
      const sums = new Float64Array(k * dim).fill(7); // overwritten, not added to
      const counts = new Float64Array(k).fill(3);
      accumulateRows(x, n, dim, k, a, sums, counts);
      const want = new Float64Array(k * dim);
      const wantCounts = new Float64Array(k);
      for (let i = 0; i < n; i++) {
        const j = a[i]!;
        wantCounts[j]! += 1;
        for (let t = 0; t < dim; t++) want[j * dim + t] = want[j * dim + t]! + x[i * dim + t]!;
      }
      expect(new Uint8Array(sums.buffer)).toEqual(new Uint8Array(want.buffer));
      expect(Array.from(counts)).toEqual(Array.from(wantCounts));
    });
    it(`distances to the assigned centroid: the scalar loop's bits (n ${n}, dim ${dim}, k ${k})`, () => {
      const { x, a, c } = case_(n, dim, k, n * 17 + dim);
      const out = new Float64Array(n);
      distancesToAssigned(x, n, dim, c, k, a, out);
      const want = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let d2 = 0;
        for (let t = 0; t < dim; t++) {
          const d = x[i * dim + t]! - c[a[i]! * dim + t]!;
          d2 += d * d;
        }
        want[i] = d2;
      }
      expect(new Uint8Array(out.buffer)).toEqual(new Uint8Array(want.buffer));
    });
  }
});
