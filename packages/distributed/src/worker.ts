/**
 * The shard worker: a BullMQ worker on `<prefix>-shards` that runs shard jobs against the shared
 * store. Separate OS processes (`quiver worker`), any number of them. A worker that dies (SIGKILL,
 * OOM, power) stops renewing its job lock; after `lockDurationMs` BullMQ's stalled-job check
 * (every `stalledIntervalMs`, run by every live worker) moves the job back to waiting and another
 * worker retries it, up to `maxStalledCount` times. The retry writes to its own staging path and
 * produces the same segment.
 */
import { QuiverArgumentError, checkInteger, checkOptions, isQuiverFormatError } from "@quiver/format";
import type { ObjectStore } from "@quiver/store";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { QuiverDistributedError } from "./errors.js";
import type { ShardJobData } from "./plan.js";
import { redisConnection } from "./redis.js";
import { type ShardHooks, type ShardResult, runShard } from "./shard-job.js";

/** Default queue prefix: queues "quiver-shards" and "quiver-merge". */
export const DEFAULT_QUEUE_PREFIX = "quiver";
/** Default job lock: 30 s (renewed every 15 s while a worker lives). */
export const DEFAULT_LOCK_DURATION_MS = 30_000;
/** Default stalled-job check interval: 15 s. */
export const DEFAULT_STALLED_INTERVAL_MS = 15_000;
/** Default stalls a job survives before it fails: 3. */
export const DEFAULT_MAX_STALLED_COUNT = 3;

/** Lock and stall settings shared by shard workers and the coordinator's merge worker. */
export interface StallOptions {
  /** How long a job's lock lasts without renewal (default 30 s; tests use 2-5 s). */
  readonly lockDurationMs?: number;
  /** How often live workers look for stalled jobs (default 15 s). */
  readonly stalledIntervalMs?: number;
  /** Stalls a job survives before failing (default 3). */
  readonly maxStalledCount?: number;
}

/** Options of {@link startShardWorker}. */
export interface ShardWorkerOptions extends StallOptions {
  /** Redis URL (redis://host:port[/db]). */
  readonly redis: string;
  /** The shared store (the coordinator's). */
  readonly store: ObjectStore;
  /** Shard jobs run at once in this process (default 1: a shard uses the machine's threads). */
  readonly concurrency?: number;
  /** Queue name prefix (default "quiver"). */
  readonly queuePrefix?: string;
  /** Worker threads per shard build (default: all cores). */
  readonly threads?: number;
  /** Called with each shard's result or failure (logging). */
  readonly onEvent?: (e: ShardWorkerEvent) => void;
  /** Test hook: runs after a shard is staged, before it is committed. */
  readonly beforeCommit?: ShardHooks["beforeCommit"];
}

/** What a worker reports about its jobs. */
export type ShardWorkerEvent =
  | { readonly type: "started"; readonly shard: string; readonly jobId: string; readonly attempt: number }
  | { readonly type: "completed"; readonly shard: string; readonly jobId: string; readonly result: ShardResult }
  | { readonly type: "failed"; readonly shard: string; readonly jobId: string; readonly message: string };

/** A running worker. */
export interface ShardWorkerHandle {
  readonly worker: Worker;
  /** Stop taking jobs, wait for running ones, disconnect. */
  close(): Promise<void>;
}

/** Validated stall settings. */
export function stallSettings(o: StallOptions): { lockDuration: number; stalledInterval: number; maxStalledCount: number } {
  return {
    lockDuration: checkInteger("options.lockDurationMs", o.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS, 500, 3_600_000),
    stalledInterval: checkInteger("options.stalledIntervalMs", o.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS, 200, 3_600_000),
    maxStalledCount: checkInteger("options.maxStalledCount", o.maxStalledCount ?? DEFAULT_MAX_STALLED_COUNT, 0, 100),
  };
}

/** Validated queue prefix. */
export function checkQueuePrefix(p: unknown): string {
  const prefix = p ?? DEFAULT_QUEUE_PREFIX;
  if (typeof prefix !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(prefix)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.queuePrefix", expected: "1-64 letters, digits, _ . - (no colon)", given: p });
  }
  return prefix;
}

/** Errors that a retry cannot fix fail the job at once (no further attempts). */
function unrecoverable(e: unknown): boolean {
  if (e instanceof QuiverDistributedError) return e.code === "DIST_INPUT_CHANGED" || e.code === "DIST_STORE_MISMATCH" || e.code === "DIST_DUPLICATE_ID";
  if (e instanceof QuiverArgumentError) return true;
  // bad bytes in the input or model: the same bytes fail the same way again
  return isQuiverFormatError(e) && (e.stage === "input" || e.stage === "model");
}

/** Start a shard worker in this process (the `quiver worker` command runs one). */
export function startShardWorker(options: ShardWorkerOptions): ShardWorkerHandle {
  checkOptions("options", options, ["redis", "store", "concurrency", "queuePrefix", "threads", "onEvent", "beforeCommit", "lockDurationMs", "stalledIntervalMs", "maxStalledCount"]);
  const connection = redisConnection(options.redis);
  if (typeof options.store !== "object" || options.store === null || typeof options.store.put !== "function") {
    throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.store", expected: "an ObjectStore", given: options.store });
  }
  const concurrency = checkInteger("options.concurrency", options.concurrency ?? 1, 1, 64);
  const threads = options.threads === undefined ? undefined : checkInteger("options.threads", options.threads, 1, 256);
  const prefix = checkQueuePrefix(options.queuePrefix);
  const stall = stallSettings(options);
  const store = options.store;
  const beforeCommit = options.beforeCommit ?? shardHookFromEnv();
  const worker = new Worker(
    `${prefix}-shards`,
    async (job: Job<ShardJobData, ShardResult>) => {
      const data = job.data;
      const attempt = job.attemptsStarted;
      options.onEvent?.({ type: "started", shard: data.shard, jobId: job.id!, attempt });
      let lastReport = 0;
      try {
        const result = await runShard(store, threads === undefined ? data : { ...data, tuning: { ...data.tuning, threads } }, job.id!, attempt, {
          onProgress: (done, total) => {
            const now = Date.now();
            if (now - lastReport < 250 && done < total) return;
            lastReport = now;
            void job.updateProgress({ done, total }).catch(() => {});
          },
          ...(beforeCommit === undefined ? {} : { beforeCommit }),
        });
        options.onEvent?.({ type: "completed", shard: data.shard, jobId: job.id!, result });
        return result;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        options.onEvent?.({ type: "failed", shard: data.shard, jobId: job.id!, message });
        if (unrecoverable(e)) throw new UnrecoverableError(message);
        throw e;
      }
    },
    { connection, concurrency, ...stall, autorun: true },
  );
  // errors of the connection are retried by ioredis; keep them from becoming unhandled events
  worker.on("error", () => {});
  return { worker, close: () => worker.close() };
}

/**
 * Test hook of the process: QUIVER_DIST_TEST_PAUSE_IN_SHARD=1 makes every shard print
 * "quiver-dist: paused in <shard>" on stderr once its segment is staged and wait forever (the
 * fault tests SIGKILL the worker there; its job lock then expires and the job is retried).
 */
function shardHookFromEnv(): ShardHooks["beforeCommit"] {
  if (process.env.QUIVER_DIST_TEST_PAUSE_IN_SHARD !== "1") return undefined;
  return async (data) => {
    process.stderr.write(`quiver-dist: paused in ${data.shard}\n`);
    await new Promise(() => {});
  };
}
