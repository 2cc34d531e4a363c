/** k-means and IVF training: determinism, convergence, empty-cluster repair, distances. */
import { describe, expect, it } from "vitest";
import { assignNearest, createRng, nearestCentroids, normalizeVector as normalize, trainIvfModel, trainKMeans, trainQuantizer, vectorDistance as distance } from "../src/compute/index.js";
import { PQ_TRAIN_TOLERANCE, repairEmpty, runKMeans } from "../src/compute/internal/kmeans.js";

/** n rows around `clusters` centres spread `spread` apart with unit noise; returns rows and labels. */
function clustered(n: number, dim: number, clusters: number, spread: number, seed: number): { x: Float32Array; labels: Uint32Array; centres: Float32Array } {
  const rng = createRng(seed);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.nextGaussian() * spread;
  const x = new Float32Array(n * dim);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    labels[i] = c;
    for (let t = 0; t < dim; t++) x[i * dim + t] = centres[c * dim + t]! + rng.nextGaussian() * 0.1;
  }
  return { x, labels, centres };
}

describe("distance", () => {
  it("l2, dot (negated) and cosine (normalise, then L2)", () => {
    const a = new Float32Array([1, 2, 2]);
    const b = new Float32Array([2, 0, 0]);
    expect(distance(a, b, 3, "l2")).toBeCloseTo(1 + 4 + 4, 6);
    expect(distance(a, b, 3, "dot")).toBeCloseTo(-2, 6);
    // cos = 2 / (3 * 2) = 1/3, so ||â - b̂||² = 2 - 2/3
    expect(distance(a, b, 3, "cosine")).toBeCloseTo(2 - 2 / 3, 6);
    const na = normalize(a.slice());
    expect(distance(na, normalize(b.slice()), 3, "l2")).toBeCloseTo(2 - 2 / 3, 6);
  });

  it("nearestCentroids orders by distance with ties by index", () => {
    const c = new Float32Array([5, 0, 1, 0, 1, 0, -1, 0]);
    expect([...nearestCentroids(new Float32Array([1, 0]), c, 4, 2, "l2", 4)]).toEqual([1, 2, 3, 0]);
    expect([...nearestCentroids(new Float32Array([1, 0]), c, 4, 2, "dot", 2)]).toEqual([0, 1]);
    expect([...nearestCentroids(new Float32Array([3, 0]), c, 4, 2, "cosine", 3)]).toEqual([0, 1, 2]);
  });
});

describe("trainKMeans", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const { x } = clustered(2000, 16, 10, 3, 1);
    const a = trainKMeans(x, 2000, 16, 10, { seed: 5 });
    const b = trainKMeans(x, 2000, 16, 10, { seed: 5 });
    const c = trainKMeans(x, 2000, 16, 10, { seed: 6, init: "random" });
    expect(Buffer.from(a.centroids.buffer).equals(Buffer.from(b.centroids.buffer))).toBe(true);
    expect(a.iterations).toBe(b.iterations);
    expect(Buffer.from(a.centroids.buffer).equals(Buffer.from(c.centroids.buffer))).toBe(false);
  });

  it("converges on well-separated clusters and recovers them", () => {
    const k = 8;
    const { x, labels, centres } = clustered(4000, 32, k, 10, 2);
    const r = trainKMeans(x, 4000, 32, k, { seed: 1 });
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeLessThan(20);
    // loss ≈ noise variance (0.01 per dim * 32 dims)
    expect(r.loss).toBeLessThan(0.5);
    const assigned = assignNearest(x, 4000, 32, r.centroids, k, "l2");
    // each true cluster maps to exactly one learned centroid
    const map = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const seen = map.get(labels[i]!);
      if (seen === undefined) map.set(labels[i]!, assigned[i]!);
      else expect(seen).toBe(assigned[i]);
    }
    expect(new Set(map.values()).size).toBe(k);
    // and every learned centroid sits on a true centre
    for (const [label, j] of map) {
      expect(distance(centres.subarray(label * 32), r.centroids.subarray(j * 32), 32, "l2")).toBeLessThan(0.01);
    }
  });

  it("Hamerly bounds give the same clustering as full Lloyd scans", () => {
    for (const [data, n, dim, k] of [
      [clustered(3000, 24, 12, 2, 8).x, 3000, 24, 40],
      [new Float32Array(4000 * 8), 4000, 8, 64], // pure noise below: the hard case for bounds
    ] as const) {
      const rng = createRng(10);
      const x = data.map(() => rng.nextGaussian()).map((v, i) => v * 0.3 + data[i]!);
      const fast = runKMeans(x, n, dim, k, { seed: 4, maxIters: 25 });
      const full = runKMeans(x, n, dim, k, { seed: 4, maxIters: 25 }, undefined, false);
      expect(fast.iterations).toBe(full.iterations);
      expect(fast.loss).toBeCloseTo(full.loss, 4);
      let maxDiff = 0;
      for (let i = 0; i < fast.centroids.length; i++) maxDiff = Math.max(maxDiff, Math.abs(fast.centroids[i]! - full.centroids[i]!));
      expect(maxDiff).toBeLessThan(1e-4);
    }
  });

  it("stops at the iteration cap when the tolerance is not met", () => {
    const rng = createRng(3);
    const x = new Float32Array(3000 * 8).map(() => rng.nextGaussian());
    const r = trainKMeans(x, 3000, 8, 64, { maxIters: 3, tolerance: 0, init: "random" });
    expect(r.iterations).toBe(3);
    expect(r.converged).toBe(false);
  });

  it("repairs empty clusters: heavy duplicates still give k distinct centroids", () => {
    // 900 copies of one point plus 100 spread points; random init picks the duplicate often
    const rng = createRng(4);
    const n = 1000;
    const x = new Float32Array(n * 4);
    for (let i = 900; i < n; i++) for (let t = 0; t < 4; t++) x[i * 4 + t] = rng.nextGaussian() * 5;
    const r = trainKMeans(x, n, 4, 16, { init: "random", seed: 9 });
    const counts = new Uint32Array(16);
    for (const j of assignNearest(x, n, 4, r.centroids, 16, "l2")) counts[j]!++;
    expect([...counts].filter((c) => c === 0).length).toBeLessThanOrEqual(1);
    const keys = new Set<string>();
    for (let j = 0; j < 16; j++) keys.add([...r.centroids.subarray(j * 4, j * 4 + 4)].join(","));
    expect(keys.size).toBe(16);
  });

  it("repairEmpty splits the largest cluster", () => {
    const c = new Float32Array([1, 1, 7, 7, 0, 0]);
    const counts = new Float64Array([10, 2, 0]);
    expect(repairEmpty(c, counts, 3, 2, createRng(1))).toBe(1);
    expect([...counts]).toEqual([5, 2, 5]);
    expect(c[4]! + c[0]!).toBeCloseTo(2, 6); // moved symmetrically around the old centroid
    expect(c[4]).not.toBe(c[0]);
  });

  it("cosine trains unit centroids; rejects n < k", () => {
    const { x } = clustered(500, 8, 5, 3, 5);
    const r = trainKMeans(x, 500, 8, 5, { distance: "cosine" });
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let t = 0; t < 8; t++) s += r.centroids[j * 8 + t]! ** 2;
      expect(s).toBeCloseTo(1, 4);
    }
    expect(() => trainKMeans(x, 4, 8, 5)).toThrow(RangeError);
  });
});

describe("trainIvfModel", () => {
  it("trains on numPartitions * sampleRate rows; non-finite data is rejected before training", () => {
    const { x } = clustered(3000, 8, 6, 5, 6);
    const m = trainIvfModel(x, 3000, 8, { numPartitions: 6, distance: "l2", sampleRate: 100, seed: 3 });
    expect(m.sampleRows).toBe(600);
    expect(m.centroids.length).toBe(48);
    expect(m.centroids.every(Number.isFinite)).toBe(true);
    const again = trainIvfModel(x, 3000, 8, { numPartitions: 6, distance: "l2", sampleRate: 100, seed: 3 });
    expect([...again.centroids]).toEqual([...m.centroids]);
    const bad = x.slice();
    bad[8 * 17 + 3] = Number.NaN;
    expect(() => trainIvfModel(bad, 3000, 8, { numPartitions: 6, distance: "l2" })).toThrow(expect.objectContaining({ name: "QuiverArgumentError", code: "INVALID_ARGUMENT", argument: "vectors[139]" }));
  });
});

describe("PQ training's early stop (PQ_TRAIN_TOLERANCE)", () => {
  const rng = createRng(21);
  const n = 6000;
  const dim = 8;
  // unstructured rows: Lloyd creeps towards 1e-4 slowly, so the looser PQ tolerance matters
  const x = new Float32Array(n * dim).map(() => rng.nextGaussian());

  it("k-means at the PQ tolerance (1e-3) stops in fewer iterations than at 1e-4, loss within 1%, the cap still applies", () => {
    expect(PQ_TRAIN_TOLERANCE).toBe(1e-3);
    const opts = { init: "random" as const, seed: 2 };
    const loose = trainKMeans(x, n, 4, 256, { ...opts, tolerance: PQ_TRAIN_TOLERANCE });
    const strict = trainKMeans(x, n, 4, 256, { ...opts, tolerance: 1e-4 });
    expect(loose.converged).toBe(true);
    expect(loose.iterations).toBeLessThan(strict.iterations);
    expect(loose.loss).toBeLessThan(strict.loss * 1.01);
    const capped = trainKMeans(x, n, 4, 256, { ...opts, maxIters: 2, tolerance: PQ_TRAIN_TOLERANCE });
    expect(capped.iterations).toBe(2);
    expect(capped.converged).toBe(false);
  });

  it("PQ training uses it by default (codebook equals an explicit 1e-3, differs from 1e-4); IVF training keeps 1e-4", () => {
    const opts = { distance: "l2" as const, residual: false, numSubVectors: 2, seed: 5 };
    const cb = (o: object): Float32Array => trainQuantizer("pq", x, 3000, dim, { ...opts, ...o }).metadata.arrays.codebook as Float32Array;
    const byDefault = cb({});
    expect([...byDefault]).toEqual([...cb({ tolerance: 1e-3 })]);
    expect([...byDefault]).not.toEqual([...cb({ tolerance: 1e-4 })]);
    const ivfOpts = { numPartitions: 48, distance: "l2" as const, sampleRate: 125, seed: 2 };
    expect([...trainIvfModel(x, n, dim, ivfOpts).centroids]).toEqual([...trainIvfModel(x, n, dim, { ...ivfOpts, tolerance: 1e-4 }).centroids]);
  });
});
