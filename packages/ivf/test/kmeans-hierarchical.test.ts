/**
 * Hierarchical k-means (k > 256) and the pruned exact assignment used by assign+encode at many
 * centroids: determinism under the seed and across thread counts, group sizing, empty and
 * degenerate clusters, quality against flat k-means, and bit-identical assignments.
 */
import { describe, expect, it } from "vitest";
import { assignNearest, createRng, trainKMeans, trainKMeansParallel } from "../src/compute/index.js";
import {
  HIERARCHICAL_MIN_K, kmeansRows, planHierarchical, runKMeans, splitProportionally, trainPrepared, useHierarchical,
} from "../src/compute/internal/kmeans.js";
import { assignNearestPruned, prunedAssignApplies } from "../src/compute/internal/assign-pruned.js";
import { assignRef } from "../src/compute/internal/reference.js";
import { squaredNorms } from "../src/compute/internal/vector-math.js";
import type { KMeansSpread } from "../src/compute/internal/parallel.js";

/** n rows around `clusters` centres (Zipf-like sizes, per-cluster widths), seeded. */
function clustered(n: number, dim: number, clusters: number, seed: number, width = 0.3): Float32Array {
  const rng = createRng(seed);
  const centres = Float32Array.from({ length: clusters * dim }, () => rng.nextGaussian() * 2);
  const cum: number[] = [];
  let s = 0;
  for (let c = 0; c < clusters; c++) cum.push((s += 1 / (c + 1)));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const u = rng.next() * s;
    let c = cum.findIndex((v) => v >= u);
    if (c < 0) c = clusters - 1;
    const w = width * (0.5 + (c % 5) / 5);
    for (let t = 0; t < dim; t++) x[i * dim + t] = centres[c * dim + t]! + rng.nextGaussian() * w;
  }
  return x;
}

const same = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

/** Mean squared distance of rows to their nearest centroid. */
function sse(x: Float32Array, n: number, dim: number, c: Float32Array, k: number): number {
  const idx = assignNearest(x, n, dim, c, k, "l2");
  let total = 0;
  for (let i = 0; i < n; i++) {
    const j = idx[i]!;
    for (let t = 0; t < dim; t++) total += (x[i * dim + t]! - c[j * dim + t]!) ** 2;
  }
  return total / n;
}

describe("hierarchical k-means", () => {
  const n = 16_384;
  const dim = 12;
  const x = clustered(n, dim, 400, 3);

  it("runs above 256 centroids only; k <= 256 is the flat k-means unchanged", () => {
    expect(useHierarchical(HIERARCHICAL_MIN_K, {})).toBe(false);
    expect(useHierarchical(HIERARCHICAL_MIN_K + 1, {})).toBe(true);
    const small = trainKMeans(x.subarray(0, 4000 * dim), 4000, dim, 256, { seed: 2, maxIters: 4 });
    const flat = runKMeans(x.subarray(0, 4000 * dim), 4000, dim, 256, { seed: 2, maxIters: 4 });
    expect(same(small.centroids, flat.centroids)).toBe(true);
  });

  it("is deterministic under the seed and identical on 1 and 2 threads (k not a multiple of the top level)", async () => {
    const k = 300; // 19 top-level groups of about 16
    const a = trainKMeans(x, n, dim, k, { seed: 5 });
    const b = trainKMeans(x, n, dim, k, { seed: 5 });
    const c = trainKMeans(x, n, dim, k, { seed: 6 });
    expect(a.centroids.length).toBe(k * dim);
    expect(a.centroids.every(Number.isFinite)).toBe(true);
    expect(same(a.centroids, b.centroids)).toBe(true);
    expect(same(a.centroids, c.centroids)).toBe(false);
    const two = await trainKMeansParallel(x, n, dim, k, { seed: 5, threads: 2 });
    expect(same(two.centroids, a.centroids)).toBe(true);
    expect(two.loss).toBe(a.loss);
    const cos = trainKMeans(x, n, dim, k, { seed: 5, distance: "cosine" });
    const cosTwo = await trainKMeansParallel(x, n, dim, k, { seed: 5, distance: "cosine", threads: 2 });
    expect(same(cos.centroids, cosTwo.centroids)).toBe(true);
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += cos.centroids[j * dim + t]! ** 2;
      expect(s).toBeCloseTo(1, 4);
    }
  }, 60_000);

  it("spreads the top level (Lloyd steps and the grouping of all rows) and the refinement over workers with the single-thread model bit for bit", async () => {
    const k = 600; // 38 groups: the top level trains on 9,728 rows, enough for chunk claims
    for (const distance of ["l2", "cosine"] as const) {
      const opts = { seed: 9, distance, maxIters: 6, ...(distance === "cosine" ? { cosineMeans: true } : {}) };
      const one = trainKMeans(x, n, dim, k, opts);
      for (const threads of [2, 3]) {
        const spread: KMeansSpread = { generations: 0, takenOver: 0, mainChunks: 0 };
        const many = await trainKMeansParallel(x, n, dim, k, { ...opts, threads }, spread);
        expect(same(many.centroids, one.centroids)).toBe(true);
        expect(many.loss).toBe(one.loss);
        expect(many.iterations).toBe(one.iterations);
        // the top level's Lloyd steps and the one grouping pass ran as chunk generations
        expect(spread.generations).toBeGreaterThanOrEqual(2);
      }
    }
  }, 60_000);

  it("cosine with cosineMeans stores each centroid as the mean of its unit members above 256 centroids too (same directions as without)", () => {
    const k = 300;
    const unit = trainKMeans(x, n, dim, k, { seed: 5, distance: "cosine" });
    const means = trainKMeans(x, n, dim, k, { seed: 5, distance: "cosine", cosineMeans: true });
    const rows = x.slice();
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += rows[i * dim + t]! ** 2;
      for (let t = 0; t < dim; t++) rows[i * dim + t]! /= Math.sqrt(s);
    }
    // members by the stored directions (cosine ranks by direction): their unit mean is the centroid
    const member = assignNearest(rows, n, dim, unit.centroids, k, "l2");
    const sum = new Float64Array(k * dim);
    const count = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      count[member[i]!]!++;
      for (let t = 0; t < dim; t++) sum[member[i]! * dim + t]! += rows[i * dim + t]!;
    }
    let shorter = 0;
    let checked = 0;
    let close = 0;
    for (let j = 0; j < k; j++) {
      let len2 = 0;
      let dot = 0;
      for (let t = 0; t < dim; t++) {
        len2 += means.centroids[j * dim + t]! ** 2;
        dot += means.centroids[j * dim + t]! * unit.centroids[j * dim + t]!;
      }
      const len = Math.sqrt(len2);
      expect(len).toBeLessThanOrEqual(1 + 1e-6);
      expect(dot / len).toBeCloseTo(1, 5);
      if (len < 0.999) shorter++;
      if (count[j]! > 0) {
        // the members of the last update (one step before these final directions) may differ by a
        // few boundary rows, so compare the lengths: the stored one is the members' mean length
        let m2 = 0;
        for (let t = 0; t < dim; t++) m2 += (sum[j * dim + t]! / count[j]!) ** 2;
        if (Math.abs(len - Math.sqrt(m2)) < 0.02) close++;
        checked++;
      }
    }
    expect(shorter).toBeGreaterThan(k / 2);
    expect(checked).toBeGreaterThan(k / 2);
    expect(close).toBeGreaterThan(0.9 * checked);
  }, 60_000);

  it("keeps close to the flat k-means' quality (SSE within 15%; measured 1.11x here with the neighbour-restricted refinement)", () => {
    const k = 512;
    const hier = trainKMeans(x, n, dim, k, { seed: 1 });
    const flat = runKMeans(x, n, dim, k, { seed: 1 });
    const h = sse(x, n, dim, hier.centroids, k);
    const f = sse(x, n, dim, flat.centroids, k);
    expect(h).toBeLessThan(f * 1.15);
  }, 60_000);

  it("splits k over groups by weight, never above a group's rows, empty groups get none", () => {
    const counts = new Float64Array([10, 0, 3, 500, 1]);
    const weight = new Float64Array([100, 0, 900, 50, 0]);
    const kg = splitProportionally(weight, counts, 40);
    expect(Array.from(kg).reduce((p, v) => p + v, 0)).toBe(40);
    for (let g = 0; g < counts.length; g++) expect(kg[g]).toBeLessThanOrEqual(counts[g]!);
    expect(kg[1]).toBe(0);
    expect(kg[2]).toBe(3); // capped at its 3 rows; the rest of its share went elsewhere
    // all weight zero: split by rows that can take one
    const z = splitProportionally(new Float64Array(3), new Float64Array([1, 5, 5]), 7);
    expect(Array.from(z).reduce((p, v) => p + v, 0)).toBe(7);
    expect(z[0]).toBeLessThanOrEqual(1);
  });

  it("plans groups that cover every row and every centroid", () => {
    const p = planHierarchical(x, n, dim, 300, { seed: 3 });
    expect(p.rowStart[p.groups]).toBe(n);
    expect(p.centroidStart[p.groups]).toBe(300);
    expect(Array.from(p.order).sort((a, b) => a - b)).toEqual(Array.from({ length: p.groups }, (_, g) => g));
  });

  it("handles data with fewer distinct rows than centroids (empty clusters, degenerate groups)", () => {
    const rows = 3000;
    const distinct = clustered(150, dim, 20, 8);
    const dup = new Float32Array(rows * dim);
    for (let i = 0; i < rows; i++) dup.set(distinct.subarray((i % 150) * dim, (i % 150 + 1) * dim), i * dim);
    const r = trainPrepared(kmeansRows(dup, rows, dim, "l2"), rows, dim, 400, { seed: 4, maxIters: 10 });
    expect(r.centroids.length).toBe(400 * dim);
    expect(r.centroids.every(Number.isFinite)).toBe(true);
    // every distinct row has a centroid on it: the loss is (close to) zero
    expect(r.loss).toBeLessThan(1e-3);
  });
});

describe("pruned exact assignment (assign+encode at k > 256)", () => {
  const k = 320;
  const n = 6000;

  const check = (x: Float32Array, dim: number, c: Float32Array, type: "l2" | "cosine"): void => {
    const want = assignNearest(x, n, dim, c, k, type);
    // twice: the second call reuses the per-thread centroid index
    for (let round = 0; round < 2; round++) {
      const got = new Uint32Array(n);
      for (let s = 0; s < n; s += 1000) assignNearestPruned(x.subarray(s * dim, (s + 1000) * dim), 1000, dim, c, k, type, got.subarray(s, s + 1000));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  };

  it("applies to l2 and cosine above 256 centroids and dim > 8 only", () => {
    expect(prunedAssignApplies(320, 16, "l2")).toBe(true);
    expect(prunedAssignApplies(320, 16, "dot")).toBe(false);
    expect(prunedAssignApplies(256, 16, "l2")).toBe(false);
    expect(prunedAssignApplies(320, 8, "cosine")).toBe(false);
  });

  for (const dim of [16, 13]) {
    for (const type of ["l2", "cosine"] as const) {
      it(`gives the full scan's assignment bit for bit: clustered data, ${type}, dim ${dim}`, () => {
        const x = clustered(n, dim, 300, 11 + dim);
        const c = runKMeans(kmeansRows(x, n, dim, type), n, dim, k, { seed: 2, maxIters: 6, distance: type }).centroids;
        check(x, dim, c, type);
      });
    }
  }

  it("matches on spread-out data (most rows take the full scan), duplicate centroids and rows on centroids", () => {
    const dim = 16;
    const rng = createRng(9);
    const x = Float32Array.from({ length: n * dim }, () => rng.next());
    const c = Float32Array.from({ length: k * dim }, () => rng.next());
    // duplicated centroids (ties go to the lower index) and rows equal to centroids
    for (let j = 0; j < 40; j++) c.copyWithin((j + 200) * dim, j * dim, (j + 1) * dim);
    for (let i = 0; i < 500; i++) x.set(c.subarray((i % k) * dim, (i % k + 1) * dim), i * dim);
    check(x, dim, c, "l2");
    check(x, dim, c, "cosine");
  });

  it("cosine: zero rows assign like the full scan", () => {
    const dim = 16;
    const x = clustered(n, dim, 100, 21);
    x.fill(0, 0, 50 * dim);
    const c = runKMeans(kmeansRows(x.subarray(50 * dim), n - 50, dim, "cosine"), n - 50, dim, k, { seed: 2, maxIters: 4, distance: "cosine" }).centroids;
    check(x, dim, c, "cosine");
  });

  it("agrees with the scalar reference up to f32 rounding", () => {
    const dim = 16;
    const x = clustered(n, dim, 300, 31);
    const c = runKMeans(x, n, dim, k, { seed: 3, maxIters: 5 }).centroids;
    const got = assignNearestPruned(x, n, dim, c, k, "l2");
    const bias = squaredNorms(c, k, dim);
    const refIdx = new Uint32Array(n);
    const refScore = new Float32Array(n);
    assignRef(x, dim, n, c, k, dim, bias, -2, refIdx, refScore);
    const xn = squaredNorms(x, n, dim);
    for (let i = 0; i < n; i++) {
      let d = 0;
      for (let t = 0; t < dim; t++) d += (x[i * dim + t]! - c[got[i]! * dim + t]!) ** 2;
      expect(d).toBeLessThanOrEqual(refScore[i]! + xn[i]! + 1e-3 * (1 + xn[i]!));
    }
  });
});
