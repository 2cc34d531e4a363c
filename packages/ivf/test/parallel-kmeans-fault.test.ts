/**
 * A k-means pool worker that dies or hangs mid-generation (holding a claimed chunk) must not
 * stall the training: the main thread, blocked in synchronous k-means and so unable to see the
 * worker's exit event, takes the chunk over after a bounded wait and the model is exactly the
 * single-thread one. Before the per-chunk claims it waited up to 10 minutes per generation.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRng, trainKMeans } from "../src/compute/index.js";
import { trainKMeansParallel } from "../src/compute/internal/parallel.js";
import type { KMeansSpread } from "../src/compute/internal/parallel.js";
import { ComputePool } from "../src/compute/internal/parallel-pool.js";
import { sameModel, stoppedTask } from "./kmeans-fault-helpers.js";

// 16 chunks of 4,096 rows: enough that both workers claim chunks in every generation
const n = 16 * 4096;
const dim = 16;
const k = 32;
const rng = createRng(11);
const data = new Float32Array(n * dim).map(() => rng.nextGaussian());
const opts = { maxIters: 4, seed: 5 } as const;
const faultWorker = new URL("./parallel-fault-worker.mjs", import.meta.url);

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

describe("trainKMeansParallel with failing workers", () => {
  it("a worker that dies and one that hangs, each holding a claimed chunk, cost a bounded wait; the model is unchanged", async () => {
    const reference = trainKMeans(data, n, dim, k, opts);
    const pool = new ComputePool(3, faultWorker);
    try {
      // task 1: an empty k-means task (generation already -1), answered once each worker has loaded
      for (const slot of [0, 1, 2]) expect((await pool.post(slot, stoppedTask(slot))).ok).toBe(true);
      // task 2: worker 0 exits and worker 1 hangs on their first claim; worker 2 is healthy
      const faulty: KMeansSpread = { generations: 0, takenOver: 0, mainChunks: 0 };
      sameModel(await trainKMeansParallel(data, n, dim, k, { ...opts, pool, threads: 4 }, faulty), reference);
      // both held chunks were computed here, and the healthy worker did a share
      expect(faulty.takenOver).toBe(2);
      expect(faulty.mainChunks).toBeLessThan(faulty.generations * 16);
      expect(await until(() => pool.isDead(0), 20_000)).toBe(true);
      expect(pool.isDead(1)).toBe(false);
      // the pool stays usable: the dead worker is skipped, the hung one never claims
      const again: KMeansSpread = { generations: 0, takenOver: 0, mainChunks: 0 };
      sameModel(await trainKMeansParallel(data, n, dim, k, { ...opts, pool, threads: 4 }, again), reference);
      expect(again.takenOver).toBe(0);
    } finally {
      await pool.close();
    }
    // close() ends the hung worker too
    expect(pool.liveThreads).toBe(0);
  }, 60_000);

  it("COMPUTE_WORKER_FAILED is in spec/error-codes.csv", () => {
    const csv = readFileSync(new URL("../../../spec/error-codes.csv", import.meta.url), "utf8");
    expect(csv.split("\n").map((l) => l.split(",")[0])).toContain("COMPUTE_WORKER_FAILED");
  });
});
