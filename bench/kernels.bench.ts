/**
 * IVF compute kernels: GFLOP/s of the plain TypeScript reference vs the WebAssembly SIMD
 * kernels, k-means on a 256 x 256 sample (65,536 x 128, k = 256), PQ training, assign+encode
 * throughput on 1 vs 2 threads, and per-stage build times on 100k and 200k x 128 clustered data.
 * BENCH_QUICK=1 shrinks every size. The machine has 2 cores shared with other people's jobs:
 * the 1-minute load average is reported next to the numbers.
 */
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";
import {
  createRng, encodeAndAssignParallel, trainIvfModelParallel, trainKMeans, trainKMeansParallel, trainQuantizer,
  trainQuantizerParallel,
} from "../packages/ivf/src/compute/index.js";
import { adcRef, assignRef, dotBatchRef, l2BatchRef } from "../packages/ivf/src/compute/internal/reference.js";
import { adcScan } from "../packages/ivf/src/compute/internal/adc.js";
import { assignScored, batchKernel, squaredNorms } from "../packages/ivf/src/compute/internal/vector-math.js";

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

/** Runs the kernel benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows: Row[] = [];
  const dim = 128;
  const k = 256;

  // 1. kernels, one thread
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

  // 2. k-means on the 256 x 256 sample
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

  // 3. full stages on clustered data
  const sizes = ctx.quick ? [20_000] : [100_000, 200_000];
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
    ],
  };
}
