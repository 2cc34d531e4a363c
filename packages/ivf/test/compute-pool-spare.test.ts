/**
 * A pool's spare workers (createComputePool(workers, url, spare)): tasks the calling thread
 * shares (k-means, PQ training) use only `sharedSize` workers, tasks it does not share
 * (assign + encode with useMainThread: false) use all of them; results are those of one thread.
 */
import { describe, expect, it } from "vitest";
import { createComputePool, createRng, encodeAndAssignParallel, trainKMeans, trainKMeansParallel, trainQuantizer, trainQuantizerParallel } from "../src/compute/index.js";

const n = 20_000;
const dim = 16;
const rng = createRng(21);
const centres = new Float32Array(30 * dim).map(() => rng.nextGaussian() * 4);
const data = new Float32Array(n * dim);
for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) data[i * dim + t] = centres[(i % 30) * dim + t]! + rng.nextGaussian() * 0.3;
const same = (a: ArrayBufferView, b: ArrayBufferView): boolean =>
  Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe("ComputePool spare workers", () => {
  it("clamps spare to [0, workers]", async () => {
    const pools = [createComputePool(0, undefined, 1), createComputePool(1, undefined, 5), createComputePool(1, undefined, -2)];
    try {
      expect(pools.map((p) => [p.size, p.sharedSize])).toEqual([[0, 0], [1, 0], [1, 1]]);
    } finally {
      for (const p of pools) await p.close();
    }
  });

  it("leaves the spare worker out of shared tasks and uses it for worker-only assign + encode", async () => {
    const pool = createComputePool(2, undefined, 1);
    try {
      expect(pool.sharedSize).toBe(1);
      const one = trainKMeans(data, n, dim, 40, { seed: 3, maxIters: 8 });
      const km = await trainKMeansParallel(data, n, dim, 40, { seed: 3, maxIters: 8, pool });
      expect(same(km.centroids, one.centroids)).toBe(true);
      const pqOpts = { distance: "l2" as const, ivfCentroids: one.centroids, numPartitions: 40, maxIters: 5, numSubVectors: 4 };
      const pqOne = trainQuantizer("pq", data, 6000, dim, pqOpts);
      const pq = await trainQuantizerParallel("pq", data, 6000, dim, { ...pqOpts, pool });
      expect(same(pq.metadata.arrays.codebook as Float32Array, pqOne.metadata.arrays.codebook as Float32Array)).toBe(true);
      const input = { vectors: data, n, dim, centroids: one.centroids, k: 40, distance: "l2" as const, quantizer: pqOne };
      const encOne = await encodeAndAssignParallel({ ...input, threads: 1 });
      const shared = await encodeAndAssignParallel({ ...input, pool });
      expect(shared.chunksByThread.length).toBe(2); // this thread + the one shared worker
      const all = await encodeAndAssignParallel({ ...input, pool, useMainThread: false });
      expect(all.chunksByThread.length).toBe(3); // this thread (none) + both workers
      expect(all.chunksByThread[0]).toBe(0);
      for (const r of [shared, all]) {
        expect(same(r.partitions, encOne.partitions)).toBe(true);
        expect(same(r.codes, encOne.codes)).toBe(true);
      }
    } finally {
      await pool.close();
    }
  }, 60_000);
});
