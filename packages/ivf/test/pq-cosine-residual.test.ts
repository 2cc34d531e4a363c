/**
 * Cosine IVF centroids are stored as the mean of their unit member rows (direction = the spherical
 * centroid), so residual PQ codes the members' spread, not a bias of (1 - mean length) along the
 * centroid in every partition. Recall is compared with exact search on a small clustered
 * high-dimensional set (no timing assertions).
 */
import { describe, expect, it } from "vitest";
import {
  bruteForceKnn,
  encodeAndAssignParallel,
  gaussianMixture,
  nearestCentroids,
  recallAtK,
  trainIvfModel,
  trainQuantizer,
} from "../src/index.js";
import { assignNearest, normalizeRows } from "../src/compute/internal/vector-math.js";
import { buildQuantizer, prepareRows } from "../src/compute/internal/quantizers.js";

const N = 6000;
const DIM = 192;
const P = 128;
const M = 4; // 48 floats per sub-vector, as PQ16 at 768-d
const data = gaussianMixture({ n: N, dim: DIM, clusters: 256, seed: 11, centerSeed: 12 });
const queries = gaussianMixture({ n: 40, dim: DIM, clusters: 256, seed: 13, centerSeed: 12 });

/** Plain PQ recall@10 over `nprobes` partitions with the given stored centroids (scored like the index does). */
function pqRecall(centroids: Float32Array, nprobes: number): { recall: number; loss: number } {
  const q = trainQuantizer("pq", data, N, DIM, { distance: "cosine", seed: 5, ivfCentroids: centroids, numPartitions: P, numSubVectors: M });
  const unit = normalizeRows(data.slice(), N, DIM);
  const parts = assignNearest(unit, N, DIM, centroids, P, "cosine");
  const prepared = prepareRows(data, N, DIM, "cosine", true, centroids, parts);
  const codes = new Uint8Array(N * M);
  q.encode(prepared, N, codes);
  // codebook loss: mean squared reconstruction error of the prepared rows
  const cb = q.metadata.arrays.codebook as Float32Array;
  const dsub = DIM / M;
  let loss = 0;
  for (let i = 0; i < N; i++) {
    for (let s = 0; s < M; s++) {
      const c = codes[i * M + s]!;
      for (let t = 0; t < dsub; t++) loss += (prepared[i * DIM + s * dsub + t]! - cb[(s * 256 + c) * dsub + t]!) ** 2;
    }
  }
  const truth = bruteForceKnn(data, N, DIM, queries, 40, 10, "cosine");
  const found: number[][] = [];
  for (let qi = 0; qi < 40; qi++) {
    const query = queries.subarray(qi * DIM, (qi + 1) * DIM);
    const hits: { id: number; d: number }[] = [];
    for (const p of nearestCentroids(query, centroids, P, DIM, "cosine", nprobes)) {
      const rows: number[] = [];
      for (let i = 0; i < N; i++) if (parts[i] === p) rows.push(i);
      const pc = new Uint8Array(rows.length * M);
      rows.forEach((r, j) => pc.set(codes.subarray(r * M, r * M + M), j * M));
      const out = new Float32Array(rows.length);
      q.scorer(query, centroids.subarray(p * DIM, (p + 1) * DIM)).score(pc, rows.length, out);
      rows.forEach((r, j) => hits.push({ id: r, d: out[j]! }));
    }
    hits.sort((a, b) => a.d - b.d || a.id - b.id);
    found.push(hits.slice(0, 10).map((h) => h.id));
  }
  return { recall: recallAtK(found, truth, 10), loss: loss / N };
}

describe("cosine IVF centroids for residual PQ", () => {
  const model = trainIvfModel(data, N, DIM, { numPartitions: P, distance: "cosine", seed: 3, sampleRate: 250 });

  it("are the mean of their unit members: length below 1, direction the spherical centroid", () => {
    const unitRows = normalizeRows(data.slice(), N, DIM);
    const parts = assignNearest(unitRows, N, DIM, model.centroids, P, "cosine");
    for (let p = 0; p < P; p++) {
      let len2 = 0;
      for (let t = 0; t < DIM; t++) len2 += model.centroids[p * DIM + t]! ** 2;
      expect(Math.sqrt(len2)).toBeLessThan(0.9);
      expect(Math.sqrt(len2)).toBeGreaterThan(0.05);
      // the mean of the unit rows assigned to it points the same way (k-means converged on all rows)
      const mean = new Float64Array(DIM);
      let count = 0;
      for (let i = 0; i < N; i++) {
        if (parts[i] !== p) continue;
        count++;
        for (let t = 0; t < DIM; t++) mean[t]! += unitRows[i * DIM + t]!;
      }
      expect(count).toBeGreaterThan(0);
      let dot = 0;
      let mm = 0;
      for (let t = 0; t < DIM; t++) {
        dot += mean[t]! * model.centroids[p * DIM + t]!;
        mm += mean[t]! ** 2;
      }
      expect(dot / Math.sqrt(mm * len2)).toBeGreaterThan(0.99);
    }
  });

  it("ranks partitions and assigns rows exactly as their unit copies do", () => {
    const unit = normalizeRows(model.centroids.slice(), P, DIM);
    const unitRows = normalizeRows(data.slice(), N, DIM);
    expect([...assignNearest(unitRows, N, DIM, model.centroids, P, "cosine")]).toEqual([...assignNearest(unitRows, N, DIM, unit, P, "cosine")]);
    for (let qi = 0; qi < 10; qi++) {
      const query = queries.subarray(qi * DIM, (qi + 1) * DIM);
      expect([...nearestCentroids(query, model.centroids, P, DIM, "cosine", P)]).toEqual([...nearestCentroids(query, unit, P, DIM, "cosine", P)]);
    }
  });

  it("give lower codebook loss and higher plain recall than the unit centroids (exact search as truth)", () => {
    const unit = normalizeRows(model.centroids.slice(), P, DIM);
    const withMeans = pqRecall(model.centroids, 8);
    const withUnit = pqRecall(unit, 8);
    expect(withMeans.loss).toBeLessThan(withUnit.loss * 0.98);
    expect(withMeans.recall).toBeGreaterThan(withUnit.recall + 0.02);
    expect(withMeans.recall).toBeGreaterThan(0.4);
  });

  it("encode through the assign+encode path gives the same codes as the scorer expects (means stored as given)", async () => {
    const q = buildQuantizer(trainQuantizer("pq", data, N, DIM, { distance: "cosine", seed: 5, ivfCentroids: model.centroids, numPartitions: P, numSubVectors: M }).metadata);
    const enc = await encodeAndAssignParallel({ vectors: data, n: N, dim: DIM, centroids: model.centroids, k: P, distance: "cosine", quantizer: q, threads: 1 });
    const unitRows = normalizeRows(data.slice(), N, DIM);
    const parts = assignNearest(unitRows, N, DIM, model.centroids, P, "cosine");
    expect([...enc.partitions]).toEqual([...parts]);
    const codes = new Uint8Array(N * M);
    q.encode(prepareRows(data, N, DIM, "cosine", true, model.centroids, parts), N, codes);
    expect([...enc.codes]).toEqual([...codes]);
  });
});
