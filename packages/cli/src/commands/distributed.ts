/**
 * `quiver build --distributed`, `quiver worker` and `quiver gc`: the distributed build of
 * @quiver/distributed (BullMQ over Redis, a shared store named by a URI) and the segment gc of
 * @quiver/segments.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { closeStore, gcAbandonedBuilds, openStoreFromUri, runDistributedBuild, startShardWorker } from "@quiver/distributed";
import type { DistributedProgressEvent, ShardWorkerEvent } from "@quiver/distributed";
import { QuiverArgumentError } from "@quiver/format";
import { gcSegments } from "@quiver/segments";
import cliProgress from "cli-progress";
import type { CliIo } from "../io.js";
import { type TuningFlags, inputOptions, tuningOf } from "./pipeline-commands.js";

/** Flags of `quiver build --distributed`. */
export interface DistributedBuildFlags extends TuningFlags {
  readonly out: string;
  readonly model?: string;
  readonly redis?: string;
  readonly store?: string;
  readonly shards?: number;
  readonly queuePrefix?: string;
  readonly lockDuration?: number;
  readonly timeout?: number;
}

function required<T>(v: T | undefined, flag: string): T {
  if (v === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: flag, expected: `${flag} with --distributed`, given: undefined });
  return v;
}

/** Per-shard progress: one bar per shard on a TTY, one line per event when piped, nothing when quiet. */
function shardProgress(io: CliIo, quiet: boolean): { event(e: DistributedProgressEvent): void; finish(): void } {
  if (quiet) return { event() {}, finish() {} };
  if (!io.tty) {
    return {
      event(e) {
        if (e.type === "phase") io.stderr(`build: ${e.phase} ${e.state}${e.detail === undefined ? "" : ` (${e.detail})`}\n`);
        else io.stderr(`build: ${e.shard} ${e.state}${e.done === undefined ? "" : ` ${e.done}/${e.total ?? "?"} rows`}${e.attempt === undefined || e.attempt <= 1 ? "" : ` (attempt ${e.attempt})`}\n`);
      },
      finish() {},
    };
  }
  const multi = new cliProgress.MultiBar({ format: "{shard} [{bar}] {percentage}% | {value}/{total} rows | {state}", hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    event(e) {
      if (e.type === "phase") {
        if (e.state === "done") multi.log(`build: ${e.phase} done${e.detail === undefined ? "" : ` (${e.detail})`}\n`);
        return;
      }
      let bar = bars.get(e.shard);
      if (bar === undefined) {
        bar = multi.create(e.total ?? 1, 0, { shard: e.shard, state: e.state });
        bars.set(e.shard, bar);
      }
      if (e.total !== undefined) bar.setTotal(e.total);
      bar.update(e.state === "completed" ? (e.total ?? bar.getTotal()) : (e.done ?? 0), { shard: e.shard, state: e.attempt !== undefined && e.attempt > 1 ? `${e.state} (attempt ${e.attempt})` : e.state });
    },
    finish() {
      multi.stop();
    },
  };
}

/** `quiver build <input> --distributed --redis <url> --store <uri> --shards N --out <root>`. */
export async function distributedBuildCommand(input: string, f: DistributedBuildFlags, io: CliIo): Promise<number> {
  const redis = required(f.redis, "--redis");
  const storeUri = required(f.store, "--store");
  const shards = required(f.shards, "--shards");
  const store = openStoreFromUri(storeUri, { cwd: io.cwd });
  const progress = shardProgress(io, f.quiet === true || f.json === true ? f.quiet === true : false);
  try {
    const model = f.model === undefined ? undefined : new Uint8Array(await readFile(resolve(io.cwd, f.model)));
    const r = await runDistributedBuild({
      input: resolve(io.cwd, input),
      store,
      root: f.out.replace(/\/+$/, ""),
      redis,
      shards,
      ...tuningOf(f),
      ...inputOptions(f, io.cwd),
      ...(model === undefined ? {} : { model }),
      ...(f.queuePrefix === undefined ? {} : { queuePrefix: f.queuePrefix }),
      ...(f.lockDuration === undefined ? {} : { lockDurationMs: f.lockDuration, stalledIntervalMs: Math.max(200, Math.floor(f.lockDuration / 2)) }),
      ...(f.timeout === undefined ? {} : { timeoutMs: f.timeout * 1000 }),
      onProgress: (e) => progress.event(e),
    });
    progress.finish();
    const summary = {
      root: f.out,
      version: r.version,
      manifestPath: r.manifestPath,
      buildKey: r.buildKey,
      alreadyPublished: r.alreadyPublished,
      resumed: r.resumed,
      model: r.modelStatus,
      phases: Object.fromEntries(Object.entries(r.phases).map(([k, v]) => [k, Math.round(v)])),
      shards: r.shards.map((s) => ({ shard: s.shard, segmentId: s.descriptor.segmentId, rows: s.rows, bytes: s.descriptor.bytes, status: s.status, attempt: s.attempt, worker: s.worker, ms: Math.round(s.ms), requests: s.io.readRequests + s.io.writes + s.io.heads + s.io.lists + s.io.deletes, bytesRead: s.io.bytesRead, bytesWritten: s.io.bytesWritten })),
    };
    if (f.json === true) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    else {
      io.stdout(`published ${f.out} version ${r.version}${r.alreadyPublished ? " (already published)" : ""}: ${r.shards.length} segments, ${r.shards.reduce((s, x) => s + x.rows, 0)} rows in ${(r.phases.totalMs / 1000).toFixed(2)} s\n`);
      for (const s of summary.shards) io.stdout(`  ${s.shard} ${s.segmentId} ${s.rows} rows ${(s.bytes / 2 ** 20).toFixed(1)} MiB ${s.status} by ${s.worker} (attempt ${s.attempt}, ${s.requests} requests)\n`);
    }
    return 0;
  } finally {
    progress.finish();
    closeStore(store);
  }
}

/** `quiver worker --redis <url> --store <uri> [--concurrency N] [--queue-prefix p]`: runs until SIGINT/SIGTERM. */
export async function workerCommand(f: { redis: string; store: string; concurrency?: number; queuePrefix?: string; threads?: number; lockDuration?: number; quiet?: boolean }, io: CliIo): Promise<number> {
  const store = openStoreFromUri(f.store, { cwd: io.cwd });
  const log = (e: ShardWorkerEvent): void => {
    if (f.quiet === true) return;
    if (e.type === "started") io.stderr(`worker: ${e.shard} started (job ${e.jobId}, attempt ${e.attempt})\n`);
    else if (e.type === "completed") io.stderr(`worker: ${e.shard} ${e.result.status} ${e.result.rows} rows in ${(e.result.ms / 1000).toFixed(2)} s\n`);
    else io.stderr(`worker: ${e.shard} failed: ${e.message.split("\n")[0]!.slice(0, 300)}\n`);
  };
  const w = startShardWorker({
    redis: f.redis,
    store,
    ...(f.concurrency === undefined ? {} : { concurrency: f.concurrency }),
    ...(f.queuePrefix === undefined ? {} : { queuePrefix: f.queuePrefix }),
    ...(f.threads === undefined ? {} : { threads: f.threads }),
    ...(f.lockDuration === undefined ? {} : { lockDurationMs: f.lockDuration, stalledIntervalMs: Math.max(200, Math.floor(f.lockDuration / 2)) }),
    onEvent: log,
  });
  await w.worker.waitUntilReady();
  if (f.quiet !== true) io.stderr(`worker: ready (pid ${process.pid})\n`);
  await new Promise<void>((done) => {
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
  });
  await w.close();
  closeStore(store);
  return 0;
}

/** Parse "1h", "30m", "45s", "500ms" or a number of milliseconds. */
export function parseDuration(v: string, flag: string): number {
  const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(v.trim());
  if (m === null) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: flag, expected: "a duration such as 1h, 30m, 45s, 500ms", given: v });
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? "ms") as "ms"];
  return n * unit;
}

/** `quiver gc --store <uri> <root> [--min-age 1h] [--keep-versions N] [--dry-run] [--json]`. */
export async function gcCommand(root: string, f: { store: string; minAge?: string; keepVersions?: number; dryRun?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const store = openStoreFromUri(f.store, { cwd: io.cwd });
  try {
    const minAgeMs = parseDuration(f.minAge ?? "1h", "--min-age");
    const r = await gcSegments(store, root.replace(/\/+$/, ""), { minAgeMs, ...(f.keepVersions === undefined ? {} : { keepVersions: f.keepVersions }), ...(f.dryRun === true ? { dryRun: true } : {}) });
    // then what builds that never published left: their committed segments, plan and model
    const b = await gcAbandonedBuilds(store, root.replace(/\/+$/, ""), { minAgeMs, ...(f.dryRun === true ? { dryRun: true } : {}) });
    const deleted = [...r.deleted, ...b.deleted];
    if (f.json === true) io.stdout(`${JSON.stringify({ root, dryRun: f.dryRun === true, minAgeMs, deleted, kept: r.kept, abandonedBuilds: b.abandoned }, null, 2)}\n`);
    else {
      io.stdout(`${f.dryRun === true ? "would delete" : "deleted"} ${deleted.length} object(s), kept ${r.kept}${b.abandoned.length > 0 ? `; ${b.abandoned.length} abandoned build(s)` : ""}\n`);
      for (const p of deleted) io.stdout(`  ${p}\n`);
    }
    return 0;
  } finally {
    closeStore(store);
  }
}
