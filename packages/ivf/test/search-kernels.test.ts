/** The search-side SIMD kernels against their scalar references (bit-identical, not just close). */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adcScan, adcScanReference } from "../src/compute/internal/adc.js";
import { kernels } from "../src/compute/internal/wasm-kernels.js";
import { createRng } from "../src/compute/internal/rng.js";
import { trainQuantizer } from "../src/index.js";
import { PqSearchTables, usesPqSearchTables } from "../src/search-pq.js";

function randomTable(len: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: len }, () => rng.next() * 8 - 4);
}

/** The `adc` export on freshly zeroed arena buffers. */
function adcOneRow(codes: Uint8Array, n: number, m: number, stride: number, table: Float32Array, out: Float32Array): void {
  const w = kernels();
  const mark = w.mark();
  try {
    const tp = w.alloc(m * 256 * 4);
    w.f32(tp, m * 256).set(table);
    const cp = w.alloc(Math.max(1, codes.length));
    w.u8(cp, codes.length).set(codes);
    const op = w.alloc(n * 4);
    w.exports.adc(cp, n, m, stride, tp, op);
    out.set(w.f32(op, n));
  } finally {
    w.release(mark);
  }
}

describe("adcScan (the lookup-table scan of SQ, PQ and RaBitQ)", () => {
  it("equals the kernel on zeroed buffers and the scalar reference bit for bit, for any n, m and stride", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 1 << 30 }), (n, m, pad, seed) => {
        const stride = m + pad;
        const rng = createRng(seed);
        // the last row may end right after its m code bytes (no padding past the end)
        const codes = new Uint8Array((n - 1) * stride + m);
        for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
        const table = randomTable(m * 256, seed + 1);
        const got = new Float32Array(n);
        const one = new Float32Array(n);
        const ref = new Float32Array(n);
        adcScan(codes, n, m, stride, table, got);
        adcOneRow(codes, n, m, stride, table, one);
        adcScanReference(codes, n, m, stride, table, ref);
        expect(Array.from(got)).toEqual(Array.from(one));
        expect(Array.from(got)).toEqual(Array.from(ref));
      }),
      { numRuns: 300 },
    );
  });

  it("reads only its inputs: stale arena bytes (no zero fill) never reach the output", () => {
    const w = kernels();
    const mark = w.mark();
    // dirty the arena the scan will reuse
    const p = w.alloc(1 << 16);
    w.u8(p, 1 << 16).fill(0xff);
    w.release(mark);
    const codes = new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const table = randomTable(3 * 256, 9);
    const got = new Float32Array(3);
    const ref = new Float32Array(3);
    adcScan(codes, 3, 3, 3, table, got);
    adcScanReference(codes, 3, 3, 3, table, ref);
    expect(Array.from(got)).toEqual(Array.from(ref));
  });

  it("rejects short inputs instead of reading past them", () => {
    expect(() => adcScan(new Uint8Array(5), 2, 4, 4, new Float32Array(1024), new Float32Array(2))).toThrow(RangeError);
    expect(() => adcScan(new Uint8Array(8), 2, 4, 4, new Float32Array(100), new Float32Array(2))).toThrow(RangeError);
    expect(() => adcScan(new Uint8Array(8), 2, 4, 4, new Float32Array(1024), new Float32Array(1))).toThrow(RangeError);
  });
});

describe("residual PQ search tables (query terms + partition terms)", () => {
  for (const distance of ["l2", "cosine"] as const) {
    it(`${distance}: the distances of the quantizer's own scorer, up to float rounding`, () => {
      const dim = 24;
      const n = 600;
      const P = 5;
      const rng = createRng(distance === "l2" ? 11 : 12);
      const data = Float32Array.from({ length: n * dim }, () => rng.next() * 2 - 1);
      const centroids = Float32Array.from({ length: P * dim }, () => rng.next() - 0.5);
      const q = trainQuantizer("pq", data, n, dim, { distance, numSubVectors: 6, ivfCentroids: centroids, numPartitions: P, maxIters: 4, seed: 1 });
      expect(usesPqSearchTables(q.metadata)).toBe(true);
      const tables = new PqSearchTables(q.metadata, centroids, P);
      const codes = new Uint8Array(50 * q.codeWidth);
      for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
      for (let t = 0; t < 4; t++) {
        const query = Float32Array.from({ length: dim }, () => rng.next() * 2 - 1);
        const pq = tables.prepareQuery(query);
        const qTerms = tables.queryTerms(pq);
        for (let p = 0; p < P; p++) {
          const want = new Float32Array(50);
          q.scorer(query, centroids.subarray(p * dim, (p + 1) * dim)).score(codes, 50, want);
          const table = new Float32Array(6 * 256);
          const partTerms = tables.partitionTerms(p);
          expect(tables.partitionTerms(p)).toBe(partTerms); // computed once
          for (let i = 0; i < table.length; i++) table[i] = qTerms[i]! + partTerms[i]!;
          const got = new Float32Array(50);
          adcScan(codes, 50, 6, 6, table, got);
          const qq = tables.residualNorm(pq, p);
          for (let i = 0; i < 50; i++) expect(Math.max(0, got[i]! + qq)).toBeCloseTo(want[i]!, 4);
        }
      }
    });
  }

  it("applies to residual PQ under l2 and cosine only", () => {
    const meta = (distance: "l2" | "cosine" | "dot", residual: boolean) => ({ kind: "pq" as const, dim: 8, distance, residual, params: { numSubVectors: 2, nbits: 8 }, arrays: {} });
    expect(usesPqSearchTables(meta("l2", true))).toBe(true);
    expect(usesPqSearchTables(meta("cosine", true))).toBe(true);
    expect(usesPqSearchTables(meta("dot", true))).toBe(false);
    expect(usesPqSearchTables(meta("l2", false))).toBe(false);
  });
});

describe("adc_select (scan + distance finish + threshold cut)", () => {
  it("writes exactly the rows whose finished distance passes the threshold, with the scalar path's distances", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 1 << 30 }), fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: 0, max: 40, noNaN: true }), (n, m, seed, bias, cut) => {
        const rng = createRng(seed);
        const codes = new Uint8Array(n * m);
        for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
        const table = randomTable(m * 256, seed + 1);
        const sums = new Float32Array(n);
        adcScanReference(codes, n, m, m, table, sums);
        const want: [number, number][] = [];
        for (let i = 0; i < n; i++) {
          const v = sums[i]! + bias;
          const d = v > 0 ? Math.fround(v) : 0;
          if (d <= cut) want.push([i, d]);
        }
        const w = kernels();
        const mark = w.mark();
        try {
          const cp = w.alloc(codes.length);
          w.u8(cp, codes.length).set(codes);
          const tp = w.alloc(table.length * 4);
          w.f32(tp, table.length).set(table);
          const ip = w.alloc(n * 4);
          const dp = w.alloc(n * 4);
          const count = w.exports.adc_select(cp, n, m, m, tp, bias, cut, ip, dp);
          const rows = Array.from(w.u32(ip, count));
          const dist = Array.from(w.f32(dp, count));
          expect(rows.map((r, j) => [r, dist[j]])).toEqual(want);
        } finally {
          w.release(mark);
        }
      }),
      { numRuns: 200 },
    );
  });
});
