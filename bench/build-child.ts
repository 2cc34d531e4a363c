/**
 * Child process of build.bench.ts: one `buildIndex` from an .npy file, so each build's peak RSS
 * (getrusage maxrss and /proc/self/status VmHWM of this process, worker threads included) is its
 * own. Prints one JSON line.
 *
 * CPU per phase and per thread kind (Linux /proc/self/task/<tid>/stat, 10 ms ticks): "main" is
 * this process's main thread; "other" is every thread alive before the build (libuv's file-system
 * pool, V8's platform threads: concurrent marking and GC helpers, tsx's loader thread); "workers"
 * is the rest of the process's CPU clock: the threads born during the build (the compute pool's
 * workers, the artifact reader's CRC thread), including those that exited between two readings.
 * A phase's CPU runs from its first progress event to the next phase's first event. The RSS sampler and
 * the per-event RSS use `process.memoryUsage.rss()` (one read of the RSS): the full
 * `process.memoryUsage()` gathers heap statistics on every call, which was measured at about 1 s
 * of the main thread's CPU per 1M-row build (one call per progress event and every 50 ms).
 */
import { readFileSync, readdirSync } from "node:fs";
import { stat } from "node:fs/promises";
import { buildIndex } from "@quiver/build";
import { LocalDirectoryStore } from "@quiver/store";
import { vmHwm } from "./machine.js";

const [input, storeDir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as Record<string, unknown>;
const baseRss = process.memoryUsage.rss();

/** CPU milliseconds of every live thread of this process, by thread id (empty where /proc is missing). */
function threadCpuMs(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return out;
  }
  for (const t of tids) {
    try {
      const text = readFileSync(`/proc/self/task/${t}/stat`, "latin1");
      // fields after "(comm) ": state ppid ... utime (14th field) stime (15th), in clock ticks (100 Hz)
      const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
      out.set(Number(t), (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return out;
}

// libuv's file-system pool starts on the first asynchronous fs call: start it now, so that its
// threads count as "other" and only the build's own threads (the compute pool) as "workers"
await stat(".");
const before = new Set(threadCpuMs().keys());
type Kinds = { main: number; workers: number; other: number };
const kindsOf = (m: Map<number, number>): Kinds => {
  const k = { main: 0, workers: 0, other: 0 };
  for (const [tid, ms] of m) {
    if (tid === process.pid) k.main += ms;
    else if (before.has(tid)) k.other += ms;
    else k.workers += ms;
  }
  return k;
};
// a worker thread's counters vanish when it exits (the pool closes before buildIndex returns):
// its last reading is kept
const lastSeen = new Map<number, number>();
const readKinds = (): Kinds => {
  for (const [tid, ms] of threadCpuMs()) lastSeen.set(tid, ms);
  return kindsOf(lastSeen);
};

let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
const t = performance.now();
const cpu0 = process.cpuUsage();
const kinds0 = readKinds();
const phaseRss: Record<string, number> = {};
// CPU seconds per phase (this process, worker threads included): the CPU clock is read when the
// first progress event of a phase arrives, so a phase's CPU runs from its first event to the next phase's
const phaseCpuMs: Record<string, number> = {};
const phaseThreadCpuMs: Record<string, Kinds> = {};
let current: string | undefined;
let mark = process.cpuUsage();
let markKinds = kinds0;
const cpuMsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const closePhase = (): void => {
  if (current === undefined) return;
  const phaseMs = cpuMsSince(mark);
  phaseCpuMs[current] = (phaseCpuMs[current] ?? 0) + phaseMs;
  const k = readKinds();
  const prev = phaseThreadCpuMs[current] ?? { main: 0, workers: 0, other: 0 };
  const main = k.main - markKinds.main;
  const other = k.other - markKinds.other;
  // workers as the remainder of the process clock: a thread that started and exited inside the phase counts too
  phaseThreadCpuMs[current] = { main: prev.main + main, workers: prev.workers + Math.max(0, phaseMs - main - other), other: prev.other + other };
  markKinds = k;
};
const r = await buildIndex({
  input: input!,
  store: new LocalDirectoryStore(storeDir!),
  path: "index.qvr",
  ...options,
  onProgress: (e) => {
    phaseRss[e.phase] = Math.max(phaseRss[e.phase] ?? 0, process.memoryUsage.rss());
    if (e.phase !== current) {
      closePhase();
      current = e.phase;
      mark = process.cpuUsage();
    }
  },
});
const totalMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
closePhase();
const kinds1 = readKinds();
clearInterval(timer);
process.stdout.write(
  `${JSON.stringify({
    totalMs,
    phases: r.phases,
    fileBytes: r.fileSize,
    numPartitions: r.metadata.numPartitions,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    vmHwmBytes: vmHwm(),
    cpuMs: (cpu.user + cpu.system) / 1000,
    phaseCpuMs,
    phaseThreadCpuMs,
    threadCpuMs: {
      main: kinds1.main - kinds0.main,
      workers: Math.max(0, (cpu.user + cpu.system) / 1000 - (kinds1.main - kinds0.main) - (kinds1.other - kinds0.other)),
      other: kinds1.other - kinds0.other,
    },
    memory: r.memory,
    sampledPeakRssBytes: peak,
    startRssBytes: baseRss,
    phaseRssMiB: Object.fromEntries(Object.entries(phaseRss).map(([k, v]) => [k, v >> 20])),
  })}\n`,
);
