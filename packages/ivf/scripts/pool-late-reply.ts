/**
 * Regression child for exit code 13 ("unsettled top-level await") during a build: a pool
 * worker's reply that arrives after close() began used to unref the worker while terminate()
 * was pending, so the event loop emptied and the top-level await below never resumed. Forces
 * that order (the reply is queued before close() is called), then runs the real k-means entry
 * point the same way, all at top level; prints `{"done":true,...}` only if every await resumed.
 * `pnpm exec tsx --conditions=quiver-source packages/ivf/scripts/pool-late-reply.ts [rounds]`
 */
import { ComputePool } from "../src/compute/internal/parallel-pool.js";
import { KM_CONTROL_WORDS, KM_GENERATION } from "../src/compute/internal/parallel-protocol.js";
import type { WorkerPayload } from "../src/compute/internal/parallel-protocol.js";
import { createRng, trainKMeansParallel } from "../src/compute/index.js";

const rounds = Number(process.argv[2] ?? "3");
const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number): T => make(new SharedArrayBuffer(bytes));
const pause = new Int32Array(new SharedArrayBuffer(4));

for (let round = 0; round < rounds; round++) {
  const pool = new ComputePool(1);
  const dim = 4;
  const control = shared((b) => new Int32Array(b), KM_CONTROL_WORDS * 4);
  const task = (): WorkerPayload => ({
    task: "kmeans-assign", x: shared((b) => new Float32Array(b), 4 * dim * 4), active: shared((b) => new Uint32Array(b), 16),
    n: 4, dim, k: 1, centroids: shared((b) => new Float32Array(b), dim * 4), bias: shared((b) => new Float32Array(b), 4),
    alpha: shared((b) => new Float32Array(b), 4), assignment: shared((b) => new Uint32Array(b), 16),
    scores: shared((b) => new Float32Array(b), 16), second: shared((b) => new Float32Array(b), 16),
    control, slot: 0, slots: 1, chunkRows: 4096, chunks: shared((b) => new Int32Array(b), 4),
  });
  // a first task that ends at once (generation -1) is answered once the worker has loaded
  Atomics.store(control, KM_GENERATION, -1);
  if (!(await pool.post(0, task())).ok) throw new Error("the worker never started");
  Atomics.store(control, KM_GENERATION, 0);
  // a k-means serve task nobody awaits, as trainKMeansParallel posts it; let the worker enter it
  void pool.post(0, task());
  Atomics.wait(pause, 0, 0, 50);
  Atomics.store(control, KM_GENERATION, -1);
  Atomics.notify(control, KM_GENERATION);
  // give the worker time to post its reply, so it is queued before close() starts
  Atomics.wait(pause, 0, 0, 100);
  await pool.close();
  console.log(JSON.stringify({ round, closed: pool.isClosed, liveThreads: pool.liveThreads }));
}

const rng = createRng(3);
const n = 9000;
const dim = 8;
const x = new Float32Array(n * dim).map(() => rng.nextGaussian());
let iterations = 0;
for (let round = 0; round < rounds; round++) iterations += (await trainKMeansParallel(x, n, dim, 8, { seed: round, maxIters: 2, threads: 2 })).iterations;
console.log(JSON.stringify({ done: true, rounds, iterations }));
