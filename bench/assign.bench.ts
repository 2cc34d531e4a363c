/**
 * Nearest-centroid assignment at 1,024 partitions (the build's assign+encode step): the full
 * scan (`assignNearest`) against the exact screened assignment (assign-screened.ts) side by side
 * on the four 1M x 128 build shapes' data (bench/build.bench.ts generators: equal mixture and
 * unequal clusters, l2 and cosine). Per shape: agreement (rows given the full scan's partition:
 * must be 1), exact distances per row (the full scan computes k), the bound pass's share, and
 * CPU ms per 1M rows for both, one thread. Centroids: k-means (10 iterations) on 65,536 rows.
 *
 * BENCH_SHAPES=name,name selects shapes ("128 l2 equal", "128 l2 unequal", "128 cosine equal",
 * "128 cosine unequal"); BENCH_ASSIGN_K overrides k (default 1024, e.g. 256,512,1024,2048 for
 * the threshold).
 */
import { loadavg } from "node:os";
import { type DistanceType, gaussianMixture } from "@quiver/ivf";
import { clusteredUnequal } from "./build.bench.js";
import { machineLoad } from "./machine.js";
import { runKMeans } from "../packages/ivf/src/compute/internal/kmeans.js";
import { assignNearest, normalizeRows } from "../packages/ivf/src/compute/internal/vector-math.js";
import { assignNearestScreened, buildScreenIndex } from "../packages/ivf/src/compute/internal/assign-screened.js";
import type { BenchContext, BenchResult } from "./run.js";

/** Variables that select part of this bench (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_ASSIGN_K"];

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const dim = 128;
  const train = ctx.quick ? 16_384 : 65_536;
  const test = ctx.quick ? 16_384 : 131_072;
  const ks = (process.env.BENCH_ASSIGN_K ?? (ctx.quick ? "512" : "1024")).split(",").map(Number);
  const all = (["l2", "cosine"] as DistanceType[]).flatMap((distance) => (["equal", "unequal"] as const).map((data) => ({ distance, data, name: `${dim} ${distance} ${data}` })));
  const wanted = process.env.BENCH_SHAPES?.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const shapes = wanted === undefined ? all : all.filter((s) => wanted.includes(s.name));
  if (shapes.length === 0) throw new RangeError(`BENCH_SHAPES=${process.env.BENCH_SHAPES}: none of ${all.map((s) => s.name).join(", ")}`);
  const rows: BenchResult["rows"] = [];
  const notes = [`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`];
  for (const sh of shapes) {
    let data = sh.data === "equal" ? gaussianMixture({ n: train + test, dim, clusters: 1024, seed: 1 }) : clusteredUnequal(train + test, dim, 1024, 1);
    // the build normalises cosine rows before assignment
    if (sh.distance === "cosine") data = normalizeRows(data, train + test, dim);
    const rowsX = data.subarray(train * dim);
    for (const k of ks) {
      ctx.progress(`${sh.name}: k-means, k ${k}`);
      const centroids = runKMeans(data.subarray(0, train * dim), train, dim, k, { seed: 3, maxIters: 10, distance: sh.distance === "dot" ? "dot" : "l2" }).centroids;
      const load = machineLoad();
      const full = new Uint32Array(test);
      const screened = new Uint32Array(test);
      const stats = { exact: 0, rows: 0, fullRows: 0 };
      // alternate the two in 4,096-row chunks (the build's chunk) so load changes hit both alike
      let fullMs = 0;
      let screenMs = 0;
      const c0 = cpuMs();
      const ix = buildScreenIndex(centroids, k, dim, sh.distance);
      const setupMs = cpuMs() - c0;
      for (let s = 0; s < test; s += 4096) {
        const e = Math.min(test, s + 4096);
        const x = rowsX.subarray(s * dim, e * dim);
        let t = cpuMs();
        assignNearest(x, e - s, dim, centroids, k, sh.distance, full.subarray(s, e));
        fullMs += cpuMs() - t;
        t = cpuMs();
        assignNearestScreened(x, e - s, ix, screened.subarray(s, e), stats);
        screenMs += cpuMs() - t;
      }
      let agree = 0;
      for (let i = 0; i < test; i++) if (full[i] === screened[i]) agree++;
      const head = ix.heads[ix.chosen];
      rows.push({
        shape: sh.name,
        k,
        rows: test,
        agreement: Number((agree / test).toFixed(6)),
        "bound width (chosen)": head?.ha ?? 0,
        "exact per row (full: k)": Number((stats.exact / Math.max(1, stats.rows)).toFixed(1)),
        "bound work per row (k x width / dim)": head === undefined ? 0 : Number(((k * head.ha) / dim).toFixed(0)),
        "full-scan rows": stats.fullRows,
        "full cpu ms / 1M rows": Math.round((fullMs * 1e6) / test),
        "screened cpu ms / 1M rows": Math.round((screenMs * 1e6) / test),
        "speedup (cpu)": Number((fullMs / screenMs).toFixed(2)),
        "screen setup cpu ms (per thread per job)": Math.round(setupMs),
        load,
      });
    }
  }
  notes.push(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
  notes.push(`one thread; ${test} rows assigned after k-means on ${train} rows; both methods alternate per 4,096-row chunk; agreement must be 1 (the screen is exact).`);
  return { rows, notes };
}
