/**
 * Child process of build.bench.ts and build-scale.bench.ts: one `buildIndex` from an .npy file,
 * so each build's peak RSS (getrusage maxrss and /proc/self/status VmHWM of this process, worker
 * threads included) is its own. Prints one JSON line.
 */
import { buildIndex } from "@quiver/build";
import { LocalDirectoryStore } from "@quiver/store";
import { vmHwm } from "./machine.js";

const [input, storeDir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as Record<string, unknown>;
const baseRss = process.memoryUsage().rss;
let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
const t = performance.now();
const cpu0 = process.cpuUsage();
const phaseRss: Record<string, number> = {};
// CPU seconds per phase (this process, worker threads included): the CPU clock is read when the
// first progress event of a phase arrives, so a phase's CPU runs from its first event to the next phase's
const phaseCpuMs: Record<string, number> = {};
let current: string | undefined;
let mark = process.cpuUsage();
const cpuMsSince = (from: NodeJS.CpuUsage): number => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};
const r = await buildIndex({
  input: input!,
  store: new LocalDirectoryStore(storeDir!),
  path: "index.qvr",
  ...options,
  onProgress: (e) => {
    phaseRss[e.phase] = Math.max(phaseRss[e.phase] ?? 0, process.memoryUsage().rss);
    if (e.phase !== current) {
      if (current !== undefined) phaseCpuMs[current] = (phaseCpuMs[current] ?? 0) + cpuMsSince(mark);
      current = e.phase;
      mark = process.cpuUsage();
    }
  },
});
const totalMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
if (current !== undefined) phaseCpuMs[current] = (phaseCpuMs[current] ?? 0) + cpuMsSince(mark);
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
    sampledPeakRssBytes: peak,
    startRssBytes: baseRss,
    phaseRssMiB: Object.fromEntries(Object.entries(phaseRss).map(([k, v]) => [k, v >> 20])),
  })}\n`,
);
