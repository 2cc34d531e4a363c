/**
 * The main job: a seeded mixture-of-Gaussians dataset, an IVF_PQ build into a local directory
 * store, a prewarm into a disk cache, a reopen from that cache in a fresh process running the
 * queries, and recall@k against brute force. Embedded: no servers.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskCacheBackend, IndexCache } from "@quiver/cache";
import { buildIndex, encodeNpyF32 } from "@quiver/build";
import { gaussianMixture, openVectorIndex, recallAtK } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { parallelGroundTruth } from "./ground-truth.js";
import { E2E_FILES, type ReopenReport } from "./reopen-phase.js";

/** Options of {@link runEndToEndJob}; every default is the documented main job. */
export interface EndToEndJobOptions {
  /** Rows (default 200,000). */
  readonly rows?: number;
  /** Dimensions (default 128). */
  readonly dim?: number;
  /** Mixture components (default 1,024). */
  readonly clusters?: number;
  /** Queries (default 1,000), drawn from the same mixture with another seed. */
  readonly queries?: number;
  /** IVF partitions (default 256). */
  readonly numPartitions?: number;
  /** PQ sub-vectors (default 16). */
  readonly numSubVectors?: number;
  readonly k?: number;
  readonly nprobes?: number;
  readonly refineFactor?: number;
  /** Seed of the dataset and the build (default 20261122). */
  readonly seed?: number;
  /** Where the store, the cache and the hand-off files go (default: a fresh temp dir, removed afterwards). */
  readonly workDir?: string;
  /** Keep the work directory (default false for a temp dir). */
  readonly keep?: boolean;
  /** Show progress (default: stdout is a TTY). */
  readonly tty?: boolean;
  /** Where report lines go (default console.log). */
  readonly out?: (line: string) => void;
}

/** What the main job measured. */
export interface EndToEndReport {
  readonly rows: number;
  readonly dim: number;
  readonly queries: number;
  readonly numPartitions: number;
  readonly datasetMs: number;
  readonly build: { readonly totalMs: number; readonly sampleMs: number; readonly trainIvfMs: number; readonly trainQuantizerMs: number; readonly assignEncodeMs: number; readonly writeMs: number; readonly fileBytes: number };
  readonly prewarmMs: number;
  readonly groundTruthMs: number;
  readonly reopen: ReopenReport;
  readonly recall: { readonly plain: number; readonly refine: number };
  readonly childMs: number;
}

const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url));
// Installed from the registry this module is dist/e2e/end-to-end-job.js and the child is plain
// compiled JavaScript next to it; in the workspace it is the TypeScript source, run through tsx.
const compiledChild = new URL("./reopen-main.js", import.meta.url);

function childCommand(): { command: string; args: string[]; cwd: string } {
  if (import.meta.url.endsWith(".js") && existsSync(fileURLToPath(compiledChild))) {
    return { command: process.execPath, args: [fileURLToPath(compiledChild)], cwd: process.cwd() };
  }
  const local = join(repoRoot, "node_modules", ".bin", "tsx");
  const tsx = existsSync(local) ? local : "tsx";
  return { command: tsx, args: ["--conditions=quiver-source", fileURLToPath(new URL("./reopen-main.ts", import.meta.url))], cwd: repoRoot };
}

function runChild(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = childCommand();
    const child = spawn(c.command, [...c.args, ...args], { cwd: c.cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`reopen process exited with ${code}`))));
  });
}

/** Run the main job end to end and print its report. */
export async function runEndToEndJob(o: EndToEndJobOptions = {}): Promise<EndToEndReport> {
  const rows = o.rows ?? 200_000;
  const dim = o.dim ?? 128;
  const q = o.queries ?? 1000;
  const numPartitions = o.numPartitions ?? 256;
  const k = o.k ?? 10;
  const nprobes = o.nprobes ?? 20;
  const refineFactor = o.refineFactor ?? 10;
  const seed = o.seed ?? 20261122;
  const tty = o.tty ?? process.stdout.isTTY === true;
  const out = o.out ?? ((line: string) => console.log(line));
  const progress = (msg: string): void => {
    if (tty) process.stderr.write(`\r\x1b[2K${msg}`);
  };
  const endProgress = (): void => {
    if (tty) process.stderr.write("\r\x1b[2K");
  };
  const workDir = o.workDir ?? (await mkdtemp(join(tmpdir(), "quiver-main-")));
  const removeAfter = o.workDir === undefined && o.keep !== true;
  try {
    await mkdir(workDir, { recursive: true });
    progress(`dataset: ${rows} x ${dim} mixture of Gaussians`);
    let t = performance.now();
    const vectors = gaussianMixture({ n: rows, dim, clusters: o.clusters ?? 1024, seed });
    const queries = gaussianMixture({ n: q, dim, clusters: o.clusters ?? 1024, seed: seed + 1, centerSeed: seed });
    const datasetMs = performance.now() - t;
    await writeFile(join(workDir, E2E_FILES.queries), new Uint8Array(queries.buffer));

    // The dataset goes through the build pipeline as a user's file would: an .npy read in bounded memory.
    const inputFile = join(workDir, "vectors.npy");
    await writeFile(inputFile, encodeNpyF32(vectors, rows, dim));
    const store = new LocalDirectoryStore(join(workDir, E2E_FILES.store));
    const result = await buildIndex({
      input: inputFile,
      store,
      path: E2E_FILES.indexPath,
      quantizer: "pq",
      distanceType: "l2",
      numPartitions,
      numSubVectors: o.numSubVectors ?? 16,
      seed,
      onProgress: (e) => progress(`build: ${e.phase} ${e.done}${e.total === undefined ? "" : `/${e.total}`}`),
    });
    const phaseMs = (name: string): number => result.phases.find((p) => p.phase === name)?.ms ?? 0;
    const built = {
      identity: result.identity,
      fileSize: result.fileSize,
      timings: {
        totalMs: result.totalMs,
        sampleMs: phaseMs("sample"),
        trainIvfMs: phaseMs("train-ivf"),
        trainQuantizerMs: phaseMs("train-quantizer"),
        assignEncodeMs: phaseMs("assign-encode"),
        writeMs: phaseMs("finalize"),
      },
    };

    await writeFile(join(workDir, E2E_FILES.identity), built.identity);
    progress("prewarm: state and every partition into the disk cache");
    t = performance.now();
    const backend = new DiskCacheBackend({ directory: join(workDir, E2E_FILES.cache), maxBytes: 4 * 1024 * 1024 * 1024 });
    const index = await openVectorIndex(new IoStatsStore(store), E2E_FILES.indexPath, { cache: new IndexCache(backend) });
    await index.prewarm();
    await backend.close();
    const prewarmMs = performance.now() - t;

    progress(`reopen in a fresh process: ${q} queries x 2 passes`);
    t = performance.now();
    await runChild([workDir, String(dim), String(k), String(nprobes), String(refineFactor)]);
    const childMs = performance.now() - t;
    const reopen = JSON.parse(await readFile(join(workDir, E2E_FILES.report), "utf8")) as ReopenReport;

    t = performance.now();
    const truth = await parallelGroundTruth(vectors, rows, dim, queries, q, k, { onProgress: (d) => progress(`brute force: ${d}/${q} queries`) });
    const groundTruthMs = performance.now() - t;
    const recallOf = async (pass: string): Promise<number> => {
      const raw = await readFile(join(workDir, E2E_FILES.results(pass)));
      const ids = new BigUint64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      return recallAtK(Array.from({ length: q }, (_, i) => Array.from(ids.subarray(i * k, (i + 1) * k))), truth, k);
    };
    const recall = { plain: await recallOf("plain"), refine: await recallOf("refine") };
    endProgress();

    const report: EndToEndReport = {
      rows,
      dim,
      queries: q,
      numPartitions,
      datasetMs,
      build: { ...built.timings, fileBytes: built.fileSize },
      prewarmMs,
      groundTruthMs,
      reopen,
      recall,
      childMs,
    };
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    out(`quiver main job: IVF_PQ (${numPartitions} partitions, ${o.numSubVectors ?? 16} sub-vectors, L2) over ${rows} x ${dim} seeded mixture of ${o.clusters ?? 1024} Gaussians (seed ${seed})`);
    out(`  dataset generated in ${s(datasetMs)}`);
    out(`  build through @quiver/build from an .npy file ${s(built.timings.totalMs)} (sample ${s(built.timings.sampleMs)}, train IVF ${s(built.timings.trainIvfMs)}, train PQ ${s(built.timings.trainQuantizerMs)}, assign+encode -> artifact ${s(built.timings.assignEncodeMs)}, finalize (streamed write) ${s(built.timings.writeMs)}); index file ${(built.fileSize / 2 ** 20).toFixed(1)} MiB`);
    out(`  prewarm into the disk cache ${s(prewarmMs)}`);
    out(`  reopen in a fresh process from the disk cache: open ${reopen.openMs.toFixed(1)} ms, store read requests ${reopen.readRequests}, HEAD requests ${reopen.heads}, cache loads ${reopen.cacheLoads}`);
    for (const [i, p] of reopen.passes.entries()) {
      out(`  ${p.queries} queries, k=${k}, ${p.name}: mean ${p.meanMs.toFixed(2)} ms, p50 ${p.p50Ms.toFixed(2)} ms, p99 ${p.p99Ms.toFixed(2)} ms, ${p.qps.toFixed(0)} queries/s; recall@${k} ${(i === 0 ? recall.plain : recall.refine).toFixed(4)}`);
    }
    out(`  brute-force ground truth ${s(groundTruthMs)}`);
    if (reopen.readRequests !== 0 || reopen.heads !== 0) out("  WARNING: the reopen touched the store; zero-IO reconstruction did not hold");
    return report;
  } finally {
    endProgress();
    if (removeAfter) await rm(workDir, { recursive: true, force: true });
  }
}
