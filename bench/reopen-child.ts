/**
 * Child of bench/reopen.bench.ts: a new Node process that opens the bench index and runs the
 * first query, timed after the imports (cold JIT, nothing verified in this process), either from
 * the disk cache over an empty counted store (the reopen must make no store request at all) or
 * cold over a 20 ms/request LatencyStore around a LocalDirectoryStore holding the index file.
 * Prints one JSON line: { openQuery, importMs, cpu, phases } in milliseconds, where `phases` is
 * the piece-by-piece breakdown of the whole process life (wall, CPU and GC time per piece:
 * each package's import, the query vectors, the disk backend's construction and directory
 * set-up, the open, the first query, a second query over other partitions, the first query
 * again). With BENCH_REOPEN_CPU_PROF=<dir> it also writes a V8 CPU profile of open + first query
 * (<dir>/reopen-<mode>-<pid>.cpuprofile, 100 us sampling) for a look at where the time goes.
 */
import { PerformanceObserver } from "node:perf_hooks";

const gcs: { start: number; end: number }[] = [];
const observer = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ start: e.startTime, end: e.startTime + e.duration });
});
observer.observe({ entryTypes: ["gc"] });
const marks: { piece: string; start: number; end: number; cpu: number }[] = [];
let lastT = performance.now();
let lastCpu = process.cpuUsage();
/** Close the current piece: its wall window and CPU time (user + system, all threads). */
const mark = (piece: string): void => {
  const end = performance.now();
  const cpu = process.cpuUsage(lastCpu);
  marks.push({ piece, start: lastT, end, cpu: (cpu.user + cpu.system) / 1000 });
  lastT = performance.now();
  lastCpu = process.cpuUsage();
};

const t0 = performance.now();
// One package at a time, in dependency order, so each row is that package's own evaluation
// (and, under tsx, its transpiling) plus its npm dependencies not loaded before.
await import("@quiver/format");
mark("import @quiver/format");
await import("@quiver/store");
mark("import @quiver/store");
await import("@quiver/cache");
mark("import @quiver/cache");
await import("@quiver/artifact");
mark("import @quiver/artifact");
await import("@quiver/ivf");
mark("import @quiver/ivf");
const { DiskCacheBackend, IndexCache } = await import("@quiver/cache");
const { gaussianMixture, openVectorIndex } = await import("@quiver/ivf");
const { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore } = await import("@quiver/store");
const importMs = performance.now() - t0;
const args = JSON.parse(process.argv[2]!) as { mode: "disk" | "cold"; dir: string; storeDir: string; identity: string; dim: number; clusters: number };
const q0 = gaussianMixture({ n: 1, dim: args.dim, clusters: args.clusters, seed: 2, centerSeed: 1 });
const q1 = gaussianMixture({ n: 1, dim: args.dim, clusters: args.clusters, seed: 5, centerSeed: 1 });
mark("query vectors (gaussianMixture)");
const backend = new DiskCacheBackend({ directory: args.dir, logger: { warn: () => undefined } });
mark("disk backend constructor");
await backend.isAvailable(); // directory set up before the clock
mark("disk backend directory set-up");
const store = new IoStatsStore(args.mode === "disk" ? new MemoryObjectStore() : new LatencyStore(new LocalDirectoryStore(args.storeDir), { latencyMs: 20 }));
const cache = args.mode === "disk" ? new IndexCache(backend) : IndexCache.inMemory();
const profDir = process.env.BENCH_REOPEN_CPU_PROF;
let session: import("node:inspector/promises").Session | undefined;
if (profDir !== undefined) {
  const { Session } = await import("node:inspector/promises");
  session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
}
mark("store + cache objects");
const c0 = process.cpuUsage();
const t = performance.now();
const index = await openVectorIndex(store, "idx", { cache, identity: args.identity });
mark("open (openVectorIndex)");
await index.search(q0, { k: 10, nprobes: 20 });
mark("first query");
const openQuery = performance.now() - t;
const used = process.cpuUsage(c0);
if (session !== undefined) {
  const { profile } = await session.post("Profiler.stop");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`${profDir}/reopen-${args.mode}-${process.pid}.cpuprofile`, JSON.stringify(profile));
  session.disconnect();
  lastT = performance.now();
  lastCpu = process.cpuUsage();
}
await index.search(q1, { k: 10, nprobes: 20 });
mark("second query (other partitions)");
await index.search(q0, { k: 10, nprobes: 20 });
mark("first query again");
const io = store.snapshot().total;
if (args.mode === "disk" && io.readRequests + io.heads + io.lists !== 0) throw new Error("the reopen made store requests");
await backend.close();
// GC entries are delivered after the fact: let them arrive, then match them to the pieces by time.
await new Promise((resolve) => setTimeout(resolve, 20));
observer.disconnect();
const gcIn = (a: number, b: number): number => gcs.reduce((sum, g) => sum + Math.max(0, Math.min(g.end, b) - Math.max(g.start, a)), 0);
const phases = marks.map((m) => ({ piece: m.piece, wall: m.end - m.start, cpu: m.cpu, gc: gcIn(m.start, m.end) }));
process.stdout.write(`${JSON.stringify({ openQuery, importMs, cpu: (used.user + used.system) / 1000, phases })}\n`);
