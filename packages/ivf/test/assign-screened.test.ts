/**
 * The screened assignment is exact: the same partition as the full scan (`assignNearest`) for
 * every row, on random and clustered data, near-ties (rows halfway between two centroids),
 * duplicate centroids, integer data (exactly equal scores: the first index must win), for l2,
 * cosine and dot, k 256..2048 and dims 64..768.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignNearestScreened, buildScreenIndex, screenedAssignApplies } from "../src/compute/internal/assign-screened.js";
import { assignNearest, squaredNorms } from "../src/compute/internal/vector-math.js";
import { kmeansRows, runKMeans } from "../src/compute/internal/kmeans.js";
import { assignRef } from "../src/compute/internal/reference.js";
import { createRng } from "../src/compute/index.js";
import type { DistanceType } from "../src/index.js";

type Kind = "random" | "clustered" | "integer" | "lowrank";

function centroidsOf(kind: Kind, k: number, dim: number, seed: number, duplicates: number): Float32Array {
  const rng = createRng(seed);
  const c = new Float32Array(k * dim);
  // a few large clusters of centroids (so the head axes carry most of the spread) plus noise
  const groups = 1 + (seed % 7);
  const centres = Float32Array.from({ length: groups * dim }, () => rng.nextGaussian() * 3);
  // lowrank: centroids in a 4-dimensional subspace, so the bound is tight up to rounding (a
  // margin too small shows here as a wrong winner on the near-ties)
  const basis = Float32Array.from({ length: 4 * dim }, () => rng.nextGaussian());
  for (let j = 0; j < k && kind === "lowrank"; j++) {
    const w = [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()];
    for (let t = 0; t < dim; t++) c[j * dim + t] = w.reduce((s, wv, b) => s + wv * (basis[b * dim + t] as number), 0);
  }
  for (let j = 0; j < k && kind !== "lowrank"; j++) {
    const g = rng.nextInt(groups);
    for (let t = 0; t < dim; t++) {
      const v = kind === "random" ? rng.nextGaussian() : (centres[g * dim + t] as number) + rng.nextGaussian() * 0.7;
      c[j * dim + t] = kind === "integer" ? Math.round(v * 2) : v;
    }
  }
  // duplicates: later rows copy earlier ones (equal scores: the lower index must win)
  for (let d = 0; d < duplicates; d++) {
    const from = rng.nextInt(k);
    const to = rng.nextInt(k);
    c.copyWithin(to * dim, from * dim, from * dim + dim);
  }
  return c;
}

function rowsOf(kind: Kind, c: Float32Array, k: number, dim: number, n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const a = rng.nextInt(k);
    const b = rng.nextInt(k);
    const mode = i % 4;
    for (let t = 0; t < dim; t++) {
      const ca = c[a * dim + t] as number;
      const cb = c[b * dim + t] as number;
      let v: number;
      if (mode === 0) v = ca + rng.nextGaussian() * 0.05; // near a centroid (tight bounds)
      else if (mode === 1) v = (ca + cb) / 2; // a near-tie between two centroids
      else if (mode === 3 && kind === "lowrank") v = (ca + 3 * cb) / 4;
      else if (mode === 2 || kind === "lowrank") v = ca; // exactly on a centroid
      else v = rng.nextGaussian() * 2; // anywhere
      x[i * dim + t] = kind === "integer" ? Math.round(v) : v;
    }
  }
  return x;
}

function check(kind: Kind, type: DistanceType, k: number, dim: number, n: number, seed: number, duplicates: number): void {
  const c = centroidsOf(kind, k, dim, seed, duplicates);
  const x = rowsOf(kind, c, k, dim, n, seed + 1);
  const want = assignNearest(x, n, dim, c, k, type);
  const ix = buildScreenIndex(c, k, dim, type);
  const got = assignNearestScreened(x, n, ix);
  expect(Array.from(got)).toEqual(Array.from(want));
}

describe("screened assignment", () => {
  it("equals the full scan (property: kinds, metrics, k 256..2048, dims 64..768)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<Kind>("random", "clustered", "integer", "lowrank"),
        fc.constantFrom<DistanceType>("l2", "cosine", "dot"),
        fc.constantFrom(256, 300, 512, 1025, 2048),
        fc.constantFrom(64, 68, 96, 200, 768),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 20 }),
        (kind, type, k, dim, seed, duplicates) => {
          // keep each case cheap: the screen's setup is O(k dim^2) for dim <= 192
          const kk = dim >= 200 ? Math.min(k, 300) : k;
          check(kind, type, kk, dim, 37, seed, duplicates);
        },
      ),
      { numRuns: 16, seed: 20261202 },
    );
  });

  it("equals the full scan on clustered rows over chunks, and on rows with non-finite or huge values", () => {
    const k = 1024;
    const dim = 128;
    check("clustered", "l2", k, dim, 1000, 5, 3);
    const c = centroidsOf("clustered", k, dim, 9, 0);
    const x = rowsOf("clustered", c, k, dim, 64, 10);
    x[3 * dim + 5] = Number.NaN;
    x[7 * dim] = Number.POSITIVE_INFINITY;
    x[11 * dim + 2] = 1e30;
    for (const type of ["l2", "cosine", "dot"] as const) {
      const want = assignNearest(x, 64, dim, c, k, type);
      const got = assignNearestScreened(x, 64, buildScreenIndex(c, k, dim, type));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  it("equals the full scan on exact ties where the bound is tight (centroids and rows in a 4-dimensional subspace)", () => {
    for (const type of ["l2", "dot"] as const) check("lowrank", type, 1024, 64, 2000, 11, 0);
  });

  it("screens only from 1,024 centroids and 32 dims on", () => {
    expect(screenedAssignApplies(1024, 128)).toBe(true);
    expect(screenedAssignApplies(1023, 128)).toBe(false);
    expect(screenedAssignApplies(1024, 16)).toBe(false);
  });

  it("computes fewer exact scores than the full scan on clustered rows", () => {
    const k = 1024;
    const dim = 128;
    const rng = createRng(4);
    const c = centroidsOf("clustered", k, dim, 4, 0);
    const n = 512;
    const x = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const j = rng.nextInt(k);
      for (let t = 0; t < dim; t++) x[i * dim + t] = (c[j * dim + t] as number) + rng.nextGaussian() * 0.05;
    }
    const stats = { exact: 0, rows: 0, fullRows: 0 };
    const got = assignNearestScreened(x, n, buildScreenIndex(c, k, dim, "l2"), new Uint32Array(n), stats);
    expect(Array.from(got)).toEqual(Array.from(assignNearest(x, n, dim, c, k, "l2")));
    expect(stats.rows).toBe(n);
    expect(stats.exact / n).toBeLessThan(k / 4);
  });
});

/** n rows around `clusters` centres (Zipf-like sizes, per-cluster widths), seeded. */
function zipfClustered(n: number, dim: number, clusters: number, seed: number, width = 0.3): Float32Array {
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

// the cases the pruned assignment (which the screen replaced) was tested on, at k = 512
describe("screened assignment on trained centroids and degenerate inputs", () => {
  const k = 512;
  const n = 3000;
  const check = (x: Float32Array, dim: number, c: Float32Array, type: "l2" | "cosine"): void => {
    const want = assignNearest(x, n, dim, c, k, type);
    // chunks of 1000 on one screen: the first chunks try every head width, later ones use one
    const ix = buildScreenIndex(c, k, dim, type);
    const got = new Uint32Array(n);
    for (let s = 0; s < n; s += 1000) assignNearestScreened(x.subarray(s * dim, (s + 1000) * dim), 1000, ix, got.subarray(s, s + 1000));
    expect(ix.chosen).toBeGreaterThanOrEqual(0);
    expect(Array.from(got)).toEqual(Array.from(want));
  };

  for (const dim of [32, 37]) {
    for (const type of ["l2", "cosine"] as const) {
      it(`gives the full scan's assignment bit for bit: k-means centroids, ${type}, dim ${dim}`, () => {
        const x = zipfClustered(n, dim, 300, 11 + dim);
        const c = runKMeans(kmeansRows(x, n, dim, type), n, dim, k, { seed: 2, maxIters: 4, distance: type }).centroids;
        check(x, dim, c, type);
      });
    }
  }

  it("matches on spread-out data, duplicate centroids and rows on centroids", () => {
    const dim = 32;
    const rng = createRng(9);
    const x = Float32Array.from({ length: n * dim }, () => rng.next());
    const c = Float32Array.from({ length: k * dim }, () => rng.next());
    for (let j = 0; j < 40; j++) c.copyWithin((j + 200) * dim, j * dim, (j + 1) * dim);
    for (let i = 0; i < 500; i++) x.set(c.subarray((i % k) * dim, (i % k + 1) * dim), i * dim);
    check(x, dim, c, "l2");
    check(x, dim, c, "cosine");
  });

  it("cosine: zero rows assign like the full scan", () => {
    const dim = 32;
    const x = zipfClustered(n, dim, 100, 21);
    x.fill(0, 0, 50 * dim);
    const c = runKMeans(kmeansRows(x.subarray(50 * dim), n - 50, dim, "cosine"), n - 50, dim, k, { seed: 2, maxIters: 3, distance: "cosine" }).centroids;
    check(x, dim, c, "cosine");
  });

  it("agrees with the scalar reference up to f32 rounding", () => {
    const dim = 32;
    const x = zipfClustered(n, dim, 300, 31);
    const c = runKMeans(x, n, dim, k, { seed: 3, maxIters: 3 }).centroids;
    const got = assignNearestScreened(x, n, buildScreenIndex(c, k, dim, "l2"));
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
