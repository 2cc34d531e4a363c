/**
 * Quiver vs LanceDB on the same data in the same run: IVF_PQ, 256 partitions, 16 sub-vectors, for
 * several shapes (100k x 128, 1M x 128, 100k x 768; L2 and cosine; an equal-size Gaussian mixture
 * and a skewed one with unequal cluster sizes and per-dimension scales). Per shape: build time,
 * recall@10, latency mean/p50/p99 at nprobes 20 with and without refine 10, and queries/s at batch
 * 1, 16 and 256 (LanceDB: the batch issued concurrently; Quiver: one searchBatch call on all cores,
 * and again on one thread), each as a Quiver/LanceDB ratio computed from unrounded values. Both
 * sides run with default settings (Quiver: no cache given, so the index sizes its own; prewarm:
 * true), then again with equal cache budgets (BENCH_CACHE_MIB, default 128: LanceDB's index cache
 * and Quiver's cacheBytes; metadata cache 1/8 of it on both sides). The two engines' queries are
 * interleaved (query i on one, then on the other, the order alternating), so a change of machine
 * load hits both. LanceDB uses its own apache-arrow 18.1 (installed in the bench package).
 *
 * BENCH_SHAPES=name,name selects shapes (default all); BENCH_SCALE=0.2 shrinks every row count
 * (a reduced run says so in its notes); BENCH_QUICK=1 runs tiny versions of every shape;
 * BENCH_PASSES=defaults or =equal runs one of the two passes; BENCH_THROUGHPUT=0 skips the queries/s rows, =only runs
 * nothing else (the defaults pass's queries/s rows, engines taking turns in rounds, with all cores / 1 thread ratios);
 * BENCH_AB=1 adds, in the equal-cache pass, a second Quiver index read through a store without openReader
 * (refine's cold groups by getRanges: the path before the object reader), interleaved with the others ("A/B" rows);
 * BENCH_SYNC_READS=1 / =0 opens Quiver's local store with syncReads true / false (every object-reader read as a
 * synchronous pread / every one on the libuv thread pool); unset: the store's default (reads up to 256 KiB synchronous);
 * BENCH_BREAKDOWN=1 adds a per-query breakdown of Quiver's refine queries (GC pauses, store reads and bytes, cache
 * misses, event-loop delay, process CPU beside the query; median vs slowest 2%), then runs the same refine queries
 * again interleaved under the other settle rule and on Quiver alone (no LanceDB query issued), each with its breakdown;
 * BENCH_SETTLE=0 times each query right after the other engine's; by default (settle rule) every timed query of either
 * engine first waits until the process's other threads are idle (2 ms windows under 10% of a core, at most 50 ms):
 * LanceDB's runtime threads keep working after its query's promise resolved, inside the next Quiver query otherwise;
 * BENCH_INDEX_DIR=dir keeps both engines' built indexes there and reuses them on the next run
 * (build times are then those recorded when they were built). After every shape the rows so far
 * are written to bench/results/lancedb.partial.json (lancedb.partial.quick.json when quick), so a
 * long run stopped part way still leaves its finished shapes.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as lancedb from "@lancedb/lancedb";
import { buildIndexInMemory } from "@quiver/build";
import { bruteForceKnn, openVectorIndex, recallAtK } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { arrowTable } from "./lance-table.js";
import { machineLoad } from "./machine.js";
import { keptTruth, searchBenchSettings, selectShapes, shapeKey, shapeRows, SHAPES } from "./shapes.js";
import type { BenchContext, BenchResult } from "./run.js";
import { withoutReader } from "./store-views.js";

interface Latency {
  mean: number;
  p50: number;
  p99: number;
  /** Process CPU time (all threads) spent while each query ran: p50 and p99, ms. */
  cpuP50: number;
  cpuP99: number;
  results: number[][];
}


/** Per-query probe of engine 0 (Quiver) in {@link timeInterleaved}: before the query, and after it with its start time and latency. */
interface QueryObserver {
  before(): void;
  after(start: number, ms: number): void;
}

/** What one Quiver query did (BENCH_BREAKDOWN=1). */
interface QueryRecord {
  ms: number;
  /** Process CPU (every thread) during the query; above `ms` only when other threads ran beside it (Quiver's query is single-threaded). */
  cpuMs: number;
  /** GC pause time that started inside the query, and the pauses (minor = scavenges). */
  gcMs: number;
  gcs: number;
  minorGcs: number;
  /** Store requests and bytes of the query (counted at the store: refine's cold row groups). */
  reads: number;
  bytes: number;
  /** Cache misses of the query: code partitions, raw-vector row groups. */
  codeMisses: number;
  rowMisses: number;
  /** Longest event-loop delay sampled while the query ran (monitorEventLoopDelay, 1 ms resolution), ms. */
  loopDelayMs: number;
  /** Process CPU in the settle window right before the query (other threads still running), ms per ms. */
  busyBefore: number;
  /** This (main) thread's CPU and run-queue wait during the query (/proc schedstat; NaN where unavailable), ms. */
  mainCpuMs: number;
  waitMs: number;
  /** True when the query ran right after a LanceDB query (odd i: the order alternates), false after a Quiver one. */
  afterLance: boolean;
}

/** This thread's [CPU ns, run-queue wait ns] from /proc (Linux), or undefined. */
function mainThreadSched(): [number, number] | undefined {
  try {
    const f = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
    return [Number(f[0]), Number(f[1])];
  } catch {
    return undefined;
  }
}

/**
 * A per-query breakdown of Quiver's refine queries: GC pauses (PerformanceObserver 'gc' entries
 * that start inside the query), the store requests / bytes it made (counted at the store), its
 * cache misses (index.cacheStats deltas), the event-loop delay, and the process CPU beside it,
 * so the tail queries can be told apart from the median ones.
 */
function breakdownObserver(io: IoStatsStore, index: { cacheStats(): { codes: { misses: number }; rawRows: { misses: number } } }): { observer: QueryObserver; records: QueryRecord[]; stop(): void } {
  const gcs: { start: number; ms: number; minor: boolean }[] = [];
  const po = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push({ start: e.startTime, ms: e.duration, minor: (e as unknown as { detail?: { kind?: number } }).detail?.kind === 1 });
  });
  po.observe({ entryTypes: ["gc"] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const records: QueryRecord[] = [];
  let before = io.snapshot().total;
  let stats = index.cacheStats();
  let cpu = process.cpuUsage();
  let sched = mainThreadSched();
  let calls = 0;
  // the probe's own CPU between its two schedstat reads (two /proc reads, counters), measured on empty intervals and subtracted
  const empty: number[] = [];
  for (let i = 0; i < 21 && sched !== undefined; i++) {
    const a = mainThreadSched()!;
    void process.cpuUsage();
    void performance.now();
    const b = mainThreadSched()!;
    empty.push((b[0] - a[0]) / 1e6);
  }
  const overheadMs = empty.length === 0 ? 0 : [...empty].sort((x, y) => x - y)[empty.length >> 1]!;
  return {
    records,
    observer: {
      before() {
        before = io.snapshot().total;
        stats = index.cacheStats();
        loop.reset();
        sched = mainThreadSched();
        cpu = process.cpuUsage();
      },
      after(start, ms) {
        const used = process.cpuUsage(cpu);
        const sNow = mainThreadSched();
        const delay = loop.max / 1e6;
        const now = io.snapshot().total;
        const st = index.cacheStats();
        // GC entries are delivered asynchronously: matched to queries by time in stop()
        records.push({
          ms, cpuMs: (used.user + used.system) / 1000, gcMs: start, gcs: 0, minorGcs: 0,
          reads: now.readRequests - before.readRequests, bytes: now.bytesRead - before.bytesRead,
          codeMisses: st.codes.misses - stats.codes.misses, rowMisses: st.rawRows.misses - stats.rawRows.misses,
          loopDelayMs: Number.isFinite(delay) ? delay : 0, busyBefore: lastSettleBusy,
          mainCpuMs: sNow === undefined || sched === undefined ? Number.NaN : Math.max(0, (sNow[0] - sched[0]) / 1e6 - overheadMs),
          waitMs: sNow === undefined || sched === undefined ? Number.NaN : (sNow[1] - sched[1]) / 1e6,
          afterLance: calls++ % 2 === 1,
        });
      },
    },
    stop() {
      po.disconnect();
      loop.disable();
      for (const r of records) {
        const start = r.gcMs;
        const mine = gcs.filter((g) => g.start >= start && g.start < start + r.ms);
        r.gcMs = mine.reduce((a, g) => a + g.ms, 0);
        r.gcs = mine.length;
        r.minorGcs = mine.filter((g) => g.minor).length;
      }
    },
  };
}

/** Median query vs the slowest 2% of queries: mean latency, CPU, GC, reads, misses, loop delay of each set. */
function breakdownNote(label: string, records: readonly QueryRecord[]): string {
  const sorted = [...records].sort((a, b) => a.ms - b.ms);
  const tail = sorted.slice(Math.floor(sorted.length * 0.98));
  const mid = sorted.slice(Math.floor(sorted.length * 0.4), Math.ceil(sorted.length * 0.6));
  const mean = (xs: readonly QueryRecord[], f: (r: QueryRecord) => number) => xs.reduce((a, r) => a + f(r), 0) / Math.max(1, xs.length);
  const describe = (xs: readonly QueryRecord[]) =>
    `${mean(xs, (r) => r.ms).toFixed(2)} ms (cpu ${mean(xs, (r) => r.cpuMs).toFixed(2)} ms, gc ${mean(xs, (r) => r.gcMs).toFixed(2)} ms in ${mean(xs, (r) => r.gcs).toFixed(1)} pauses (${mean(xs, (r) => r.minorGcs).toFixed(1)} minor), ` +
    `${mean(xs, (r) => r.reads).toFixed(1)} reads, ${(mean(xs, (r) => r.bytes) / 1024).toFixed(0)} KiB, misses ${mean(xs, (r) => r.codeMisses).toFixed(1)} codes / ${mean(xs, (r) => r.rowMisses).toFixed(1)} row groups, ` +
    `loop delay max ${mean(xs, (r) => r.loopDelayMs).toFixed(2)} ms, cpu beside it ${mean(xs, (r) => Math.max(0, r.cpuMs - r.ms)).toFixed(2)} ms, busy before ${mean(xs, (r) => r.busyBefore).toFixed(2)})`;
  const all = (f: (r: QueryRecord) => number) => records.reduce((a, r) => a + f(r), 0);
  const tailRatio = (xs: readonly QueryRecord[], f: (r: QueryRecord) => number) => {
    const v = xs.map(f).sort((a, b) => a - b);
    return `p50 ${quantile(v, 0.5).toFixed(3)} p99 ${quantile(v, 0.99).toFixed(3)} (${(quantile(v, 0.99) / quantile(v, 0.5)).toFixed(2)})`;
  };
  const ratio = quantile(sorted.map((r) => r.ms), 0.99) / quantile(sorted.map((r) => r.ms), 0.5);
  const busy = (xs: readonly QueryRecord[]) => xs.filter((r) => r.cpuMs - r.mainCpuMs > 0.25).length;
  const afterL = records.filter((r) => r.afterLance);
  const afterQ = records.filter((r) => !r.afterLance);
  return (
    `${label}: p99/p50 ${ratio.toFixed(2)}; median 40-60% ${describe(mid)}; slowest 2% ${describe(tail)}; all ${records.length}: gc ${all((r) => r.gcMs).toFixed(1)} ms total, ${(all((r) => r.bytes) / records.length / 1024).toFixed(0)} KiB read per query; ` +
    `this thread's CPU ms ${tailRatio(records, (r) => r.mainCpuMs)}, run-queue wait ms ${tailRatio(records, (r) => r.waitMs)}, other threads' CPU ms ${tailRatio(records, (r) => Math.max(0, r.cpuMs - r.mainCpuMs))}; ` +
    `right after a LanceDB query (${afterL.length}): wall ${tailRatio(afterL, (r) => r.ms)}, other threads' CPU mean ${mean(afterL, (r) => Math.max(0, r.cpuMs - r.mainCpuMs)).toFixed(3)} ms, ${busy(afterL)} queries with over 0.25 ms of it; ` +
    `right after a Quiver query (${afterQ.length}): wall ${tailRatio(afterQ, (r) => r.ms)}, other threads' CPU mean ${mean(afterQ, (r) => Math.max(0, r.cpuMs - r.mainCpuMs)).toFixed(3)} ms, ${busy(afterQ)} queries with over 0.25 ms of it`
  );
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;

/** Process CPU per wall ms in the last settle window (read by the breakdown). */
let lastSettleBusy = 0;

/**
 * The settle rule applied before every timed query of either engine (BENCH_SETTLE, default on):
 * wait in 2 ms windows until one shows the process's other threads (LanceDB's runtime: this
 * thread only sleeps in a window) using under 10% of a core, at most 50 ms. The engine that ran
 * before may otherwise still be working on its threads inside the next engine's timed interval.
 */
async function settle(on: boolean): Promise<void> {
  lastSettleBusy = Number.NaN;
  if (!on) return;
  const deadline = performance.now() + SETTLE_MAX_MS;
  for (;;) {
    const c = process.cpuUsage();
    const t = performance.now();
    await new Promise((r) => setTimeout(r, SETTLE_WINDOW_MS));
    const used = process.cpuUsage(c);
    const wall = performance.now() - t;
    lastSettleBusy = (used.user + used.system) / 1000 / wall;
    if (lastSettleBusy < SETTLE_IDLE_SHARE || performance.now() > deadline) return;
  }
}
const SETTLE_WINDOW_MS = 2;
const SETTLE_IDLE_SHARE = 0.1;
const SETTLE_MAX_MS = 50;

/**
 * Latency of several engines on the same queries, interleaved: query i runs on every engine
 * before query i + 1 (the order alternating per query), after `warm` warm-up queries each; with
 * `settleFirst`, every timed query waits for the settle rule first (the same rule for each engine).
 */
async function timeInterleaved(Q: number, runs: readonly ((i: number) => Promise<number[]>)[], warm = 20, observe?: QueryObserver, settleFirst = false): Promise<Latency[]> {
  for (let i = 0; i < Math.min(Q, warm); i++) for (const run of runs) await run(i);
  const lat = runs.map(() => [] as number[]);
  const cpu = runs.map(() => [] as number[]);
  const results = runs.map(() => [] as number[][]);
  for (let i = 0; i < Q; i++) {
    for (let r = 0; r < runs.length; r++) {
      const e = i % 2 === 0 ? r : runs.length - 1 - r;
      await settle(settleFirst);
      if (e === 0) observe?.before();
      const c = process.cpuUsage();
      const t = performance.now();
      results[e]!.push(await runs[e]!(i));
      const ms = performance.now() - t;
      const used = process.cpuUsage(c);
      lat[e]!.push(ms);
      if (e === 0) observe?.after(t, ms);
      cpu[e]!.push((used.user + used.system) / 1000);
    }
  }
  return lat.map((l, e) => {
    const s = [...l].sort((a, b) => a - b);
    const cs = [...cpu[e]!].sort((a, b) => a - b);
    return { mean: l.reduce((a, b) => a + b, 0) / Q, p50: quantile(s, 0.5), p99: quantile(s, 0.99), cpuP50: quantile(cs, 0.5), cpuP99: quantile(cs, 0.99), results: results[e]! };
  });
}

/** Shortest timed span of a queries/s figure (over its rounds: twice this per engine): one pass over 256 queries takes under 0.1 s at 100k rows, where one GC or JIT tier-up decided the figure. */
const MIN_THROUGHPUT_MS = 1000;

/** Rounds of each throughput figure: the engines take turns (order alternating per round), so a change of machine load hits all of them. */
const THROUGHPUT_ROUNDS = 12;

/** queries/s (median over rounds), each round's queries/s and process CPU ms per query, of one engine in {@link throughputRounds}. */
interface Throughput {
  qps: number;
  rounds: number[];
  cpuMs: number;
}

/**
 * queries/s of several engines measured side by side: `rounds` rounds in which every engine
 * (the first one first, the others in an order alternating per round) answers batches of `batch` queries (walking through the
 * `total` queries; every engine starts a round at the same query) for at least
 * 2 x MIN_THROUGHPUT_MS / rounds, after one warm-up batch each.
 */
async function throughputRounds(total: number, batch: number, runs: readonly ((first: number, count: number) => Promise<unknown>)[], rounds: number): Promise<Throughput[]> {
  for (const run of runs) await run(0, Math.min(batch, total));
  const qps = runs.map(() => [] as number[]);
  const cpu = runs.map(() => 0);
  const answered = runs.map(() => 0);
  // every engine starts a round at the same query (per-round ratios compare the same queries)
  let start = 0;
  for (let r = 0; r < rounds; r++) {
    let next = start;
    // engine 0 (LanceDB) first, the others in an order alternating per round: each of them follows
    // LanceDB (whose runtime threads may still be winding down) equally often
    const rest = Array.from({ length: runs.length - 1 }, (_, i) => i + 1);
    for (const e of [0, ...(r % 2 === 0 ? rest : rest.reverse())]) {
      // let the previous engine's background threads go idle first
      await new Promise((resolve) => setTimeout(resolve, e === 0 ? 20 : 100));
      const c = process.cpuUsage();
      const t = performance.now();
      let n = 0;
      let at = start;
      do {
        const count = Math.min(batch, total - at);
        await runs[e]!(at, count);
        n += count;
        at = (at + count) % total;
      } while (performance.now() - t < (2 * MIN_THROUGHPUT_MS) / rounds);
      next = Math.max(next, at);
      const ms = performance.now() - t;
      const used = process.cpuUsage(c);
      qps[e]!.push(n / (ms / 1000));
      cpu[e]! += (used.user + used.system) / 1000;
      answered[e]! += n;
    }
    start = next;
  }
  return runs.map((_, e) => ({ qps: quantile([...qps[e]!].sort((a, b) => a - b), 0.5), rounds: qps[e]!, cpuMs: cpu[e]! / answered[e]! }));
}

/** Variables that select part of this bench or change what it measures: a run with any set writes lancedb.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_SCALE", "BENCH_CACHE_MIB", "BENCH_PASSES", "BENCH_THROUGHPUT", "BENCH_AB", "BENCH_BREAKDOWN", "BENCH_SYNC_READS", "BENCH_SETTLE"];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const scale = ctx.quick ? 1 : Number(process.env.BENCH_SCALE ?? 1);
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`BENCH_SCALE ${process.env.BENCH_SCALE}`);
  const shapes = selectShapes(process.env.BENCH_SHAPES, SHAPES);
  const { P, m, Q, clusters, nprobes, refine } = searchBenchSettings(ctx.quick);
  const rows: BenchResult["rows"][number][] = [];
  const splits: string[] = [];
  const budgetMib = Number(process.env.BENCH_CACHE_MIB ?? (ctx.quick ? 8 : 128));
  if (!(budgetMib > 0)) throw new RangeError(`BENCH_CACHE_MIB ${process.env.BENCH_CACHE_MIB}`);
  const budget = budgetMib * 1024 * 1024;
  const keep = process.env.BENCH_INDEX_DIR;
  // BENCH_PASSES=defaults|equal selects one pass (default both); BENCH_THROUGHPUT=0 skips the queries/s rows
  const passes = (["defaults", "equal cache"] as const).filter((p) => (process.env.BENCH_PASSES === undefined ? process.env.BENCH_THROUGHPUT !== "only" || p === "defaults" : process.env.BENCH_PASSES.split(",").some((w) => p.startsWith(w.trim()))));
  if (passes.length === 0) throw new RangeError(`BENCH_PASSES ${process.env.BENCH_PASSES}: defaults, equal`);
  // BENCH_THROUGHPUT=only: the queries/s rows alone (defaults pass, no latency, recall or equal-cache rows)
  const throughputOnly = process.env.BENCH_THROUGHPUT === "only";
  const throughput = process.env.BENCH_THROUGHPUT !== "0";
  if (throughputOnly && process.env.BENCH_PASSES !== undefined) throw new RangeError("BENCH_THROUGHPUT=only runs the defaults pass: leave BENCH_PASSES unset");
  const threadNotes: string[] = [];
  // BENCH_BREAKDOWN=1: Quiver's store is wrapped in an IoStatsStore and every refine query's GC / reads / bytes recorded
  const breakdown = process.env.BENCH_BREAKDOWN === "1";
  const breakdowns: string[] = [];
  // BENCH_SETTLE=0: time each query right after the previous engine's (no settle wait; the runs before this session)
  const settleOn = process.env.BENCH_SETTLE !== "0";
  const dir = keep ?? (await mkdtemp(join(tmpdir(), "quiver-bench-lancedb-")));
  try {
    for (const shape of shapes) {
      const n = ctx.quick ? Math.min(10_000, Math.round(shape.n / 100)) : Math.round(shape.n * scale);
      const dim = ctx.quick ? Math.min(64, shape.dim) : shape.dim;
      const { distance } = shape;
      ctx.progress(`${shape.name}: dataset + ground truth (${n} x ${dim})`);
      const gen = (count: number, seed: number) => shapeRows(shape, count, dim, clusters, seed);
      // the data is generated only when a build or the ground truth needs it
      let rowsOf: Float32Array | undefined;
      const data = (): Float32Array => (rowsOf ??= gen(n, 1));
      const queries = gen(Q, 2);
      // a kept index is reused only for the very same shape, size and build parameters
      const key = shapeKey(shape, n, dim, P, m);
      const truth = keptTruth(keep, key, Q, () => bruteForceKnn(data(), n, dim, queries, Q, 10, distance));
      const query = (i: number) => queries.subarray((i % Q) * dim, ((i % Q) + 1) * dim);
      const loadBefore = machineLoad();
      const lanceDir = join(dir, `lancedb-${key}`);
      const quiverDir = join(dir, `quiver-${key}`);
      await mkdir(dir, { recursive: true });

      const builtMeta = join(lanceDir, "bench-build.json");
      let lanceBuild: number;
      if (existsSync(builtMeta)) lanceBuild = (JSON.parse(readFileSync(builtMeta, "utf8")) as { ms: number }).ms;
      else {
        ctx.progress(`${shape.name}: LanceDB build`);
        await rm(lanceDir, { recursive: true, force: true });
        const db0 = await lancedb.connect(lanceDir);
        const table0 = await db0.createTable("vectors", arrowTable(data(), n, dim));
        const t = performance.now();
        await table0.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: P, numSubVectors: m, distanceType: distance }) });
        lanceBuild = performance.now() - t;
        table0.close();
        db0.close();
        writeFileSync(builtMeta, JSON.stringify({ ms: lanceBuild }));
      }
      const quiverMeta = join(quiverDir, "bench-build.json");
      // BENCH_SYNC_READS=1: Quiver's local store reads through synchronous preads (LocalDirectoryStore syncReads)
      const sync = process.env.BENCH_SYNC_READS;
      const store = new LocalDirectoryStore(quiverDir, sync === undefined ? {} : { syncReads: sync === "1" });
      let quiverBuild: number;
      let identity: string;
      if (existsSync(quiverMeta)) ({ ms: quiverBuild, identity } = JSON.parse(readFileSync(quiverMeta, "utf8")) as { ms: number; identity: string });
      else {
        ctx.progress(`${shape.name}: Quiver build`);
        const t = performance.now();
        ({ identity } = await buildIndexInMemory({ store, path: "vectors/index.qvr", vectors: data(), dim, quantizer: "pq", distanceType: distance, numPartitions: P, numSubVectors: m, seed: 3 }));
        quiverBuild = performance.now() - t;
        writeFileSync(quiverMeta, JSON.stringify({ ms: quiverBuild, identity }));
      }

      const load = () => `${loadBefore}/${machineLoad()}`;
      const label = `${shape.name}${n === shape.n && dim === shape.dim ? "" : ` (run at ${n} x ${dim})`}`;
      const row = (metric: string, qv: number, lv: number, digits: number) => ({
        shape: label,
        metric,
        quiver: Number(qv.toFixed(digits)),
        lancedb: Number(lv.toFixed(digits)),
        "quiver/lancedb": Number((qv / lv).toFixed(3)),
        load: load(),
      });
      rows.push(row("build s", quiverBuild / 1000, lanceBuild / 1000, 2));

      // Pass 1: defaults on both sides. Pass 2: equal cache budgets.
      for (const pass of passes) {
        const equal = pass === "equal cache";
        const session = equal ? new lancedb.Session(BigInt(budget), BigInt(budget >> 3)) : undefined;
        const db = await lancedb.connect(lanceDir, {}, session);
        const table = await db.openTable("vectors");
        const lanceQuery = (i: number, withRefine: boolean) => {
          let q = table.vectorSearch(Array.from(query(i))).distanceType(distance).nprobes(nprobes).limit(10).select(["id", "_distance"]);
          if (withRefine) q = q.refineFactor(refine);
          return q;
        };
        const lanceRun = (withRefine: boolean) => async (i: number) => ((await lanceQuery(i, withRefine).toArray()) as { id: number }[]).map((r) => r.id);
        const io = breakdown ? new IoStatsStore(store) : undefined;
        const index = await openVectorIndex(io ?? store, "vectors/index.qvr", { identity, prewarm: true, ...(equal ? { cacheBytes: budget + (budget >> 3), onWarning: () => {} } : {}) });
        const quiverRun = (withRefine: boolean) => async (i: number) => (await index.search(query(i), withRefine ? { k: 10, nprobes, refineFactor: refine } : { k: 10, nprobes })).map((h) => Number(h.id));
        const suffix = equal ? `, equal cache ${budgetMib} MiB` : "";
        if (equal) {
          const st = index.cacheStats();
          splits.push(`${label}: codes + state cache ${((st.cacheBytes ?? 0) / 2 ** 20).toFixed(1)} MiB, raw-vector row cache ${(st.rawVectorCacheBytes / 2 ** 20).toFixed(1)} MiB (filled by prewarm: ${(st.rawVectorCacheUsedBytes / 2 ** 20).toFixed(1)} MiB)`);
        }

        if (!equal && throughput) {
          ctx.progress(`${shape.name}: throughput`);
          const total = ctx.quick ? 32 : 256;
          const batchOf = (first: number, count: number) => Array.from({ length: count }, (_, j) => query(first + j));
          const arms = [
            (first: number, count: number) => Promise.all(Array.from({ length: count }, (_, j) => lanceQuery(first + j, false).toArray())),
            (first: number, count: number) => index.searchBatch(batchOf(first, count), { k: 10, nprobes }),
            (first: number, count: number) => index.searchBatch(batchOf(first, count), { k: 10, nprobes, threads: 1 }),
          ];
          for (const batch of [1, 16, 256]) {
            const before = index.searchThreadStats();
            const [lance, quiver, quiver1] = await throughputRounds(total, batch, arms, ctx.quick ? 2 : THROUGHPUT_ROUNDS);
            const after = index.searchThreadStats();
            rows.push(row(`queries/s batch ${batch}`, quiver!.qps, lance!.qps, 1));
            rows.push(row(`queries/s batch ${batch}, Quiver 1 thread`, quiver1!.qps, lance!.qps, 1));
            rows.push(row(`cpu ms/query batch ${batch}`, quiver!.cpuMs, lance!.cpuMs, 4));
            rows.push(row(`cpu ms/query batch ${batch}, Quiver 1 thread`, quiver1!.cpuMs, lance!.cpuMs, 4));
            // all cores / one thread per round (the two measured back to back): median, and the spread
            const ratios = quiver!.rounds.map((q, r) => q / quiver1!.rounds[r]!).sort((a, b) => a - b);
            const t = (k: keyof typeof after) => (after[k] as number) - (before[k] as number);
            rows.push({ ...row(`Quiver all cores / 1 thread batch ${batch} (median of ${ratios.length} rounds; lancedb column: 1)`, quantile(ratios, 0.5), 1, 3), spread: `${ratios[0]!.toFixed(2)}-${ratios.at(-1)!.toFixed(2)}` });
            threadNotes.push(`${label} batch ${batch}: all cores / 1 thread per round ${ratios.map((x) => x.toFixed(2)).join(" ")}; default threaded ${t("threadedScans")} scans (${t("probeScans")} probes of either kind), declined ${t("declinedScans")}, worker share ${(t("workerRowScores") / Math.max(1, t("workerRowScores") + t("mainRowScores"))).toFixed(2)}`);
          }
        }
        if (throughputOnly) {
          await index.close();
          table.close();
          db.close();
          continue;
        }
        ctx.progress(`${shape.name}: queries (${pass})`);
        const [qPlain, lPlain] = await timeInterleaved(Q, [quiverRun(false), lanceRun(false)], 20, undefined, settleOn);
        const probe = io === undefined ? undefined : breakdownObserver(io, index);
        // BENCH_AB=1 (equal cache): a second Quiver index over the same files through a store without openReader
        // (cold row groups by getRanges into fresh buffers, one open + close per read: the path before the object reader)
        const ab = equal && process.env.BENCH_AB === "1" ? await openVectorIndex(withoutReader(store), "vectors/index.qvr", { identity, prewarm: true, cacheBytes: budget + (budget >> 3), onWarning: () => {} }) : undefined;
        const abRun = async (i: number) => (await ab!.search(query(i), { k: 10, nprobes, refineFactor: refine })).map((h) => Number(h.id));
        const [qRefine, lRefine, aRefine] = await timeInterleaved(Q, [quiverRun(true), lanceRun(true), ...(ab === undefined ? [] : [abRun])], 20, probe?.observer, settleOn);
        if (probe !== undefined) {
          probe.stop();
          breakdowns.push(breakdownNote(`${label} refine ${refine}${suffix}, interleaved with LanceDB, ${settleOn ? "settled" : "not settled"}`, probe.records));
          // the same queries again: interleaved under the other settle rule, then Quiver alone (no LanceDB query issued)
          const other = breakdownObserver(io!, index);
          const [oq, ol] = await timeInterleaved(Q, [quiverRun(true), lanceRun(true)], 20, other.observer, !settleOn);
          other.stop();
          breakdowns.push(breakdownNote(`${label} refine ${refine}${suffix}, interleaved with LanceDB, ${settleOn ? "not settled" : "settled"} (LanceDB p99/p50 ${(ol!.p99 / ol!.p50).toFixed(2)}, Quiver ${(oq!.p99 / oq!.p50).toFixed(2)})`, other.records));
          const alone = breakdownObserver(io!, index);
          await timeInterleaved(Q, [quiverRun(true)], 20, alone.observer, settleOn);
          alone.stop();
          breakdowns.push(breakdownNote(`${label} refine ${refine}${suffix}, Quiver alone`, alone.records));
        }
        if (aRefine !== undefined) {
          const r = (metric: string, qv: number, av: number) => ({ shape: label, metric: `A/B ${metric} refine ${refine}${suffix}`, quiver: Number(qv.toFixed(3)), lancedb: Number(av.toFixed(3)), "quiver/lancedb": Number((qv / av).toFixed(3)), load: load() });
          rows.push(r("ms/query p50 (lancedb column: Quiver via getRanges)", qRefine!.p50, aRefine.p50));
          rows.push(r("ms/query p99 (lancedb column: Quiver via getRanges)", qRefine!.p99, aRefine.p99));
          rows.push(r("p99/p50 (lancedb column: Quiver via getRanges)", qRefine!.p99 / qRefine!.p50, aRefine.p99 / aRefine.p50));
          rows.push(r("cpu ms/query p50 (lancedb column: Quiver via getRanges)", qRefine!.cpuP50, aRefine.cpuP50));
          await ab!.close();
        }
        for (const [tag, qv, lv] of [["", qPlain, lPlain], [` refine ${refine}`, qRefine, lRefine]] as const) {
          rows.push(row(`recall@10${tag}${suffix}`, recallAtK(qv!.results, truth, 10), recallAtK(lv!.results, truth, 10), 4));
          rows.push(row(`ms/query mean${tag}${suffix}`, qv!.mean, lv!.mean, 3));
          rows.push(row(`ms/query p50${tag}${suffix}`, qv!.p50, lv!.p50, 3));
          rows.push(row(`ms/query p99${tag}${suffix}`, qv!.p99, lv!.p99, 3));
          rows.push(row(`p99/p50${tag}${suffix}`, qv!.p99 / qv!.p50, lv!.p99 / lv!.p50, 2));
          rows.push(row(`cpu ms/query p50${tag}${suffix}`, qv!.cpuP50, lv!.cpuP50, 3));
          rows.push(row(`cpu ms/query p99${tag}${suffix}`, qv!.cpuP99, lv!.cpuP99, 3));
          rows.push(row(`cpu p99/p50${tag}${suffix}`, qv!.cpuP99 / qv!.cpuP50, lv!.cpuP99 / lv!.cpuP50, 2));
        }
        await index.close();
        table.close();
        db.close();
      }
      if (keep === undefined) {
        await rm(lanceDir, { recursive: true, force: true });
        await rm(quiverDir, { recursive: true, force: true });
      }
      const partial = join(dirname(fileURLToPath(import.meta.url)), "results", ctx.quick ? "lancedb.partial.quick.json" : "lancedb.partial.json");
      writeFileSync(partial, JSON.stringify({ name: "lancedb", date: new Date().toISOString(), partial: true, shapesDone: rows.length === 0 ? [] : [...new Set(rows.map((r) => r.shape))], rows }, null, 2) + "\n");
    }
    const notes = [
      `data: seeded mixtures of ${clusters} Gaussians (sigma 0.5); "skewed": cluster weights 1/(c+1) and per-dimension scales in [0.25, 2]; ${Q} queries from the same mixture after ${Math.min(Q, 20)} warm-up queries; IVF_PQ ${P} partitions, ${m} sub-vectors`,
      "LanceDB build = createIndex on an already written table; Quiver build = train + assign/encode + write of the index file (raw vectors stored for refine)",
      "defaults on both sides: Quiver opens without a cache (the index sizes its own) with prewarm; LanceDB: local directory with its default caches (6 GiB index cache)",
      `Quiver's local store: ${process.env.BENCH_SYNC_READS === "1" ? "syncReads (BENCH_SYNC_READS=1: refine's cold reads are synchronous preads)" : process.env.BENCH_SYNC_READS === "0" ? "syncReads false (BENCH_SYNC_READS=0: reads on the libuv thread pool)" : "default (object-reader reads up to 256 KiB as synchronous preads, larger ones on the libuv thread pool)"}`,
      `equal cache rows: the same total on both sides. LanceDB Session(index cache ${budgetMib} MiB, metadata cache ${budgetMib / 8} MiB), which holds its IVF_PQ index (codes, row ids) and file metadata; Quiver cacheBytes ${budgetMib * 1.125} MiB = codes + state cache, then the raw-vector row cache with the rest (the split per shape: "cache split" below), prewarm. Raw vectors refine needs beyond that are read from the files on both sides (through the OS page cache, which neither budget counts)`,
      `latency: the two engines' queries interleaved one by one (order alternating), after 20 warm-up queries each; p99/p50 is the tail ratio of each engine; ${settleOn ? "settle rule: before every timed query of either engine the bench waits until the process's other threads are idle (2 ms windows, under 10% of a core, at most 50 ms), so neither engine's leftover background work runs inside the other's timed query" : "BENCH_SETTLE=0: each query timed right after the other engine's returned (no settle wait)"}`,
      "cpu ms/query: process CPU time (user + system, every thread of the process) while the query ran; on a loaded machine the wall-clock tail is mostly time spent descheduled, the CPU tail is the engine's own work (LanceDB's background threads may run into the next query's interval)",
      `queries/s: LanceDB issues the batch as concurrent queries; Quiver answers it with one searchBatch call on all cores (default threads) and, in the '1 thread' rows, with threads: 1; the three take turns in ${THROUGHPUT_ROUNDS} rounds (LanceDB first, then Quiver all cores and 1 thread in an order alternating per round, 100 ms idle before each Quiver turn), each answering batches (walking through the 256 queries) for at least ${(2 * MIN_THROUGHPUT_MS) / THROUGHPUT_ROUNDS} ms per round; a figure is the median round; 'all cores / 1 thread' is the median of the per-round ratios (spread column: lowest-highest); cpu ms/query: process CPU (every thread) per query over all rounds`,
      "load column: 1-minute load average at the start of the shape / when the row was written",
    ];
    for (const t of threadNotes) notes.push(`threads (Quiver default): ${t}`);
    for (const b of breakdowns) notes.push(`per-query breakdown (Quiver, BENCH_BREAKDOWN=1): ${b}`);
    if (splits.length > 0) notes.push(`cache split (Quiver, equal cache): ${splits.join("; ")}`);
    if (scale !== 1) notes.push(`REDUCED RUN: every row count scaled by BENCH_SCALE=${scale} (the shape column says the size run)`);
    return { rows, notes };
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
