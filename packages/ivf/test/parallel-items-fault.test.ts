/**
 * Pooled item tasks (assign + encode chunks, PQ sub-spaces, hierarchical leaf groups) with a
 * worker that dies and one that hangs, each holding a claimed item: the main thread takes both
 * items over (the dead one's at once, the hung one's after the stale limit) and the result is the
 * one-thread result byte for byte; the hung worker is terminated and replaced, so the pool keeps
 * its width. Before the per-item claims, the dead worker's items were lost (COMPUTE_WORKER_FAILED)
 * and the hung one blocked the call forever. A live worker stuck inside a commit fails the task
 * with COMPUTE_WORKER_FAILED naming it. Stale limits are shortened through the internal timings.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRng, encodeAndAssignParallel, trainKMeans, trainKMeansParallel, trainQuantizer, trainQuantizerParallel } from "../src/compute/index.js";
import { spreadCounters, spreadTimings } from "../src/compute/internal/parallel.js";
import { ComputePool } from "../src/compute/internal/parallel-pool.js";
import type { WorkerPayload } from "../src/compute/internal/parallel-protocol.js";

const faultWorker = new URL("./parallel-item-fault-worker.mjs", import.meta.url);
const dim = 8;
const n = 12 * 4096;
const rng = createRng(31);
const centres = new Float32Array(24 * dim).map(() => rng.nextGaussian() * 3);
const data = new Float32Array(n * dim);
for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) data[i * dim + t] = centres[(i % 24) * dim + t]! + rng.nextGaussian() * 0.4;
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const saved = { ...spreadTimings };
beforeAll(() => {
  spreadTimings.staleFloorMs = 300;
  spreadTimings.writeTimeoutMs = 1500;
});
afterAll(() => Object.assign(spreadTimings, saved));

/** A pool of 2 fault-injecting workers, each loaded (an empty item task answered) before the test's task. */
async function faultyPool(plan: Record<string, unknown>): Promise<ComputePool> {
  process.env.QUIVER_TEST_ITEM_FAULTS = JSON.stringify(plan);
  const pool = new ComputePool(2, faultWorker);
  delete process.env.QUIVER_TEST_ITEM_FAULTS;
  for (const slot of [0, 1]) {
    const control = new Int32Array(new SharedArrayBuffer(64));
    const empty = { task: "pq-train", control, slot, slots: 2, items: 0 } as unknown as WorkerPayload;
    expect((await pool.post(slot, empty)).ok).toBe(true);
  }
  return pool;
}

const codebook = (q: { metadata: { arrays: Record<string, unknown> } }): Float32Array => q.metadata.arrays.codebook as Float32Array;
const ivf = trainKMeans(data, n, dim, 16, { seed: 2, maxIters: 4 }).centroids;
const pqOpts = { distance: "l2" as const, ivfCentroids: ivf, numPartitions: 16, maxIters: 6, numSubVectors: 4, sampleSize: 4096 };

/** The three task kinds: a one-thread reference and a run on a pool. */
const kinds: { name: string; again?: boolean; refineOnly?: boolean; one: () => Promise<Buffer[]>; pooled: (pool: ComputePool) => Promise<Buffer[]> }[] = [
  {
    name: "assign + encode",
    again: true,
    one: async () => {
      const q = trainQuantizer("pq", data, n, dim, pqOpts);
      const r = await encodeAndAssignParallel({ vectors: data, n, dim, centroids: ivf, k: 16, distance: "l2", quantizer: q, threads: 1 });
      return [bytes(r.partitions), bytes(r.codes)];
    },
    pooled: async (pool) => {
      const q = trainQuantizer("pq", data, n, dim, pqOpts);
      // workers only, so the faulty workers surely hold claims (as the build's spare workers do)
      const r = await encodeAndAssignParallel({ vectors: data, n, dim, centroids: ivf, k: 16, distance: "l2", quantizer: q, pool, useMainThread: false });
      expect(r.chunksByThread.reduce((a, b) => a + b, 0)).toBe(12);
      return [bytes(r.partitions), bytes(r.codes)];
    },
  },
  {
    name: "PQ training",
    one: async () => [bytes(codebook(trainQuantizer("pq", data, n, dim, pqOpts)))],
    pooled: async (pool) => [bytes(codebook(await trainQuantizerParallel("pq", data, n, dim, { ...pqOpts, pool })))],
  },
  {
    name: "hierarchical k-means leaves",
    one: async () => [bytes(trainKMeans(data, n, dim, 400, { seed: 9, maxIters: 3 }).centroids)],
    pooled: async (pool) => [bytes((await trainKMeansParallel(data, n, dim, 400, { seed: 9, maxIters: 3, pool })).centroids)],
  },
  {
    // the faults wait for the first refinement pass, whose groups commit rows' winners, not centroids
    name: "hierarchical k-means refinement pass",
    refineOnly: true,
    one: async () => [bytes(trainKMeans(data, n, dim, 400, { seed: 9, maxIters: 3 }).centroids)],
    pooled: async (pool) => [bytes((await trainKMeansParallel(data, n, dim, 400, { seed: 9, maxIters: 3, pool })).centroids)],
  },
];

describe("pooled item tasks with failing workers", () => {
  for (const kind of kinds) {
    it(`${kind.name}: a worker that exits and one that hangs, each holding a claim, give the one-thread result; the hung one is replaced`, async () => {
      const reference = await kind.one();
      const pool = await faultyPool({ exit: [0], hang: [1], refineOnly: kind.refineOnly === true });
      try {
        const before = { ...spreadCounters };
        // workers only, so the faulty workers surely hold claims (on a loaded machine the main
        // thread could otherwise do every item before a worker claims one)
        spreadTimings.mainJoins = false;
        const got = await kind.pooled(pool).finally(() => void (spreadTimings.mainJoins = true));
        expect(got.map((b, i) => b.equals(reference[i]!))).toEqual(reference.map(() => true));
        // both held items were taken over, and both workers replaced by fresh ones
        expect(spreadCounters.takenOver - before.takenOver).toBeGreaterThanOrEqual(2);
        expect(spreadCounters.replaced - before.replaced).toBe(2);
        expect([0, 1].map((s) => pool.isDead(s))).toEqual([false, false]);
        // the pool serves the next task with the replacements: no takeover, same bytes (checked
        // for one kind: the replacement mechanism is shared, and loading workers is slow)
        if (kind.again !== true) return;
        const mid = { ...spreadCounters };
        const again = await kind.pooled(pool);
        expect(again.map((b, i) => b.equals(reference[i]!))).toEqual(reference.map(() => true));
        expect(spreadCounters.takenOver - mid.takenOver).toBe(0);
        expect(spreadCounters.replaced - mid.replaced).toBe(0);
      } finally {
        await pool.close();
      }
      // close() ends the terminated and the replacement threads too
      expect(pool.liveThreads).toBe(0);
    }, 60_000);
  }

  it("a live worker stuck inside a commit is COMPUTE_WORKER_FAILED naming its slot", async () => {
    const pool = await faultyPool({ hangCommit: [1] });
    try {
      const failure = await kinds[0]!.pooled(pool).then(() => undefined, (e: unknown) => e);
      expect(failure).toMatchObject({ code: "COMPUTE_WORKER_FAILED", slot: 1 });
      expect(String((failure as Error).message)).toContain("worker 1");
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
  }, 60_000);
});
