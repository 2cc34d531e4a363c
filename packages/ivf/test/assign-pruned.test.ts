/**
 * Pruned assignment gives the full scan's winners on data where pruning fails (unclustered rows:
 * most rows need most centroids, so it gives up before the exact pass and scans fully, then
 * retries later) and on clustered data where it prunes, chunk after chunk.
 */
import { describe, expect, it } from "vitest";
import { assignNearestPruned, prunedIndexFor } from "../src/compute/internal/assign-pruned.js";
import { assignNearest } from "../src/compute/internal/vector-math.js";
import { prepareRows } from "../src/compute/internal/quantizers.js";
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

  it("equals the full scan through a long failing stretch then clustered rows (back-off), with a passed-in index", () => {
    const dim = 24;
    const k = 300;
    const c = gaussian(k * dim, 4, 1);
    const far = gaussian(100 * 40 * dim, 5, 1);
    const near = new Float32Array(100 * 40 * dim);
    const rng = createRng(6);
    for (let i = 0; i < 100 * 40; i++) {
      const j = rng.nextInt(k);
      for (let t = 0; t < dim; t++) near[i * dim + t] = c[j * dim + t]! + 0.01 * rng.nextGaussian();
    }
    const ix = prunedIndexFor(c, k, dim, "l2");
    for (const x of [far, near]) {
      const n = x.length / dim;
      const want = assignNearest(x, n, dim, c, k, "l2");
      const got = new Uint32Array(n);
      // 100 calls each: the far stretch backs off (attempts every 16, 32, 64 calls); near rows prune again
      for (let s = 0; s < n; s += 40) assignNearestPruned(x.subarray(s * dim, (s + 40) * dim), 40, dim, c, k, "l2", got.subarray(s, s + 40), ix);
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });
});

describe("prepareRows (the encode's residual)", () => {
  it("l2 residual in one pass gives the copy-then-subtract values, also in place", () => {
    const dim = 12;
    const n = 50;
    const k = 7;
    const x = gaussian(n * dim, 7, 3);
    const c = gaussian(k * dim, 8, 1);
    const parts = Uint32Array.from({ length: n }, (_, i) => (i * 5) % k);
    const want = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) want[i * dim + t] = x[i * dim + t]! - c[parts[i]! * dim + t]!;
    expect(Array.from(prepareRows(x, n, dim, "l2", true, c, parts))).toEqual(Array.from(want));
    const inPlace = x.slice();
    prepareRows(inPlace, n, dim, "l2", true, c, parts, inPlace);
    expect(Array.from(inPlace)).toEqual(Array.from(want));
    expect(() => prepareRows(x, n, dim, "l2", true, undefined, parts)).toThrow(RangeError);
  });
});
