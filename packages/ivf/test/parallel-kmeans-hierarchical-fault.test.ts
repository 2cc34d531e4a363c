/**
 * Hierarchical k-means (k > 256) runs its top level (the Lloyd steps on the top sample and the
 * grouping of every row) as chunk claims on the pool: a worker that dies and one that hangs while
 * holding a claimed chunk of it cost a bounded wait, the main thread takes their chunks over, and
 * the model is the single-thread one bit for bit. Before, the top level ran on the main thread
 * only (no worker could fail in it, and none helped).
 */
import { describe, expect, it } from "vitest";
import { createRng, trainKMeans } from "../src/compute/index.js";
import { trainKMeansParallel } from "../src/compute/internal/parallel.js";
import type { KMeansSpread } from "../src/compute/internal/parallel.js";
import { ComputePool } from "../src/compute/internal/parallel-pool.js";
import { sameModel, stoppedTask } from "./kmeans-fault-helpers.js";

// k = 1,024: 64 top-level groups trained on 16,384 rows (4 chunks per top-level generation)
const n = 20_000;
const dim = 8;
const k = 1024;
const rng = createRng(23);
const centres = Float32Array.from({ length: 200 * dim }, () => rng.nextGaussian() * 3);
const data = new Float32Array(n * dim);
for (let i = 0; i < n; i++) {
  const c = rng.nextInt(200);
  for (let t = 0; t < dim; t++) data[i * dim + t] = centres[c * dim + t]! + rng.nextGaussian() * 0.4;
}
const opts = { maxIters: 5, seed: 13 } as const;
const faultWorker = new URL("./parallel-fault-worker-groups.mjs", import.meta.url);

describe("hierarchical trainKMeansParallel with failing workers", () => {
  it("a worker that dies and one that hangs in the top level cost a bounded wait; the model is the single-thread one", async () => {
    const reference = trainKMeans(data, n, dim, k, opts);
    const pool = new ComputePool(3, faultWorker);
    try {
      for (const slot of [0, 1, 2]) expect((await pool.post(slot, stoppedTask(slot))).ok).toBe(true);
      const faulty: KMeansSpread = { generations: 0, takenOver: 0, mainChunks: 0 };
      const model = await trainKMeansParallel(data, n, dim, k, { ...opts, pool, threads: 4 }, faulty);
      sameModel(model, reference);
      // the chunks the two faulty workers held were computed again here
      expect(faulty.takenOver).toBeGreaterThanOrEqual(1);
      expect(faulty.takenOver).toBeLessThanOrEqual(2);
      // and the pool still trains the same model
      const again = await trainKMeansParallel(data, n, dim, k, { ...opts, pool, threads: 4 });
      sameModel(again, reference);
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
  }, 90_000);
});
