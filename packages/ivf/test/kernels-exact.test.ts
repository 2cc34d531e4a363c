/**
 * The assignment kernels are exact: bit for bit the scalar statement of their f32 summation order
 * (reference.ts `assignLaneOrderRef` / `assignNarrowOrderRef`), with and without the runner-up
 * (the `_idx` kernels skip it), and bit for bit the previous kernels kept for the bench
 * (`bench_assign_v0` / `bench_assign_t8_v0`, in the bench-only module: that comparison is
 * bench/test/bench-kernels.test.ts): same winners, scores and runner-ups, including
 * ties, odd k, n below the 4-row block, dims not a multiple of 4 or 8, strided rows, and scores
 * that overflow to Infinity / NaN, and a bias of -0 (where the fast runner-up kernel would differ).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assignLaneOrderRef, assignNarrowOrderRef } from "../src/compute/internal/reference.js";
import { assignScored, pqEncodeRows, squaredNorms } from "../src/compute/internal/vector-math.js";
import { buildQuantizer } from "../src/compute/internal/quantizers.js";
import { assignEncodeRange, createScratch } from "../src/compute/internal/assign-encode.js";
import { bits, inputs, randomArray, shape } from "./kernel-inputs.js";

describe("assignment kernels are bit-exact", () => {
  it("assignScored equals the kernel-order reference (winner, score, runner-up; with and without the runner-up)", () => {
    fc.assert(fc.property(shape, (s) => {
      const { stride, offset, x, c, bias } = inputs(s);
      const ref = s.dim <= 8 ? assignNarrowOrderRef : assignLaneOrderRef;
      const wantI = new Uint32Array(s.n);
      const wantS = new Float32Array(s.n);
      const want2 = new Float32Array(s.n);
      ref(x.subarray(offset), stride, s.n, c, s.k, s.dim, bias, -2, wantI, wantS, want2);
      // the lane-order reference scans a padded odd k; its padding index maps back to k - 1
      for (let i = 0; i < s.n; i++) wantI[i] = Math.min(wantI[i]!, s.k - 1);
      const gotI = new Uint32Array(s.n);
      const gotS = new Float32Array(s.n);
      const got2 = new Float32Array(s.n);
      assignScored(x, s.n, s.dim, stride, offset, c, s.k, bias, -2, gotI, gotS, got2);
      expect(Array.from(gotI)).toEqual(Array.from(wantI));
      expect(bits(gotS)).toEqual(bits(wantS));
      expect(bits(got2)).toEqual(bits(want2));
      const idxOnly = new Uint32Array(s.n);
      const scoreOnly = new Float32Array(s.n);
      assignScored(x, s.n, s.dim, stride, offset, c, s.k, bias, -2, idxOnly, scoreOnly);
      expect(Array.from(idxOnly)).toEqual(Array.from(wantI));
      expect(bits(scoreOnly)).toEqual(bits(wantS));
    }), { numRuns: 300 });
  });

  it("the fused PQ encode gives the quantizer's own codes byte for byte (narrow, wide and odd sub-spaces; n < 4)", () => {
    const cases = fc.record({
      n: fc.integer({ min: 1, max: 21 }),
      m: fc.integer({ min: 1, max: 4 }),
      dsub: fc.constantFrom(1, 2, 3, 5, 7, 8, 10, 12, 16),
      seed: fc.integer({ min: 0, max: 1 << 30 }),
    });
    fc.assert(fc.property(cases, ({ n, m, dsub, seed }) => {
      const dim = m * dsub;
      const codebook = randomArray(m * 256 * dsub, seed, 1);
      const q = buildQuantizer({ kind: "pq", dim, distance: "l2", residual: false, params: { numSubVectors: m, nbits: 8 }, arrays: { codebook } });
      const rows = randomArray(n * dim, seed + 1, 1);
      const want = new Uint8Array(n * m);
      q.encode(rows, n, want);
      const got = new Uint8Array(n * m);
      pqEncodeRows(rows, n, dim, m, codebook, squaredNorms(codebook, m * 256, dsub), got);
      expect(Array.from(got)).toEqual(Array.from(want));
    }), { numRuns: 120 });
  });

  it("assign+encode of a range takes the fused PQ path with the quantizer's codes", () => {
    const n = 301;
    const dim = 16;
    const k = 5;
    const vectors = randomArray(n * dim, 3, 2);
    const centroids = randomArray(k * dim, 4, 2);
    const codebook = randomArray(4 * 256 * 4, 5, 1);
    const quantizer = buildQuantizer({ kind: "pq", dim, distance: "l2", residual: true, params: { numSubVectors: 4, nbits: 8 }, arrays: { codebook } });
    const job = { vectors, n, dim, centroids, k, distance: "l2" as const, quantizer, partitions: new Uint32Array(n), codes: new Uint8Array(n * 4) };
    assignEncodeRange(job, 0, n, createScratch(dim));
    const prepared = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let t = 0; t < dim; t++) prepared[i * dim + t] = vectors[i * dim + t]! - centroids[job.partitions[i]! * dim + t]!;
    const want = new Uint8Array(n * 4);
    quantizer.encode(prepared, n, want);
    expect(Array.from(job.codes)).toEqual(Array.from(want));
  });
});
