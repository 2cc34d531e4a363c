// The shipped assignment kernels equal the previous ones (bench/kernels/bench-kernels.wat, kept
// out of the shipped module for the kernels bench) bit for bit: same winners, scores and
// runner-ups, including ties, odd k, n below the 4-row block, dims not a multiple of 4 or 8,
// strided rows, scores that overflow to Infinity / NaN, and a bias of -0. Also: the bench-only
// module is reproducible from its WAT source, and the shipped module exports none of its functions.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BENCH_KERNELS_GENERATED_PATH, BENCH_KERNELS_WAT_PATH, assembleKernels, renderKernelsModule } from "../../packages/ivf/scripts/build-kernels.js";
import { bits, inputs, randomArray, shape } from "../../packages/ivf/test/kernel-inputs.js";
import { copyRowsPadded } from "../../packages/ivf/src/compute/internal/vector-math.js";
import { kernelModuleBytes, kernels, paddedDim } from "../../packages/ivf/src/compute/internal/wasm-kernels.js";
import { KERNELS_WASM_BASE64, KERNELS_WAT_SHA256 } from "../kernels/bench-kernels.wasm.js";
import { benchKernels } from "../kernels/bench-kernels.js";

const WA = (globalThis as unknown as { WebAssembly: { Module: { new (b: Uint8Array): object; exports(m: object): { name: string }[] } } }).WebAssembly;

describe("bench-only kernels", () => {
  it("re-assembling bench-kernels.wat gives exactly the committed bytes and module text", async () => {
    const wat = readFileSync(BENCH_KERNELS_WAT_PATH, "utf8");
    const bytes = await assembleKernels(wat);
    expect(Buffer.from(bytes).toString("base64")).toBe(KERNELS_WASM_BASE64);
    expect(createHash("sha256").update(wat, "utf8").digest("hex")).toBe(KERNELS_WAT_SHA256);
    expect(renderKernelsModule(wat, bytes, "bench/kernels/bench-kernels.wat")).toBe(readFileSync(BENCH_KERNELS_GENERATED_PATH, "utf8"));
  });

  it("are not in the shipped module", () => {
    const shipped = WA.Module.exports(new WA.Module(kernelModuleBytes())).map((e) => e.name);
    expect(shipped).toContain("assign");
    expect(shipped.filter((n) => n.startsWith("bench_"))).toEqual([]);
    const bench = WA.Module.exports(new WA.Module(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64, "base64")))).map((e) => e.name).sort();
    expect(bench).toEqual(["bench_assign_t8_v0", "bench_assign_v0", "bench_peak_muladd"]);
  });

  it("the new kernels equal the previous ones bit for bit", () => {
    const w = kernels();
    const previous = benchKernels(w.exports.memory);
    fc.assert(fc.property(shape, fc.constantFrom(-2, -1), (s, alpha) => {
      const { stride, offset, x, c, bias } = inputs(s);
      const mark = w.mark();
      try {
        const n4 = (s.n + 3) & ~3;
        const outs = () => [w.alloc(n4 * 4), w.alloc(n4 * 4), w.alloc(n4 * 4)] as const;
        const read = (p: readonly [number, number, number]) => [Array.from(w.u32(p[0], s.n)), bits(w.f32(p[1], s.n)), bits(w.f32(p[2], s.n))];
        if (s.dim <= 8) {
          const cp = w.alloc(s.k * 32);
          copyRowsPadded(w.f32(cp, s.k * 8), c, 0, s.k, s.dim, s.dim, 0, 8);
          const bp = w.alloc(s.k * 4);
          w.f32(bp, s.k).set(bias);
          const xp = w.alloc(n4 * 32);
          const xt = w.f32(xp, n4 * 8);
          for (let i = 0; i < s.n; i++) for (let t = 0; t < s.dim; t++) xt[(i >> 2) * 32 + (i & 3) + 4 * t] = x[offset + i * stride + t]!;
          const a = outs();
          const b = outs();
          const d = outs();
          previous.bench_assign_t8_v0(xp, n4, cp, s.k, bp, alpha, ...a);
          w.exports.assign_t8(xp, n4, cp, s.k, bp, alpha, ...b);
          w.exports.assign_t8_idx(xp, n4, cp, s.k, bp, alpha, d[0], d[1]);
          expect(read(b)).toEqual(read(a));
          expect(read(d).slice(0, 2)).toEqual(read(a).slice(0, 2));
        } else {
          const pd = paddedDim(s.dim);
          const kEven = s.k + (s.k & 1);
          const cp = w.alloc(kEven * pd * 4);
          copyRowsPadded(w.f32(cp, kEven * pd), c, 0, s.k, s.dim, s.dim, 0, pd);
          const bp = w.alloc(kEven * 4);
          w.f32(bp, kEven).set(bias);
          if (kEven !== s.k) {
            w.f32(cp, kEven * pd).copyWithin(s.k * pd, (s.k - 1) * pd, s.k * pd);
            w.f32(bp, kEven)[s.k] = bias[s.k - 1]!;
          }
          const xp = w.alloc(n4 * pd * 4);
          copyRowsPadded(w.f32(xp, n4 * pd), x, 0, s.n, s.dim, stride, offset, pd);
          const a = outs();
          const b = outs();
          const d = outs();
          previous.bench_assign_v0(xp, pd * 4, n4, cp, kEven, pd, bp, alpha, ...a);
          w.exports.assign(xp, pd * 4, n4, cp, kEven, pd, bp, alpha, ...b);
          w.exports.assign_idx(xp, pd * 4, n4, cp, kEven, pd, bp, alpha, d[0], d[1]);
          expect(read(b)).toEqual(read(a));
          expect(read(d).slice(0, 2)).toEqual(read(a).slice(0, 2));
        }
      } finally {
        w.release(mark);
      }
    }), { numRuns: 300 });
  });


  it("the peak estimate runs on the shipped module's memory", () => {
    const w = kernels();
    const b = benchKernels(w.exports.memory);
    const mark = w.mark();
    try {
      const pk = w.alloc(32);
      w.f32(pk, 8).set([0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1]);
      b.bench_peak_muladd(3, pk);
      // 3 steps of a_i += b_i * m (b0..b3 = 1, 1.5, 2, 2.5; m = 0.5) and a_4..7 += b_i * b_j
      const step = 0.5 * (1 + 1.5 + 2 + 2.5) + (1 * 1.5 + 1.5 * 2 + 2 * 2.5 + 2.5 * 1);
      expect(Array.from(w.f32(pk, 4))).toEqual([3 * step, 3 * step, 3 * step, 3 * step]);
    } finally {
      w.release(mark);
    }
  });
});
