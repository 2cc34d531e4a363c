/**
 * The build pipeline at scale: 1M, 4M and 10M x 128 (about 5 GiB of vectors at 10M), generated
 * once into a temp dir as .npy (the largest file is written in chunks; the smaller ones are its
 * prefixes), each built by `buildIndex` streaming from the file with one fixed memory budget and
 * one fixed partition count, in a child process (bench/build-scale-child.ts) so the peak RSS is
 * that build's own (VmHWM, worker threads included), with a memory sampler per phase. Rows:
 * seconds per phase, peak RSS (whole build and per phase), RSS / input, index size, the build's
 * budgeted structures (finalize window, largest partition) and the machine load when the row
 * started. BENCH_QUICK=1 shrinks every size. BENCH_SCALE_DIR=<dir> keeps the generated inputs
 * there (reused by the next run when their size matches) instead of a temp dir removed after.
 */
import { spawnSync } from "node:child_process";
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, statSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { type BuildMemoryStats, encodeNpy } from "@quiver/build";
import { gaussianMixture } from "@quiver/ivf";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const MiB = 2 ** 20;

/** Rows per generated chunk (each chunk its own seed, all chunks sharing the cluster centres). */
const GEN_CHUNK_ROWS = 100_000;

/** The .npy header for `rows` x `dim` float32 rows (the data follows it). */
function npyHeader(rows: number, dim: number): Uint8Array {
  return encodeNpy("<f4", [rows, dim], new Uint8Array(0));
}

/** Writes `rows` x `dim` mixture rows to `file` chunk by chunk (memory: one chunk). */
function generateNpy(file: string, rows: number, dim: number): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, npyHeader(rows, dim));
    for (let start = 0, c = 0; start < rows; start += GEN_CHUNK_ROWS, c++) {
      const count = Math.min(GEN_CHUNK_ROWS, rows - start);
      const data = gaussianMixture({ n: count, dim, clusters: 1024, seed: 1000 + c, centerSeed: 7 });
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    closeSync(fd);
  }
}

/** `rows`-row prefix of the .npy `source` (whose rows have `dim` floats) as its own file. */
async function prefixNpy(source: string, target: string, rows: number, dim: number): Promise<void> {
  // the source's header length (bytes 8-9, little-endian) tells where its rows start
  let headerLen = 0;
  for await (const b of createReadStream(source, { start: 8, end: 9 })) headerLen = (b as Buffer).readUInt16LE(0);
  const out = createWriteStream(target);
  out.write(npyHeader(rows, dim));
  const dataStart = 10 + headerLen;
  await pipeline(createReadStream(source, { start: dataStart, end: dataStart + rows * dim * 4 - 1 }), out);
}

type Peaks = { rss: number; heapUsed: number; external: number; arrayBuffers: number };

interface ChildReport {
  totalMs: number;
  cpuMs: number;
  phases: { phase: string; ms: number; status: string }[];
  fileBytes: number;
  maxRssBytes: number;
  vmHwmBytes: number;
  byPhase: Record<string, Peaks>;
  memory: BuildMemoryStats;
  peakPartitionBytes: number;
}

function quiverBuild(input: string, storeDir: string, options: Record<string, unknown>, timeoutMs: number): ChildReport | "timeout" {
  const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", join(here, "build-scale-child.ts"), input, storeDir, JSON.stringify(options)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    cwd: join(here, ".."),
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") return "timeout";
  if (r.status !== 0) throw new Error(`build child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildReport;
}

const s = (ms: number): number => Number((ms / 1000).toFixed(1));

/** Variables that select part of this bench or change what it measures: a run with any set writes build-scale.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the scale bench. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const q = ctx.quick;
  const dim = q ? 32 : 128;
  const sizes = q ? [50_000, 200_000] : [1_000_000, 4_000_000, 10_000_000];
  const numPartitions = q ? 64 : 512;
  const budget = q ? 64 * MiB : 256 * MiB;
  // a build that has not finished in this long is reported as such (the machine is shared)
  const timeoutMs = q ? 10 * 60_000 : 40 * 60_000;
  const rows: BenchResult["rows"] = [];
  const phaseNotes: string[] = [];
  const mib = (v: number | undefined): number | null => (v === undefined ? null : Math.round(v / MiB));
  const notes: string[] = [];
  const keep = process.env.BENCH_SCALE_DIR ?? "";
  const dir = keep !== "" ? keep : await mkdtemp(join(tmpdir(), "quiver-bench-scale-"));
  if (keep !== "") await mkdir(dir, { recursive: true });
  const sized = (file: string, n: number): boolean => existsSync(file) && statSync(file).size === npyHeader(n, dim).byteLength + n * dim * 4;
  try {
    const largest = sizes[sizes.length - 1]!;
    const bigFile = join(dir, `vectors-${largest}-${dim}.npy`);
    let t = performance.now();
    if (sized(bigFile, largest)) notes.push(`reused ${bigFile} (${largest} x ${dim}, generated by an earlier run with the same generator); smaller inputs are its prefixes`);
    else {
      ctx.progress(`generating ${largest} x ${dim}`);
      generateNpy(bigFile, largest, dim);
      notes.push(`generated ${largest} x ${dim} (${Math.round((largest * dim * 4) / MiB)} MiB) in ${s(performance.now() - t)} s; smaller inputs are its prefixes`);
    }
    for (const n of sizes) {
      const input = n === largest ? bigFile : join(dir, `vectors-${n}-${dim}.npy`);
      if (n !== largest && !sized(input, n)) {
        t = performance.now();
        await prefixNpy(bigFile, input, n, dim);
      }
      ctx.progress(`build ${n} x ${dim}`);
      const load = machineLoad();
      const storeDir = join(dir, `index-${n}`);
      const rep = quiverBuild(input, storeDir, { numPartitions, numSubVectors: dim / 16, seed: 3, memoryBudgetBytes: budget }, timeoutMs);
      await rm(storeDir, { recursive: true, force: true });
      if (n !== largest && keep === "") await rm(input, { force: true });
      const inputMiB = (n * dim * 4) / MiB;
      if (rep === "timeout") {
        rows.push({ rows: `${n / 1e6}M x ${dim}`, "build s": `> ${timeoutMs / 60_000} min (killed)`, "load at start": load });
        notes.push(`${n} rows did not finish within ${timeoutMs / 60_000} minutes under the shared load; larger sizes were not run`);
        break;
      }
      const ph = (name: string): number => s(rep.phases.find((p) => p.phase === name)?.ms ?? 0);
      const peak = Math.max(rep.vmHwmBytes, rep.maxRssBytes);
      rows.push({
        rows: `${n / 1e6}M x ${dim}`,
        "build s": s(rep.totalMs),
        "cpu s": s(rep.cpuMs),
        "sample s": ph("sample"),
        "train ivf s": ph("train-ivf"),
        "train pq s": ph("train-quantizer"),
        "assign+encode s": ph("assign-encode"),
        "finalize s": ph("finalize"),
        "peak RSS MiB": Math.round(peak / MiB),
        "input MiB": Math.round(inputMiB),
        "RSS / input": Number((peak / MiB / inputMiB).toFixed(2)),
        "index MiB": Math.round(rep.fileBytes / MiB),
        "RSS sample": mib(rep.byPhase.sample?.rss),
        "RSS train": Math.max(mib(rep.byPhase["train-ivf"]?.rss) ?? 0, mib(rep.byPhase["train-quantizer"]?.rss) ?? 0),
        "RSS assign": mib(rep.byPhase["assign-encode"]?.rss),
        "RSS finalize": mib(rep.byPhase.finalize?.rss),
        "finalize window MiB": Number((rep.memory.finalizePeakBufferedBytes / MiB).toFixed(1)),
        "largest partition MiB": Number((rep.memory.largestPartitionBytes / MiB).toFixed(1)),
        "load at start": load,
      });
      // the main thread's V8 figures per phase (maxima of process.memoryUsage()), MiB
      const phases = Object.entries(rep.byPhase).map(([phase, p]) => `${phase} rss ${mib(p.rss)} heapUsed ${mib(p.heapUsed)} external ${mib(p.external)} arrayBuffers ${mib(p.arrayBuffers)}`);
      phaseNotes.push(`${n / 1e6}M x ${dim} per phase (MiB): ${phases.join("; ")}`);
    }
    notes.push(...phaseNotes);
    const peaks = rows.map((r) => r["peak RSS MiB"]).filter((v): v is number => typeof v === "number");
    const ratio1 = rows.find((r) => typeof r["RSS / input"] === "number")?.["RSS / input"];
    if (typeof ratio1 === "number") notes.push(`peak RSS / input at the smallest size: ${ratio1} (target <= 1.5 at 1M)`);
    if (peaks.length > 1) {
      const lo = Math.min(...peaks);
      const hi = Math.max(...peaks);
      notes.push(`peak RSS across sizes: ${lo}-${hi} MiB, spread ${(((hi - lo) / lo) * 100).toFixed(1)}% of the smallest (target: flat within 10%)`);
    }
    notes.push(
      `fixed budget memoryBudgetBytes = ${budget / MiB} MiB and ${numPartitions} partitions at every size; PQ m = ${dim / 16}, raw vectors stored; ` +
        "peak RSS = max(VmHWM, getrusage maxrss) of the build's child process (Node + tsx baseline about 100 MiB, worker threads included); " +
        "RSS <phase> (MiB) and the per-phase notes: maxima of process.memoryUsage() in that phase, sampled every 100 ms (rss includes the worker thread; heapUsed / external / arrayBuffers are the main thread's); " +
        "finalize window = most fetched artifact bytes held at once (bounded by budget / 4), largest partition = its ids + codes + raw vectors (held whole before the split read)",
    );
    return { rows, notes };
  } finally {
    if (keep === "") await rm(dir, { recursive: true, force: true });
  }
}
