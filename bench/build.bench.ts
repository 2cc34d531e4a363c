/**
 * The build pipeline side by side with LanceDB in one run: IVF_PQ build time (Quiver per phase),
 * recall@10 at nprobes 20 (plain and refine 10) and Quiver's peak RSS, at 100k x 128, 1M x 128 and
 * 100k x 768, L2 and cosine, on an equal-size Gaussian mixture and on clustered data with unequal
 * cluster sizes (Zipf weights) and per-dimension scales. Quiver builds run in a child process
 * (bench/build-child.ts) through `buildIndex` from an .npy file, so each RSS is its own. RSS by N
 * at a fixed budget is bench/build-scale.bench.ts. BENCH_QUICK=1 shrinks every size.
 * BENCH_SHAPES=name,name selects shapes by their table name (e.g. "1000k x 128 cosine unequal";
 * default all); a selected run writes bench/results/build.partial.json too. BENCH_QUERIES sets the
 * recall queries; BENCH_QUIVER_VARIANTS (a JSON array of build options) runs several Quiver builds
 * per shape side by side (e.g. '[{}, {"ivfMaxIterations": 50}]').
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as lancedb from "@lancedb/lancedb";
import { encodeNpyF32 } from "@quiver/build";
import { type DistanceType, bruteForceKnn, gaussianMixture, openVectorIndex, recallAtK } from "@quiver/ivf";
import { LocalDirectoryStore } from "@quiver/store";
import { arrowTable } from "./lance-table.js";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";

const here = fileURLToPath(new URL(".", import.meta.url));

/** Clustered data with unequal cluster sizes (weight 1/(c+1)) and per-dimension scales in [0.2, 3]. */
export function clusteredUnequal(n: number, dim: number, clusters: number, seed: number, centerSeed = seed): Float32Array {
  let a = centerSeed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const scale = Float32Array.from({ length: dim }, () => 0.2 + rnd() * 2.8);
  const centres = Float32Array.from({ length: clusters * dim }, (_, i) => (rnd() * 2 - 1) * 2 * scale[i % dim]!);
  const cum = new Float64Array(clusters);
  let s = 0;
  for (let c = 0; c < clusters; c++) cum[c] = s += 1 / (c + 1);
  a = (seed ^ 0x1234567) >>> 0;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const u = rnd() * s;
    let lo = 0;
    let hi = clusters - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    const spread = 0.3 + 0.4 * ((lo * 7919) % 13) / 13; // clusters of different widths too
    for (let j = 0; j < dim; j += 2) {
      const u1 = rnd() || 1e-12;
      const u2 = rnd();
      const m = Math.sqrt(-2 * Math.log(u1));
      out[i * dim + j] = centres[lo * dim + j]! + spread * scale[j]! * m * Math.cos(2 * Math.PI * u2);
      if (j + 1 < dim) out[i * dim + j + 1] = centres[lo * dim + j + 1]! + spread * scale[j + 1]! * m * Math.sin(2 * Math.PI * u2);
    }
  }
  return out;
}

interface ChildReport {
  totalMs: number;
  cpuMs: number;
  vmHwmBytes: number;
  phases: { phase: string; ms: number; status: string }[];
  phaseCpuMs: Record<string, number>;
  /** CPU per phase and thread kind (bench/build-child.ts: main thread, the build's worker threads, every other thread). */
  phaseThreadCpuMs: Record<string, { main: number; workers: number; other: number }>;
  threadCpuMs: { main: number; workers: number; other: number };
  fileBytes: number;
  maxRssBytes: number;
}

function quiverBuild(input: string, storeDir: string, options: Record<string, unknown>): ChildReport {
  const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", join(here, "build-child.ts"), input, storeDir, JSON.stringify(options)], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
    cwd: join(here, ".."),
  });
  if (r.status !== 0) throw new Error(`build child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildReport;
}

const s = (ms: number): number => Number((ms / 1000).toFixed(2));

/** Phase names of the build and their column labels. */
const PHASE_COLUMNS: readonly (readonly [string, string])[] = [["sample", "sample"], ["train-ivf", "train ivf"], ["train-quantizer", "train pq"], ["assign-encode", "assign+encode"], ["finalize", "finalize"]];

/** "main/workers/other" CPU seconds (10 ms ticks of /proc/self/task), or "-" when not measured. */
function kindsText(k: { main: number; workers: number; other: number } | undefined): string {
  return k === undefined ? "-" : `${(k.main / 1000).toFixed(2)}/${(k.workers / 1000).toFixed(2)}/${(k.other / 1000).toFixed(2)}`;
}

/** Standard error of the mean per-query difference of recall@10 between two result lists (paired by query). */
function pairedSe(a: readonly (readonly (number | bigint)[])[], b: readonly (readonly (number | bigint)[])[], truth: Int32Array): number {
  const d = a.map((r, i) => recallAtK([r], truth.subarray(i * 10, i * 10 + 10), 10) - recallAtK([b[i]!], truth.subarray(i * 10, i * 10 + 10), 10));
  const mean = d.reduce((x, y) => x + y, 0) / d.length;
  const variance = d.reduce((x, y) => x + (y - mean) ** 2, 0) / Math.max(1, d.length - 1);
  return Math.sqrt(variance / d.length);
}

/** The checked-out commit (so a results file says which code it measured). */
function gitHead(): string {
  const r = spawnSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", cwd: here });
  return r.status === 0 ? r.stdout.trim() : "unknown";
}

/** Variables that select part of this bench or change what it measures: a run with any set writes build.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_QUERIES", "BENCH_QUIVER_VARIANTS"];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const q = ctx.quick;
  type Shape = { n: number; dim: number; distance: DistanceType; data: "equal" | "unequal" };
  const sizes: [number, number][] = q ? [[20_000, 32]] : [[100_000, 128], [1_000_000, 128], [100_000, 768]];
  // every shape x {equal mixture, unequal clusters with per-dimension scales} x {l2, cosine}
  // ordered so that every size is covered early (a shared machine may not let the run finish;
  // rows are also written to bench/results/build.partial.json as they complete)
  const variants: { distance: DistanceType; data: "equal" | "unequal" }[] = [
    { distance: "l2", data: "equal" }, { distance: "cosine", data: "unequal" }, { distance: "l2", data: "unequal" }, { distance: "cosine", data: "equal" },
  ];
  const labelOf = (sh: Shape): string => `${sh.n / 1000}k x ${sh.dim} ${sh.distance} ${sh.data}`;
  const all: Shape[] = variants.flatMap((v) => sizes.map(([n, dim]) => ({ n, dim, ...v })));
  const wanted = process.env.BENCH_SHAPES?.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const shapes = wanted === undefined ? all : wanted.flatMap((name) => all.filter((sh) => labelOf(sh) === name));
  if (shapes.length === 0) throw new RangeError(`BENCH_SHAPES=${process.env.BENCH_SHAPES}: none of ${all.map(labelOf).join(", ")}`);
  // recall's spread: with 100 queries the standard error of a recall difference was about 0.01-0.02
  const queriesFor = (n: number): number => Number(process.env.BENCH_QUERIES ?? (q ? 30 : n >= 1_000_000 ? 100 : 300));
  // BENCH_QUIVER_VARIANTS='[{}, {"ivfMaxIterations": 50}]': several Quiver builds per shape
  // (options merged into the build's), each a row, beside one LanceDB build
  const quiverVariants = JSON.parse(process.env.BENCH_QUIVER_VARIANTS ?? "[{}]") as Record<string, unknown>[];
  const nprobes = 20;
  const refine = 10;
  const rows: BenchResult["rows"] = [];
  const notes: string[] = [`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`, `code: commit ${gitHead()}`];
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-build-"));
  try {
    for (const [si, sh] of shapes.entries()) {
      const { n, dim, distance } = sh;
      const Q = queriesFor(n);
      const P = n >= 1_000_000 ? 1024 : q ? 32 : 256;
      const m = dim / 16;
      const clusters = q ? 64 : 1024;
      const label = labelOf(sh);
      ctx.progress(`${label}: data + ground truth`);
      const load = machineLoad();
      const data = sh.data === "equal" ? gaussianMixture({ n, dim, clusters, seed: 1 }) : clusteredUnequal(n, dim, clusters, 1);
      const queries = sh.data === "equal" ? gaussianMixture({ n: Q, dim, clusters, seed: 2, centerSeed: 1 }) : clusteredUnequal(Q, dim, clusters, 2, 1);
      const truth = bruteForceKnn(data, n, dim, queries, Q, 10, distance);
      const query = (i: number): Float32Array => queries.subarray(i * dim, (i + 1) * dim);

      ctx.progress(`${label}: LanceDB`);
      const db = await lancedb.connect(join(dir, `lancedb-${si}`));
      const table = await db.createTable("vectors", arrowTable(data, n, dim));
      let t = performance.now();
      // LanceDB's threads run in this process, so its CPU time is this process's during the call
      const lanceCpu0 = process.cpuUsage();
      await table.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: P, numSubVectors: m, distanceType: distance }) });
      const lanceMs = performance.now() - t;
      const lanceCpu = process.cpuUsage(lanceCpu0);
      const lanceCpuMs = (lanceCpu.user + lanceCpu.system) / 1000;
      const lanceSearch = async (withRefine: boolean): Promise<number[][]> => {
        const out: number[][] = [];
        for (let i = 0; i < Q; i++) {
          let qq = table.vectorSearch(Array.from(query(i))).distanceType(distance).nprobes(nprobes).limit(10).select(["id", "_distance"]);
          if (withRefine) qq = qq.refineFactor(refine);
          out.push(((await qq.toArray()) as { id: number }[]).map((r) => r.id));
        }
        return out;
      };
      const lPlain = await lanceSearch(false);
      const lRefined = await lanceSearch(true);
      const lRecall = recallAtK(lPlain, truth, 10);
      const lRecallRefine = recallAtK(lRefined, truth, 10);
      table.close();
      db.close();
      await rm(join(dir, `lancedb-${si}`), { recursive: true, force: true });

      const input = join(dir, `input-${si}.npy`);
      await writeFile(input, encodeNpyF32(data, n, dim));
      for (const variant of quiverVariants) {
        ctx.progress(`${label}: Quiver ${JSON.stringify(variant)}`);
        const storeDir = join(dir, `quiver-${si}`);
        const rep = quiverBuild(input, storeDir, { numPartitions: P, numSubVectors: m, distanceType: distance, quantizer: "pq", seed: 3, ...variant });
        const index = await openVectorIndex(new LocalDirectoryStore(storeDir), "index.qvr");
        const quiverSearch = async (withRefine: boolean): Promise<bigint[][]> => {
          const out: bigint[][] = [];
          for (let i = 0; i < Q; i++) out.push((await index.search(query(i), { k: 10, nprobes, ...(withRefine ? { refineFactor: refine } : {}), idType: "bigint" })).map((h) => h.id as bigint));
          return out;
        };
        const qPlain = await quiverSearch(false);
        const qRefined = await quiverSearch(true);
        const qRecall = recallAtK(qPlain, truth, 10);
        const qRecallRefine = recallAtK(qRefined, truth, 10);
        await rm(storeDir, { recursive: true, force: true });
        const ph = (name: string): number => s(rep.phases.find((p) => p.phase === name)?.ms ?? 0);
        const pc = (name: string): number => s(rep.phaseCpuMs[name] ?? 0);
        rows.push({
          shape: label,
          ...(quiverVariants.length > 1 ? { variant: JSON.stringify(variant) } : {}),
          P,
          m,
          "lance build s": s(lanceMs),
          "quiver build s": s(rep.totalMs),
          "ratio (<=0.4 target)": Number((rep.totalMs / lanceMs).toFixed(2)),
          "lance cpu s": s(lanceCpuMs),
          "quiver cpu s": s(rep.cpuMs),
          "cpu ratio": Number((rep.cpuMs / lanceCpuMs).toFixed(2)),
          "sample s": ph("sample"),
          "train ivf s": ph("train-ivf"),
          "train pq s": ph("train-quantizer"),
          "assign+encode s": ph("assign-encode"),
          "finalize s": ph("finalize"),
          "sample cpu s": pc("sample"),
          "train ivf cpu s": pc("train-ivf"),
          "train pq cpu s": pc("train-quantizer"),
          "assign+encode cpu s": pc("assign-encode"),
          "finalize cpu s": pc("finalize"),
          // per phase: main thread / worker threads / other threads (libuv fs pool, V8 GC helpers) CPU seconds
          ...Object.fromEntries(PHASE_COLUMNS.map(([name, col]) => [`${col} main/workers/other cpu s`, kindsText(rep.phaseThreadCpuMs[name])])),
          "main/workers/other cpu s": kindsText(rep.threadCpuMs),
          "lance recall": Number(lRecall.toFixed(3)),
          "quiver recall": Number(qRecall.toFixed(3)),
          "lance recall refine": Number(lRecallRefine.toFixed(3)),
          "quiver recall refine": Number(qRecallRefine.toFixed(3)),
          "plain diff se": Number(pairedSe(qPlain, lPlain, truth).toFixed(4)),
          "refine diff se": Number(pairedSe(qRefined, lRefined, truth).toFixed(4)),
          queries: Q,
          "quiver peak RSS MiB": Math.round(Math.max(rep.maxRssBytes, rep.vmHwmBytes) / 2 ** 20),
          "input MiB": Math.round((n * dim * 4) / 2 ** 20),
          "load at start": load,
        });
      }
      await rm(input, { force: true });
      if (!q) writeFileSync(join(here, "results", "build.partial.json"), JSON.stringify({ name: "build", partial: true, date: new Date().toISOString(), rows, notes }, null, 2) + "\n");
    }

    notes.push(`load average at end: ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
    if (wanted !== undefined) notes.push(`BENCH_SHAPES selection: ${shapes.map(labelOf).join(", ")}`);
    notes.push("Quiver phase CPU seconds: its build child's process CPU clock (worker threads included) from a phase's first progress event to the next phase's.");
    notes.push("'<phase> main/workers/other cpu s': the same window split by thread (/proc/self/task, 10 ms ticks): the build child's main thread / the rest of the process clock, i.e. the threads born during the build (the compute pool's workers, the artifact reader's CRC thread) / every thread alive before it (libuv's fs pool, V8's GC and compiler helpers, tsx's loader thread). A phase whose wall clock is well above main + workers left a core idle.");
    notes.push("Quiver: buildIndex from an .npy file in a child process (tsx, TypeScript sources); its RSS includes the Node + tsx baseline (~100 MiB).");
    notes.push(`recall@10 at nprobes ${nprobes}; refine factor ${refine}; 'queries' per shape (BENCH_QUERIES, default 300 at 100k rows, 100 at 1M); same P and m for both systems, otherwise default settings on both sides.`);
    notes.push("'plain diff se' / 'refine diff se': standard error of the Quiver - LanceDB recall difference over the queries (paired per query); a difference within about 2 se of 0 is noise.");
    notes.push("ratio = Quiver build seconds / LanceDB build seconds (wall clock, run back to back); cpu ratio = the same for CPU seconds (LanceDB: this process during createIndex; Quiver: its build child, worker threads included), which the other work on a shared machine distorts less; 'load at start' is the 1-minute load average when the shape started.");
    // the partial file gets the closing notes too (a BENCH_SHAPES run's only results file)
    if (!q) writeFileSync(join(here, "results", "build.partial.json"), JSON.stringify({ name: "build", partial: wanted !== undefined, date: new Date().toISOString(), rows, notes }, null, 2) + "\n");
    return { rows, notes };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
