/**
 * Child process of build-scale.bench.ts: one `buildIndex` from an .npy file with a memory sampler
 * (process.memoryUsage every 100 ms and at every progress event: rss, heapUsed, external,
 * arrayBuffers; the maximum of each per phase), so each build's peaks are its own. RSS counts the
 * worker threads; the other three are the main thread's V8 heap figures. Prints one JSON line.
 */
import { type BuildPhase, buildIndex } from "@quiver/build";
import { LocalDirectoryStore } from "@quiver/store";
import { vmHwm } from "./machine.js";

const [input, storeDir, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as Record<string, unknown>;
type Peaks = { rss: number; heapUsed: number; external: number; arrayBuffers: number };
const byPhase: Partial<Record<BuildPhase | "open", Peaks>> = {};
let phase: BuildPhase | "open" = "open";
const sample = (): void => {
  const m = process.memoryUsage();
  const p = (byPhase[phase] ??= { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 });
  p.rss = Math.max(p.rss, m.rss);
  p.heapUsed = Math.max(p.heapUsed, m.heapUsed);
  p.external = Math.max(p.external, m.external);
  p.arrayBuffers = Math.max(p.arrayBuffers, m.arrayBuffers);
};
const timer = setInterval(sample, 100);
const t = performance.now();
const cpu0 = process.cpuUsage();
const r = await buildIndex({
  input: input!,
  store: new LocalDirectoryStore(storeDir!),
  path: "index.qvr",
  ...options,
  onProgress: (e) => {
    if (e.phase !== phase) {
      sample();
      phase = e.phase;
    }
    sample();
  },
});
sample();
const totalMs = performance.now() - t;
const cpu = process.cpuUsage(cpu0);
clearInterval(timer);
process.stdout.write(
  `${JSON.stringify({
    totalMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    phases: r.phases,
    fileBytes: r.fileSize,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    vmHwmBytes: vmHwm(),
    byPhase,
    memory: r.memory,
    peakPartitionBytes: r.peakPartitionBytes,
  })}\n`,
);
