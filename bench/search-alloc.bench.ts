/**
 * Allocation on the single-query search path: per configuration (quantizer x metric, plain and
 * refine 10, default cache, prewarm), the JS heap bytes and ArrayBuffer bytes allocated per
 * query (the growth of V8's used heap / external memory across queries during which no GC ran),
 * minor GCs (scavenges) per 1,000 queries counted by a PerformanceObserver, and p50/p99 latency.
 * Allocation per query is what makes the periodic scavenges that set the p99 of a warm index.
 *
 * PQ rows use the kept 100k indexes of `pnpm bench lancedb` when BENCH_INDEX_DIR holds them
 * (else a smaller in-memory build); SQ / flat / RaBitQ rows build 20k x 128 in memory.
 * BENCH_SHAPES=name,name selects rows (names in the table's first column); BENCH_ALLOC_QUERIES
 * sets the measured queries per row (default 10,000; BENCH_QUICK=1: 500).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { buildIndexInMemory } from "@quiver/build";
import { type DistanceType, type IvfVectorIndex, openVectorIndex } from "@quiver/ivf";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { machineLoad } from "./machine.js";
import { SHAPES, shapeKey, shapeRows } from "./shapes.js";
import type { BenchContext, BenchResult } from "./run.js";

interface Config {
  readonly name: string;
  readonly quantizer: "pq" | "sq" | "flat" | "rabitq";
  readonly distance: DistanceType;
  /** A lancedb-bench shape whose kept index is used when present. */
  readonly kept?: string;
  readonly n: number;
  readonly dim: number;
}

const CONFIGS: readonly Config[] = [
  { name: "pq-100k-128-l2", quantizer: "pq", distance: "l2", kept: "100k-128-l2", n: 100_000, dim: 128 },
  { name: "pq-100k-128-l2-skewed", quantizer: "pq", distance: "l2", kept: "100k-128-l2-skewed", n: 100_000, dim: 128 },
  { name: "pq-100k-768-l2", quantizer: "pq", distance: "l2", kept: "100k-768-l2", n: 100_000, dim: 768 },
  { name: "sq-20k-128-l2", quantizer: "sq", distance: "l2", n: 20_000, dim: 128 },
  { name: "flat-20k-128-cosine", quantizer: "flat", distance: "cosine", n: 20_000, dim: 128 },
  { name: "rabitq-20k-128-l2", quantizer: "rabitq", distance: "l2", n: 20_000, dim: 128 },
];

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function openConfig(c: Config, quick: boolean): Promise<{ index: IvfVectorIndex; queries: Float32Array; dim: number; note: string }> {
  const shape = SHAPES.find((s) => s.name === c.kept) ?? { name: c.name, n: c.n, dim: c.dim, distance: c.distance, data: "equal" as const };
  const keep = process.env.BENCH_INDEX_DIR;
  const dir = c.kept === undefined || keep === undefined ? undefined : join(keep, `quiver-${shapeKey(shape, shape.n, shape.dim, 256, 16)}`);
  if (!quick && dir !== undefined && existsSync(join(dir, "bench-build.json"))) {
    const { identity } = JSON.parse(readFileSync(join(dir, "bench-build.json"), "utf8")) as { identity: string };
    const index = await openVectorIndex(new LocalDirectoryStore(dir), "vectors/index.qvr", { identity, prewarm: true });
    return { index, queries: shapeRows(shape, 200, shape.dim, 1024, 2), dim: shape.dim, note: `${c.name}: kept index ${shape.n} x ${shape.dim}` };
  }
  const n = quick ? 4000 : c.kept === undefined ? c.n : 20_000;
  const dim = quick ? Math.min(64, c.dim) : c.dim;
  const P = quick ? 16 : c.kept === undefined ? 64 : 256;
  const store = new MemoryObjectStore();
  await buildIndexInMemory({ store, path: "i.qvr", vectors: shapeRows(shape, n, dim, 256, 1), dim, quantizer: c.quantizer, distanceType: c.distance, numPartitions: P, ...(c.quantizer === "pq" ? { numSubVectors: 16 } : {}), seed: 3 });
  const index = await openVectorIndex(store, "i.qvr", { prewarm: true });
  return { index, queries: shapeRows(shape, 200, dim, 256, 2), dim, note: `${c.name}: in-memory build ${n} x ${dim}, ${P} partitions` };
}

/** Variables that select part of this bench or change what it measures: a run with any set writes search-alloc.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_ALLOC_QUERIES"];

/** Runs `count` queries: heap / ArrayBuffer bytes per query (GC-free intervals only), scavenges, latencies. */
async function measure(count: number, run: (i: number) => Promise<unknown>): Promise<{ heap: number; buffers: number; scavenges: number; p50: number; p99: number }> {
  let minor = 0;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs++;
      // detail.kind 1: minor (scavenge)
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) minor++;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  const times: number[] = [];
  let heapSum = 0;
  let bufSum = 0;
  let clean = 0;
  for (let i = 0; i < count; i++) {
    const a = getHeapStatistics();
    const t = performance.now();
    await run(i);
    times.push(performance.now() - t);
    const b = getHeapStatistics();
    const dh = b.used_heap_size - a.used_heap_size;
    const de = (b as unknown as { external_memory: number }).external_memory - (a as unknown as { external_memory: number }).external_memory;
    // a drop means a GC ran during the query: that interval says nothing about allocation
    if (dh >= 0 && de >= 0) {
      heapSum += dh;
      bufSum += de;
      clean++;
    }
  }
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  void gcs;
  times.sort((x, y) => x - y);
  return { heap: heapSum / Math.max(1, clean), buffers: bufSum / Math.max(1, clean), scavenges: (minor * 1000) / count, p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const wanted = process.env.BENCH_SHAPES?.split(",").filter((s) => s !== "");
  const configs = wanted === undefined ? CONFIGS : CONFIGS.filter((c) => wanted.includes(c.name));
  if (configs.length === 0) throw new RangeError(`BENCH_SHAPES ${process.env.BENCH_SHAPES}: none of ${CONFIGS.map((c) => c.name).join(", ")}`);
  const count = Number(process.env.BENCH_ALLOC_QUERIES ?? (ctx.quick ? 500 : 10_000));
  const rows: BenchResult["rows"][number][] = [];
  const notes: string[] = [];
  for (const c of configs) {
    ctx.progress(`${c.name}: open`);
    const { index, queries, dim, note } = await openConfig(c, ctx.quick);
    notes.push(note);
    const q = (i: number) => queries.subarray((i % 200) * dim, ((i % 200) + 1) * dim);
    for (const refine of [undefined, 10]) {
      const opts = refine === undefined ? { k: 10, nprobes: 20 } : { k: 10, nprobes: 20, refineFactor: refine };
      ctx.progress(`${c.name}: ${refine === undefined ? "plain" : "refine"}`);
      for (let i = 0; i < 500; i++) await index.search(q(i), opts);
      const r = await measure(count, (i) => index.search(q(i), opts));
      rows.push({
        config: c.name,
        search: refine === undefined ? "plain" : `refine ${refine}`,
        "heap B/query": Math.round(r.heap),
        "ArrayBuffer B/query": Math.round(r.buffers),
        "scavenges/1000 q": Number(r.scavenges.toFixed(2)),
        "p50 ms": Number(r.p50.toFixed(3)),
        "p99 ms": Number(r.p99.toFixed(3)),
        "p99/p50": Number((r.p99 / r.p50).toFixed(2)),
        load: machineLoad(),
      });
    }
    await index.close();
  }
  notes.push(`${count} measured queries per row after 500 warm-up ones, k 10, nprobes 20, default cache, prewarm; bytes/query averaged over the queries during which no GC ran`);
  return { rows, notes };
}
