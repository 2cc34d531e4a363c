/**
 * Test helpers: real servers (redis-server, s3rver) from the sibling packages' helpers, worker
 * and coordinator processes running the real `quiver` CLI, and small seeded data.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type IvfTrainedModel, encodeNpyF32, trainModel } from "@quiver/build";
import { gaussianMixture } from "@quiver/ivf";

export { redisServerUnavailable, startRedisServer } from "../../cache-redis/test/redis-server.js";
export type { RedisServerHandle } from "../../cache-redis/test/redis-server.js";
export { startS3rver } from "../../store-s3/test/s3rver-server.js";
export type { S3rverHandle } from "../../store-s3/test/s3rver-server.js";

export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const bin = join(repoRoot, "packages/cli/src/bin.ts");

/** Small, cheap tuning (single thread: deterministic and no worker-thread start-up). */
export const TUNING = { numPartitions: 8, numSubVectors: 4, maxIterations: 6, seed: 5, quantizerSampleSize: 2048, threads: 1 } as const;

/** Stall settings short enough for tests (a killed worker's job is retried after ~5-6 s), long enough that a loaded machine does not let a live worker's lock expire. */
export const STALL = { lockDurationMs: 5000, stalledIntervalMs: 1000, maxStalledCount: 3 } as const;

/** A temp dir with an .npy of `n` x `dim` seeded vectors, and the vectors. */
export async function dataDir(n: number, dim: number, seed = 3): Promise<{ dir: string; input: string; vectors: Float32Array; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "quiver-dist-"));
  const vectors = gaussianMixture({ n, dim, clusters: 16, seed });
  const input = join(dir, "input.npy");
  await writeFile(input, encodeNpyF32(vectors, n, dim));
  return { dir, input, vectors, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Train the model the tests share between the distributed and the single-process build. */
export async function trainTestModel(input: string): Promise<IvfTrainedModel> {
  return (await trainModel({ input, ...TUNING })).model;
}

/** The s3:// URI of a prefix of an s3rver bucket (s3rver ignores If-None-Match: check-then-put). */
export function s3Uri(endpoint: string, bucket: string, prefix: string): string {
  return `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true&accessKeyId=S3RVER&secretAccessKey=S3RVER&conditionalCreate=check-then-put`;
}

/** A `quiver` child process and its output. */
export interface QuiverProcess {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stderr matches (rejects after `ms` or when the process exits first). */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  /** Resolves with the exit code (or signal name). */
  exited(): Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Run `quiver <args>` as a separate OS process (source via tsx, as `pnpm quiver` does). */
export function spawnQuiver(args: readonly string[], env: Record<string, string> = {}): QuiverProcess {
  const child = spawn(process.execPath, ["--conditions=quiver-source", "--import", "tsx", bin, ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { re: RegExp; done: () => void }[] = [];
  child.stdout!.on("data", (d) => (out += d.toString()));
  child.stderr!.on("data", (d) => {
    err += d.toString();
    for (const w of [...waiters]) if (w.re.test(err)) w.done();
  });
  const exit = new Promise<number | string>((r) => child.once("exit", (code, signal) => r(code ?? signal ?? -1)));
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    waitFor(re, ms = 60_000) {
      if (re.test(err)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re} in:\n${err.slice(-2000)}`)), ms);
        const w = { re, done: () => (clearTimeout(t), waiters.splice(waiters.indexOf(w), 1), resolve()) };
        waiters.push(w);
        void exit.then((c) => {
          if (waiters.includes(w)) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`process exited (${c}) before ${re}:\n${err.slice(-2000)}`));
          }
        });
      });
    },
    exited: () => exit,
    async kill(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        await exit;
      }
    },
  };
}

/** Start `quiver worker` processes on a queue prefix, resolved once each says it is ready. */
export async function startWorkers(count: number, redis: string, store: string, prefix: string, env: Record<string, string> = {}, lockDurationMs: number = STALL.lockDurationMs): Promise<QuiverProcess[]> {
  const ws = Array.from({ length: count }, () => spawnQuiver(["worker", "--redis", redis, "--store", store, "--queue-prefix", prefix, "--threads", "1", "--lock-duration", String(lockDurationMs)], env));
  await Promise.all(ws.map((w) => w.waitFor(/worker: ready/)));
  return ws;
}
