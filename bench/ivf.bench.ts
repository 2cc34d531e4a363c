/**
 * IVF benchmarks: recall@10 and queries/s by nprobes for each quantizer; open + first query cold
 * over a 20 ms LatencyStore vs reconstructed from a disk cache; decoding a 64 MiB partition entry
 * (zero-copy) vs copying it; and per shape of bench/shapes.ts (100k x 128, 1M x 128, 100k x 768;
 * l2 and cosine; equal-size and skewed mixtures; BENCH_SHAPES selects), IVF_PQ 256 partitions x 16
 * sub-vectors with default settings (a self-sized cache, prewarm): recall, latency mean/p50/p99
 * plain and refine 10, and queries/s at batch 1, 16 and 256 on all cores and on one thread.
 * BENCH_INDEX_DIR reuses the shape indexes kept by bench/lancedb.bench.ts. BENCH_QUICK=1 shrinks
 * every size.
 *
 * BENCH_IVF_PARTS=quantizers,open,decode,shapes,tails selects sections (default all but tails);
 * rows of a section not run are carried over from the existing bench/results/ivf.json (each
 * keeps its own `date`), so a shapes-only rerun keeps the 100k rows. Shape rows run with
 * defaults and again with an equal cache budget (BENCH_CACHE_MIB, default 128, as the lancedb
 * bench: cacheBytes = budget + 1/8); BENCH_PASSES=defaults or =equal runs one. Throughput rows
 * time all cores and one thread in alternating rounds of whole passes (>= 1 s per side), with
 * process CPU seconds and the workers' share of the row scores. The tails section (needs
 * BENCH_INDEX_DIR with the lancedb bench's LanceDB builds for LanceDB's side) runs the same 200
 * queries 3 times in one process on Quiver and LanceDB, interleaved, and reports p99/p50 per
 * repetition, with and without the queries during which a GC ran.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { CACHE_ENTRY_KIND } from "@quiver/cache";
import { decodeFrame } from "@quiver/format";
import {
  type QuantizerKind,
  bruteForceKnn,
  gaussianMixture,
  openVectorIndex,
  partitionEntryCodecs,
  recallAtK,
} from "@quiver/ivf";
import { LatencyStore, LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { buildIndexInMemory } from "@quiver/build";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";
import { type Shape, keptTruth, selectShapes, shapeKey, shapeRows } from "./shapes.js";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const SECTIONS = ["quantizers", "open", "decode", "shapes", "tails"] as const;
type Section = (typeof SECTIONS)[number];
/** Which bench row belongs to which section (for carrying rows over). */
const SECTION_OF: Record<string, Section> = { search: "quantizers", "open+first query": "open", "decode partition entry": "decode", shape: "shapes", throughput: "shapes", tails: "tails" };

function wantedSections(): Set<Section> {
  const env = process.env.BENCH_IVF_PARTS;
  if (env === undefined) return new Set(SECTIONS.filter((x) => x !== "tails"));
  const names = env.split(",").map((x) => x.trim()).filter((x) => x !== "");
  for (const x of names) if (!(SECTIONS as readonly string[]).includes(x)) throw new RangeError(`BENCH_IVF_PARTS ${env}: ${SECTIONS.join(", ")}`);
  return new Set(names as Section[]);
}

/** Variables that select part of this bench or change what it measures: a run with any set writes ivf.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_IVF_PARTS", "BENCH_CACHE_MIB", "BENCH_PASSES", "BENCH_THROUGHPUT"];

/** Run the IVF benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const want = wantedSections();
  const rows: BenchResult["rows"][number][] = [];
  const notes: string[] = [];
  if (want.has("quantizers") || want.has("open") || want.has("decode")) await runSmall(ctx, want, rows, notes);
  if (want.has("shapes")) {
    for (const shape of selectShapes(process.env.BENCH_SHAPES)) rows.push(...(await shapeRowsOf(ctx, shape)));
    notes.push(
      "shape rows: IVF_PQ 256 partitions x 16 sub-vectors (quick: 32 x 4), nprobes 20, k 10; pass 'defaults': the index opened with no cache given (it sizes its own) and prewarm; pass 'equal cache': cacheBytes = BENCH_CACHE_MIB x 1.125 (the lancedb bench's equal budget), prewarm; 200 queries after 20 warm-up queries; p99/p50 is the tail ratio; single queries run on the calling thread (the default); cpu ms = process CPU time while the query ran (the wall-clock tail on a loaded machine is mostly time descheduled)",
      "throughput rows (defaults pass): 256 queries as searchBatch calls of `batch` queries, on all cores (default threads; batch 1 asks for every core) and with threads: 1, in alternating rounds of whole passes until each side has >= 1 s; cpu s = process CPU seconds per side; worker share = row scores the workers took / all row scores of the threaded scans; declined = batches the cost model kept on the calling thread",
    );
  }
  if (want.has("tails")) rows.push(...(await tailRows(ctx, notes)));
  // sections not run: their rows from the last full results, kept as they were
  const prev = join(dirname(fileURLToPath(import.meta.url)), "results", ctx.quick ? "ivf.quick.json" : "ivf.json");
  if (existsSync(prev)) {
    const old = JSON.parse(readFileSync(prev, "utf8")) as { date: string; rows: BenchResult["rows"][number][]; notes?: string[] };
    const kept = old.rows.filter((r) => {
      const sec = SECTION_OF[String(r.bench)];
      return sec !== undefined && !want.has(sec);
    });
    if (kept.length > 0) {
      const ran = new Set(rows.map((r) => String(r.bench)));
      rows.unshift(...kept.map((r) => ({ ...r, date: (r.date as string | undefined) ?? old.date.slice(0, 10) })));
      notes.unshift(`rows of sections not run this time (${[...new Set(kept.map((r) => SECTION_OF[String(r.bench)]))].join(", ")}) are carried over from the previous results (their date column); this run: ${[...want].join(", ")}${ran.size === 0 ? " (no rows)" : ""}`);
      for (const n of old.notes ?? []) if (!n.startsWith("machine load") && !n.startsWith("rows of sections") && !notes.includes(n)) notes.push(n);
    }
  }
  return { rows, notes };
}

async function runSmall(ctx: BenchContext, want: Set<Section>, rows: BenchResult["rows"][number][], notes: string[]): Promise<void> {
  const n = ctx.quick ? 5_000 : 100_000;
  const dim = ctx.quick ? 32 : 128;
  const P = ctx.quick ? 32 : 256;
  const Q = ctx.quick ? 30 : 200;
  const clusters = ctx.quick ? 64 : 1024;
  ctx.progress("dataset");
  const data = gaussianMixture({ n, dim, clusters, seed: 1 });
  const queries = gaussianMixture({ n: Q, dim, clusters, seed: 2, centerSeed: 1 });
  ctx.progress("ground truth");
  const truth = bruteForceKnn(data, n, dim, queries, Q, 10, "l2");
  const kinds: QuantizerKind[] = want.has("quantizers") ? ["flat", "sq", "pq", "rabitq"] : ["pq"];
  const pqStore = new MemoryObjectStore();
  for (const kind of kinds) {
    ctx.progress(`build ${kind}`);
    const store = kind === "pq" ? pqStore : new MemoryObjectStore();
    const built = await buildIndexInMemory({ store, path: "idx", vectors: data, dim, quantizer: kind, distanceType: "l2", numPartitions: P, seed: 3, storeRawVectors: kind !== "flat", ...(kind === "pq" ? { numSubVectors: Math.max(1, dim / 8) } : {}) });
    const index = await openVectorIndex(store, "idx", { cache: IndexCache.inMemory(2 ** 31) });
    await index.prewarm();
    const passes: { nprobes: number; refine?: number }[] = want.has("quantizers") ? [1, 5, 10, 20, 50].map((nprobes) => ({ nprobes })) : [];
    if (kind !== "flat" && want.has("quantizers")) passes.push({ nprobes: 20, refine: 10 });
    for (const pass of passes) {
      ctx.progress(`${kind} nprobes ${pass.nprobes}${pass.refine === undefined ? "" : ` refine ${pass.refine}`}`);
      const results: (number | bigint)[][] = [];
      const t = performance.now();
      for (let i = 0; i < Q; i++) {
        const hits = await index.search(queries.subarray(i * dim, (i + 1) * dim), pass.refine === undefined ? { k: 10, nprobes: pass.nprobes } : { k: 10, nprobes: pass.nprobes, refineFactor: pass.refine });
        results.push(hits.map((h) => h.id));
      }
      const ms = performance.now() - t;
      rows.push({
        bench: "search",
        quantizer: kind,
        nprobes: pass.nprobes,
        refine: pass.refine ?? null,
        "recall@10": Number(recallAtK(results, truth, 10).toFixed(4)),
        "queries/s": Math.round((Q * 1000) / ms),
        "ms/query": Number((ms / Q).toFixed(3)),
        "build s": Number((built.timings.totalMs / 1000).toFixed(2)),
      });
    }
  }

  // Open + first query: cold over a 20 ms/request store vs reconstructed from a disk cache.
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-ivf-"));
  if (want.has("open")) try {
    const slow = new LatencyStore(pqStore, { latencyMs: 20 });
    const q0 = queries.subarray(0, dim);
    const warmBackend = new DiskCacheBackend({ directory: dir });
    const warmed = await openVectorIndex(pqStore, "idx", { cache: new IndexCache(warmBackend) });
    await warmed.prewarm();
    const identity = warmed.identity;
    await warmBackend.close();
    const cold: number[] = [];
    const warm: number[] = [];
    for (let r = 0; r < (ctx.quick ? 3 : 7); r++) {
      ctx.progress(`open + first query, round ${r + 1}`);
      let t = performance.now();
      const c = await openVectorIndex(slow, "idx", { cache: IndexCache.inMemory() });
      await c.search(q0, { k: 10, nprobes: 20 });
      cold.push(performance.now() - t);
      // The backend is process-level infrastructure: created (and its directory scanned) before the clock starts.
      const backend = new DiskCacheBackend({ directory: dir });
      await backend.get("bench-warmup-key");
      t = performance.now();
      const w = await openVectorIndex(slow, "idx", { cache: new IndexCache(backend), identity });
      await w.search(q0, { k: 10, nprobes: 20 });
      warm.push(performance.now() - t);
      await backend.close();
    }
    rows.push({ bench: "open+first query", quantizer: "pq", nprobes: 20, "cold LatencyStore 20ms (ms)": Number(median(cold).toFixed(2)), "from disk cache (ms)": Number(median(warm).toFixed(2)), "cold/cache": Number((median(cold) / median(warm)).toFixed(1)) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  else await rm(dir, { recursive: true, force: true });
  if (!want.has("decode")) return;
  // Decoding a 64 MiB partition entry vs copying its bytes.
  const target = ctx.quick ? 4 * 2 ** 20 : 64 * 2 ** 20;
  const codeWidth = 16;
  const entryRows = Math.floor(target / (8 + codeWidth));
  const rowIds = new BigUint64Array(entryRows);
  for (let i = 0; i < entryRows; i++) rowIds[i] = BigInt(i);
  const codes = new Uint8Array(entryRows * codeWidth);
  for (let i = 0; i < codes.length; i++) codes[i] = i & 255;
  const codec = partitionEntryCodecs.pq;
  const bytes = encodeCacheEntry(codec, { kind: "pq", partition: 0, rows: entryRows, codeWidth, rowIds, codes });
  const full: number[] = [];
  const zeroCopy: number[] = [];
  const copy: number[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dst = Buffer.allocUnsafe(buf.byteLength);
  for (let r = 0; r < 7; r++) {
    ctx.progress(`decode ${(bytes.byteLength / 2 ** 20).toFixed(0)} MiB entry, round ${r + 1}`);
    let t = performance.now();
    decodeCacheEntry(codec, bytes);
    full.push(performance.now() - t);
    t = performance.now();
    const frame = decodeFrame(bytes, { kind: CACHE_ENTRY_KIND, typeName: codec.typeName, skipSectionChecksums: true });
    const e = codec.decode(frame);
    zeroCopy.push(performance.now() - t);
    if (e.codes.buffer !== bytes.buffer) throw new Error("decode copied the codes");
    t = performance.now();
    buf.copy(dst);
    copy.push(performance.now() - t);
  }
  rows.push({
    bench: "decode partition entry",
    quantizer: "pq",
    "entry MiB": Number((bytes.byteLength / 2 ** 20).toFixed(1)),
    "zero-copy decode (ms)": Number(median(zeroCopy).toFixed(3)),
    "decode incl. CRC-32 (ms)": Number(median(full).toFixed(2)),
    "Buffer.copy (ms)": Number(median(copy).toFixed(2)),
    "copy/zero-copy": Number((median(copy) / median(zeroCopy)).toFixed(0)),
  });
  notes.push(
    `data: ${n} x ${dim} seeded mixture of ${clusters} Gaussians (sigma 0.5), ${Q} queries from the same mixture; ${P} partitions; PQ ${Math.max(1, dim / 8)} sub-vectors (16 at dim 128); search from a prewarmed in-memory cache (no IO)`,
    "open+first query: a fresh DiskCacheBackend instance per round over the prewarmed directory, created before the clock starts; the cold side opens with an in-memory cache over LatencyStore (20 ms per request)",
    "zero-copy decode = header CRC + section table + views (section CRCs skipped); decode incl. CRC-32 = what a cache backend does for an untrusted entry",
  );
}

function stats(lat: number[]): { mean: number; p50: number; p99: number } {
  const s = [...lat].sort((a, b) => a - b);
  return { mean: lat.reduce((a, b) => a + b, 0) / lat.length, p50: s[Math.floor(lat.length / 2)]!, p99: s[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]! };
}

/** A shape's Quiver index (built once, or reused from BENCH_INDEX_DIR), queries and ground truth. */
async function shapeSetup(ctx: BenchContext, shape: Shape) {
  const P = ctx.quick ? 32 : 256;
  const m = ctx.quick ? 4 : 16;
  const Q = ctx.quick ? 30 : 200;
  const clusters = ctx.quick ? 64 : 1024;
  const n = ctx.quick ? Math.min(10_000, Math.round(shape.n / 100)) : shape.n;
  const dim = ctx.quick ? Math.min(64, shape.dim) : shape.dim;
  const label = `${shape.name}${n === shape.n && dim === shape.dim ? "" : ` (run at ${n} x ${dim})`}`;
  ctx.progress(`${shape.name}: dataset + ground truth`);
  let rowsOf: Float32Array | undefined;
  const data = (): Float32Array => (rowsOf ??= shapeRows(shape, n, dim, clusters, 1));
  const queries = shapeRows(shape, Q, dim, clusters, 2);
  const keep = process.env.BENCH_INDEX_DIR;
  const key = shapeKey(shape, n, dim, P, m);
  const truth = keptTruth(keep, key, Q, () => bruteForceKnn(data(), n, dim, queries, Q, 10, shape.distance));
  const query = (i: number) => queries.subarray((i % Q) * dim, ((i % Q) + 1) * dim);
  const dir = keep === undefined ? undefined : join(keep, `quiver-${key}`);
  const store = dir === undefined ? new MemoryObjectStore() : new LocalDirectoryStore(dir);
  const meta = dir === undefined ? undefined : join(dir, "bench-build.json");
  let identity: string;
  let buildMs: number;
  if (meta !== undefined && existsSync(meta)) ({ identity, ms: buildMs } = JSON.parse(readFileSync(meta, "utf8")) as { identity: string; ms: number });
  else {
    ctx.progress(`${shape.name}: build`);
    const t = performance.now();
    ({ identity } = await buildIndexInMemory({ store, path: "vectors/index.qvr", vectors: data(), dim, quantizer: "pq", distanceType: shape.distance, numPartitions: P, numSubVectors: m, seed: 3 }));
    buildMs = performance.now() - t;
    if (dir !== undefined) {
      await mkdir(dir, { recursive: true });
      writeFileSync(meta!, JSON.stringify({ ms: buildMs, identity }));
    }
  }
  return { Q, n, dim, label, truth, query, store, identity, buildMs, key, keep };
}

/** GC pauses seen by a PerformanceObserver (start, end in performance.now() ms). */
function gcWatcher(): { spans: [number, number][]; stop(): void } {
  const spans: [number, number][] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) spans.push([e.startTime, e.startTime + e.duration]);
  });
  obs.observe({ entryTypes: ["gc"] });
  return { spans, stop: () => obs.disconnect() };
}

/** Search rows of one shape: latency per pass (defaults, equal cache), throughput (defaults). */
async function shapeRowsOf(ctx: BenchContext, shape: Shape): Promise<BenchResult["rows"][number][]> {
  const loadBefore = machineLoad();
  const { Q, label, truth, query, store, identity, buildMs } = await shapeSetup(ctx, shape);
  const budgetMib = Number(process.env.BENCH_CACHE_MIB ?? (ctx.quick ? 8 : 128));
  if (!(budgetMib > 0)) throw new RangeError(`BENCH_CACHE_MIB ${process.env.BENCH_CACHE_MIB}`);
  const budget = budgetMib * 1024 * 1024;
  const passes = (["defaults", "equal cache"] as const).filter((p) => process.env.BENCH_PASSES === undefined || process.env.BENCH_PASSES.split(",").some((w) => p.startsWith(w.trim())));
  if (passes.length === 0) throw new RangeError(`BENCH_PASSES ${process.env.BENCH_PASSES}: defaults, equal`);
  const out: BenchResult["rows"][number][] = [];
  for (const pass of passes) {
    const equal = pass === "equal cache";
    const index = await openVectorIndex(store, "vectors/index.qvr", { identity, prewarm: true, ...(equal ? { cacheBytes: budget + (budget >> 3), onWarning: () => {} } : {}) });
    const passLabel = equal ? `equal cache ${budgetMib} MiB` : "defaults";
    try {
      for (const refine of [undefined, 10]) {
        ctx.progress(`${shape.name} (${pass}): queries${refine === undefined ? "" : " refine"}`);
        const opts = refine === undefined ? { k: 10, nprobes: 20 } : { k: 10, nprobes: 20, refineFactor: refine };
        for (let i = 0; i < 20; i++) await index.search(query(i), opts);
        const lat: number[] = [];
        const cpu: number[] = [];
        const results: number[][] = [];
        for (let i = 0; i < Q; i++) {
          const c = process.cpuUsage();
          const t = performance.now();
          const hits = await index.search(query(i), opts);
          lat.push(performance.now() - t);
          const used = process.cpuUsage(c);
          cpu.push((used.user + used.system) / 1000);
          results.push(hits.map((h) => Number(h.id)));
        }
        const s = stats(lat);
        const cs = stats(cpu);
        out.push({
          bench: "shape",
          quantizer: "pq",
          nprobes: 20,
          refine: refine ?? null,
          shape: label,
          pass: passLabel,
          "recall@10": Number(recallAtK(results, truth, 10).toFixed(4)),
          "ms/query mean": Number(s.mean.toFixed(3)),
          "ms/query p50": Number(s.p50.toFixed(3)),
          "ms/query p99": Number(s.p99.toFixed(3)),
          "p99/p50": Number((s.p99 / s.p50).toFixed(2)),
          "cpu ms p50": Number(cs.p50.toFixed(3)),
          "cpu ms p99": Number(cs.p99.toFixed(3)),
          "cpu p99/p50": Number((cs.p99 / cs.p50).toFixed(2)),
          "build s": Number((buildMs / 1000).toFixed(2)),
          load: `${loadBefore}/${machineLoad()}`,
        });
      }
      if (equal || process.env.BENCH_THROUGHPUT === "0") continue;
      for (const batch of [1, 16, 256]) {
        ctx.progress(`${shape.name}: throughput batch ${batch}`);
        const total = ctx.quick ? 32 : 256;
        // a single query stays on the calling thread unless threads is given: ask for every core
        const allOpts = batch === 1 ? { k: 10, nprobes: 20, threads: availableParallelism() } : { k: 10, nprobes: 20 };
        const sides = [allOpts, { k: 10, nprobes: 20, threads: 1 }];
        const run = (o: object, first: number, count: number) => index.searchBatch(Array.from({ length: count }, (_, j) => query(first + j)), o);
        for (const o of sides) await run(o, 0, Math.min(batch, total));
        const ms = [0, 0];
        const cpuS = [0, 0];
        const answered = [0, 0];
        const before = index.searchThreadStats();
        // alternating rounds of one pass each, until both sides have run >= 1 s (load changes hit both)
        for (let round = 0; Math.min(ms[0]!, ms[1]!) < 1000 || round < 2; round++) {
          for (let sideIdx = 0; sideIdx < 2; sideIdx++) {
            const side = round % 2 === 0 ? sideIdx : 1 - sideIdx;
            const c = process.cpuUsage();
            const t = performance.now();
            for (let at = 0; at < total; at += batch) await run(sides[side]!, at, Math.min(batch, total - at));
            ms[side]! += performance.now() - t;
            const u = process.cpuUsage(c);
            cpuS[side]! += (u.user + u.system) / 1e6;
            answered[side]! += total;
          }
        }
        const after = index.searchThreadStats();
        const all = (answered[0]! * 1000) / ms[0]!;
        const one = (answered[1]! * 1000) / ms[1]!;
        const wScores = after.workerRowScores - before.workerRowScores;
        const mScores = after.mainRowScores - before.mainRowScores;
        out.push({
          bench: "throughput",
          quantizer: "pq",
          nprobes: 20,
          shape: label,
          pass: passLabel,
          batch,
          "queries/s all cores": Number(all.toFixed(1)),
          "queries/s 1 thread": Number(one.toFixed(1)),
          "all/1": Number((all / one).toFixed(2)),
          "cpu s all cores": Number(cpuS[0]!.toFixed(2)),
          "cpu s 1 thread": Number(cpuS[1]!.toFixed(2)),
          "threaded batches": after.threadedScans - before.threadedScans,
          declined: after.declinedScans - before.declinedScans,
          "tasks skipped (worker late)": after.skippedTasks - before.skippedTasks,
          "worker share": wScores + mScores === 0 ? 0 : Number((wScores / (wScores + mScores)).toFixed(3)),
          load: `${loadBefore}/${machineLoad()}`,
        });
      }
    } finally {
      await index.close();
    }
  }
  return out;
}

/**
 * Tail spread: the same fixed queries 3 times in one process on Quiver (defaults, prewarm) and
 * LanceDB (defaults; when its build of the shape is in BENCH_INDEX_DIR), interleaved query by
 * query; per repetition the p99/p50 of each engine, and Quiver's again without the queries
 * during which a GC ran (is our own allocation the spread?).
 */
async function tailRows(ctx: BenchContext, notes: string[]): Promise<BenchResult["rows"][number][]> {
  const out: BenchResult["rows"][number][] = [];
  const lancedb = (await import("@lancedb/lancedb")) as typeof import("@lancedb/lancedb");
  for (const shape of selectShapes(process.env.BENCH_SHAPES)) {
    const loadBefore = machineLoad();
    const { Q, label, query, store, identity, key, keep } = await shapeSetup(ctx, shape);
    const index = await openVectorIndex(store, "vectors/index.qvr", { identity, prewarm: true });
    const lanceDir = keep === undefined ? undefined : join(keep, `lancedb-${key}`);
    const db = lanceDir !== undefined && existsSync(lanceDir) ? await lancedb.connect(lanceDir) : undefined;
    const table = db === undefined ? undefined : await db.openTable("vectors");
    try {
      const engines: { name: string; run: (i: number) => Promise<unknown> }[] = [{ name: "quiver", run: (i) => index.search(query(i), { k: 10, nprobes: 20 }) }];
      if (table !== undefined) engines.push({ name: "lancedb", run: (i) => table.vectorSearch(Array.from(query(i))).distanceType(shape.distance).nprobes(20).limit(10).select(["id", "_distance"]).toArray() });
      for (let i = 0; i < 20; i++) for (const e of engines) await e.run(i);
      for (let rep = 1; rep <= 3; rep++) {
        ctx.progress(`${shape.name}: tails, repetition ${rep}`);
        const lat = engines.map(() => [] as number[]);
        const cpu = engines.map(() => [] as number[]);
        const spans = engines.map(() => [] as [number, number][]);
        const gc = gcWatcher();
        for (let i = 0; i < Q; i++) {
          for (let r = 0; r < engines.length; r++) {
            const e = i % 2 === 0 ? r : engines.length - 1 - r;
            const c = process.cpuUsage();
            const t = performance.now();
            await engines[e]!.run(i);
            const t1 = performance.now();
            const u = process.cpuUsage(c);
            lat[e]!.push(t1 - t);
            cpu[e]!.push((u.user + u.system) / 1000);
            spans[e]!.push([t, t1]);
          }
        }
        // let the observer deliver the last entries
        await new Promise((r) => setTimeout(r, 50));
        gc.stop();
        engines.forEach((eng, e) => {
          const s = stats(lat[e]!);
          const cs = stats(cpu[e]!);
          const withGc = spans[e]!.map(([a, b]) => gc.spans.some(([g0, g1]) => g0 < b && g1 > a));
          const clean = lat[e]!.filter((_, i) => !withGc[i]);
          const sc = clean.length > 0 ? stats(clean) : s;
          out.push({
            bench: "tails",
            shape: label,
            engine: eng.name,
            repetition: rep,
            "ms/query p50": Number(s.p50.toFixed(3)),
            "ms/query p99": Number(s.p99.toFixed(3)),
            "p99/p50": Number((s.p99 / s.p50).toFixed(2)),
            "cpu p99/p50": Number((cs.p99 / cs.p50).toFixed(2)),
            "queries with a GC": withGc.filter(Boolean).length,
            "p99/p50 without GC queries": Number((sc.p99 / sc.p50).toFixed(2)),
            load: `${loadBefore}/${machineLoad()}`,
          });
        });
      }
    } finally {
      await index.close();
      table?.close();
      db?.close();
    }
  }
  notes.push("tails rows: the same 200 queries (nprobes 20, k 10) 3 times in one process after 20 warm-up queries, Quiver (defaults, prewarm) and LanceDB (defaults) interleaved query by query (order alternating); 'queries with a GC' = queries whose wall-clock span overlapped a GC pause of this process (PerformanceObserver 'gc': V8 pauses of the JS heap, which LanceDB's Rust side mostly does not cause); cpu p99/p50 = the same ratio over process CPU time (high wall / low cpu ratio = time descheduled, not work)");
  return out;
}
