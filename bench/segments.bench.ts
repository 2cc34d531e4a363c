/**
 * `pnpm bench segments`: what a segmented index costs (spec/segments.md#rationale).
 * 1. Validation of 10 and 100 segments before a publish: time, requests and bytes read, over an
 *    in-memory store and over a 20 ms-per-request LatencyStore (16 header reads in flight).
 * 2. The same 32,000 rows as 1, 4 and 16 segments sharing one model: publish (validate + commit),
 *    cold open, and search latency (single queries and a batch of 64), over the memory store.
 * BENCH_QUICK=1 shrinks every size. Other work shares this 2-core machine: timings are indicative;
 * compare rows of one run.
 */
import { type IvfTrainedModel, buildIndexInMemory } from "@quiver/build";
import { gaussianMixture } from "@quiver/ivf";
import { type SegmentDescriptor, describeSegment, openSegmentedIndex, publishSegments, validateSegments } from "@quiver/segments";
import { IoStatsStore, LatencyStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import type { BenchContext, BenchResult } from "./run.js";

const DIM = 64;

async function buildSegments(store: ObjectStore, vectors: Float32Array, model: IvfTrainedModel, root: string, n: number, count: number): Promise<SegmentDescriptor[]> {
  const per = Math.floor(n / count);
  const out: SegmentDescriptor[] = [];
  for (let i = 0; i < count; i++) {
    const start = i * per;
    const end = i === count - 1 ? n : start + per;
    const ids = BigUint64Array.from({ length: end - start }, (_, j) => BigInt(start + j));
    const path = `${root}/_staging/job${i}-0/seg-${i}.ivf`;
    await buildIndexInMemory({ store, path, vectors: vectors.subarray(start * DIM, end * DIM), dim: DIM, ids, model, threads: 1 });
    out.push(await describeSegment(store, path, { segmentId: `seg-${i}`, shard: `shard-${i}`, rowIdRanges: [[String(start), String(end)]], inputVersion: "bench.npy#size=1" }));
  }
  return out;
}

async function median(times: number, f: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[ms.length >> 1]!;
}

const round = (x: number, d = 2): number => Number(x.toFixed(d));

/** Variables that select part of this bench or change what it measures: a run with any set writes segments.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the bench. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows: BenchResult["rows"] = [];
  const notes: string[] = [];
  const base = new MemoryObjectStore();
  const n = ctx.quick ? 4000 : 32_000;
  const vectors = gaussianMixture({ n, dim: DIM, clusters: 32, seed: 11 });
  ctx.progress("training the shared model");
  const { model } = await buildIndexInMemory({ store: base, path: "single.ivf", vectors: vectors.subarray(0, Math.min(n, 16_000) * DIM), dim: DIM, numPartitions: 32, quantizer: "pq", threads: 1, seed: 1 });

  // 1. validation cost at 10 and 100 segments (small segments: 100 rows each)
  for (const count of ctx.quick ? [10] : [10, 100]) {
    ctx.progress(`building ${count} small segments`);
    const root = `v${count}`;
    const segs = await buildSegments(base, vectors, model, root, count * 100, count);
    const plan = { rowIdRanges: [["0", String(count * 100)]] as [string, string][], totalRows: count * 100 };
    for (const [storeName, make] of [
      ["memory", (s: ObjectStore) => s],
      ["LatencyStore 20 ms", (s: ObjectStore) => new LatencyStore(s, { latencyMs: 20 })],
    ] as const) {
      const io = new IoStatsStore(make(base));
      ctx.progress(`validating ${count} segments over ${storeName}`);
      const ms = await median(3, () => validateSegments(io, segs, plan));
      const s = io.snapshot().total;
      rows.push({
        part: "validate", segments: count, store: storeName, "median ms": round(ms), "requests/run": s.readRequests / 3, "KiB read/run": round(s.bytesRead / 3 / 1024, 1),
        "file KiB (all segments)": round(segs.reduce((x, d) => x + d.bytes, 0) / 1024, 1), "lists+heads": s.lists + s.heads,
      });
    }
  }

  // 2. publish / open / search over 1, 4, 16 segments of the same rows
  const queries = Array.from({ length: 64 }, (_, i) => vectors.slice(((i * 97) % n) * DIM, (((i * 97) % n) + 1) * DIM));
  for (const count of [1, 4, 16]) {
    const store = new MemoryObjectStore();
    ctx.progress(`building ${count} segments over ${n} rows`);
    const segs = await buildSegments(store, vectors, model, "idx", n, count);
    const io = new IoStatsStore(store);
    const t0 = performance.now();
    await publishSegments(io, "idx", segs, { expectedVersion: 0, plan: { rowIdRanges: [["0", String(n)]], totalRows: n } });
    const publishMs = performance.now() - t0;
    const publishRequests = io.reset().total;
    const t1 = performance.now();
    const index = await openSegmentedIndex(io, "idx");
    const openMs = performance.now() - t1;
    const openRequests = io.reset().total;
    for (const q of queries.slice(0, 8)) await index.search(q, { k: 10, nprobes: 8 }); // warm the segments' caches
    const searchMs = await median(31, () => index.search(queries[0]!, { k: 10, nprobes: 8 }));
    const refineMs = await median(31, () => index.search(queries[1]!, { k: 10, nprobes: 8, refineFactor: 4 }));
    const batchMs = await median(5, () => index.searchBatch(queries, { k: 10, nprobes: 8 }));
    rows.push({
      part: "serve", segments: count, rows: n, "publish ms": round(publishMs), "publish requests": publishRequests.readRequests + publishRequests.lists + publishRequests.writes,
      "open ms": round(openMs), "open requests": openRequests.readRequests + openRequests.lists, "search p50 ms": round(searchMs, 3), "refine x4 p50 ms": round(refineMs, 3), "batch of 64 ms": round(batchMs),
    });
  }
  notes.push("validate: per segment one read of its first 64 KiB, plus one more when the metadata sections end past it (here the dim-64 PQ codebook alone is 64 KiB): requests/run = 2 x segments; no list, no HEAD, no row id read");
  notes.push("serve: search is warm (partitions cached); single-segment search is the IvfVectorIndex path, several segments search each and merge (refine: merged candidates, then one exact re-rank search per segment)");
  notes.push("serve: the first publish of the process also compiles the manifest JSON Schema (ajv), once");
  return { rows, notes };
}
