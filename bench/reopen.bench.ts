/**
 * Reopen benchmark (issue 13): open + first query of a 100k x 128 PQ index
 * (256 partitions, raw vectors) cold over a 20 ms/request LatencyStore, from a disk cache written by
 * an earlier open (a fresh DiskCacheBackend per round, zero store requests, counted), and from a
 * warm in-memory cache (the verified decode of single entries is bench/cache-decode.bench.ts).
 * BENCH_QUICK=1 shrinks every size; BENCH_SHAPES=NxDIMxP (e.g. 100000x128x256, the default)
 * selects the shape and BENCH_REOPEN_ROUNDS the rounds (default 21). The machine is shared:
 * compare the ratios, read the load note.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type CacheBackend, type CacheEntry, type CacheLogger, type ErasedCodec, type GetOrInsertResult, DiskCacheBackend, IndexCache, cacheKey } from "@quiver/cache";
import { xxh3_64 } from "@quiver/format";
import { computeIndexIdentity, gaussianMixture, ivfIndexStateCodec, openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { buildIndexInMemory } from "@quiver/build";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number): number => Number(x.toFixed(2));
const r3 = (x: number): number => Number(x.toFixed(3));
const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!;
const here = dirname(fileURLToPath(import.meta.url));

/** One timed open + first query: its window on the performance timeline and its CPU time. */
interface Round {
  readonly start: number;
  readonly end: number;
  readonly cpu: number;
}

/** Open + first query from the disk cache in a new Node process (bench/reopen-child.ts), timed after its imports. */
/** One new-process run: open + first query (wall, CPU), the imports, and the piece-by-piece breakdown of the process. */
interface ChildRun {
  readonly openQuery: number;
  readonly importMs: number;
  readonly cpu: number;
  readonly phases: readonly { piece: string; wall: number; cpu: number; gc: number }[];
}

/** `env`: extra environment of the child (the previous whole-region reservation is replayed with QUIVER_TEST_SCAN_REGION). */
function newProcessReopen(args: { mode: "disk" | "cold"; dir: string; storeDir: string; identity: string; dim: number; clusters: number }, env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ["--import", "tsx", "--conditions=quiver-source", join(here, "reopen-child.ts"), JSON.stringify(args)], { cwd: here, timeout: 120_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`reopen child failed: ${err.message} ${stderr.slice(0, 2000)}`));
      else resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as ChildRun);
    });
  });
}

/** A pass-through backend that records the keys asked for (to learn which entries a reopen reads). */
class KeyRecorder implements CacheBackend {
  readonly persistent = true;
  readonly keys: string[] = [];
  constructor(readonly inner: CacheBackend) {}
  get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    this.keys.push(key);
    return this.inner.get(key, codec);
  }
  insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    return this.inner.insert(key, entry, codec);
  }
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    this.keys.push(key);
    return this.inner.getOrInsert(key, loader, codec);
  }
  invalidatePrefix(prefix: string): Promise<void> {
    return this.inner.invalidatePrefix(prefix);
  }
  clear(): Promise<void> {
    return this.inner.clear();
  }
  approxEntryCount(): number {
    return this.inner.approxEntryCount();
  }
  approxSizeBytes(): number {
    return this.inner.approxSizeBytes();
  }
}

/**
 * Where a steady-state disk reopen round goes, piece by piece (medians of `reps`, each piece
 * timed alone, the process warm): which entries it reads and their bytes, the bare file calls,
 * the cache reads, the open, the first query, and the checks a first decode adds.
 */
async function reopenBreakdown(o: { dir: string; store: ObjectStore; identity: string; q0: Float32Array; search: { k: number; nprobes: number }; quiet: CacheLogger; reps: number; gc: () => void }): Promise<BenchResult["rows"][number][]> {
  /** Median time of `f(prepared)`, `prepare` (if any) run outside the clock before each call. */
  const time = async <P>(f: (p: P) => unknown, prepare?: () => Promise<P>, reps = o.reps): Promise<number> => {
    const xs: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const p = (prepare === undefined ? undefined : await prepare()) as P;
      const t = performance.now();
      await f(p);
      if (i > 0) xs.push(performance.now() - t);
      // Closed at once: an open backend starts its directory scan (a stat per entry file) a second later.
      for (const b of backends.splice(0)) await b.close();
    }
    return median(xs);
  };
  const fresh = (): DiskCacheBackend => new DiskCacheBackend({ directory: o.dir, logger: o.quiet });
  const rec = new KeyRecorder(fresh());
  const probe = await openVectorIndex(o.store, "idx", { cache: new IndexCache(rec), identity: o.identity });
  await probe.search(o.q0, o.search);
  // Entry files as the disk backend names them (spec/cache.md#disk): SHA-256 of the byte key.
  const files = rec.keys.map((k) => {
    const h = createHash("sha256").update(k, "utf8").digest("hex");
    return join(o.dir, "entries", h.slice(0, 2), `${h}.qce`);
  });
  const sizes = files.map((f) => readFileSync(f).byteLength);
  const stateFile = readFileSync(files[0]!);
  const stateCopy = new Uint8Array(stateFile);
  const parts = rec.keys.slice(1).map((k) => Number(/\/partition\/(\d+)\0/.exec(k)![1]));
  const buf = new Uint8Array(Math.max(...sizes) + 1);
  const backends: DiskCacheBackend[] = [];
  /** A fresh backend with its directory set up (as the disk rounds make it before the clock). */
  const made = async (): Promise<IndexCache> => {
    const b = fresh();
    backends.push(b);
    await b.isAvailable(); // directory set up (a get without a codec returns before waiting for it)
    return new IndexCache(b);
  };
  const stateKey = cacheKey(`idx/${o.identity}/state`, ivfIndexStateCodec);
  const syscalls = await time(() => {
    for (const f of files) {
      const fd = openSync(f, "r");
      readSync(fd, buf, 0, buf.byteLength, 0);
      closeSync(fd);
    }
  });
  const stateGet = await time((c) => c.get(stateKey), made);
  const partGets = await time((c) => Promise.all(parts.map((p) => c.get(probe.partitionCacheKey(p)))), made);
  // After a full GC the partition values decoded before are gone (the verified-bytes memo holds
  // them weakly): each entry is hashed, decoded and checked against the state again.
  const partGetsAfterGc = await time(
    (c) => Promise.all(parts.map((p) => c.get(probe.partitionCacheKey(p)))),
    async () => {
      const c = await made();
      o.gc();
      return c;
    },
    Math.min(o.reps, 40),
  );
  const open = await time((c) => openVectorIndex(o.store, "idx", { cache: c, identity: o.identity }), made);
  const memory = IndexCache.inMemory(2 ** 30);
  await (await openVectorIndex(o.store, "idx", { cache: memory, identity: o.identity })).prewarm();
  const queries: number[] = [];
  for (let i = 0; i <= o.reps; i++) {
    const idx = await openVectorIndex(o.store, "idx", { cache: memory, identity: o.identity });
    const t = performance.now();
    await idx.search(o.q0, o.search);
    if (i > 0) queries.push(performance.now() - t);
  }
  const st = probe.state;
  const hash = await time(() => xxh3_64(stateFile));
  const identity = await time(() =>
    computeIndexIdentity({ metadata: st.metadata, centroids: st.centroids, arrays: st.metadata.quantizer.arrays.map((a) => st.quantizer.arrays[a.name]!), partitions: st.partitions, ...(st.rawRowGroups === undefined ? {} : { rawRowGroupCrcs: st.rawRowGroups.crcs }) }),
  );
  const compare = await time(() => Buffer.compare(stateFile, stateCopy));
  await rec.inner.close?.();
  const kib = (b: number): number => r2(b / 1024);
  const partBytes = sizes.slice(1);
  return [
    { piece: "entries read by open + first query", count: files.length, "KiB": kib(sizes.reduce((a, b) => a + b, 0)), note: `1 state entry (${kib(sizes[0]!)} KiB) + ${parts.length} partition entries (${kib(Math.min(...partBytes))}-${kib(Math.max(...partBytes))} KiB)` },
    { piece: "bare file calls: open + read + close of those files", "ms": r3(syscalls), note: "floor of any one-file-per-entry layout" },
    { piece: "state entry get (fresh backend; read + compare with bytes verified before)", "ms": r3(stateGet) },
    { piece: `${parts.length} partition entry gets (fresh backend)`, "ms": r3(partGets) },
    { piece: `${parts.length} partition entry gets after a forced full GC (values collected: hashed and decoded again)`, "ms": r3(partGetsAfterGc) },
    { piece: "openVectorIndex from the disk cache (state get + checks + index object)", "ms": r3(open) },
    { piece: "first query of an index opened from a memory cache (partition gets from memory + scoring)", "ms": r3(median(queries)) },
    { piece: "XXH3-64 of the state entry (first decode only)", "ms": r3(hash) },
    { piece: "identity digest of the state, SHA-256 (first decode only)", "ms": r3(identity) },
    { piece: "memcmp of the state entry (later decodes)", "ms": r3(compare) },
  ];
}

/** Variables that select part of this bench or change what it measures: a run with any set writes reopen.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_REOPEN_ROUNDS", "BENCH_REOPEN_PROCESSES", "BENCH_REOPEN_CPU_PROF"];

/** Run the reopen and decode benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows: BenchResult["rows"][number][] = [];
  const shape = process.env.BENCH_SHAPES?.match(/^(\d+)x(\d+)x(\d+)$/);
  if (process.env.BENCH_SHAPES !== undefined && shape === null) throw new Error(`BENCH_SHAPES: one shape NxDIMxP (e.g. 100000x128x256), got ${process.env.BENCH_SHAPES}`);
  const n = shape ? Number(shape[1]) : ctx.quick ? 5_000 : 100_000;
  const dim = shape ? Number(shape[2]) : ctx.quick ? 32 : 128;
  const P = shape ? Number(shape[3]) : ctx.quick ? 32 : 256;
  ctx.progress("dataset + build");
  const data = gaussianMixture({ n, dim, clusters: ctx.quick ? 64 : 1024, seed: 1 });
  const q0 = gaussianMixture({ n: 1, dim, clusters: ctx.quick ? 64 : 1024, seed: 2, centerSeed: 1 });
  const store = new MemoryObjectStore();
  await buildIndexInMemory({ store, path: "idx", vectors: data, dim, quantizer: "pq", distanceType: "l2", numPartitions: P, seed: 3, storeRawVectors: true, numSubVectors: Math.max(1, dim / 8) });
  const slow = new LatencyStore(store, { latencyMs: 20 });
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-reopen-"));
  const storeDir = await mkdtemp(join(tmpdir(), "quiver-bench-reopen-store-"));
  const quiet = { warn: () => undefined };
  try {
    // The disk cache as an earlier process leaves it: state + every partition written by prewarm.
    const writer = new DiskCacheBackend({ directory: dir, logger: quiet });
    const warmed = await openVectorIndex(store, "idx", { cache: new IndexCache(writer) });
    await warmed.prewarm();
    const identity = warmed.identity;
    await writer.close();
    const memory = IndexCache.inMemory(2 ** 30);
    await (await openVectorIndex(store, "idx", { cache: memory, identity })).prewarm();
    const search = { k: 10, nprobes: 20 } as const;
    const rounds = process.env.BENCH_REOPEN_ROUNDS !== undefined ? Number(process.env.BENCH_REOPEN_ROUNDS) : ctx.quick ? 3 : 21;
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_REOPEN_ROUNDS: a positive integer, got ${process.env.BENCH_REOPEN_ROUNDS}`);
    // Every GC of the process with its start on the performance timeline: a round's GC time is the
    // part of those pauses inside the round's window (the observer delivers entries later, so they
    // are matched by time at the end, not counted as they arrive).
    const gcs: { start: number; end: number }[] = [];
    const observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
    });
    observer.observe({ entryTypes: ["gc"] });
    setFlagsFromString("--expose-gc");
    const forceGc = runInNewContext("gc") as () => void;
    let storeRequests = 0;
    // Entry gets served from a value decoded before from the same unchanged file (one stat, no read).
    let rememberedHits = 0;
    let diskRounds = 0;
    /** One disk round: a fresh DiskCacheBackend (set up before the clock unless `backendInside`), open + first query counted at the store. */
    const diskRound = async (backendInside = false): Promise<Round> => {
      let backend = backendInside ? undefined : new DiskCacheBackend({ directory: dir, logger: quiet });
      await backend?.isAvailable(); // directory set up before the clock
      const counted = new IoStatsStore(slow);
      const c0 = process.cpuUsage();
      const t = performance.now();
      backend ??= new DiskCacheBackend({ directory: dir, logger: quiet });
      const w = await openVectorIndex(counted, "idx", { cache: new IndexCache(backend), identity });
      await w.search(q0, search);
      const end = performance.now();
      const used = process.cpuUsage(c0);
      const io = counted.snapshot().total;
      storeRequests += io.readRequests + io.heads + io.lists;
      rememberedHits += backend.counters.rememberedHits;
      diskRounds++;
      await backend.close();
      return { start: t, end, cpu: (used.user + used.system) / 1000 };
    };
    const coldOpen = async (): Promise<number> => {
      const t = performance.now();
      const c = await openVectorIndex(slow, "idx", { cache: IndexCache.inMemory() });
      await c.search(q0, search);
      return performance.now() - t;
    };
    const cold: number[] = [];
    // Three disk series, interleaved round by round: right after a cold open (the garbage it
    // leaves may be collected inside the disk round), after a cold open and a forced full GC, and
    // right after another disk round (no cold open in between).
    const afterCold: Round[] = [];
    const afterGc: Round[] = [];
    const backToBack: Round[] = [];
    const backendInside: Round[] = [];
    const mem: Round[] = [];
    // Round 0 of afterCold is the first disk reopen in this process (nothing verified yet).
    for (let r = 0; r < rounds; r++) {
      ctx.progress(`open + first query, round ${r + 1}`);
      cold.push(await coldOpen());
      afterCold.push(await diskRound());
      cold.push(await coldOpen());
      forceGc();
      afterGc.push(await diskRound());
      backToBack.push(await diskRound());
      backendInside.push(await diskRound(true));
      const c0 = process.cpuUsage();
      const t = performance.now();
      const m = await openVectorIndex(slow, "idx", { cache: memory, identity });
      await m.search(q0, search);
      const end = performance.now();
      const used = process.cpuUsage(c0);
      mem.push({ start: t, end, cpu: (used.user + used.system) / 1000 });
    }
    if (storeRequests !== 0) throw new Error(`reopen from the disk cache made ${storeRequests} store requests`);
    // A new process: imports done, then open + first query from the same disk cache (cold JIT,
    // nothing verified): what a user's restarted service sees.
    // The index file in a local directory, for the new-process cold opens.
    await new LocalDirectoryStore(storeDir).put("idx", await store.get("idx"));
    const fresh: ChildRun[] = [];
    const freshCold: ChildRun[] = [];
    // The same disk reopen with each thread's resident-codes region reserved whole (32 MiB) when
    // the scan kernels are made, as before it grew on demand: side by side with today's.
    const freshWhole: ChildRun[] = [];
    const cap = 32 * 1024 * 1024; // RESIDENT_CODE_BYTES of packages/ivf/src/search-kernels.ts
    const whole = { QUIVER_TEST_SCAN_REGION: `${cap},${cap}` };
    const processes = process.env.BENCH_REOPEN_PROCESSES !== undefined ? Number(process.env.BENCH_REOPEN_PROCESSES) : ctx.quick ? 2 : 5;
    if (!Number.isInteger(processes) || processes < 0) throw new Error(`BENCH_REOPEN_PROCESSES: a non-negative integer, got ${process.env.BENCH_REOPEN_PROCESSES}`);
    for (let i = 0; i < processes; i++) {
      ctx.progress(`new process ${i + 1}`);
      const args = { dir, storeDir, identity, dim, clusters: ctx.quick ? 64 : 1024 };
      fresh.push(await newProcessReopen({ mode: "disk", ...args }));
      freshCold.push(await newProcessReopen({ mode: "cold", ...args }));
      freshWhole.push(await newProcessReopen({ mode: "disk", ...args }, whole));
    }
    const breakdown = await reopenBreakdown({ dir, store: slow, identity, q0, search, quiet, reps: ctx.quick ? 20 : 200, gc: forceGc });
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    const roundsStart = afterCold[0]!.start;
    const roundsEnd = mem.at(-1)!.end;
    const gcsDuringRounds = gcs.filter((g) => g.end > roundsStart && g.start < roundsEnd);
    const gcIn = (x: Round): number => gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, x.end) - Math.max(g.start, x.start)), 0);
    const wall = (xs: Round[]): number[] => xs.map((x) => x.end - x.start);
    const coldMed = median(cold);
    const series = (name: string, xs: Round[], skipFirst: boolean): BenchResult["rows"][number] => {
      const ys = skipFirst ? xs.slice(1) : xs;
      const w = wall(ys);
      const g = ys.map(gcIn);
      return {
        bench: "reopen",
        series: name,
        rounds: ys.length,
        "median (ms)": r3(median(w)),
        "p90 (ms)": r3(quantile(w, 0.9)),
        "fastest (ms)": r3(Math.min(...w)),
        "CPU median (ms)": r3(median(ys.map((x) => x.cpu))),
        "median without GC (ms)": r3(median(ys.map((x, i) => x.end - x.start - g[i]!))),
        "rounds with GC": g.filter((x) => x > 0).length,
        "GC in rounds, total (ms)": r2(g.reduce((a, b) => a + b, 0)),
        "cold/median": r2(coldMed / median(w)),
        "cold/p90": r2(coldMed / quantile(w, 0.9)),
        load: machineLoad(),
      };
    };
    const shapeName = `${n} x ${dim}, PQ, ${P} partitions`;
    rows.push({ bench: "reopen", series: "cold open, 20 ms/request store", shape: shapeName, rounds: cold.length, "median (ms)": r2(coldMed), "p90 (ms)": r2(quantile(cold, 0.9)), "fastest (ms)": r2(Math.min(...cold)), load: machineLoad() });
    rows.push(series("disk cache, after a cold open", afterCold, true));
    rows.push(series("disk cache, after a cold open + forced GC", afterGc, false));
    rows.push(series("disk cache, after a disk round", backToBack, false));
    rows.push(series("disk cache, after a disk round, backend made inside the round", backendInside, false));
    rows.push(series("memory cache", mem, false));
    const first = afterCold[0]!;
    rows.push({ bench: "reopen", series: "disk cache, first in process", rounds: 1, "median (ms)": r3(first.end - first.start), "CPU median (ms)": r3(first.cpu), "GC in rounds, total (ms)": r2(gcIn(first)), "cold/median": r2(coldMed / (first.end - first.start)), load: machineLoad() });
    if (fresh.length > 0) {
      const fw = fresh.map((f) => f.openQuery);
      const fc = freshCold.map((f) => f.openQuery);
      rows.push({ bench: "reopen", series: "cold open, new process (after imports)", rounds: fc.length, "median (ms)": r3(median(fc)), "p90 (ms)": r3(quantile(fc, 0.9)), "fastest (ms)": r3(Math.min(...fc)), "CPU median (ms)": r3(median(freshCold.map((f) => f.cpu))), "imports (ms)": r2(median(freshCold.map((f) => f.importMs))), load: machineLoad() });
      const fww = freshWhole.map((f) => f.openQuery);
      rows.push({ bench: "reopen", series: "disk cache, new process, 32 MiB region reserved at once (before)", rounds: fww.length, "median (ms)": r3(median(fww)), "p90 (ms)": r3(quantile(fww, 0.9)), "fastest (ms)": r3(Math.min(...fww)), "CPU median (ms)": r3(median(freshWhole.map((f) => f.cpu))), "cold/median": r2(coldMed / median(fww)), "new-process cold/median": r2(median(fc) / median(fww)), "imports (ms)": r2(median(freshWhole.map((f) => f.importMs))), load: machineLoad() });
      rows.push({ bench: "reopen", series: "disk cache, new process (after imports)", rounds: fw.length, "median (ms)": r3(median(fw)), "p90 (ms)": r3(quantile(fw, 0.9)), "fastest (ms)": r3(Math.min(...fw)), "CPU median (ms)": r3(median(fresh.map((f) => f.cpu))), "cold/median": r2(coldMed / median(fw)), "new-process cold/median": r2(median(fc) / median(fw)), "imports (ms)": r2(median(fresh.map((f) => f.importMs))), load: machineLoad() });
    }
    for (const b of breakdown) rows.push({ bench: "reopen breakdown", ...b, load: machineLoad() });
    // The new process piece by piece (medians over the processes of each mode, per piece).
    for (const [mode, runs] of [["disk cache", fresh], ["disk cache, 32 MiB region at once (before)", freshWhole], ["cold", freshCold]] as const) {
      if (runs.length === 0) continue;
      for (const [i, ph] of runs[0]!.phases.entries()) {
        const col = (f: (p: ChildRun["phases"][number]) => number): number => r3(median(runs.map((r) => f(r.phases[i]!))));
        rows.push({ bench: "reopen new-process breakdown", mode, piece: ph.piece, processes: runs.length, "wall (ms)": col((p) => p.wall), "CPU (ms)": col((p) => p.cpu), "GC (ms)": col((p) => p.gc), load: machineLoad() });
      }
    }
    rows.push({ bench: "reopen", series: "store requests, every disk round", "store requests": storeRequests });
    rows.push({ bench: "reopen", series: "disk entry gets served from a remembered value (unchanged file, one stat), per disk round", count: r2(rememberedHits / diskRounds) });
    rows.push({ bench: "reopen", series: "GCs while the rounds ran (cold opens included)", count: gcsDuringRounds.length, "ms": r2(gcsDuringRounds.reduce((a, g) => a + g.end - g.start, 0)) });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(storeDir, { recursive: true, force: true });
  }

  return {
    rows,
    notes: [
      "reopen = openVectorIndex + the first search (k 10, nprobes 20); cold: in-memory cache over a LatencyStore of 20 ms per request; disk: a fresh DiskCacheBackend per round (made before the clock) over a directory an earlier open prewarmed (state + every partition), every open counted by IoStatsStore (must be 0 requests); memory: a prewarmed in-memory IndexCache",
      "disk series, interleaved per round: after a cold open (as a user alternating indexes would; its garbage may be collected inside the disk round), after a cold open and a forced full GC (gc() between them), and after another disk round (no cold open between), each with a fresh DiskCacheBackend whose directory set-up (3 mkdir + a heartbeat write, thread-pool calls) finished before the clock (the backend as process infrastructure); the 'backend made inside the round' series makes it inside the clock (reads do not wait for that set-up); 'after a cold open' skips round 1, which is reported as 'first in process' (every entry decoded with all its checks)",
      "GC columns: PerformanceObserver 'gc' entries matched to each round's window by start time and duration; 'median without GC' subtracts each round's GC time from its wall time",
      "new-process breakdown: the child's whole life piece by piece (medians over its processes): each @quiver package's import in dependency order (tsx transpiling included; a compiled install pays only the evaluation), the disk backend's constructor and directory set-up, the open, the first query, a second query over other partitions and the first query again; GC from PerformanceObserver 'gc' matched by time; BENCH_REOPEN_CPU_PROF=<dir> writes a CPU profile of each child's open + first query there",
      "new process, 32 MiB region reserved at once (before): the same child with QUIVER_TEST_SCAN_REGION set to the cap for both sizes, replaying the previous layout (each thread's resident-codes region reserved whole when its scan kernels were made) side by side with today's (1 MiB, doubling on demand)",
      "new process: a child Node process (bench/reopen-child.ts) opens the index from the same disk cache over an empty counted store (0 requests) and runs the first query; timed after its imports (the imports column, tsx transpiling included), so cold JIT and a full verify of every entry are inside",
      "CPU columns: process.cpuUsage (user + system, all threads) over the same window; wall times above ~1 ms pay a scheduler wait per preemption on a loaded machine",
      "breakdown rows: each piece timed alone in the warm process (medians); a later disk round compares each entry with bytes verified before in this process (memcmp) instead of re-hashing it; a value that died since (GC) is decoded and checked in full",
      "BENCH_SHAPES=NxDIMxP selects the shape (default 100000x128x256), BENCH_REOPEN_ROUNDS the rounds per series (default 21); the verified-decode rows are in bench/cache-decode.bench.ts",
    ],
  };
}
