/**
 * Assign + encode at k >= 1,024 (the screened assignment) gives the full scan's partitions and
 * byte-identical output for one thread and for two workers (each builds its own screen and may
 * choose another head width: the screen is exact, so the output cannot differ).
 */
import { afterAll, describe, expect, it } from "vitest";
import { createComputePool, createRng, encodeAndAssignParallel, trainQuantizer } from "../src/compute/index.js";
import { screenedAssignApplies } from "../src/compute/internal/assign-screened.js";
import { assignNearest } from "../src/compute/internal/vector-math.js";

describe("screened assign + encode", () => {
  // one pool of two workers for both metrics (a worker start loads TypeScript sources: seconds)
  const pool = createComputePool(2);
  afterAll(async () => {
    await pool.close();
  });
  for (const distance of ["l2", "cosine"] as const) {
    it(`one thread and two workers give the full scan's partitions and the same codes (${distance})`, async () => {
      const n = 9000;
      const dim = 32;
      const k = 1024;
      expect(screenedAssignApplies(k, dim)).toBe(true);
      const rng = createRng(7);
      const centroids = new Float32Array(k * dim).map(() => rng.nextGaussian());
      const data = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        const j = rng.nextInt(k);
        for (let t = 0; t < dim; t++) data[i * dim + t] = (centroids[j * dim + t] as number) + 0.3 * rng.nextGaussian();
      }
      const quantizer = trainQuantizer("pq", data, 2000, dim, { distance, ivfCentroids: centroids, numPartitions: k, maxIters: 2, numSubVectors: 4 });
      const input = { vectors: data, n, dim, centroids, k, distance, quantizer };
      const one = await encodeAndAssignParallel({ ...input, threads: 1 });
      const two = await encodeAndAssignParallel({ ...input, pool, useMainThread: false });
      expect(two.workersUnavailable).toBe(0);
      expect(Array.from(one.partitions)).toEqual(Array.from(assignNearest(data, n, dim, centroids, k, distance)));
      expect(Buffer.from(two.partitions.buffer, two.partitions.byteOffset, two.partitions.byteLength).equals(Buffer.from(one.partitions.buffer, one.partitions.byteOffset, one.partitions.byteLength))).toBe(true);
      expect(Buffer.from(two.codes.buffer, two.codes.byteOffset, two.codes.byteLength).equals(Buffer.from(one.codes.buffer, one.codes.byteOffset, one.codes.byteLength))).toBe(true);
    });
  }
});

describe("assign + encode's screen cache", () => {
  it("rebuilds the screen when the same centroid array changes content (never a stale screen)", async () => {
    const { assignEncodeRange, createScratch } = await import("../src/compute/internal/assign-encode.js");
    const n = 600;
    const dim = 32;
    const k = 1024;
    const rng = createRng(8);
    const centroids = new Float32Array(k * dim).map(() => rng.nextGaussian());
    const data = new Float32Array(n * dim).map(() => rng.nextGaussian());
    const quantizer = trainQuantizer("pq", data, n, dim, { distance: "l2", ivfCentroids: centroids, numPartitions: k, maxIters: 1, numSubVectors: 4 });
    const run = (): Uint32Array => {
      // a new job object per call, as a worker makes one per chunk, over the same centroid array
      const job = { vectors: data, n, dim, centroids, k, distance: "l2" as const, quantizer, partitions: new Uint32Array(n), codes: new Uint8Array(n * 4) };
      assignEncodeRange(job, 0, n, createScratch(dim));
      return job.partitions;
    };
    expect(Array.from(run())).toEqual(Array.from(assignNearest(data, n, dim, centroids, k, "l2")));
    centroids.reverse();
    expect(Array.from(run())).toEqual(Array.from(assignNearest(data, n, dim, centroids, k, "l2")));
  });
});
