/**
 * PQ codebook training with the warm start (sub-space k-means on a 1/8 subsample, then refined
 * on all rows): codebook quality against a much longer run, determinism across seeds and thread
 * counts, and option validation. No timing assertions (the speed is bench/pq-training.bench.ts).
 */
import { describe, expect, it } from "vitest";
import { QuiverArgumentError } from "@quiver/format";
import { gaussianMixture, trainQuantizer, trainQuantizerParallel } from "../src/index.js";
import { PQ_WARM_ROWS_PER_CODEWORD } from "../src/compute/internal/quantizers.js";

const DIM = 32;
const M = 2; // 16 floats per sub-vector, as the build's m = dim/16
// enough rows that the warm start applies (its subsample is at most half the rows)
const N = 2 * PQ_WARM_ROWS_PER_CODEWORD * 256 + 4000;
const data = gaussianMixture({ n: N, dim: DIM, clusters: 40, seed: 21, centerSeed: 22, sigma: 0.6 });

/** Mean squared reconstruction error of the rows (no residuals: dot keeps rows as given). */
function loss(codebook: Float32Array): number {
  const dsub = DIM / M;
  let total = 0;
  for (let i = 0; i < N; i++) {
    for (let s = 0; s < M; s++) {
      let best = Infinity;
      for (let j = 0; j < 256; j++) {
        let d2 = 0;
        for (let t = 0; t < dsub; t++) d2 += (data[i * DIM + s * dsub + t]! - codebook[(s * 256 + j) * dsub + t]!) ** 2;
        best = Math.min(best, d2);
      }
      total += best;
    }
  }
  return total / N;
}

const opts = { distance: "dot" as const, numSubVectors: M, seed: 7, sampleSize: N };
const codebookOf = (q: { metadata: { arrays: Record<string, unknown> } }): Float32Array => q.metadata.arrays.codebook as Float32Array;

describe("PQ codebook training (warm start)", () => {
  it("reaches a codebook loss within 2% of a 100-iteration run on all rows at tolerance 1e-6", () => {
    const warm = loss(codebookOf(trainQuantizer("pq", data, N, DIM, opts)));
    const cold = loss(codebookOf(trainQuantizer("pq", data, N, DIM, { ...opts, warmStart: false })));
    const long = loss(codebookOf(trainQuantizer("pq", data, N, DIM, { ...opts, warmStart: false, maxIters: 100, tolerance: 1e-6 })));
    expect(long).toBeGreaterThan(0);
    expect(warm).toBeLessThan(long * 1.02);
    // and it is a different codebook from the cold start's (the warm path actually ran)
    expect(warm).not.toBe(cold);
    expect(cold).toBeLessThan(long * 1.03);
  });

  it("is deterministic for a seed, the same on 1 and 2 threads, and changes with the seed", async () => {
    const a = codebookOf(trainQuantizer("pq", data, N, DIM, opts));
    const b = codebookOf(trainQuantizer("pq", data, N, DIM, opts));
    const two = codebookOf(await trainQuantizerParallel("pq", data, N, DIM, { ...opts, threads: 2 }));
    const one = codebookOf(await trainQuantizerParallel("pq", data, N, DIM, { ...opts, threads: 1 }));
    expect(Buffer.from(b.buffer, b.byteOffset, b.byteLength).equals(Buffer.from(a.buffer, a.byteOffset, a.byteLength))).toBe(true);
    expect([...two]).toEqual([...a]);
    expect([...one]).toEqual([...a]);
    const other = codebookOf(trainQuantizer("pq", data, N, DIM, { ...opts, seed: 8 }));
    expect([...other]).not.toEqual([...a]);
  });

  it("rejects a non-boolean warmStart before any work", () => {
    expect(() => trainQuantizer("pq", data, N, DIM, { ...opts, warmStart: "yes" as unknown as boolean })).toThrow(QuiverArgumentError);
  });
});
