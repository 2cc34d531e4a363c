/**
 * The SIMD kernels: the committed binary is reproducible from the WAT source, and every kernel
 * agrees with its plain TypeScript reference on random shapes.
 * Tolerance: |wasm - ref| <= 1e-4 * (1 + sum of |terms|) (f32 summation order differs).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KERNELS_WAT_PATH, assembleKernels, renderKernelsModule, KERNELS_GENERATED_PATH } from "../scripts/build-kernels.js";
import { KERNELS_WASM_BASE64, KERNELS_WAT_SHA256 } from "../src/compute/internal/kernels.wasm.js";
import { adcRef, assignRef, dotBatchRef, l2BatchRef, pqTableRef } from "../src/compute/internal/reference.js";
import { kernels } from "../src/compute/internal/wasm-kernels.js";
import { adcScan } from "../src/compute/internal/adc.js";
import { assignScored, batchKernel } from "../src/compute/internal/vector-math.js";
import { createRng } from "../src/compute/index.js";

function randomArray(len: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  const a = new Float32Array(len);
  for (let i = 0; i < len; i++) a[i] = rng.nextGaussian() * scale;
  return a;
}

describe("kernel build", () => {
  it("re-assembling the WAT source gives exactly the committed bytes and module text", async () => {
    const wat = readFileSync(KERNELS_WAT_PATH, "utf8");
    const bytes = await assembleKernels(wat);
    expect(Buffer.from(bytes).toString("base64")).toBe(KERNELS_WASM_BASE64);
    expect(createHash("sha256").update(wat, "utf8").digest("hex")).toBe(KERNELS_WAT_SHA256);
    expect(renderKernelsModule(wat, bytes)).toBe(readFileSync(KERNELS_GENERATED_PATH, "utf8"));
  });
});

const shape = fc.record({
  n: fc.integer({ min: 1, max: 40 }),
  dim: fc.integer({ min: 1, max: 70 }),
  seed: fc.integer({ min: 0, max: 1 << 30 }),
});

describe("kernels match the TypeScript reference", () => {
  it("l2 and dot batches", () => {
    fc.assert(fc.property(shape, ({ n, dim, seed }) => {
      const q = randomArray(dim, seed);
      const x = randomArray(n * dim, seed + 1, 3);
      for (const inner of [false, true]) {
        const got = new Float32Array(n);
        const want = new Float32Array(n);
        batchKernel(q, x, n, dim, got, inner);
        (inner ? dotBatchRef : l2BatchRef)(q, x, n, dim, want);
        for (let i = 0; i < n; i++) {
          let mag = 0;
          for (let t = 0; t < dim; t++) mag += Math.abs(q[t]! * x[i * dim + t]!) + (inner ? 0 : (q[t]! - x[i * dim + t]!) ** 2);
          expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * (1 + mag));
        }
      }
    }), { numRuns: 60 });
  });

  it("GEMM-style assignment (strided rows, odd k, n not a multiple of 4)", () => {
    fc.assert(fc.property(shape, fc.integer({ min: 1, max: 37 }), fc.integer({ min: 0, max: 5 }), ({ n, dim, seed }, k, extra) => {
      const stride = dim + extra;
      const offset = extra > 0 ? seed % (extra + 1) : 0;
      const x = randomArray(n * stride + offset, seed, 2);
      const c = randomArray(k * dim, seed + 7, 2);
      const bias = randomArray(k, seed + 9, 5);
      const gotI = new Uint32Array(n);
      const gotS = new Float32Array(n);
      const got2 = new Float32Array(n);
      assignScored(x, n, dim, stride, offset, c, k, bias, -2, gotI, gotS, got2);
      const wantI = new Uint32Array(n);
      const wantS = new Float32Array(n);
      const want2 = new Float32Array(n);
      assignRef(x.subarray(offset), stride, n, c, k, dim, bias, -2, wantI, wantS, want2);
      for (let i = 0; i < n; i++) {
        expect(Math.abs(gotS[i]! - wantS[i]!)).toBeLessThanOrEqual(1e-4 * (1 + 8 * dim));
        // runner-up: exact for k >= 2 (an odd k's padding duplicate may only lower it to the best)
        if (k === 1) expect(got2[i] === Infinity || Math.abs(got2[i]! - gotS[i]!) <= 1e-4 * (1 + 8 * dim)).toBe(true);
        else if (k % 2 === 0 || got2[i]! > gotS[i]! + 1e-4 * (1 + 8 * dim)) expect(Math.abs(got2[i]! - want2[i]!)).toBeLessThanOrEqual(1e-4 * (1 + 8 * dim));
        else expect(got2[i]!).toBeLessThanOrEqual(want2[i]! + 1e-4 * (1 + 8 * dim));
        if (gotI[i] !== wantI[i]) {
          // a different winner is only acceptable as a near-tie within the tolerance
          let dot = 0;
          for (let t = 0; t < dim; t++) dot += x[offset + i * stride + t]! * c[gotI[i]! * dim + t]!;
          expect(Math.abs(bias[gotI[i]!]! - 2 * dot - wantS[i]!)).toBeLessThanOrEqual(1e-4 * (1 + 8 * dim));
        }
      }
    }), { numRuns: 80 });
  });

  it("ADC lookup scan", () => {
    fc.assert(fc.property(shape, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 9 }), ({ n, seed }, m, pad) => {
      const stride = m + pad;
      const rng = createRng(seed);
      const codes = new Uint8Array(n * stride);
      for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
      const table = randomArray(m * 256, seed + 3);
      const got = new Float32Array(n);
      const want = new Float32Array(n);
      adcScan(codes, n, m, stride, table, got);
      adcRef(codes, n, m, stride, table, want);
      for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * (1 + 4 * m));
    }), { numRuns: 80 });
  });

  it("PQ table kernel (transposed codebook) and the resident block", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1 << 30 }), (m, dsub, seed) => {
      const q = randomArray(m * dsub, seed);
      const cb = randomArray(m * 256 * dsub, seed + 1);
      const bias = randomArray(m * 256, seed + 2);
      const block = new Float32Array(m * 256 * (dsub + 1));
      for (let s = 0; s < m; s++) {
        for (let j = 0; j < 256; j++) {
          for (let d = 0; d < dsub; d++) block[((s * 64 + (j >> 2)) * dsub + d) * 4 + (j & 3)] = cb[(s * 256 + j) * dsub + d]!;
        }
      }
      block.set(bias, m * 256 * dsub);
      const w = kernels();
      const owner = {};
      const ptr = w.resident(owner, block);
      expect(w.resident(owner, block)).toBe(ptr); // same owner: no re-upload
      const mark = w.mark();
      const qp = w.alloc(q.byteLength);
      w.f32(qp, q.length).set(q);
      const op = w.alloc(m * 256 * 4);
      w.exports.pq_table(qp, ptr, m, dsub, ptr + m * 256 * dsub * 4, -2, op);
      const got = w.f32(op, m * 256).slice();
      w.release(mark);
      const want = new Float32Array(m * 256);
      pqTableRef(q, cb, m, dsub, bias, -2, want);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4 * (1 + 4 * dsub));
    }), { numRuns: 40 });
  });

  it("assignment is exact on a hand-made case, ties going to the lower index", () => {
    const c = new Float32Array([0, 0, 1, 1, 1, 1, -5, -5]); // centroids 1 and 2 coincide
    const x = new Float32Array([0.1, 0.1, 0.9, 0.95, -4, -4.5, 1, 1, 0.6, 0.6]);
    const bias = new Float32Array([0, 2, 2, 50]);
    const idx = new Uint32Array(5);
    assignScored(x, 5, 2, 2, 0, c, 4, bias, -2, idx);
    expect([...idx]).toEqual([0, 1, 3, 1, 1]);
  });
});
