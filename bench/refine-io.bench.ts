/**
 * Refine's cold row-group IO with a row cache smaller than the raw vectors (issue 13, the
 * lancedb bench's equal-cache setting: cacheBytes 144 MiB, prewarm, k 10, nprobes 20, refine 10),
 * four ways side by side on the same index file, queries interleaved one by one (order
 * alternating): the path before object readers (a store without `openReader`: `getRanges` into
 * fresh buffers, one open + fstat + close per read), the kept-open object reader on the libuv
 * thread pool (`syncReads: false`), the store's default (reads up to 256 KiB as synchronous
 * preads) and `syncReads: true` (every read synchronous). Per
 * variant: latency p50 / p99, process CPU per query, store reads and KiB per query, GC time.
 *
 * BENCH_SHAPES=name,name selects shapes (default 1m-128-l2,1m-128-l2-skewed,100k-768-l2; the names
 * of bench/shapes.ts); BENCH_INDEX_DIR=dir reuses the Quiver indexes `pnpm bench lancedb` keeps
 * there (quiver-<shape key>/), else each is built first; BENCH_QUICK=1 runs 10k-row versions.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { buildIndexInMemory } from "@quiver/build";
import { openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { machineLoad } from "./machine.js";
import { SHAPES, selectShapes, shapeKey, shapeRows } from "./shapes.js";
import type { BenchContext, BenchResult } from "./run.js";
import { withoutReader } from "./store-views.js";


const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))]!;
};

/** Variables that select part of this bench or change what it measures: a run with any set writes refine-io.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES"];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const shapes = selectShapes(process.env.BENCH_SHAPES ?? "1m-128-l2,1m-128-l2-skewed,100k-768-l2", SHAPES);
  const P = ctx.quick ? 32 : 256;
  const m = ctx.quick ? 4 : 16;
  const Q = ctx.quick ? 30 : 200;
  const reps = ctx.quick ? 1 : 2;
  const clusters = ctx.quick ? 64 : 1024;
  const budget = (ctx.quick ? 8 : 128) * 2 ** 20;
  const opts = { k: 10, nprobes: 20, refineFactor: 10 };
  const keep = process.env.BENCH_INDEX_DIR;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), "quiver-bench-refine-io-")));
  const rows: BenchResult["rows"][number][] = [];
  try {
    for (const shape of shapes) {
      const n = ctx.quick ? Math.min(10_000, Math.round(shape.n / 100)) : shape.n;
      const dim = ctx.quick ? Math.min(64, shape.dim) : shape.dim;
      const quiverDir = join(dir, `quiver-${shapeKey(shape, n, dim, P, m)}`);
      const meta = join(quiverDir, "bench-build.json");
      let identity: string;
      if (existsSync(meta)) ({ identity } = JSON.parse(readFileSync(meta, "utf8")) as { identity: string });
      else {
        ctx.progress(`${shape.name}: Quiver build`);
        await mkdir(quiverDir, { recursive: true });
        const t = performance.now();
        ({ identity } = await buildIndexInMemory({ store: new LocalDirectoryStore(quiverDir), path: "vectors/index.qvr", vectors: shapeRows(shape, n, dim, clusters, 1), dim, quantizer: "pq", distanceType: shape.distance, numPartitions: P, numSubVectors: m, seed: 3 }));
        writeFileSync(meta, JSON.stringify({ ms: performance.now() - t, identity }));
      }
      const variants: [string, IoStatsStore][] = [
        ["getRanges (before readers)", new IoStatsStore(withoutReader(new LocalDirectoryStore(quiverDir, { syncReads: false })))],
        ["object reader, thread pool", new IoStatsStore(new LocalDirectoryStore(quiverDir, { syncReads: false }))],
        ["object reader, default (sync up to 256 KiB)", new IoStatsStore(new LocalDirectoryStore(quiverDir))],
        ["object reader, syncReads", new IoStatsStore(new LocalDirectoryStore(quiverDir, { syncReads: true }))],
      ];
      const loadBefore = machineLoad();
      ctx.progress(`${shape.name}: open + prewarm`);
      const indexes = [];
      for (const [, store] of variants) indexes.push(await openVectorIndex(store, "vectors/index.qvr", { identity, prewarm: true, cacheBytes: budget + (budget >> 3), onWarning: () => {} }));
      const queries = shapeRows(shape, Q, dim, clusters, 2);
      const query = (i: number) => queries.subarray((i % Q) * dim, ((i % Q) + 1) * dim);
      for (let i = 0; i < Math.min(Q, 20); i++) for (const x of indexes) await x.search(query(i), opts);
      for (const [, s] of variants) s.reset();
      const gcs: { start: number; ms: number }[] = [];
      const po = new PerformanceObserver((l) => {
        for (const e of l.getEntries()) gcs.push({ start: e.startTime, ms: e.duration });
      });
      po.observe({ entryTypes: ["gc"] });
      const lat = indexes.map(() => [] as number[]);
      const cpu = indexes.map(() => [] as number[]);
      const spans = indexes.map(() => [] as [number, number][]);
      ctx.progress(`${shape.name}: queries`);
      for (let i = 0; i < reps * Q; i++) {
        for (let r = 0; r < indexes.length; r++) {
          const e = i % 2 === 0 ? r : indexes.length - 1 - r;
          const c = process.cpuUsage();
          const t = performance.now();
          await indexes[e]!.search(query(i), opts);
          const ms = performance.now() - t;
          const u = process.cpuUsage(c);
          lat[e]!.push(ms);
          cpu[e]!.push((u.user + u.system) / 1000);
          spans[e]!.push([t, t + ms]);
        }
      }
      await new Promise((r) => setTimeout(r, 50));
      po.disconnect();
      const load = `${loadBefore}/${machineLoad()}`;
      const label = `${shape.name}${n === shape.n && dim === shape.dim ? "" : ` (run at ${n} x ${dim})`}`;
      const base = quantile(lat[0]!, 0.5);
      variants.forEach(([name, store], e) => {
        const io = store.snapshot().total;
        const gc = gcs.filter((g) => spans[e]!.some(([a, b]) => g.start >= a && g.start < b)).reduce((s, g) => s + g.ms, 0);
        const count = lat[e]!.length;
        rows.push({
          shape: label,
          variant: name,
          "p50 ms": Number(quantile(lat[e]!, 0.5).toFixed(3)),
          "p99 ms": Number(quantile(lat[e]!, 0.99).toFixed(3)),
          "p99/p50": Number((quantile(lat[e]!, 0.99) / quantile(lat[e]!, 0.5)).toFixed(2)),
          "p50 / before": Number((quantile(lat[e]!, 0.5) / base).toFixed(3)),
          "cpu ms p50": Number(quantile(cpu[e]!, 0.5).toFixed(3)),
          "cpu ms p99": Number(quantile(cpu[e]!, 0.99).toFixed(3)),
          "reads/query": Number((io.readRequests / count).toFixed(1)),
          "KiB/query": Math.round(io.bytesRead / 1024 / count),
          "opens (heads)": io.heads,
          "gc ms in its queries": Number(gc.toFixed(1)),
          load,
        });
      });
      for (const x of indexes) await x.close();
    }
    return {
      rows,
      notes: [
        `Quiver only, equal-cache setting of the lancedb bench (cacheBytes ${(budget * 1.125) / 2 ** 20} MiB, prewarm; k 10, nprobes 20, refine 10, default threads); ${reps} x ${Q} queries per variant after 20 warm-up queries each, the variants' queries interleaved one by one, order alternating`,
        "variants: 'getRanges (before readers)' reads refine's cold row groups through a store without openReader (getRanges into fresh buffers, one open + fstat + close per call: the read path before object readers, except that the bytes are then copied into the scratch slab); 'object reader' keeps one reader open per index and reads into reused slabs; 'syncReads' is LocalDirectoryStore { syncReads: true } (synchronous pread on the main thread)",
        "cpu ms: process CPU (all threads) while the query ran; gc ms: PerformanceObserver 'gc' pauses that started inside the variant's queries (the three indexes share one heap, so garbage of one can be collected in another's query)",
        "opens (heads): reader opens counted at the IoStatsStore during the timed queries (0: the one reader was opened in the warm-up)",
      ],
    };
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
