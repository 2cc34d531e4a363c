/**
 * The persistent compute pool: one pool serves every parallel entry point many times with results
 * identical to one thread, its workers really take work, close() leaves no thread behind, a pool
 * whose workers cannot start degrades to the calling thread, and the listed-row k-means step
 * (rows read in place instead of a gather copy) matches the scalar reference.
 */
import { describe, expect, it } from "vitest";
import { QuiverArgumentError } from "@quiver/format";
import {
  createComputePool, createRng, encodeAndAssignParallel, trainIvfModel, trainIvfModelParallel, trainKMeans, trainKMeansParallel,
  trainQuantizer, trainQuantizerParallel,
} from "../src/compute/index.js";
import { assignListed } from "../src/compute/internal/kmeans.js";
import { assignRef } from "../src/compute/internal/reference.js";
import { squaredNorms } from "../src/compute/internal/vector-math.js";

const n = 24_000;
const dim = 16;
const rng = createRng(11);
// clustered rows, so Hamerly bounds prune and the k-means listed-row path runs on the workers
const centres = new Float32Array(40 * dim).map(() => rng.nextGaussian() * 4);
const data = new Float32Array(n * dim);
for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) data[i * dim + t] = centres[(i % 40) * dim + t]! + rng.nextGaussian() * 0.3;

const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("ComputePool", () => {
  it("serves repeated calls of every entry point with single-thread results, then closes with no live thread", async () => {
    const pool = createComputePool(2);
    try {
      expect(pool.size).toBe(2);
      const kmOne = trainKMeans(data, n, dim, 48, { seed: 4, maxIters: 12 });
      const ivfOne = trainIvfModel(data, n, dim, { numPartitions: 16, distance: "cosine", sampleRate: 1000, maxIters: 6 });
      const pqOpts = { distance: "l2" as const, ivfCentroids: ivfOne.centroids, numPartitions: 16, maxIters: 6, numSubVectors: 4 };
      const pqOne = trainQuantizer("pq", data, 6000, dim, pqOpts);
      const input = { vectors: data, n, dim, centroids: ivfOne.centroids, k: 16, distance: "cosine" as const, quantizer: pqOne };
      const encOne = await encodeAndAssignParallel({ ...input, threads: 1 });
      let workerChunks = 0;
      for (let round = 0; round < 3; round++) {
        const km = await trainKMeansParallel(data, n, dim, 48, { seed: 4, maxIters: 12, pool });
        expect(km.iterations).toBe(kmOne.iterations);
        expect(km.loss).toBe(kmOne.loss);
        expect(same(km.centroids, kmOne.centroids)).toBe(true);
        const ivf = await trainIvfModelParallel(data, n, dim, { numPartitions: 16, distance: "cosine", sampleRate: 1000, maxIters: 6, pool });
        expect(same(ivf.centroids, ivfOne.centroids)).toBe(true);
        const pq = await trainQuantizerParallel("pq", data, 6000, dim, { ...pqOpts, pool });
        expect(same(pq.metadata.arrays.codebook as Float32Array, pqOne.metadata.arrays.codebook as Float32Array)).toBe(true);
        // workers only: every chunk is done by the pool's threads
        const enc = await encodeAndAssignParallel({ ...input, pool, useMainThread: false });
        expect(enc.workersUnavailable).toBe(0);
        expect(enc.chunksByThread[0]).toBe(0);
        workerChunks += enc.chunksByThread.slice(1).reduce((a, b) => a + b, 0);
        expect(same(enc.partitions, encOne.partitions)).toBe(true);
        expect(same(enc.codes, encOne.codes)).toBe(true);
      }
      expect(workerChunks).toBe(3 * Math.ceil(n / 4096));
      expect(pool.liveThreads).toBe(2);
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
    await pool.close(); // idempotent
    // a closed pool is refused by the argument checks
    await expect(trainQuantizerParallel("pq", data, 6000, dim, { distance: "l2", residual: false, pool })).rejects.toBeInstanceOf(QuiverArgumentError);
    await expect(trainQuantizerParallel("pq", data, 6000, dim, { distance: "l2", residual: false, pool: {} as never })).rejects.toBeInstanceOf(QuiverArgumentError);
  });

  it("a pool whose workers cannot start degrades to this thread with the same results", async () => {
    const pool = createComputePool(2, new URL("./no-such-worker.mjs", import.meta.url));
    try {
      const q = trainQuantizer("sq", data, n, dim, { distance: "l2" });
      const input = { vectors: data, n, dim, centroids: data.slice(0, 8 * dim), k: 8, distance: "l2" as const, quantizer: q };
      const one = await encodeAndAssignParallel({ ...input, threads: 1 });
      // the workers fail while loading; after that every call knows them dead up front
      for (let waited = 0; pool.liveThreads > 0 && waited < 20_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      expect(pool.liveThreads).toBe(0);
      for (let round = 0; round < 2; round++) {
        const r = await encodeAndAssignParallel({ ...input, pool });
        expect(r.workersUnavailable).toBe(2);
        expect(r.chunksByThread[0]).toBe(Math.ceil(n / 4096));
        expect(same(r.codes, one.codes)).toBe(true);
      }
      const km = await trainKMeansParallel(data, n, dim, 24, { seed: 2, maxIters: 4, pool });
      expect(same(km.centroids, trainKMeans(data, n, dim, 24, { seed: 2, maxIters: 4 }).centroids)).toBe(true);
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
  });
});

describe("assignListed (k-means rows read in place)", () => {
  it("equals the scalar reference on the listed rows, for chunk sizes that do and do not divide the list", () => {
    const k = 14; // even: an odd k's padding duplicate may lower the kernel's runner-up to the best
    const c = data.slice(100 * dim, (100 + k) * dim);
    const bias = squaredNorms(c, k, dim);
    const list = Uint32Array.from({ length: 1001 }, (_, i) => (i * 7919) % n);
    const gathered = new Float32Array(list.length * dim);
    list.forEach((row, i) => gathered.set(data.subarray(row * dim, row * dim + dim), i * dim));
    const refIdx = new Uint32Array(list.length);
    const refScore = new Float32Array(list.length);
    const refSecond = new Float32Array(list.length);
    assignRef(gathered, dim, list.length, c, k, dim, bias, -2, refIdx, refScore, refSecond);
    for (const chunkRows of [64, 333, 4096]) {
      const idx = new Uint32Array(list.length);
      const score = new Float32Array(list.length);
      const second = new Float32Array(list.length);
      assignListed(data, dim, list, 0, list.length, new Float32Array(chunkRows * dim), c, k, bias, -2, idx, score, second);
      for (let i = 0; i < list.length; i++) {
        // f32 summation order may flip only a near-tie
        if (idx[i] !== refIdx[i]) expect(refSecond[i]! - refScore[i]!).toBeLessThan(1e-3 * (1 + Math.abs(refScore[i]!)));
        expect(Math.abs(score[i]! - refScore[i]!)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(refScore[i]!)));
        expect(Math.abs(second[i]! - refSecond[i]!)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(refSecond[i]!)));
      }
    }
  });
});
