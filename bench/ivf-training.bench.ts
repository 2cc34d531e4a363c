/**
 * IVF training (k-means on the build's sample) at different iteration caps, side by side in one
 * run on the build bench's data: wall and CPU seconds (this process and its worker threads),
 * Lloyd iterations, training loss (mean squared distance of a sample row to its centroid) and the
 * partition recall at nprobes 20 (the share of the true 10 nearest neighbours of each query whose
 * nearest centroid is among the query's 20 nearest: the ceiling of IVF search recall, with no
 * quantizer in the way). The sample is the pipeline's (P x 256 rows, seed 3, the build bench's).
 *
 * BENCH_IVF_SHAPES=name,name selects shapes (default all; names as in the table, e.g.
 * "100k x 128 l2 unequal", "1000k x 128 cosine unequal", "100k x 768 l2 equal"; "1000k x 128 l2 skewed" is the search bench's 1M skewed data at its 256 partitions); BENCH_IVF_ITERS=10,20,50 the caps (default 10,20,30,50);
 * BENCH_IVF_THREADS=1,2 the thread counts (default 2: the build's pool; 1: this thread alone);
 * BENCH_QUICK=1 runs tiny versions.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { memoryReader, reservoirSample } from "@quiver/build";
import { type DistanceType, bruteForceKnn, createComputePool, gaussianMixture, trainIvfModelParallel } from "@quiver/ivf";
import { clusteredUnequal } from "./build.bench.js";
import { machineLoad } from "./machine.js";
import { skewedMixture } from "./shapes.js";
import type { BenchContext, BenchResult } from "./run.js";

interface Shape {
  readonly n: number;
  readonly dim: number;
  readonly P: number;
  readonly distance: DistanceType;
  readonly data: "equal" | "unequal" | "skewed";
}

const label = (s: Shape): string => `${s.n / 1000}k x ${s.dim} ${s.distance} ${s.data}`;

function dist(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number, distance: DistanceType): number {
  let d = 0;
  let ab = 0;
  let bb = 0;
  for (let t = 0; t < dim; t++) {
    const x = a[ao + t]!;
    const y = b[bo + t]!;
    d += (x - y) * (x - y);
    ab += x * y;
    bb += y * y;
  }
  // cosine ranks partitions by angle to the (normalised) centroid; the rows are unit here
  return distance === "l2" ? d : distance === "cosine" ? -ab / Math.sqrt(bb || 1) : -ab;
}

/** Share of the true neighbours whose nearest centroid is among each query's `nprobes` nearest. */
function partitionRecall(
  data: Float32Array, queries: Float32Array, truth: number[][], centroids: Float32Array, P: number, dim: number, nprobes: number, distance: DistanceType,
): number {
  let hit = 0;
  let all = 0;
  for (let q = 0; q < truth.length; q++) {
    const order = Array.from({ length: P }, (_, p) => [dist(queries, q * dim, centroids, p * dim, dim, distance), p] as const).sort((a, b) => a[0] - b[0]);
    const probed = new Set(order.slice(0, nprobes).map((x) => x[1]));
    for (const row of truth[q]!) {
      let best = Infinity;
      let at = 0;
      for (let p = 0; p < P; p++) {
        const d = dist(data, row * dim, centroids, p * dim, dim, distance);
        if (d < best) [best, at] = [d, p];
      }
      all++;
      if (probed.has(at)) hit++;
    }
  }
  return hit / all;
}

function unitRows(v: Float32Array, n: number, dim: number): Float32Array {
  const out = v.slice();
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += out[i * dim + t]! ** 2;
    const f = 1 / Math.sqrt(s || 1);
    for (let t = 0; t < dim; t++) out[i * dim + t]! *= f;
  }
  return out;
}

const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** Variables that select part of this bench or change what it measures: a run with any set writes ivf-training.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_IVF_SHAPES", "BENCH_IVF_ITERS", "BENCH_IVF_THREADS"];
/** CPU ms of the main thread alone (Linux: /proc/self/task/<pid>/stat, 10 ms ticks), or NaN elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const q = ctx.quick;
  const all: Shape[] = q
    ? [{ n: 20_000, dim: 32, P: 64, distance: "l2", data: "unequal" }]
    : [
        { n: 100_000, dim: 128, P: 256, distance: "l2", data: "unequal" },
        { n: 100_000, dim: 128, P: 256, distance: "l2", data: "equal" },
        // the build bench's 1M x 128 shapes (1,024 partitions: hierarchical k-means)
        { n: 1_000_000, dim: 128, P: 1024, distance: "l2", data: "equal" },
        { n: 1_000_000, dim: 128, P: 1024, distance: "l2", data: "unequal" },
        { n: 1_000_000, dim: 128, P: 1024, distance: "cosine", data: "equal" },
        { n: 1_000_000, dim: 128, P: 1024, distance: "cosine", data: "unequal" },
        // the search bench's 1M skewed shape (bench/shapes.ts, 256 partitions: flat k-means)
        { n: 1_000_000, dim: 128, P: 256, distance: "l2", data: "skewed" },
        { n: 100_000, dim: 768, P: 256, distance: "cosine", data: "unequal" },
        { n: 100_000, dim: 768, P: 256, distance: "l2", data: "equal" },
      ];
  const wanted = process.env.BENCH_IVF_SHAPES?.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const shapes = wanted === undefined ? all : all.filter((s) => wanted.includes(label(s)));
  if (shapes.length === 0) throw new RangeError(`BENCH_IVF_SHAPES: none of ${all.map(label).join(", ")}`);
  const iters = (process.env.BENCH_IVF_ITERS ?? "10,20,30,50").split(",").map(Number);
  const threadCounts = (process.env.BENCH_IVF_THREADS ?? "2").split(",").map(Number);
  if (threadCounts.some((t) => t !== 1 && t !== 2)) throw new RangeError(`BENCH_IVF_THREADS: 1 and/or 2, got ${process.env.BENCH_IVF_THREADS}`);
  const Q = q ? 30 : 200;
  const rows: BenchResult["rows"] = [];
  const notes = [`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`];
  const pool = createComputePool(2, undefined, 1);
  try {
    for (const sh of shapes) {
      const { n, dim, P, distance } = sh;
      ctx.progress(`${label(sh)}: data + truth`);
      const clusters = q ? 64 : 1024;
      const gen = (count: number, seed: number): Float32Array =>
        sh.data === "equal" ? gaussianMixture({ n: count, dim, clusters, seed, centerSeed: 1 })
          : sh.data === "skewed" ? skewedMixture(count, dim, clusters, seed, 1) : clusteredUnequal(count, dim, clusters, seed, 1);
      const data = gen(n, 1);
      const queries = gen(Q, 2);
      const flat = bruteForceKnn(data, n, dim, queries, Q, 10, distance);
      const truth = Array.from({ length: Q }, (_, i) => Array.from(flat.subarray(i * 10, i * 10 + 10)));
      const sample = await reservoirSample(memoryReader(data, dim), Math.min(n, P * 256), 3, 65_536, undefined, n);
      // partitions of cosine rows are by direction: score unit rows against the centroids
      const scoreData = distance === "cosine" ? unitRows(data, n, dim) : data;
      for (const maxIters of iters) for (const threads of threadCounts) {
        ctx.progress(`${label(sh)}: maxIters ${maxIters}, ${threads} thread(s)`);
        const load = machineLoad();
        const c0 = cpuMs();
        const m0 = mainThreadCpuMs();
        const t0 = performance.now();
        const m = await trainIvfModelParallel(sample.vectors, sample.rows, dim, { numPartitions: P, distance, seed: 3, maxIters, ...(threads === 1 ? { threads: 1 } : { pool }) });
        const wall = performance.now() - t0;
        const cpu = cpuMs() - c0;
        const mainCpu = mainThreadCpuMs() - m0;
        rows.push({
          shape: label(sh), P, "max iters": maxIters, threads, iterations: m.iterations, converged: m.converged,
          "wall s": Number((wall / 1000).toFixed(2)), "cpu s": Number((cpu / 1000).toFixed(2)),
          "main thread cpu s": Number((mainCpu / 1000).toFixed(2)),
          "training loss": Number(m.loss.toPrecision(5)),
          "partition recall@20": Number(partitionRecall(scoreData, queries, truth, m.centroids, P, dim, 20, distance).toFixed(4)),
          "load at start": load,
        });
      }
    }
  } finally {
    await pool.close();
  }
  notes.push(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  notes.push(`partition recall@20: share of the true top-10 of ${Q} queries whose nearest centroid is among the query's 20 nearest (the IVF ceiling of recall@10 at nprobes 20).`);
  notes.push("CPU seconds: this process, worker threads included (2-thread pool with one spare worker, as the build's); main thread cpu s: the main thread alone (what the workers did not take).");
  return { rows, notes };
}
