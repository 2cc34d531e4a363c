/**
 * `pnpm bench artifact`: the numbers the partition artifact review asked for (spec/artifact.md#rationale).
 * 1. Write: rows/s, MB/s and peak RSS at 1M and 4M rows of 16-byte PQ codes under one memory
 *    budget, each run in its own child process (`process.resourceUsage().maxRSS`), artifact vs the
 *    two-file shuffle.
 * 2. Manifest head: ranges table (Arrow IPC) vs an all-JSON manifest at 32,768 partitions x 200 ranges:
 *    bytes and parse time (child process each).
 * 3. Finalize-style read of every partition over a 20 ms LatencyStore with 64 partitions in flight:
 *    requests/partition, bytes, total time, for 1,024 and 32,768 partitions; 1 bucket vs 16 buckets
 *    vs the two-file shuffle, all written under the same memory budget.
 * 4. The finalize phase of a local build at 1M x 128 (raw vectors kept): time, CPU, where it goes.
 * BENCH_QUICK=1 shrinks every size. Other work shares this 2-core machine: timings are indicative.
 * Selecting rows: BENCH_SECTIONS=write,manifest,read,rule,local (default all) runs only those sections;
 * BENCH_RULE_ROWS=250000,1000000 (comma list) runs the bucket-rule section at those row counts only;
 * BENCH_PARTITIONS=32768 (comma list) runs the read/finalize section at those partition counts only,
 * e.g. `BENCH_SECTIONS=read BENCH_PARTITIONS=32768 pnpm bench artifact` for the 32k finalize rows.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type ArtifactManifest,
  PartitionArtifactReader,
  PartitionArtifactWriter,
  type PartitionSource,
  TwoFileShuffleSource,
  TwoFileShuffleWriter,
  adaptiveBucketCount,
  encodeCompactRanges,
  encodeRangesTable,
  estimateBucketCost,
  parseManifest,
  payloadSchemaOf,
} from "@quiver/artifact";
import { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { writeIvfIndexStreamed } from "@quiver/build";
import { trainQuantizer } from "@quiver/ivf";
import type { BenchContext, BenchResult } from "./run.js";

const M = 16;
const payload = payloadSchemaOf([
  { name: "row_id", type: "uint64" },
  { name: "code", type: `fixed_size_list<uint8>[${M}]` },
]);
/** The build's payload with raw vectors kept (1M x 128 l2): row_id, 16-byte code, 512-byte float32 vector. */
const VECTOR_DIM = 128;
const payloadWithVectors = payloadSchemaOf([
  { name: "row_id", type: "uint64" },
  { name: "code", type: `fixed_size_list<uint8>[${M}]` },
  { name: "vector", type: `fixed_size_list<float32>[${VECTOR_DIM}]` },
]);
const CHUNK = 65_536;
const BUDGET = 32 * 1024 * 1024;

/** Column bytes and partition ids of rows [from, from + n) (skewed partition sizes). */
function chunk(from: number, n: number, P: number): { parts: Uint32Array; cols: Uint8Array[] } {
  const parts = new Uint32Array(n);
  const ids = new Uint8Array(n * 8);
  const view = new DataView(ids.buffer);
  const codes = new Uint8Array(n * M);
  for (let i = 0; i < n; i++) {
    const r = from + i;
    const u = (Math.imul(r ^ 0x9e3779b9, 2246822519) >>> 0) / 4294967296;
    parts[i] = Math.min(P - 1, Math.floor(u * u * P * 0.5 + u * P * 0.5));
    view.setBigUint64(i * 8, BigInt(r), true);
    for (let j = 0; j < M; j++) codes[i * M + j] = (r * 31 + j) & 0xff;
  }
  return { parts, cols: [ids, codes] };
}


async function writeRows(kind: "artifact" | "artifact+vectors" | "two-file", store: ObjectStore, uri: string, rows: number, P: number, budget: number, buckets?: number): Promise<{ seconds: number; info: Record<string, number> }> {
  let append: (p: Uint32Array, c: Uint8Array[]) => Promise<void>;
  let finish: () => Promise<Record<string, number>>;
  const vectors = kind === "artifact+vectors";
  if (kind !== "two-file") {
    const w = await PartitionArtifactWriter.create({ store, uri, numPartitions: P, payloadSchema: vectors ? payloadWithVectors : payload, memoryBudgetBytes: budget, estimatedRows: rows, ...(buckets !== undefined ? { numBuckets: buckets } : {}) });
    append = (p, c) => w.appendRows(p, c);
    finish = async () => {
      const m = await w.finish();
      return { buckets: w.numBuckets, flushes: w.stats.flushes, ranges: m.ranges.num_ranges, bytes: w.stats.bytesWritten + m.ranges.byte_size };
    };
  } else {
    const w = await TwoFileShuffleWriter.create({ store, uri, numPartitions: P, payloadSchema: payload, flushGroupBytes: budget });
    append = (p, c) => w.appendRows(p, c);
    finish = async () => {
      await w.finish();
      return { buckets: 1, flushes: w.groups, ranges: w.groups * P, bytes: 0 };
    };
  }
  let seconds = 0;
  // CPU of the writer alone (appendRows + finish; the synthetic rows are made outside it)
  let cpu = 0;
  for (let r = 0; r < rows; r += CHUNK) {
    const { parts, cols } = chunk(r, Math.min(CHUNK, rows - r), P);
    if (vectors) {
      const v = new Float32Array(parts.length * VECTOR_DIM);
      for (let i = 0; i < v.length; i++) v[i] = ((r * VECTOR_DIM + i) % 997) / 997;
      cols.push(new Uint8Array(v.buffer));
    }
    const t = performance.now();
    const c0 = process.cpuUsage();
    await append(parts, cols);
    cpu += cpuSeconds(c0);
    seconds += (performance.now() - t) / 1000;
  }
  const t = performance.now();
  const c0 = process.cpuUsage();
  const info = await finish();
  cpu += cpuSeconds(c0);
  seconds += (performance.now() - t) / 1000;
  return { seconds, info: { ...info, cpuSeconds: cpu } };
}

/** Child process entry: one measurement, printed as JSON on stdout. */
async function child(spec: string): Promise<void> {
  const [what, a, b, c] = spec.split(":");
  if (what === "write") {
    const kind = a as "artifact" | "artifact+vectors" | "two-file";
    const rows = Number(b);
    const P = Number(c);
    const dir = mkdtempSync(join(tmpdir(), "quiver-artifact-bench-"));
    try {
      const store = new LocalDirectoryStore(dir);
      const { seconds, info } = await writeRows(kind, store, "a", rows, P, BUDGET);
      const maxRssMiB = process.resourceUsage().maxRSS / 1024;
      let read: Record<string, number> = {};
      if (kind === "artifact+vectors") {
        // finalize's read: every partition once in partition order (what sequentialSource serves)
        const c0 = process.cpuUsage();
        const t = performance.now();
        const reader = await PartitionArtifactReader.open(store, "a");
        let seen = 0;
        for await (const part of reader.partitionsInOrder({ order: "partition" })) seen += part.rows;
        if (seen !== rows) throw new Error(`ordered read saw ${seen} rows`);
        read = { readSeconds: (performance.now() - t) / 1000, readCpuSeconds: cpuSeconds(c0) };
      }
      process.stdout.write(JSON.stringify({ seconds, ...info, ...read, maxRssMiB }) + "\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return;
  }
  // Manifest head comparison at P partitions x R ranges each (ranges spread over 256 buckets).
  const P = Number(b);
  const R = Number(c);
  const n = P * R;
  const B = 256;
  // crc32 values are arbitrary here: this table only measures manifest size and parse time (no bucket files).
  const cols = { partition: new Uint32Array(n), bucket: new Uint32Array(n), rowOffset: new Uint32Array(n), rowCount: new Uint32Array(n), crc32: new Uint32Array(n).fill(0x9e3779b9) };
  const bucketRows = new Array<number>(B).fill(0);
  // Table order (bucket, row_offset): bucket bk holds partitions p = bk mod B; flush k writes one run
  // of each of its partitions, in partition order.
  let i = 0;
  for (let bk = 0; bk < B; bk++) {
    for (let k = 0; k < R; k++) {
      for (let p = bk; p < P; p += B, i++) {
        const count = 5 + ((p + k) % 7);
        cols.partition[i] = p;
        cols.bucket[i] = bk;
        cols.rowOffset[i] = bucketRows[bk]!;
        cols.rowCount[i] = count;
        bucketRows[bk]! += count;
      }
    }
  }
  if (a === "arrow" || a === "compact") {
    const t0 = performance.now();
    const bytes = a === "arrow" ? encodeRangesTable(cols) : encodeCompactRanges(cols, B, P);
    const encodeMs = performance.now() - t0;
    const manifest: ArtifactManifest = {
      format: "quiver-partition-artifact", version: a === "arrow" ? 1 : 2, artifact_id: "0".repeat(32), num_partitions: P, payload_schema: [{ name: "row_id", type: "uint64" }, { name: "code", type: "fixed_size_list<uint8>[16]" }],
      bucket_policy: { kind: "hash-modulo", num_buckets: B },
      buckets: bucketRows.map((r, bk) => ({ path: `buckets/bucket-${String(bk).padStart(5, "0")}.arrow`, num_rows: r, byte_size: 1, crc32: 0 })),
      ranges: { path: "ranges.bin", num_ranges: n, byte_size: bytes.byteLength, crc32: 0 }, total_rows: bucketRows.reduce((x, y) => x + y, 0),
    };
    const head = new TextEncoder().encode(JSON.stringify(manifest));
    const store = new MemoryObjectStore();
    await store.put("m/manifest.json", head);
    await store.put("m/ranges.bin", bytes);
    const { crc32 } = await import("@quiver/format");
    await store.put("m/manifest.json", new TextEncoder().encode(JSON.stringify({ ...manifest, ranges: { ...manifest.ranges, crc32: crc32(bytes) } })));
    // Compile the manifest's JSON Schema validator first (once per process, ~100 ms of ajv code
    // generation): the figure is the parse of this manifest, not the validator's start-up.
    parseManifest(head);
    // The head alone (what the issue's "manifest head parse" names): JSON + schema + manifest rules.
    const headBytes = await store.get("m/manifest.json");
    const th = performance.now();
    parseManifest(headBytes);
    const headParseMs = performance.now() - th;
    // The ranges table's CRC-32 (checked against the head before any byte of the table is used).
    const tc = performance.now();
    crc32(bytes);
    const crcMs = performance.now() - tc;
    const t1 = performance.now();
    const reader = await PartitionArtifactReader.open(store, "m");
    const openMs = performance.now() - t1;
    // The open includes the in-memory store's copy of the two objects (MemoryObjectStore.get copies):
    // timed again on its own, so parse = open - store reads is the decoding, checking and indexing.
    const t2 = performance.now();
    await store.get("m/manifest.json");
    await store.get("m/ranges.bin");
    const getMs = performance.now() - t2;
    // Machine speed right now: a trivial loop over as many ranges (count + row sum per partition),
    // so a parse time measured on a loaded machine can be read against it.
    const t3 = performance.now();
    const sums = new Float64Array(P);
    for (let j = 0; j < n; j++) sums[cols.partition[j]!]! += cols.rowCount[j]!;
    const loopMs = performance.now() - t3;
    process.stdout.write(JSON.stringify({ headBytes: head.byteLength, rangesBytes: bytes.byteLength, encodeMs, openMs, getMs, loopMs, headParseMs, crcMs, parseMs: Math.max(0, openMs - getMs), check: reader.rangesOf(P - 1).length, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + "\n");
  } else {
    // The modelled system's manifest: one JSON document listing every range of every partition.
    const t0 = performance.now();
    const perPartition: { offset: number; num_rows: number }[][] = Array.from({ length: P }, () => []);
    for (let j = 0; j < n; j++) perPartition[cols.partition[j]!]!.push({ offset: cols.rowOffset[j]!, num_rows: cols.rowCount[j]! });
    const parts = perPartition.map((ranges, p) => ({ path: `partitions/bucket-${String(p % B).padStart(5, "0")}.lance`, num_rows: ranges.reduce((s, x) => s + x.num_rows, 0), ranges }));
    const text = JSON.stringify({ version: 1, num_partitions: P, partitions: parts });
    const encodeMs = performance.now() - t0;
    const bytes = new TextEncoder().encode(text);
    const t1 = performance.now();
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { partitions: { ranges: unknown[] }[] };
    const parseMs = performance.now() - t1;
    process.stdout.write(JSON.stringify({ headBytes: bytes.byteLength, rangesBytes: 0, encodeMs, parseMs, check: parsed.partitions[P - 1]!.ranges.length, maxRssMiB: process.resourceUsage().maxRSS / 1024 }) + "\n");
  }
}

function runChild(spec: string): Record<string, number> {
  const r = spawnSync(process.execPath, ["--max-old-space-size=8192", "--import", "tsx", "--conditions=quiver-source", fileURLToPath(import.meta.url)], {
    env: { ...process.env, ARTIFACT_BENCH_CHILD: spec },
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`bench child ${spec} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, number>;
}

/** A model for the payload's 16-byte codes (PQ, 16 sub-vectors of dim 32, not residual): what finalize writes the index with. */
function finalizeModel(): (P: number) => { dim: number; distance: "l2"; centroids: Float32Array; quantizer: ReturnType<typeof trainQuantizer>["metadata"]; codeWidth: number } {
  const dim = 32;
  const n = 512;
  const sample = new Float32Array(n * dim);
  for (let i = 0; i < sample.length; i++) sample[i] = Math.sin(i * 12.9898) * 43758.5453 % 1;
  const q = trainQuantizer("pq", sample, n, dim, { distance: "l2", numSubVectors: M, maxIters: 2, residual: false, seed: 1 });
  if (q.codeWidth !== M) throw new Error(`code width ${q.codeWidth}`);
  return (P) => ({ dim, distance: "l2", centroids: new Float32Array(P * dim), quantizer: q.metadata, codeWidth: M });
}

/** Read every partition with `concurrency` partitions in flight; requests and bytes as the store saw them. */
async function readAll(source: PartitionSource & { readPartitionBatches(p: number): Promise<unknown[]> }, stats: IoStatsStore, concurrency: number, ctx: BenchContext, label: string) {
  stats.reset();
  const P = source.numPartitions;
  let next = 0;
  let maxReq = 0;
  let done = 0;
  const c0 = process.cpuUsage();
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < P) {
      const p = next++;
      await source.readPartitionBatches(p);
      maxReq = Math.max(maxReq, (source as unknown as { lastCost(p: number): { requests: number } }).lastCost(p).requests);
      if (++done % 1024 === 0) ctx.progress(`${label}: ${done}/${P}`);
    }
  }));
  const seconds = (performance.now() - t) / 1000;
  const s = stats.snapshot().total;
  return { seconds, cpu: cpuSeconds(c0), requests: s.readRequests, bytes: s.bytesRead, maxReq };
}

/** The sections BENCH_SECTIONS selects (all by default). */
function sections(): Set<string> {
  const all = ["write", "manifest", "read", "rule", "local"];
  const env = process.env.BENCH_SECTIONS;
  if (env === undefined || env === "") return new Set(all);
  const want = env.split(",").map((x) => x.trim());
  for (const w of want) if (!all.includes(w)) throw new Error(`BENCH_SECTIONS: ${w} is not one of ${all.join(", ")}`);
  return new Set(want);
}

/** CPU seconds (user + system) of this process since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1e6;
}

/** Variables that select part of this bench or change what it measures: a run with any set writes artifact.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_SECTIONS", "BENCH_PARTITIONS", "BENCH_RULE_ROWS"];

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const child = process.env.ARTIFACT_BENCH_CHILD;
  if (child !== undefined) throw new Error(`child mode ${child} runs as a script`);
  const rows: BenchResult["rows"] = [];
  const notes: string[] = [];
  const want = sections();
  const writeSizes = ctx.quick ? [100_000, 400_000] : [1_000_000, 4_000_000];
  for (const kind of want.has("write") ? (["artifact", "artifact+vectors", "two-file"] as const) : []) {
    // the build's payload with raw vectors at the 1M size only (issue 10: the writer's main-thread CPU)
    for (const n of kind === "artifact+vectors" ? writeSizes.slice(0, 1) : writeSizes) {
      ctx.progress(`write ${kind} ${n}`);
      const r = runChild(`write:${kind}:${n}:1024`);
      const mb = (n * (8 + M + (kind === "artifact+vectors" ? VECTOR_DIM * 4 : 0))) / 1e6;
      rows.push({ bench: "write", layout: kind, rows: n, partitions: 1024, budgetMiB: BUDGET / 1048576, buckets: r.buckets!, flushes: r.flushes!, seconds: +r.seconds!.toFixed(2), cpuSeconds: +r.cpuSeconds!.toFixed(2), rowsPerSec: Math.round(n / r.seconds!), payloadMBps: +(mb / r.seconds!).toFixed(1), peakRssMiB: Math.round(r.maxRssMiB!), ...(r.readCpuSeconds === undefined ? {} : { orderedReadSeconds: +r.readSeconds!.toFixed(2), orderedReadCpuSeconds: +r.readCpuSeconds.toFixed(2) }) });
    }
  }
  const P0 = ctx.quick ? 4096 : 32_768;
  const R0 = ctx.quick ? 20 : 200;
  for (const fmt of want.has("manifest") ? ["compact", "arrow", "json"] : []) {
    ctx.progress(`manifest ${fmt}`);
    const r = runChild(`manifest:${fmt}:${P0}:${R0}`);
    rows.push({
      bench: "manifest", layout: fmt === "compact" ? "format 2: JSON head + compact ranges table" : fmt === "arrow" ? "format 1: JSON head + Arrow ranges table" : "all-JSON manifest", partitions: P0, rangesPerPartition: R0, headBytes: r.headBytes!, rangesBytes: r.rangesBytes!,
      totalMB: +((r.headBytes! + r.rangesBytes!) / 1e6).toFixed(1), encodeMs: Math.round(r.encodeMs!), parseMs: Math.round(r.parseMs!),
      ...(r.openMs === undefined ? {} : {
        openMs: Math.round(r.openMs), storeReadMs: Math.round(r.getMs!), referenceLoopMs: Math.round(r.loopMs!),
        headParseMs: +r.headParseMs!.toFixed(1), rangesCrcMs: Math.round(r.crcMs!), rangesCheckMs: Math.max(0, Math.round(r.parseMs! - r.headParseMs! - r.crcMs!)),
      }), peakRssMiB: Math.round(r.maxRssMiB!),
    });
  }
  const readRows = ctx.quick ? 100_000 : 1_000_000;
  // Same working memory: the artifact budget counts buffers + sort scratch + encoded flush; the
  // two-file writer holds its flush group, a sorted copy and the encoded group (about 3x the group).
  const readBudget = 24 * 1024 * 1024;
  const groupBytes = readBudget / 3;
  const coalesce = { coalesceGap: 0 };
  const concurrency = 64;
  const model = finalizeModel();
  const partitionCounts = process.env.BENCH_PARTITIONS ? process.env.BENCH_PARTITIONS.split(",").map(Number) : ctx.quick ? [1024, 8192] : [1024, 8192, 32_768];
  for (const P of want.has("read") ? partitionCounts : []) {
    const mem = new MemoryObjectStore();
    const artifacts: [string, string, number][] = [["artifact, 1 bucket", "a1", 1], ["artifact, 16 buckets", "a16", 16]];
    for (const [name, uri, buckets] of artifacts) {
      ctx.progress(`write ${name} P=${P}`);
      await writeRows("artifact", mem, uri, readRows, P, readBudget, buckets);
    }
    await writeRows("two-file", mem, "two-file", readRows, P, groupBytes);
    // Old paths: every partition fetched on its own, 64 partitions in flight.
    const layouts: { name: string; make: (s: ObjectStore) => Promise<PartitionSource & { readPartitionBatches(p: number): Promise<unknown[]> }> }[] = [
      ...artifacts.map(([name, uri]) => ({ name, make: async (s: ObjectStore) => {
        const r = await PartitionArtifactReader.open(s, uri, { coalesce });
        await r.loadFooters();
        return r;
      } })),
      { name: "two-file shuffle", make: (s) => TwoFileShuffleSource.open(s, "two-file", { numPartitions: P, payloadSchema: payload, coalesce }) },
    ];
    let base: { seconds: number; requests: number } | undefined;
    const measured: { row: BenchResult["rows"][number]; raw: { seconds: number; requests: number } }[] = [];
    for (const l of layouts) {
      const stats = new IoStatsStore(new LatencyStore(mem, { latencyMs: 20 }));
      const source = await l.make(stats);
      const openRequests = stats.snapshot().total.readRequests + stats.snapshot().total.heads;
      const r = await readAll(source, stats, concurrency, ctx, `${l.name} P=${P}`);
      if (l.name === "two-file shuffle") base = r;
      measured.push({ row: { bench: "read", layout: l.name, rows: readRows, partitions: P, openRequests, requestsPerPartition: +(r.requests / P).toFixed(2), maxRequestsPerPartition: r.maxReq, bytesReadMB: +(r.bytes / 1e6).toFixed(1), seconds: +r.seconds.toFixed(1), cpuSeconds: +r.cpu.toFixed(2) }, raw: r });
    }
    // New path: the bulk ordered read (bucket order), and the whole finalize (streamed index write
    // fed by the sequential source, partition order) into an in-memory index store.
    for (const [name, uri] of artifacts) {
      for (const path of ["ordered read", "finalize"] as const) {
        ctx.progress(`${path} ${name} P=${P}`);
        const stats = new IoStatsStore(new LatencyStore(mem, { latencyMs: 20 }));
        const c0 = process.cpuUsage();
        const t = performance.now();
        const reader = await PartitionArtifactReader.open(stats, uri);
        let cost;
        if (path === "ordered read") {
          const read = reader.partitionsInOrder();
          let rowsSeen = 0;
          let bytesSeen = 0;
          // a consumer of the rows' bytes (what finalize copies out): every column of every entry
          for await (const part of read) {
            rowsSeen += part.rows;
            for (const c of part.columns) bytesSeen += c.byteLength;
          }
          if (rowsSeen !== readRows || bytesSeen !== readRows * (8 + M)) throw new Error(`ordered read saw ${rowsSeen} rows, ${bytesSeen} bytes`);
          cost = read.cost;
        } else {
          const source = reader.sequentialSource();
          const w = await writeIvfIndexStreamed(new MemoryObjectStore(), "index.qvr", { ...model(P), source });
          if (w.sourcePasses !== 1) throw new Error(`finalize read the artifact ${w.sourcePasses} times`);
          cost = source.cost;
        }
        const seconds = (performance.now() - t) / 1000;
        const cpu = cpuSeconds(c0);
        const s = stats.snapshot().total;
        measured.push({
          row: { bench: "finalize", layout: `${name}, ${path}`, rows: readRows, partitions: P, requests: s.readRequests, dataRequests: cost.requests, windows: cost.windows, bytesReadMB: +(s.bytesRead / 1e6).toFixed(1), peakBufferedMiB: +(cost.peakBufferedBytes / 1048576).toFixed(1), seconds: +seconds.toFixed(2), cpuSeconds: +cpu.toFixed(2) },
          raw: { seconds, requests: s.readRequests },
        });
      }
    }
    // Ratios from the unrounded measurements (a rounded time over an unrounded one made the
    // two-file row compared with itself show 1.14).
    for (const { row, raw } of measured.splice(0)) {
      if (base !== undefined) {
        row.requestsVsTwoFile = +(raw.requests / base.requests).toFixed(row.bench === "finalize" ? 4 : 2);
        row.timeVsTwoFile = +(raw.seconds / base.seconds).toFixed(3);
        if (row.bench === "finalize") row.speedupVsTwoFile = +(base.seconds / raw.seconds).toFixed(1);
      }
      rows.push(row);
    }
  }
  // The adaptive bucket rule against measurement: at each size, the ordered read (open +
  // partitionsInOrder over LatencyStore(20 ms)) of the artifact written with 1 / 16 / 64 / 256
  // buckets and with the rule's pick, all under the same writer budget.
  const ruleP = ctx.quick ? 2048 : 8192;
  // BENCH_RULE_ROWS=100000,250000 picks the rule's sizes (default 100k, 250k, 1M, 4M)
  const ruleSizes = (quick: boolean): number[] =>
    process.env.BENCH_RULE_ROWS !== undefined ? process.env.BENCH_RULE_ROWS.split(",").map(Number) : quick ? [100_000, 400_000] : [100_000, 250_000, 1_000_000, 4_000_000];
  for (const n of !want.has("rule") ? [] : ruleSizes(ctx.quick)) {
    const pick = adaptiveBucketCount({ kind: "hash-modulo", numPartitions: ruleP, rowBytes: 8 + M, estimatedRows: n, memoryBudgetBytes: readBudget });
    const measuredMs = new Map<number, number>();
    // Every bucket count written first, then read in ROUNDS interleaved rounds (1, 16, 64, 256,
    // 1, 16, ...), each count's best round kept: the machine's load drifts over the same rounds
    // for all of them, and the spread between rounds is the noise the pick is judged against.
    const counts = [...new Set([1, 16, 64, 256, pick])].sort((x, y) => x - y);
    const written = new Map<number, { mem: MemoryObjectStore; ranges: number }>();
    for (const B of counts) {
      ctx.progress(`bucket rule: ${n} rows, writing ${B} buckets`);
      const mem = new MemoryObjectStore();
      const w = await writeRows("artifact", mem, "r", n, ruleP, readBudget, B);
      written.set(B, { mem, ranges: w.info.ranges! });
    }
    const ROUNDS = 3;
    const rounds = new Map<number, number[]>(counts.map((B) => [B, []]));
    const requests = new Map<number, number>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const B of counts) {
        ctx.progress(`bucket rule: ${n} rows, ${B} buckets, round ${round + 1}`);
        const stats = new IoStatsStore(new LatencyStore(written.get(B)!.mem, { latencyMs: 20 }));
        const t = performance.now();
        const reader = await PartitionArtifactReader.open(stats, "r");
        for await (const part of reader.partitionsInOrder()) void part;
        rounds.get(B)!.push(performance.now() - t);
        requests.set(B, stats.snapshot().total.readRequests);
      }
    }
    for (const B of counts) {
      const ms = Math.min(...rounds.get(B)!);
      measuredMs.set(B, ms);
      const est = estimateBucketCost(n, 8 + M, ruleP, B, readBudget);
      rows.push({
        bench: "bucket-rule", rows: n, partitions: ruleP, buckets: B, rulePick: B === pick, ranges: written.get(B)!.ranges, predictedRanges: est.ranges, requests: requests.get(B)!,
        predictedRequests: est.requests, predictedMs: Math.round(est.ms), measuredMs: Math.round(ms), roundsMs: rounds.get(B)!.map((x) => Math.round(x)).join(" / "),
      });
    }
    written.clear();
    const four = [1, 16, 64, 256].map((B) => [B, measuredMs.get(B)!] as const);
    const best = four.reduce((a, b) => (b[1] < a[1] ? b : a));
    rows.push({
      bench: "bucket-rule-summary", rows: n, partitions: ruleP, payloadMB: +((n * (8 + M)) / 1e6).toFixed(1), pick,
      ms1: Math.round(measuredMs.get(1)!), ms16: Math.round(measuredMs.get(16)!), ms64: Math.round(measuredMs.get(64)!), ms256: Math.round(measuredMs.get(256)!),
      pickMs: Math.round(measuredMs.get(pick)!), bestOfFour: best[0], pickVsBest: +(measuredMs.get(pick)! / best[1]).toFixed(2),
      // the noise: the largest spread (max / min - 1) between the rounds of one bucket count
      roundSpread: +Math.max(...counts.map((B) => Math.max(...rounds.get(B)!) / Math.min(...rounds.get(B)!) - 1)).toFixed(2),
    });
  }
  // The finalize phase of a local build at 1M x 128 (the build bench's largest shape: 1,024
  // partitions, PQ m = 8, raw vectors kept, the default 1 GiB budget): artifact and index on a
  // LocalDirectoryStore in a temp dir, finalize read as the pipeline reads it (sequentialSource,
  // budget / 4 buffered, split partitions), CPU seconds and where they go (CPU profile by function).
  if (want.has("local")) {
    const N = ctx.quick ? 100_000 : 1_000_000;
    const dim = 128;
    const m = 8;
    const P = 1024;
    const budget = 1024 ** 3;
    const schema = payloadSchemaOf([{ name: "row_id", type: "uint64" }, { name: "code", type: `fixed_size_list<uint8>[${m}]` }, { name: "vector", type: `fixed_size_list<float32>[${dim}]` }]);
    const dir = mkdtempSync(join(tmpdir(), "quiver-artifact-bench-local-"));
    try {
      ctx.progress(`local finalize: writing ${N} x ${dim}`);
      const store = new LocalDirectoryStore(dir);
      const w = await PartitionArtifactWriter.create({ store, uri: "art", numPartitions: P, payloadSchema: schema, memoryBudgetBytes: budget / 2, estimatedRows: N });
      for (let r = 0; r < N; r += CHUNK) {
        const n = Math.min(CHUNK, N - r);
        const parts = new Uint32Array(n);
        const ids = new Uint8Array(n * 8);
        const view = new DataView(ids.buffer);
        const codes = new Uint8Array(n * m);
        const vec = new Float32Array(n * dim);
        for (let i = 0; i < n; i++) {
          const x = r + i;
          const u = (Math.imul(x ^ 0x9e3779b9, 2246822519) >>> 0) / 4294967296;
          parts[i] = Math.min(P - 1, Math.floor(u * u * P));
          view.setBigUint64(i * 8, BigInt(x), true);
          codes[i * m] = x & 255;
          vec[i * dim] = x;
        }
        await w.appendRows(parts, [ids, codes, new Uint8Array(vec.buffer)]);
      }
      await w.finish();
      const sample = new Float32Array(512 * dim);
      for (let i = 0; i < sample.length; i++) sample[i] = (Math.sin(i * 12.9898) * 43758.5453) % 1;
      const q = trainQuantizer("pq", sample, 512, dim, { distance: "l2", numSubVectors: m, maxIters: 2, residual: false, seed: 1 });
      ctx.progress("local finalize");
      const { Session } = await import("node:inspector/promises");
      const session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      const c0 = process.cpuUsage();
      const t = performance.now();
      const reader = await PartitionArtifactReader.open(store, "art");
      const source = reader.sequentialSource({ maxBufferedBytes: budget / 4, splitPartitions: true });
      const out = await writeIvfIndexStreamed(store, "index.qvr", { dim, distance: "l2", centroids: new Float32Array(P * dim), quantizer: q.metadata, codeWidth: m, source });
      const seconds = (performance.now() - t) / 1000;
      const cpu = cpuSeconds(c0);
      const { profile } = (await session.post("Profiler.stop")) as { profile: { nodes: { id: number; callFrame: { functionName: string; url: string } }[]; samples: number[]; timeDeltas: number[] } };
      session.disconnect();
      // sampled time by function (self time), the top entries
      const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
      const self = new Map<string, number>();
      for (let i = 0; i < profile.samples.length; i++) {
        const nd = byId.get(profile.samples[i]!)!;
        const name = `${nd.callFrame.functionName || "(anonymous)"}${nd.callFrame.url === "" ? "" : ` ${nd.callFrame.url.split("/").slice(-2).join("/")}`}`;
        self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
      }
      const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => `${k.replace(/:\d+$/, "")} ${Math.round(v)} ms`).join("; ");
      rows.push({ bench: "local-finalize", rows: N, partitions: P, dim, indexMB: +(out.fileSize / 1e6).toFixed(1), artifactRequests: source.cost.requests, windows: source.cost.windows, seconds: +seconds.toFixed(2), cpuSeconds: +cpu.toFixed(2), profileTop: top });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (process.env.BENCH_SECTIONS || process.env.BENCH_PARTITIONS) {
    // A selective rerun: keep the rows of bench/results/artifact.json it did not remeasure, so
    // the results file (and the figures quoted from it) stays whole.
    const file = join(dirname(fileURLToPath(import.meta.url)), "results", "artifact.json");
    const sectionOf: Record<string, string> = { write: "write", manifest: "manifest", read: "read", finalize: "read", "bucket-rule": "rule", "bucket-rule-summary": "rule", "local-finalize": "local" };
    const remeasured = (r: BenchResult["rows"][number]): boolean =>
      want.has(sectionOf[String(r.bench)] ?? "") && (sectionOf[String(r.bench)] !== "read" || partitionCounts.includes(Number(r.partitions)));
    if (!ctx.quick && existsSync(file)) {
      const old = JSON.parse(readFileSync(file, "utf8")) as { rows: BenchResult["rows"]; date: string; machine?: { loadBefore?: number; loadAfter?: number }; notes?: string[] };
      const kept = old.rows.filter((r) => !remeasured(r));
      const order = ["write", "manifest", "read", "finalize", "bucket-rule", "bucket-rule-summary", "local-finalize"];
      const merged = [...kept, ...rows].sort((a, b) => order.indexOf(String(a.bench)) - order.indexOf(String(b.bench)) || Number(a.partitions ?? 0) - Number(b.partitions ?? 0));
      rows.splice(0, rows.length, ...merged);
      notes.push(`selective rerun (BENCH_SECTIONS=${process.env.BENCH_SECTIONS ?? "all"}, BENCH_PARTITIONS=${process.env.BENCH_PARTITIONS ?? "all"}): the other ${kept.length} rows are kept from the run of ${old.date} (1-minute load ${old.machine?.loadBefore} before / ${old.machine?.loadAfter} after; the file's machine load and date are this rerun's)`);
    }
  }
  notes.push(`bucket rule: ${ruleP} partitions, writer budget ${readBudget / 1048576} MiB, payload 24 B/row; pick = adaptiveBucketCount (cost model DEFAULT_BUCKET_COST_MODEL, spec/artifact.md#bucket-cost-model); measured = open + partitionsInOrder over LatencyStore(20 ms), the best of 3 interleaved rounds (roundSpread: the largest max/min - 1 between one count's rounds, the noise); pickVsBest = pick's measured time / the best of 1, 16, 64, 256 (<= 1: the pick is at least as fast)`);
  notes.push(`write: ${BUDGET / 1048576} MiB budget (artifact) / ${BUDGET / 1048576} MiB flush groups (two-file), LocalDirectoryStore in a temp dir, one child process per row; payload = row_id u64 + 16-byte code (24 B/row), 'artifact+vectors' adds the 512-byte float32 vector a build with raw vectors writes (536 B/row) and reads it back as finalize does (partitionsInOrder, partition order: orderedRead*); cpuSeconds = the writer's CPU (appendRows + finish, data generation excluded)`);
  notes.push("finalize: the new path. 'ordered read' = PartitionArtifactReader.partitionsInOrder (bucket order, default 8 MiB requests, 64 MiB buffered, 16 requests in flight); 'finalize' = writeIvfIndexStreamed fed by reader.sequentialSource() (partition order) into an in-memory index store; both include opening the artifact (manifest, ranges table, bucket footers) over LatencyStore(20 ms); timeVsTwoFile / speedupVsTwoFile against the two-file shuffle's per-partition read of the same P (64 in flight)");
  notes.push(`read: ${readRows} rows; artifact budget ${readBudget / 1048576} MiB, two-file flush groups ${groupBytes / 1048576} MiB (same working memory); MemoryObjectStore behind LatencyStore(20 ms); ${concurrency} partitions in flight; coalescing only of touching ranges (gap 0), so bytes read = bytes needed`);
  return { rows, notes };
}

if (process.env.ARTIFACT_BENCH_CHILD !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  await child(process.env.ARTIFACT_BENCH_CHILD);
}
