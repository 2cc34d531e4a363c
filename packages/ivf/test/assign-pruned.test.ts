/**
 * Pruned assignment gives the full scan's winners on data where pruning fails (unclustered rows:
 * most rows need most centroids, so it gives up before the exact pass and scans fully, then
 * retries later) and on clustered data where it prunes, chunk after chunk.
 */
import { describe, expect, it } from "vitest";
import { assignNearestPruned } from "../src/compute/internal/assign-pruned.js";
import { assignNearest } from "../src/compute/internal/vector-math.js";
import { createRng } from "../src/compute/index.js";

function gaussian(len: number, seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: len }, () => rng.nextGaussian() * scale);
}

describe("pruned assignment", () => {
  for (const type of ["l2", "cosine"] as const) {
    it(`equals the full scan on unclustered and clustered rows over many chunks (${type})`, () => {
      const dim = 24;
      const k = 300;
      const c = gaussian(k * dim, 1, 1);
      // unclustered: rows drawn like the centroids (pruning saves little); clustered: near centroids
      const far = gaussian(20 * 200 * dim, 2, 1);
      const near = new Float32Array(20 * 200 * dim);
      const rng = createRng(3);
      for (let i = 0; i < 20 * 200; i++) {
        const j = rng.nextInt(k);
        for (let t = 0; t < dim; t++) near[i * dim + t] = c[j * dim + t]! + 0.01 * rng.nextGaussian();
      }
      for (const x of [far, near, far]) {
        const n = x.length / dim;
        const want = assignNearest(x, n, dim, c, k, type);
        const got = new Uint32Array(n);
        for (let s = 0; s < n; s += 200) assignNearestPruned(x.subarray(s * dim, (s + 200) * dim), 200, dim, c, k, type, got.subarray(s, s + 200));
        expect(Array.from(got)).toEqual(Array.from(want));
      }
    });
  }
});
