/**
 * IVF compute kernels: GFLOP/s of the plain TypeScript reference vs the WebAssembly SIMD
 * kernels, k-means on a 256 x 256 sample (65,536 x 128, k = 256), PQ training, assign+encode
 * throughput on 1 vs 2 threads, and per-stage build times on 100k and 200k x 128 clustered data.
 * BENCH_QUICK=1 shrinks every size. BENCH_KERNELS=a,b selects sections by name: `micro` (the
 * assignment kernels alone on data already in kernel memory, GFLOP/s of the current and the
 * previous kernels side by side, against a peak estimate), `kernels` (TS reference vs wasm incl.
 * copies), `kmeans`, `stages` (all when unset). The machine has 2 cores shared with other people's
 * jobs: the 1-minute load average is reported next to the numbers, and the micro rows are timed in
 * process CPU time (best of several), which time-slicing inflates much less than wall time.
 */
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";
import {
  createRng, encodeAndAssignParallel, trainIvfModelParallel, trainKMeans, trainKMeansParallel, trainQuantizer,
  trainQuantizerParallel,
} from "../packages/ivf/src/compute/index.js";
import { adcRef, assignRef, dotBatchRef, l2BatchRef } from "../packages/ivf/src/compute/internal/reference.js";
import { adcScan } from "../packages/ivf/src/compute/internal/adc.js";
import { assignScored, batchKernel, pqEncodeRows, squaredNorms } from "../packages/ivf/src/compute/internal/vector-math.js";
import { kernels } from "../packages/ivf/src/compute/internal/wasm-kernels.js";
import { buildQuantizer } from "../packages/ivf/src/compute/internal/quantizers.js";
import { benchKernels } from "./kernels/bench-kernels.js";

type Row = Record<string, string | number | boolean | null>;

function clustered(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = new Float32Array(clusters * dim).map(() => rng.nextGaussian() * 4);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(clusters);
    for (let t = 0; t < dim; t++) x[i * dim + t] = centres[c * dim + t]! + rng.nextGaussian();
  }
  return x;
}

/** Best of `reps` timings in ms. */
function best(reps: number, fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

/** Best of `reps` process CPU times in ms (one thread: its own CPU time). */
function bestCpu(reps: number, fn: () => void): number {
  let min = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage();
    fn();
    const c = process.cpuUsage(c0);
    min = Math.min(min, (c.user + c.system) / 1000);
  }
  return min;
}

const SECTIONS = ["micro", "kernels", "kmeans", "stages"] as const;

/** Sections named in BENCH_KERNELS (all when unset). */
function sections(): Set<string> {
  const env = process.env.BENCH_KERNELS;
  if (env === undefined || env.trim() === "") return new Set(SECTIONS);
  const names = env.split(",").map((x) => x.trim()).filter((x) => x !== "");
  for (const name of names) if (!(SECTIONS as readonly string[]).includes(name)) throw new RangeError(`BENCH_KERNELS: unknown section ${name}; one of ${SECTIONS.join(", ")}`);
  return new Set(names);
}

/**
 * The assignment kernels alone (inputs already in kernel memory, no JS around them): GFLOP/s of
 * `assign` / `assign_idx` (n x 128 rows to 256 centroids) and of `assign_t8` / `assign_t8_idx`
 * (16 PQ sub-spaces of 8 dims, 256 codewords each) against the previous kernels and a peak
 * estimate (8 independent f32x4 mul + add chains, no loads); then the PQ encode of a block of
 * rows through the quantizer (per sub-space copies) vs the fused path.
 */
async function micro(quick: boolean, rows: Row[]): Promise<void> {
  const w = kernels();
  const mark = w.mark();
  try {
    const n = quick ? 4096 : 32768;
    const dim = 128;
    const k = 256;
    const reps = quick ? 3 : 7;
    const x = clustered(n, dim, 256, 1);
    const c = x.slice(0, k * dim);
    const xp = w.alloc(n * dim * 4);
    w.f32(xp, n * dim).set(x);
    const cp = w.alloc(k * dim * 4);
    w.f32(cp, k * dim).set(c);
    const bp = w.alloc(k * 4);
    w.f32(bp, k).set(squaredNorms(c, k, dim));
    const ip = w.alloc(n * 4);
    const sp = w.alloc(n * 4);
    const s2p = w.alloc(n * 4);
    const xt = w.alloc(n * 32);
    const cb = w.alloc(k * 32);
    const bp8 = w.alloc(k * 4);
    w.f32(xt, n * 8).set(x.subarray(0, n * 8));
    w.f32(cb, k * 8).set(c.subarray(0, k * 8));
    w.f32(bp8, k).set(squaredNorms(c, k, 8));
    const pk = w.alloc(32);
    w.f32(pk, 8).set([0.5, 0.5, 0.5, 0.5, 1e-3, 1e-3, 1e-3, 1e-3]);
    const e = w.exports;
    // the previous kernels and the peak estimate live in a bench-only module on the same memory
    const old = benchKernels(e.memory);
    const flops = 2 * n * k * dim;
    const iters = quick ? 2_000_000 : 20_000_000;
    // interleaved rounds: every variant sees the same machine state; best per variant kept
    const variants: [string, () => void, number][] = [
      ["peak: 8 independent f32x4 mul+add chains", () => old.bench_peak_muladd(iters, pk), iters * 64],
      [`assign, previous kernel (${n}x${dim} to ${k}, with runner-up)`, () => old.bench_assign_v0(xp, dim * 4, n, cp, k, dim, bp, -2, ip, sp, s2p), flops],
      [`assign (${n}x${dim} to ${k}, with runner-up)`, () => e.assign(xp, dim * 4, n, cp, k, dim, bp, -2, ip, sp, s2p), flops],
      [`assign_idx (${n}x${dim} to ${k}, winner only: assignment)`, () => e.assign_idx(xp, dim * 4, n, cp, k, dim, bp, -2, ip, sp), flops],
      [`assign_t8, previous kernel (16 sub-spaces x ${n} rows x 8 dims to 256)`, () => { for (let s = 0; s < 16; s++) old.bench_assign_t8_v0(xt, n, cb, k, bp8, -2, ip, sp, s2p); }, flops],
      [`assign_t8 (16 x ${n} x 8 to 256, with runner-up: PQ training)`, () => { for (let s = 0; s < 16; s++) e.assign_t8(xt, n, cb, k, bp8, -2, ip, sp, s2p); }, flops],
      [`assign_t8_fast (16 x ${n} x 8 to 256, runner-up by pmin / pmax: PQ training when inputs are bounded)`, () => { for (let s = 0; s < 16; s++) e.assign_t8_fast(xt, n, cb, k, bp8, -2, ip, sp, s2p); }, flops],
      [`assign_t8_idx (16 x ${n} x 8 to 256, winner only: PQ encode)`, () => { for (let s = 0; s < 16; s++) e.assign_t8_idx(xt, n, cb, k, bp8, -2, ip, sp); }, flops],
    ];
    // warm-up: V8 runs wasm in its baseline tier first and swaps in the optimised code compiled on
    // a background thread; call every variant on a few rows for a while, then let that thread run
    const few: [() => void][] = [
      [() => old.bench_peak_muladd(1000, pk)],
      [() => old.bench_assign_v0(xp, dim * 4, 64, cp, k, dim, bp, -2, ip, sp, s2p)],
      [() => e.assign(xp, dim * 4, 64, cp, k, dim, bp, -2, ip, sp, s2p)],
      [() => e.assign_idx(xp, dim * 4, 64, cp, k, dim, bp, -2, ip, sp)],
      [() => old.bench_assign_t8_v0(xt, 64, cb, k, bp8, -2, ip, sp, s2p)],
      [() => e.assign_t8(xt, 64, cb, k, bp8, -2, ip, sp, s2p)],
      [() => e.assign_t8_fast(xt, 64, cb, k, bp8, -2, ip, sp, s2p)],
      [() => e.assign_t8_idx(xt, 64, cb, k, bp8, -2, ip, sp)],
      [() => e.transpose_t8(xp, dim * 4, 64, 8, xt)],
    ];
    for (const [fn] of few) {
      const until = performance.now() + (quick ? 50 : 300);
      while (performance.now() < until) fn();
    }
    await new Promise((r) => setTimeout(r, quick ? 100 : 1000));
    w.f32(xt, n * 8).set(x.subarray(0, n * 8));
    const bestMs = variants.map(() => Infinity);
    for (let round = 0; round < reps; round++) {
      variants.forEach(([, fn], i) => { bestMs[i] = Math.min(bestMs[i]!, bestCpu(1, fn)); });
    }
    const peak = (variants[0]![2] / bestMs[0]!) / 1e6;
    const before: Record<string, number> = {};
    variants.forEach(([name, , fl], i) => {
      const gflops = fl / bestMs[i]! / 1e6;
      const family = name.startsWith("assign_t8") ? "t8" : "assign";
      if (name.includes("previous")) before[family] = gflops;
      rows.push({ case: `kernel only: ${name}`, cpu_ms: +bestMs[i]!.toFixed(1), gflops: +gflops.toFixed(2),
        of_peak: +(gflops / peak).toFixed(2), vs_previous: name.startsWith("peak") || before[family] === undefined ? null : +(gflops / before[family]!).toFixed(2), load: load() });
    });
  } finally {
    w.release(mark);
  }
  // PQ encode of prepared rows: the quantizer's encode (assignScored per sub-space) vs the fused path
  const n = quick ? 4096 : 32768;
  const dim = 128;
  const m = 16;
  const rows0 = clustered(n, dim, 256, 5);
  const codebook = clustered(m * 256, 8, 64, 6);
  const q = buildQuantizer({ kind: "pq", dim, distance: "l2", residual: false, params: { numSubVectors: m, nbits: 8 }, arrays: { codebook } });
  const bias = squaredNorms(codebook, m * 256, 8);
  const a = new Uint8Array(n * m);
  const b = new Uint8Array(n * m);
  let tq = Infinity;
  let tf = Infinity;
  for (let r = 0; r < (quick ? 2 : 5); r++) {
    tq = Math.min(tq, bestCpu(1, () => q.encode(rows0, n, a)));
    tf = Math.min(tf, bestCpu(1, () => pqEncodeRows(rows0, n, dim, m, codebook, bias, b)));
  }
  if (!a.every((v, i) => v === b[i])) throw new Error("fused PQ encode differs from the quantizer's");
  const fl = 2 * n * 256 * dim;
  rows.push({ case: `PQ encode ${n}x${dim}, 16x8-bit: quantizer.encode (copy + JS transpose per sub-space)`, cpu_ms: +tq.toFixed(1), gflops: +(fl / tq / 1e6).toFixed(2), load: load() });
  rows.push({ case: `PQ encode ${n}x${dim}, 16x8-bit: fused (one copy, wasm transpose), same codes`, cpu_ms: +tf.toFixed(1), gflops: +(fl / tf / 1e6).toFixed(2), vs_previous: +(tq / tf).toFixed(2), load: load() });
}

/** Result, wall ms and process CPU ms (all threads) of `fn`. */
async function timeAsync<T>(fn: () => Promise<T>): Promise<[T, number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  return [r, wall, (cpu.user + cpu.system) / 1000];
}

const load = machineLoad;

/** Variables that select part of this bench or change what it measures: a run with any set writes kernels.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_KERNELS"];

/** Runs the kernel benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows: Row[] = [];
  const dim = 128;
  const k = 256;
  const want = sections();
  if (want.has("micro")) {
    ctx.progress("assignment kernels alone");
    await micro(ctx.quick, rows);
  }

  // 1. kernels, one thread
  if (want.has("kernels")) {
    const nAssign = ctx.quick ? 2560 : 25600;
    const x = clustered(nAssign, dim, 64, 1);
    const c = x.slice(0, k * dim);
    const bias = squaredNorms(c, k, dim);
    const idx = new Uint32Array(nAssign);
    const sc = new Float32Array(nAssign);
    ctx.progress("assignment kernels");
    const flopsAssign = 2 * nAssign * k * dim;
    const tsAssign = best(1, () => assignRef(x, dim, nAssign, c, k, dim, bias, -2, idx, sc));
    const wasmAssign = best(5, () => assignScored(x, nAssign, dim, dim, 0, c, k, bias, -2, idx, sc));
    rows.push({ case: `assign ${nAssign}x${dim} to ${k} (GEMM-style)`, ts_ms: +tsAssign.toFixed(1), wasm_ms: +wasmAssign.toFixed(1),
      ts_gflops: +(flopsAssign / tsAssign / 1e6).toFixed(2), wasm_gflops: +(flopsAssign / wasmAssign / 1e6).toFixed(2),
      speedup: +(tsAssign / wasmAssign).toFixed(1), load: load() });

    const out = new Float32Array(nAssign);
    const q = x.subarray(0, dim);
    for (const [name, inner] of [["l2 batch", false], ["dot batch", true]] as const) {
      ctx.progress(name);
      const flops = (inner ? 2 : 3) * nAssign * dim;
      const reps = ctx.quick ? 5 : 50;
      const tsT = best(reps, () => (inner ? dotBatchRef : l2BatchRef)(q, x, nAssign, dim, out));
      const wT = best(reps, () => batchKernel(q, x, nAssign, dim, out, inner));
      rows.push({ case: `${name} ${nAssign}x${dim} (incl. copy-in)`, ts_ms: +tsT.toFixed(2), wasm_ms: +wT.toFixed(2),
        ts_gflops: +(flops / tsT / 1e6).toFixed(2), wasm_gflops: +(flops / wT / 1e6).toFixed(2), speedup: +(tsT / wT).toFixed(1), load: load() });
  }

  ctx.progress("ADC scan");
  const nCodes = ctx.quick ? 100_000 : 1_000_000;
  const m = 16;
  const rng = createRng(2);
  const codes = new Uint8Array(nCodes * m).map(() => rng.nextInt(256));
  const table = new Float32Array(m * 256).map(() => rng.next());
  const scanOut = new Float32Array(nCodes);
  const tsScan = best(3, () => adcRef(codes, nCodes, m, m, table, scanOut));
  const wScan = best(3, () => adcScan(codes, nCodes, m, m, table, scanOut));
  rows.push({ case: `PQ ADC scan ${nCodes} rows x ${m} codes`, ts_ms: +tsScan.toFixed(1), wasm_ms: +wScan.toFixed(1),
    ts_gflops: null, wasm_gflops: null, speedup: +(tsScan / wScan).toFixed(1),
    note: `${(nCodes / wScan / 1000).toFixed(0)} M rows/s wasm`, load: load() });
  }

  // 2. k-means on the 256 x 256 sample
  if (want.has("kmeans")) {
    const nSample = ctx.quick ? 8192 : 65536;
    const sample = clustered(nSample, dim, 64, 3);
    for (const init of ["kmeans++", "random"] as const) {
      ctx.progress(`k-means ${init}, 1 thread`);
      const [one, t1, c1] = await timeAsync(async () => trainKMeans(sample, nSample, dim, k, { init, seed: 1 }));
      rows.push({ case: `k-means ${nSample}x${dim}, k=${k}, init ${init}, 1 thread`, ms: +t1.toFixed(0), cpu_ms: +c1.toFixed(0),
        iterations: one.iterations, converged: one.converged, loss: +one.loss.toFixed(3), load: load() });
  }
  ctx.progress("k-means kmeans++, 2 threads");
  const [two, t2, c2] = await timeAsync(() => trainKMeansParallel(sample, nSample, dim, k, { seed: 1, threads: 2 }));
  rows.push({ case: `k-means ${nSample}x${dim}, k=${k}, init kmeans++, 2 threads`, ms: +t2.toFixed(0), cpu_ms: +c2.toFixed(0),
    iterations: two.iterations, converged: two.converged, loss: +two.loss.toFixed(3), load: load() });
  }

  // 3. full stages on clustered data
  const sizes = !want.has("stages") ? [] : ctx.quick ? [20_000] : [100_000, 200_000];
  for (const n of sizes) {
    ctx.progress(`${n} x ${dim}: data`);
    const data = clustered(n, dim, 256, 10 + n);
    ctx.progress(`${n}: IVF training`);
    const [model, tIvf, cIvf] = await timeAsync(() => trainIvfModelParallel(data, n, dim, { numPartitions: k, distance: "l2", threads: 2 }));
    ctx.progress(`${n}: PQ training, 1 thread`);
    // 16 sub-vectors of 8 dims: the configuration the LanceDB comparison uses
    const pqOpts = { distance: "l2" as const, ivfCentroids: model.centroids, numPartitions: k, numSubVectors: 16 };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const pq1 = trainQuantizer("pq", data, n, dim, pqOpts);
    const tPq1 = performance.now() - t0;
    const cpuPq1 = process.cpuUsage(cpu0).user / 1000;
    ctx.progress(`${n}: PQ training, 2 threads`);
    const [pq, tPq2, cPq2] = await timeAsync(() => trainQuantizerParallel("pq", data, n, dim, { ...pqOpts, threads: 2 }));
    void pq1;
    const enc: Record<number, number> = {};
    const encCpu: Record<number, number> = {};
    for (const threads of [1, 2]) {
      ctx.progress(`${n}: assign+encode, ${threads} thread(s)`);
      const [, t, c] = await timeAsync(() => encodeAndAssignParallel({ vectors: data, n, dim, centroids: model.centroids, k, distance: "l2", quantizer: pq, threads }));
      enc[threads] = t;
      encCpu[threads] = c;
    }
    rows.push({
      case: `IVF_PQ stages ${n}x${dim} (256 partitions, 16x8-bit PQ)`,
      ivf_train_ms_2t: +tIvf.toFixed(0), ivf_train_cpu_ms: +cIvf.toFixed(0), ivf_iterations: model.iterations,
      pq_train_ms_1t: +tPq1.toFixed(0), pq_train_cpu_ms_1t: +cpuPq1.toFixed(0), pq_train_ms_2t: +tPq2.toFixed(0), pq_train_cpu_ms_2t: +cPq2.toFixed(0),
      assign_encode_ms_1t: +enc[1]!.toFixed(0), assign_encode_cpu_ms_1t: +encCpu[1]!.toFixed(0), assign_encode_ms_2t: +enc[2]!.toFixed(0),
      assign_encode_rows_per_s_2t: Math.round(n / (enc[2]! / 1000)),
      total_ms_2t: +(tIvf + tPq2 + enc[2]!).toFixed(0), load: load(),
    });
  }
  return {
    rows,
    notes: [
      "`load` is the 1-minute load average when the row finished (bench/machine.ts); above the core count the wall-clock numbers are pessimistic and 2-thread rows may not beat 1-thread rows. `cpu_ms` is this process's CPU time over all its threads, which load does not inflate much.",
      "TS = the plain TypeScript reference kernels (straight loops), WASM = the f32x4 SIMD kernels from packages/ivf/src/kernels/vector.wat.",
      "Stage rows: IVF k-means on 256 x 256 sample rows, PQ k-means per sub-space on 65,536 residuals, then every row assigned and PQ-encoded.",
      "`kernel only` rows: the assignment kernels on inputs already in kernel memory, best process CPU time of interleaved rounds; `of_peak` = GFLOP/s over the peak row's (mul + add chains without loads: wasm SIMD without relaxed-simd FMA, which Node 20 has only behind a flag); `vs_previous` = over the previous kernel's GFLOP/s (kept for this comparison as bench_assign_v0 / bench_assign_t8_v0 in the bench-only module bench/kernels/bench-kernels.wat, not in the shipped one). `_idx` kernels skip the runner-up score (assignment, PQ encode); the runner-up variants serve k-means.",
    ],
  };
}
