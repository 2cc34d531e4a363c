/**
 * The fresh-process half of the main job: reopen the IVF index from the disk cache (a new
 * backend instance over the same directory), run the queries, and report IO counters and times.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, MemoryCacheBackend, TieredCacheBackend } from "@quiver/cache";
import { openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";

/** Files the job leaves in its work directory for the reopen phase. */
export const E2E_FILES = {
  store: "store",
  cache: "cache",
  queries: "queries.f32",
  indexPath: "indexes/main/index.qvr",
  /** Result row ids of a pass: `results-<pass>.u64`, queries x k. */
  results: (pass: string) => `results-${pass}.u64`,
  report: "reopen.json",
  /** The built index's identity (the reopen passes it so the open needs no store read). */
  identity: "index.identity",
} as const;

/** Options of {@link runReopenPhase}. */
export interface ReopenPhaseOptions {
  readonly workDir: string;
  readonly dim: number;
  readonly k?: number;
  readonly nprobes?: number;
  readonly refineFactor?: number;
}

/** Latency summary of one pass of queries, in milliseconds. */
export interface QueryPassReport {
  readonly name: string;
  readonly queries: number;
  readonly totalMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly qps: number;
}

/** What the reopen phase measured. */
export interface ReopenReport {
  readonly openMs: number;
  /** Store requests from the reopen through the last query: the proof wants 0 / 0. */
  readonly readRequests: number;
  readonly heads: number;
  readonly bytesRead: number;
  /** Cache loads (misses that ran a loader); 0 when every entry came from the disk cache. */
  readonly cacheLoads: number;
  readonly passes: readonly QueryPassReport[];
}

function summarize(name: string, times: number[], totalMs: number): QueryPassReport {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0;
  return { name, queries: times.length, totalMs, meanMs: totalMs / Math.max(1, times.length), p50Ms: at(0.5), p99Ms: at(0.99), qps: (times.length * 1000) / totalMs };
}

/** Reopen from the disk cache in this process and run every query twice (nprobes only, then with refine). */
export async function runReopenPhase(o: ReopenPhaseOptions): Promise<ReopenReport> {
  const k = o.k ?? 10;
  const nprobes = o.nprobes ?? 20;
  const refineFactor = o.refineFactor ?? 10;
  const raw = await readFile(join(o.workDir, E2E_FILES.queries));
  const queries = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const q = queries.length / o.dim;
  const store = new IoStatsStore(new LocalDirectoryStore(join(o.workDir, E2E_FILES.store)));
  // A memory tier over the disk cache, as a deployment would run it: the first touch of an entry
  // decodes it from disk, later ones are memory hits. The store is never touched either way.
  const backend = new TieredCacheBackend(
    new MemoryCacheBackend({ maxBytes: 1024 * 1024 * 1024 }),
    new DiskCacheBackend({ directory: join(o.workDir, E2E_FILES.cache), maxBytes: 4 * 1024 * 1024 * 1024 }),
  );
  const cache = new IndexCache(backend);
  const identity = (await readFile(join(o.workDir, E2E_FILES.identity), "utf8")).trim();
  const t0 = performance.now();
  const index = await openVectorIndex(store, E2E_FILES.indexPath, { cache, identity });
  const openMs = performance.now() - t0;
  const passes: QueryPassReport[] = [];
  for (const pass of [
    { name: `nprobes=${nprobes}`, file: "plain", opts: { k, nprobes } },
    { name: `nprobes=${nprobes} refine=${refineFactor}`, file: "refine", opts: { k, nprobes, refineFactor } },
  ]) {
    const ids = new BigUint64Array(q * k);
    const times: number[] = [];
    const start = performance.now();
    for (let i = 0; i < q; i++) {
      const t = performance.now();
      const hits = await index.search(queries.subarray(i * o.dim, (i + 1) * o.dim), pass.opts);
      times.push(performance.now() - t);
      hits.forEach((h, j) => (ids[i * k + j] = BigInt(h.id)));
    }
    passes.push(summarize(pass.name, times, performance.now() - start));
    await writeFile(join(o.workDir, E2E_FILES.results(pass.file)), new Uint8Array(ids.buffer));
  }
  await backend.close?.();
  const io = store.snapshot().total;
  const report: ReopenReport = { openMs, readRequests: io.readRequests, heads: io.heads, bytesRead: io.bytesRead, cacheLoads: cache.stats().loads, passes };
  await writeFile(join(o.workDir, E2E_FILES.report), JSON.stringify(report, null, 2));
  return report;
}
