/**
 * The distributed build on this machine, with a real redis-server and a real s3rver (both on
 * loopback) and `quiver worker` processes: the same input built with 1 and then 2 worker
 * processes (one thread each, so the comparison is of processes, not threads), time per phase
 * (train once, shards, validate, publish), bytes and requests per shard between each worker and
 * the S3 store (counted by an IoStatsStore in the worker and returned in the job result), the
 * merge job's time, peak RSS per worker, and the cost of validating 100 small segments.
 *
 * Full size: 1M x 128 (BENCH_DIST_ROWS overrides it); BENCH_QUICK=1: 20k x 32.
 * The rows feed the 1B-rows-on-100-machines plan in packages/distributed/README.md
 * (bench/figures.ts computes it from the measured per-row costs).
 */
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeModelFile, encodeNpyF32, trainModel } from "@quiver/build";
import { closeStore, openStoreFromUri, planDistributedBuild, runDistributedBuild, runShard, shardJobId } from "@quiver/distributed";
import { gaussianMixture } from "@quiver/ivf";
import { IoStatsStore } from "@quiver/store";
import { validateSegments } from "@quiver/segments";
import { startRedisServer } from "../packages/cache-redis/test/redis-server.js";
import { startS3rver } from "../packages/store-s3/test/s3rver-server.js";
import { type QuiverProcess, s3Uri, startWorkers } from "../packages/distributed/test/helpers.js";
import type { BenchContext, BenchResult } from "./run.js";
import { machineLoad } from "./machine.js";

function peakRssMiB(p: QuiverProcess): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.process.pid}/status`, "utf8"));
    return m === null ? -1 : Math.round(Number(m[1]) / 1024);
  } catch {
    return -1;
  }
}

/** Variables that select part of this bench or change what it measures: a run with any set writes distributed.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = ["BENCH_DIST_ROWS"];

/** Run the distributed bench. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const N = ctx.quick ? 20_000 : Number(process.env.BENCH_DIST_ROWS ?? 1_000_000);
  const DIM = ctx.quick ? 32 : 128;
  const SHARDS = 4;
  const tuning = ctx.quick
    ? { numPartitions: 16, numSubVectors: 8, maxIterations: 6, quantizerSampleSize: 4096, seed: 3 }
    : { numPartitions: 256, numSubVectors: 16, maxIterations: 10, quantizerSampleSize: 16_384, seed: 3 };
  const [redis, s3] = await Promise.all([startRedisServer(), startS3rver()]);
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-dist-"));
  const rows: BenchResult["rows"] = [];
  const notes: string[] = [];
  try {
    ctx.progress(`writing ${N} x ${DIM}`);
    const input = join(dir, "input.npy");
    await writeFile(input, encodeNpyF32(gaussianMixture({ n: N, dim: DIM, clusters: 64, seed: 1 }), N, DIM));
    // Train once, outside the timed builds, so both builds encode with the same model.
    ctx.progress("training the model once");
    let t = performance.now();
    const { model } = await trainModel({ input, ...tuning });
    const trainMs = performance.now() - t;
    const modelBytes = encodeModelFile(model);
    await writeFile(join(dir, "model.qvm"), modelBytes);
    rows.push({ bench: "phase", workers: 0, phase: "train (coordinator, once, 2 threads)", rows: N, dim: DIM, ms: Math.round(trainMs), load: machineLoad() });

    for (const workers of [1, 2]) {
      const prefix = `b${workers}`;
      const uri = s3Uri(s3.endpoint, s3.bucket, `w${workers}`);
      const store = openStoreFromUri(uri);
      // A 1-thread worker encodes a batch on its event loop; the lock must outlast the longest
      // batch under this machine's load, or the job looks stalled and is run again (same segment,
      // wasted work). 256 MiB budget: batches of ~40k rows.
      const ws = await startWorkers(workers, redis.url, uri, prefix, {}, 120_000);
      try {
        ctx.progress(`${workers} worker(s): building ${SHARDS} shards`);
        const r = await runDistributedBuild({ input, store, root: "idx", redis: redis.url, shards: SHARDS, model, queuePrefix: prefix, threads: 1, memoryBudgetBytes: 256 * 2 ** 20, lockDurationMs: 120_000, stalledIntervalMs: 30_000 });
        const load = machineLoad();
        rows.push({ bench: "build", workers, rows: N, dim: DIM, shards: SHARDS, "plan ms": Math.round(r.phases.planMs), "shards ms": Math.round(r.phases.shardsMs), "validate ms": Math.round(r.phases.validateMs), "publish ms": Math.round(r.phases.publishMs), "merge job ms": Math.round(r.phases.validateMs + r.phases.publishMs), "total ms": Math.round(r.phases.totalMs), "peak worker RSS MiB": Math.max(...ws.map(peakRssMiB)), load });
        const reused = r.shards.filter((s) => s.status === "reused").length;
        if (reused > 0) notes.push(`${workers} worker(s): ${reused} shard result(s) came from a rerun that found the segment committed (a stalled-looking attempt finished after all); their request counts are the rerun's`);
        for (const s of r.shards) {
          rows.push({
            bench: "shard", workers, shard: s.shard, status: s.status, attempt: s.attempt, rows: s.rows, ms: Math.round(s.ms), "segment bytes": s.descriptor.bytes, "input bytes": s.inputBytes,
            "store reads": s.io.readRequests, "bytes read": s.io.bytesRead, "store writes": s.io.writes, "bytes written": s.io.bytesWritten,
            heads: s.io.heads, lists: s.io.lists, deletes: s.io.deletes, requests: s.io.readRequests + s.io.writes + s.io.heads + s.io.lists + s.io.deletes,
          });
        }
      } finally {
        await Promise.all(ws.map((w) => w.kill("SIGTERM")));
        closeStore(store);
      }
    }

    // Validation at 10 and 100 small segments: what the merge job reads (headers only), over S3.
    for (const count of [10, 100]) {
      ctx.progress(`validation of ${count} segments`);
      const small = join(dir, `small-${count}.npy`);
      const rowsPer = 200;
      const smallDim = 32;
      await writeFile(small, encodeNpyF32(gaussianMixture({ n: count * rowsPer, dim: smallDim, clusters: 8, seed: 2 }), count * rowsPer, smallDim));
      const m = (await trainModel({ input: small, numPartitions: 8, numSubVectors: 8, maxIterations: 4, quantizerSampleSize: 1024, seed: 1, threads: 1 })).model;
      const store = openStoreFromUri(s3Uri(s3.endpoint, s3.bucket, `v${count}`));
      try {
        const { plan } = await planDistributedBuild({ input: small, store, root: "idx", shards: count, model: m, threads: 1 });
        const results = [];
        for (const s of plan.shards) results.push(await runShard(store, s, shardJobId(plan.buildKey, s.index), 1));
        const io = new IoStatsStore(store);
        t = performance.now();
        await validateSegments(io, results.map((x) => x.descriptor), { totalRows: plan.totalRows, inputVersion: plan.input.version, modelDigest: plan.modelDigest, ...(plan.rowIdRanges === undefined ? {} : { rowIdRanges: plan.rowIdRanges }) });
        const ms = performance.now() - t;
        const c = io.snapshot().total;
        rows.push({ bench: "validate", segments: count, ms: Math.round(ms), "ms per segment": Number((ms / count).toFixed(2)), requests: c.readRequests + c.heads + c.lists, "bytes read": c.bytesRead, "bytes per segment": Math.round(c.bytesRead / count), load: machineLoad() });
      } finally {
        closeStore(store);
      }
    }
    const b1 = rows.find((r) => r.bench === "build" && r.workers === 1)!;
    const b2 = rows.find((r) => r.bench === "build" && r.workers === 2)!;
    notes.push(`${N} x ${DIM}, ${SHARDS} shards, PQ m=${tuning.numSubVectors}, ${tuning.numPartitions} partitions, raw vectors stored; worker processes with 1 thread each; store: s3rver on loopback (every byte crosses HTTP), queues: redis-server on loopback`);
    notes.push(`shard phase with 2 workers / 1 worker: ${(Number(b2["shards ms"]) / Number(b1["shards ms"])).toFixed(2)} of the time (2 cores shared with other work, so this is an upper bound of what a second machine buys)`);
    notes.push(`bytes written per shard = the staged build state (the partition artifact buildIndex commits and finalize reads back: the bytes read) + the segment + the lease; the staging -> segments rename is a server-side copy on S3 (one write request, its bytes not re-sent by the worker)`);
    return { rows, notes };
  } finally {
    await Promise.all([redis.stop(), s3.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}
