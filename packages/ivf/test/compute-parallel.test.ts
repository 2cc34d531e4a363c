/**
 * Worker-thread entry points: identical results to one thread, workers really do the work under
 * vitest (tsx loader registered by the bootstrap) and under tsx (child process).
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createComputePool, createRng, encodeAndAssignParallel, trainIvfModel, trainIvfModelParallel, trainKMeans, trainKMeansParallel, trainQuantizer,
  trainQuantizerParallel,
} from "../src/compute/index.js";
import type { ComputePool } from "../src/compute/index.js";
import type { KMeansSpread } from "../src/compute/internal/parallel.js";
import { KM_CONTROL_WORDS, KM_GENERATION } from "../src/compute/internal/parallel-protocol.js";
import type { WorkerPayload } from "../src/compute/internal/parallel-protocol.js";
import type { QuantizerKind } from "../src/quantizer.js";

const n = 30000;
const dim = 32;
const rng = createRng(5);
const data = new Float32Array(n * dim).map(() => rng.nextGaussian());
const ivf = trainKMeans(data.subarray(0, 4000 * dim), 4000, dim, 16, { maxIters: 5 }).centroids;

// One pool of two loaded workers for the calls where starting threads is not the point (each
// start loads the worker under tsx: seconds on a loaded machine). The first assign+encode below
// and the no-runtime and child-process tests still start threads per call.
let pool: ComputePool;
beforeAll(async () => {
  pool = createComputePool(2);
  // a k-means task whose generation is already -1 is answered as soon as the worker has loaded
  for (const slot of [0, 1]) {
    const control = new Int32Array(new SharedArrayBuffer(KM_CONTROL_WORDS * 4));
    Atomics.store(control, KM_GENERATION, -1);
    const f = new Float32Array(new SharedArrayBuffer(4));
    const u = new Uint32Array(new SharedArrayBuffer(4));
    const stopped: WorkerPayload = {
      task: "kmeans-assign", x: f, active: u, n: 1, dim: 1, k: 1, centroids: f, bias: f, alpha: f, assignment: u, scores: f, second: f,
      control, slot, slots: 2, chunkRows: 1, chunks: new Int32Array(new SharedArrayBuffer(4)),
    };
    expect((await pool.post(slot, stopped)).ok).toBe(true);
  }
});
afterAll(async () => {
  await pool.close();
});

describe("encodeAndAssignParallel", () => {
  for (const kind of ["pq", "rabitq"] as const satisfies readonly QuantizerKind[]) {
    it(`workers give byte-identical output to one thread (${kind})`, async () => {
      const quantizer = trainQuantizer(kind, data, 4000, dim, { distance: "l2", ivfCentroids: ivf, numPartitions: 16, maxIters: 5 });
      const input = { vectors: data, n, dim, centroids: ivf, k: 16, distance: "l2" as const, quantizer };
      const one = await encodeAndAssignParallel({ ...input, threads: 1 });
      expect(one.chunksByThread).toEqual([Math.ceil(n / 4096)]);
      // pq: threads started for this call; rabitq: the loaded pool
      const workersOnly = await encodeAndAssignParallel({ ...input, useMainThread: false, ...(kind === "pq" ? { threads: 2 } : { pool }) });
      expect(workersOnly.workersUnavailable).toBe(0);
      expect(workersOnly.chunksByThread[0]).toBe(0);
      expect(workersOnly.chunksByThread.reduce((a, b) => a + b, 0)).toBe(Math.ceil(n / 4096));
      expect(Buffer.from(workersOnly.partitions.buffer).equals(Buffer.from(one.partitions.buffer))).toBe(true);
      expect(Buffer.from(workersOnly.codes.buffer).equals(Buffer.from(one.codes.buffer))).toBe(true);
      const mixed = await encodeAndAssignParallel({ ...input, pool });
      expect(Buffer.from(mixed.codes.buffer).equals(Buffer.from(one.codes.buffer))).toBe(true);
    });
  }

  it("starts its workers under tsx too (child process)", () => {
    const script = fileURLToPath(new URL("../scripts/parallel-smoke.ts", import.meta.url));
    const out = execFileSync(process.execPath, ["--import", "tsx", "--conditions=quiver-source", script], {
      encoding: "utf8", cwd: fileURLToPath(new URL("../../..", import.meta.url)),
    });
    const r = JSON.parse(out) as { chunksByThread: number[]; workersUnavailable: number };
    expect(r.workersUnavailable).toBe(0);
    expect(r.chunksByThread[0]).toBe(0);
    expect(r.chunksByThread.reduce((a, b) => a + b, 0)).toBe(Math.ceil(20000 / 4096));
  });
});

describe("trainQuantizerParallel", () => {
  it("trains PQ sub-spaces on workers with the same codebook as one thread", async () => {
    const opts = { distance: "l2" as const, ivfCentroids: ivf, numPartitions: 16, maxIters: 8, numSubVectors: 4 };
    const sync = trainQuantizer("pq", data, 5000, dim, opts);
    const par = await trainQuantizerParallel("pq", data, 5000, dim, { ...opts, pool, useMainThread: false });
    const a = sync.metadata.arrays.codebook as Float32Array;
    const b = par.metadata.arrays.codebook as Float32Array;
    expect(b.buffer).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
  });
});

describe("trainKMeansParallel / trainIvfModelParallel", () => {
  it("gives exactly the single-thread centroids, iterations and loss", async () => {
    for (const distance of ["l2", "cosine"] as const) {
      const opts = { maxIters: 6, seed: 3, distance };
      const one = trainKMeans(data, 12000, dim, 24, opts);
      const spread: KMeansSpread = { generations: 0, takenOver: 0, mainChunks: 0 };
      const two = await trainKMeansParallel(data, 12000, dim, 24, { ...opts, pool }, spread);
      // the loaded workers took part (3 chunks a generation)
      expect(spread.mainChunks).toBeLessThan(spread.generations * 3);
      expect(two.iterations).toBe(one.iterations);
      expect(two.loss).toBe(one.loss);
      expect(Buffer.from(two.centroids.buffer).equals(Buffer.from(one.centroids.buffer))).toBe(true);
    }
    const m1 = trainIvfModel(data, n, dim, { numPartitions: 16, distance: "l2", sampleRate: 300, maxIters: 4 });
    const m2 = await trainIvfModelParallel(data, n, dim, { numPartitions: 16, distance: "l2", sampleRate: 300, maxIters: 4, pool });
    expect([...m2.centroids]).toEqual([...m1.centroids]);
  });
});

describe("without a worker runtime", () => {
  const missing = new URL("./no-such-worker.mjs", import.meta.url);
  it("assign+encode and PQ training fall back to this thread with the same result", async () => {
    const quantizer = trainQuantizer("pq", data, 4000, dim, { distance: "l2", ivfCentroids: ivf, numPartitions: 16, maxIters: 5 });
    const input = { vectors: data, n, dim, centroids: ivf, k: 16, distance: "l2" as const, quantizer };
    const one = await encodeAndAssignParallel({ ...input, threads: 1 });
    const broken = await encodeAndAssignParallel({ ...input, threads: 2, useMainThread: false, workerUrl: missing });
    expect(broken.workersUnavailable).toBe(2);
    expect(broken.chunksByThread[0]).toBe(Math.ceil(n / 4096));
    expect(Buffer.from(broken.codes.buffer).equals(Buffer.from(one.codes.buffer))).toBe(true);
    const opts = { distance: "l2" as const, ivfCentroids: ivf, numPartitions: 16, maxIters: 4, numSubVectors: 4 };
    const a = trainQuantizer("pq", data, 3000, dim, opts).metadata.arrays.codebook as Float32Array;
    const b = (await trainQuantizerParallel("pq", data, 3000, dim, { ...opts, threads: 2, workerUrl: missing })).metadata.arrays.codebook as Float32Array;
    expect([...b]).toEqual([...a]);
  });

  it("k-means falls back too", async () => {
    const opts = { maxIters: 3, seed: 3 };
    const one = trainKMeans(data, 12000, dim, 24, opts);
    const two = await trainKMeansParallel(data, 12000, dim, 24, { ...opts, threads: 2, workerUrl: missing });
    expect([...two.centroids]).toEqual([...one.centroids]);
  });
});
