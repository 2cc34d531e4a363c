/**
 * PQ codebook training side by side in one run: the warm start (sub-space k-means converged on a
 * 1/8 subsample, then refined on all 65,536 training rows) against training on all rows from a
 * random start (`warmStart: false`, the earlier behaviour), on the build bench's shapes: wall and
 * CPU seconds (this process and its worker threads), Lloyd work, and codebook loss (mean squared
 * reconstruction error of the prepared training rows; lower is better). The IVF centroids are
 * trained once per shape with the build's settings (256 partitions, seed 3).
 *
 * BENCH_PQ_SHAPES=name,name selects shapes (default all); BENCH_SCALE=0.3 shrinks the row count;
 * BENCH_QUICK=1 runs tiny versions.
 */
import { loadavg } from "node:os";
import { type DistanceType, gaussianMixture, trainIvfModelParallel, trainQuantizerParallel } from "@quiver/ivf";
import { clusteredUnequal } from "./build.bench.js";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";

interface PqShape {
  readonly name: string;
  readonly n: number;
  readonly dim: number;
  readonly m: number;
  readonly distance: DistanceType;
  readonly data: "equal" | "unequal";
}

/** The shapes: the build bench's PQ settings (m = dim/16) and the search bench's PQ16 at 768-d. */
const SHAPES: readonly PqShape[] = [
  { name: "100k-128-cosine-unequal-m8", n: 100_000, dim: 128, m: 8, distance: "cosine", data: "unequal" },
  { name: "100k-128-l2-equal-m8", n: 100_000, dim: 128, m: 8, distance: "l2", data: "equal" },
  { name: "100k-768-l2-equal-m48", n: 100_000, dim: 768, m: 48, distance: "l2", data: "equal" },
  { name: "100k-768-cosine-equal-m16", n: 100_000, dim: 768, m: 16, distance: "cosine", data: "equal" },
];

/** Mean squared reconstruction error of `rows` prepared training rows under `codebook`. */
function codebookLoss(prepared: Float32Array, rows: number, dim: number, m: number, codebook: Float32Array): number {
  const dsub = dim / m;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    for (let s = 0; s < m; s++) {
      let best = Infinity;
      for (let j = 0; j < 256; j++) {
        let d2 = 0;
        const cb = (s * 256 + j) * dsub;
        const xb = i * dim + s * dsub;
        for (let t = 0; t < dsub; t++) d2 += (prepared[xb + t]! - codebook[cb + t]!) ** 2;
        if (d2 < best) best = d2;
      }
      total += best;
    }
  }
  return total / rows;
}

const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** Variables that select part of this bench or change what it measures: a run with any set writes pq-training.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_PQ_SHAPES", "BENCH_SCALE"];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const scale = ctx.quick ? 1 : Number(process.env.BENCH_SCALE ?? 1);
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`BENCH_SCALE ${process.env.BENCH_SCALE}`);
  const wanted = process.env.BENCH_PQ_SHAPES?.split(",").filter((s) => s !== "");
  const shapes = wanted === undefined ? SHAPES : SHAPES.filter((s) => wanted.includes(s.name));
  if (shapes.length === 0) throw new RangeError(`BENCH_PQ_SHAPES ${process.env.BENCH_PQ_SHAPES}: none of ${SHAPES.map((s) => s.name).join(", ")}`);
  const rows: BenchResult["rows"] = [];
  const notes = [`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`];
  for (const shape of shapes) {
    const n = ctx.quick ? 12_000 : Math.round(shape.n * scale);
    const dim = ctx.quick ? Math.min(64, shape.dim) : shape.dim;
    const m = ctx.quick ? Math.max(1, dim / 16) : shape.m;
    const P = ctx.quick ? 32 : 256;
    ctx.progress(`${shape.name}: data + IVF`);
    const data = shape.data === "equal" ? gaussianMixture({ n, dim, clusters: ctx.quick ? 64 : 1024, seed: 1 }) : clusteredUnequal(n, dim, ctx.quick ? 64 : 1024, 1);
    const ivf = await trainIvfModelParallel(data, n, dim, { numPartitions: P, distance: shape.distance, seed: 3 });
    const base = { distance: shape.distance, seed: 3, ivfCentroids: ivf.centroids, numPartitions: P, numSubVectors: m };
    // the prepared training rows, for the loss (the trainer prepares the same rows internally)
    const { prepareTrainingSample } = await import("../packages/ivf/src/compute/internal/quantizers.js");
    const { prepared, rows: trainRows } = prepareTrainingSample("pq", data, n, dim, base);
    const result: Record<string, { wall: number; cpu: number; loss: number }> = {};
    for (const warmStart of [false, true]) {
      ctx.progress(`${shape.name}: PQ training, warm start ${warmStart}`);
      const load = machineLoad();
      const c0 = cpuMs();
      const t0 = performance.now();
      const q = await trainQuantizerParallel("pq", data, n, dim, { ...base, warmStart });
      const wall = performance.now() - t0;
      const cpu = cpuMs() - c0;
      const loss = codebookLoss(prepared, trainRows, dim, m, q.metadata.arrays.codebook as Float32Array);
      result[String(warmStart)] = { wall, cpu, loss };
      rows.push({
        shape: `${shape.name}${n === shape.n && dim === shape.dim ? "" : ` (run at ${n} x ${dim}, m ${m})`}`,
        training: warmStart ? "warm start (after)" : "all rows, random start (before)",
        "wall s": Number((wall / 1000).toFixed(2)),
        "cpu s": Number((cpu / 1000).toFixed(2)),
        "codebook loss": Number(loss.toPrecision(5)),
        "wall vs before": warmStart ? Number((wall / result.false!.wall).toFixed(3)) : 1,
        "cpu vs before": warmStart ? Number((cpu / result.false!.cpu).toFixed(3)) : 1,
        "loss vs before": warmStart ? Number((loss / result.false!.loss).toFixed(4)) : 1,
        load,
      });
    }
  }
  notes.push(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  notes.push("Both variants train on the same 65,536 prepared rows (residuals; normalised first for cosine) with the default 2 threads over sub-spaces; CPU includes the worker threads.");
  if (scale !== 1) notes.push(`REDUCED RUN: row counts scaled by BENCH_SCALE=${scale}`);
  return { rows, notes };
}
