/**
 * The coordinator of a distributed build: pin the input, train the model once (or take a given
 * one) and commit it, plan row-range shards, enqueue one BullMQ flow (a "merge" parent on
 * `<prefix>-merge` over one child per shard on `<prefix>-shards`), run the merge job when its
 * children are done (validate every segment against the plan, then publish one manifest version),
 * and report per-shard progress and stats.
 *
 * Resumable: the build key is a digest of the input version and the options, and every job id,
 * segment id and object path derives from it. A coordinator killed at any point and restarted
 * with the same arguments reads the committed plan and model back, finds the existing flow (its
 * completed shards are not rerun; a shard whose segment is committed returns it without
 * rebuilding), and its merge worker takes over a merge job the dead coordinator held once the
 * job's lock expires. The publish is idempotent: a merge that finds its own segment set already
 * published (the dead coordinator published, then died) returns that version instead of
 * publishing a second one.
 */
import { resolve } from "node:path";
import { type BuildTuning, type IvfTrainedModel, buildIndex, checkTuning, decodeModelFile, encodeModelFile, openVectorFile, planRowRanges, trainModel } from "@quiver/build";
import { QuiverArgumentError, checkInteger, checkOptions, parseJsonBytes } from "@quiver/format";
import { readIvfIndexState } from "@quiver/ivf";
import { MemoryObjectStore, type ObjectStore, getIfExists, isStoreError } from "@quiver/store";
import {
  type SegmentDescriptor,
  type SegmentPlan,
  latestSegmentVersion,
  segmentModelDigest,
  versionPath,
  publishSegments,
  readSegmentManifest,
  validateSegments,
} from "@quiver/segments";
import { FlowProducer, type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { QuiverDistributedError } from "./errors.js";
import { inputVersionOf } from "./input-version.js";
import {
  type DistributedPlan,
  type MergeJobData,
  PLAN_VERSION,
  type ShardJobData,
  type ShardTuning,
  buildDir,
  digestOf,
  joinRoot,
  mergeJobId,
  segmentIdOf,
  shardJobId,
  shardName,
} from "./plan.js";
import { redisConnection } from "./redis.js";
import type { ShardResult } from "./shard-job.js";
import { type StallOptions, checkQueuePrefix, stallSettings } from "./worker.js";

/** Most shards of one build. */
export const MAX_SHARDS = 10_000;

/** Progress of a distributed build. */
export type DistributedProgressEvent =
  | { readonly type: "phase"; readonly phase: "pin" | "model" | "plan" | "enqueue" | "shards" | "validate" | "publish"; readonly state: "start" | "done"; readonly detail?: string }
  | { readonly type: "shard"; readonly shard: string; readonly index: number; readonly state: string; readonly done?: number; readonly total?: number; readonly attempt?: number };

/** Options of {@link planDistributedBuild}. */
export interface PlanDistributedBuildOptions extends BuildTuning {
  /** Input file (npy, fvecs, bvecs, Arrow IPC, Parquet) on a file system every worker reaches. */
  readonly input: string;
  readonly store: ObjectStore;
  /** Index root in the store ("" or a relative path without a trailing slash). */
  readonly root: string;
  /** Number of row-range shards (1 ..= 10,000, at most the input's rows). */
  readonly shards: number;
  /** A trained model (object or model-file bytes, with its quantizer) instead of training. */
  readonly model?: IvfTrainedModel | Uint8Array;
  readonly column?: string;
  readonly idColumn?: string;
  readonly idsFile?: string;
  readonly onProgress?: (e: DistributedProgressEvent) => void;
}

/** Options of {@link runDistributedBuild}. */
export interface DistributedBuildOptions extends PlanDistributedBuildOptions, StallOptions {
  /** Redis URL of the queues. */
  readonly redis: string;
  /** Queue name prefix (default "quiver": queues quiver-shards, quiver-merge). */
  readonly queuePrefix?: string;
  /** Attempts of a shard job that fails with an error (stalls are counted separately; default 3). */
  readonly attempts?: number;
  /** Give up waiting after this long (default: wait forever). */
  readonly timeoutMs?: number;
  /** Run the merge job in this process (default true). With false, another coordinator's merge worker must. */
  readonly runMerge?: boolean;
}

/** What a finished distributed build returns. */
export interface DistributedBuildResult {
  readonly version: number;
  readonly manifestPath: string;
  readonly buildKey: string;
  /** True when the manifest version was already published (a restarted coordinator after a publish). */
  readonly alreadyPublished: boolean;
  /** True when the plan was found committed (a restarted coordinator). */
  readonly resumed: boolean;
  readonly modelStatus: "trained" | "given" | "reused";
  readonly phases: { readonly pinMs: number; readonly modelMs: number; readonly planMs: number; readonly shardsMs: number; readonly validateMs: number; readonly publishMs: number; readonly totalMs: number };
  readonly shards: readonly ShardResult[];
}

/** What the merge job returns. */
export interface MergeResult {
  readonly version: number;
  readonly manifestPath: string;
  readonly alreadyPublished: boolean;
  readonly validateMs: number;
  readonly publishMs: number;
  readonly shards: readonly ShardResult[];
}

const TUNING_KEYS = ["distanceType", "quantizer", "numPartitions", "targetPartitionSize", "numSubVectors", "sampleRate", "maxIterations", "quantizerSampleSize", "seed", "storeRawVectors", "memoryBudgetBytes", "threads"] as const;
const PLAN_OPTIONS = ["input", "store", "root", "shards", "model", "column", "idColumn", "idsFile", "onProgress", ...TUNING_KEYS] as const;
const RUN_OPTIONS = [...PLAN_OPTIONS, "redis", "queuePrefix", "attempts", "timeoutMs", "runMerge", "lockDurationMs", "stalledIntervalMs", "maxStalledCount"] as const;

function checkRootArg(root: unknown): string {
  if (typeof root !== "string" || root.length > 1024 || root.startsWith("/") || root.endsWith("/") || (root !== "" && root.split("/").some((s) => s === "" || s === "." || s === ".."))) {
    throw new QuiverArgumentError(root === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "options.root", expected: 'an index root: "" or a relative object path without a trailing slash', given: root });
  }
  return root;
}


/** Create `path` with `bytes` unless it exists; returns the bytes committed there (ours or the earlier writer's). */
async function createOnce(store: ObjectStore, path: string, bytes: Uint8Array): Promise<{ bytes: Uint8Array; created: boolean }> {
  try {
    await store.put(path, bytes, { ifAbsent: true, durable: true });
    return { bytes, created: true };
  } catch (e) {
    if (isStoreError(e) && e.code === "ALREADY_EXISTS") return { bytes: await store.get(path), created: false };
    throw e;
  }
}

/**
 * Pin the input, commit the model and the plan (or read them back when this build was planned
 * before), without touching any queue. The plan's shards are the shard jobs' data.
 */
export async function planDistributedBuild(o: PlanDistributedBuildOptions): Promise<{ plan: DistributedPlan; planPath: string; resumed: boolean; modelStatus: DistributedBuildResult["modelStatus"]; pinMs: number; modelMs: number; planMs: number }> {
  checkOptions("options", o, PLAN_OPTIONS);
  if (o === undefined || o === null) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options", expected: "an options object", given: o });
  if (typeof o.input !== "string" || o.input === "") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.input", expected: "an input file path", given: o.input });
  if (typeof o.store !== "object" || o.store === null || typeof o.store.put !== "function") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.store", expected: "an ObjectStore", given: o.store });
  const root = checkRootArg(o.root);
  checkInteger("options.shards", o.shards, 1, MAX_SHARDS);
  checkTuning(o);
  for (const k of ["column", "idColumn", "idsFile"] as const) {
    if (o[k] !== undefined && (typeof o[k] !== "string" || o[k] === "")) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `options.${k}`, expected: "a non-empty string", given: o[k] });
  }
  const store = o.store;
  const progress = o.onProgress ?? (() => {});
  const input = resolve(o.input);
  const idsFile = o.idsFile === undefined ? undefined : resolve(o.idsFile);

  let t = performance.now();
  progress({ type: "phase", phase: "pin", state: "start" });
  const version = await inputVersionOf(input);
  const given = o.model === undefined ? undefined : o.model instanceof Uint8Array ? decodeModelFile(o.model) : o.model;
  if (given !== undefined && given.quantizer === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.model", expected: "a model with a trained quantizer", given: "a model with centroids only" });
  const givenBytes = given === undefined ? undefined : encodeModelFile(given);
  const tuning: Record<string, unknown> = {};
  for (const k of TUNING_KEYS) if (o[k] !== undefined && k !== "threads" && k !== "memoryBudgetBytes") tuning[k] = o[k];
  const inputOpts = { ...(o.column === undefined ? {} : { column: o.column }), ...(o.idColumn === undefined ? {} : { idColumn: o.idColumn }), ...(idsFile === undefined ? {} : { idsFile }) };
  const buildKey = digestOf({ planVersion: PLAN_VERSION, version, inputOpts, tuning, shards: o.shards, root, model: givenBytes === undefined ? null : digestOf(Buffer.from(givenBytes).toString("base64"), 64) });
  const pinMs = performance.now() - t;
  progress({ type: "phase", phase: "pin", state: "done", detail: version });

  const dir = buildDir(root, buildKey);
  const planPath = joinRoot(dir, "plan.json");
  const modelPath = joinRoot(dir, "model.qvm");
  const committed = await getIfExists(store, planPath);
  if (committed !== undefined) {
    const plan = parseJsonBytes(committed) as DistributedPlan;
    if (plan.buildKey !== buildKey || plan.planVersion !== PLAN_VERSION) throw new QuiverDistributedError("DIST_BUILD_CONFLICT", `the plan at ${planPath} is of another build`);
    return { plan, planPath, resumed: true, modelStatus: "reused", pinMs, modelMs: 0, planMs: 0 };
  }

  // --- model: once per build ------------------------------------------------------------------
  t = performance.now();
  progress({ type: "phase", phase: "model", state: "start" });
  let modelStatus: DistributedBuildResult["modelStatus"];
  let modelBytes = await getIfExists(store, modelPath);
  if (modelBytes !== undefined) modelStatus = "reused";
  else if (givenBytes !== undefined) {
    modelBytes = (await createOnce(store, modelPath, givenBytes)).bytes;
    modelStatus = "given";
  } else {
    const trained = await trainModel({ input, ...inputOpts, ...(tuning as BuildTuning), ...(o.threads === undefined ? {} : { threads: o.threads }), ...(o.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: o.memoryBudgetBytes }) });
    modelBytes = (await createOnce(store, modelPath, encodeModelFile(trained.model))).bytes;
    modelStatus = "trained";
  }
  const model = decodeModelFile(modelBytes);
  const modelMs = performance.now() - t;
  progress({ type: "phase", phase: "model", state: "done", detail: modelStatus });

  // --- plan: row ranges from the header (never a scan of row ids) ---------------------------------
  t = performance.now();
  progress({ type: "phase", phase: "plan", state: "start" });
  const reader = await openVectorFile(input, inputOpts);
  let numRows = reader.numRows;
  const dim = reader.dim;
  const hasIds = reader.hasIds;
  try {
    if (numRows === undefined) {
      // an Arrow stream declares no row count: one counting pass (no ids are kept)
      numRows = 0;
      for await (const b of reader.batches(65_536)) numRows += b.rows;
    }
  } finally {
    await reader.close();
  }
  if (dim !== model.dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.model", expected: `a model of dim ${dim} (the input's)`, given: `dim ${model.dim}` });
  if (o.shards > numRows) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.shards", expected: `at most the input's ${numRows} rows`, given: o.shards });
  const ranges = planRowRanges(numRows, o.shards);
  const shardTuning: ShardTuning = {
    ...(o.storeRawVectors === undefined ? {} : { storeRawVectors: o.storeRawVectors }),
    ...(o.memoryBudgetBytes === undefined ? {} : { memoryBudgetBytes: o.memoryBudgetBytes }),
    ...(o.threads === undefined ? {} : { threads: o.threads }),
  };
  const base = await latestSegmentVersion(store, root);
  const shardInput = { path: input, version, ...inputOpts };
  const shards: ShardJobData[] = ranges.map((range, i) => ({
    planVersion: PLAN_VERSION, buildKey, shard: shardName(i), index: i, segmentId: segmentIdOf(buildKey, i), root, input: shardInput, range, modelPath, tuning: shardTuning,
  }));
  const plan: DistributedPlan = {
    planVersion: PLAN_VERSION, buildKey, root, input: { ...shardInput, numRows, dim }, modelPath, modelDigest: await modelDigestOf(model),
    baseVersion: base ?? null, shards, totalRows: numRows, plannedAtMs: Date.now(),
    ...(hasIds ? {} : { rowIdRanges: [["0", String(numRows)]] as [string, string][] }),
  };
  const written = await createOnce(store, planPath, new TextEncoder().encode(JSON.stringify(plan)));
  const finalPlan = written.created ? plan : (parseJsonBytes(written.bytes) as DistributedPlan);
  const planMs = performance.now() - t;
  progress({ type: "phase", phase: "plan", state: "done", detail: `${o.shards} shards of ~${Math.ceil(numRows / o.shards)} rows` });
  return { plan: finalPlan, planPath, resumed: !written.created, modelStatus, pinMs, modelMs, planMs };
}

/**
 * The segment model digest every shard's segment must have: the digest of a one-row index built
 * with the model (the digest covers the model only, never row data), so the merge compares each
 * segment with the coordinator's model, not merely the segments with each other.
 */
async function modelDigestOf(model: IvfTrainedModel): Promise<string> {
  const mem = new MemoryObjectStore();
  await buildIndex({ input: { vectors: model.centroids.slice(0, model.dim), dim: model.dim }, store: mem, path: "probe.ivf", model, threads: 1 });
  return segmentModelDigest(await readIvfIndexState(mem, "probe.ivf"));
}

/** The segment-validation plan of a build plan. */
export function segmentPlanOf(plan: DistributedPlan): SegmentPlan {
  return { totalRows: plan.totalRows, inputVersion: plan.input.version, modelDigest: plan.modelDigest, ...(plan.rowIdRanges === undefined ? {} : { rowIdRanges: plan.rowIdRanges }) };
}

function sameSegmentSet(a: readonly SegmentDescriptor[], b: readonly SegmentDescriptor[]): boolean {
  if (a.length !== b.length) return false;
  const key = (d: SegmentDescriptor) => `${d.segmentId}\0${d.path}\0${d.indexIdentity}`;
  const s = new Set(a.map(key));
  return b.every((d) => s.has(key(d)));
}

/** Hooks of the merge job (tests pause the coordinator between validation and publish). */
export interface MergeHooks {
  readonly beforePublish?: (plan: DistributedPlan) => void | Promise<void>;
  readonly onProgress?: (e: DistributedProgressEvent) => void;
}

/**
 * The merge step: validate the shards' segments against the plan (every rule of
 * `validateSegments`; nothing is published when one fails), then publish them as one manifest
 * version based on the plan's base version. Idempotent (see the module comment).
 */
export async function mergeShardResults(store: ObjectStore, plan: DistributedPlan, results: readonly ShardResult[], hooks: MergeHooks = {}): Promise<MergeResult> {
  const progress = hooks.onProgress ?? (() => {});
  const sorted = [...results].sort((a, b) => a.index - b.index);
  const descriptors = sorted.map((r) => r.descriptor);
  const segPlan = segmentPlanOf(plan);
  let t = performance.now();
  // every shard's completion is reported before validation, even one the coordinator's poll has not seen yet
  for (const r of sorted) progress({ type: "shard", shard: r.shard, index: r.index, state: "completed", done: r.rows, total: r.rows, attempt: r.attempt });
  progress({ type: "phase", phase: "validate", state: "start" });
  await validateSegments(store, descriptors, segPlan);
  const validateMs = performance.now() - t;
  progress({ type: "phase", phase: "validate", state: "done", detail: `${descriptors.length} segments` });
  await hooks.beforePublish?.(plan);
  t = performance.now();
  progress({ type: "phase", phase: "publish", state: "start" });
  const base = plan.baseVersion ?? undefined;
  const mine = async (): Promise<{ version: number; manifestPath: string } | undefined> => {
    const latest = await latestSegmentVersion(store, plan.root);
    if (latest === undefined || latest === base) return undefined;
    // versions after the base: ours if one lists exactly our segments (a publish that died before its job completed)
    for (let v = latest; v > (base ?? 0); v--) {
      const m = await readSegmentManifest(store, plan.root, { version: v });
      if (sameSegmentSet(m.segments, descriptors)) return { version: v, manifestPath: versionPath(plan.root, v) };
    }
    throw new QuiverDistributedError("DIST_BUILD_CONFLICT", `version ${latest} of ${plan.root || "the root"} was published by another writer since this build was planned on version ${base ?? "none"}; rebuild`);
  };
  const earlier = await mine();
  if (earlier !== undefined) {
    progress({ type: "phase", phase: "publish", state: "done", detail: `version ${earlier.version} (already published)` });
    return { ...earlier, alreadyPublished: true, validateMs, publishMs: performance.now() - t, shards: sorted };
  }
  let published: { version: number; manifestPath: string };
  try {
    published = await publishSegments(store, plan.root, descriptors, { expectedVersion: base ?? 0, plan: segPlan, validate: false });
  } catch (e) {
    // a concurrent publish of our own segment set (a zombie merge) counts as ours
    const again = await mine().catch(() => undefined);
    if (again !== undefined) return { ...again, alreadyPublished: true, validateMs, publishMs: performance.now() - t, shards: sorted };
    throw e;
  }
  progress({ type: "phase", phase: "publish", state: "done", detail: `version ${published.version}` });
  return { ...published, alreadyPublished: false, validateMs, publishMs: performance.now() - t, shards: sorted };
}

/** Options of {@link startMergeWorker}. */
export interface MergeWorkerOptions extends StallOptions, MergeHooks {
  readonly redis: string;
  readonly store: ObjectStore;
  readonly queuePrefix?: string;
}

/** Errors of a merge kept by job id, so the coordinator that ran it rethrows the typed original. */
const mergeErrors = new Map<string, unknown>();

/** A worker on `<prefix>-merge` running merge jobs (the coordinator starts one). */
export function startMergeWorker(o: MergeWorkerOptions): { worker: Worker; close(): Promise<void> } {
  checkOptions("options", o, ["redis", "store", "queuePrefix", "lockDurationMs", "stalledIntervalMs", "maxStalledCount", "beforePublish", "onProgress"]);
  const prefix = checkQueuePrefix(o.queuePrefix);
  const stall = stallSettings(o);
  const worker = new Worker(
    `${prefix}-merge`,
    async (job: Job<MergeJobData, MergeResult>) => {
      try {
        const plan = parseJsonBytes(await o.store.get(job.data.planPath)) as DistributedPlan;
        const values = await job.getChildrenValues<ShardResult>();
        return await mergeShardResults(o.store, plan, Object.values(values), o);
      } catch (e) {
        mergeErrors.set(job.id!, e);
        const code = (e as { code?: unknown }).code;
        // validation failures and conflicts do not go away on retry; store errors may
        if (typeof code === "string" && !isStoreError(e)) throw new UnrecoverableError(e instanceof Error ? e.message : String(e));
        throw e;
      }
    },
    { connection: redisConnection(o.redis), concurrency: 1, ...stall },
  );
  worker.on("error", () => {});
  return { worker, close: () => worker.close() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run a whole distributed build (plan, enqueue, wait for the shards, merge, publish); resumable with the same arguments. */
export async function runDistributedBuild(o: DistributedBuildOptions): Promise<DistributedBuildResult> {
  checkOptions("options", o, RUN_OPTIONS);
  const connection = redisConnection(o?.redis);
  const prefix = checkQueuePrefix(o.queuePrefix);
  const stall = stallSettings(o);
  const attempts = checkInteger("options.attempts", o.attempts ?? 3, 1, 100);
  const timeoutMs = o.timeoutMs === undefined ? undefined : checkInteger("options.timeoutMs", o.timeoutMs, 1, Number.MAX_SAFE_INTEGER);
  const t0 = performance.now();
  const report = o.onProgress ?? (() => {});
  // the poll below and the merge step both report completed shards: once each
  const completedShards = new Set<string>();
  const progress = (e: DistributedProgressEvent): void => {
    if (e.type === "shard" && e.state === "completed") {
      if (completedShards.has(e.shard)) return;
      completedShards.add(e.shard);
    }
    report(e);
  };
  const planOptions: Record<string, unknown> = {};
  for (const k of PLAN_OPTIONS) if (o[k] !== undefined) planOptions[k] = o[k];
  const planned = await planDistributedBuild(planOptions as unknown as PlanDistributedBuildOptions);
  const { plan, planPath } = planned;
  const stallOptions = { lockDurationMs: stall.lockDuration, stalledIntervalMs: stall.stalledInterval, maxStalledCount: stall.maxStalledCount };
  const merge = o.runMerge === false ? undefined : startMergeWorker({ redis: o.redis, store: o.store, queuePrefix: prefix, ...stallOptions, onProgress: progress, ...(mergeHooksFromEnv() ?? {}) });
  const shardsQueue = new Queue(`${prefix}-shards`, { connection });
  const mergeQueue = new Queue(`${prefix}-merge`, { connection });
  const flow = new FlowProducer({ connection });
  const tShards = performance.now();
  try {
    const mergeId = mergeJobId(plan.buildKey);
    progress({ type: "phase", phase: "enqueue", state: "start" });
    const earlier = await mergeQueue.getJob(mergeId);
    if (earlier !== undefined && (await earlier.getState()) === "failed") {
      // A rerun retries a failed build: the failed flow goes and a fresh one is enqueued. Shards
      // whose segments were committed return them without rebuilding (runShard), so only what
      // failed (or never ran) is built again.
      await removeFailedFlow(earlier, timeoutMs === undefined ? 60_000 : Math.max(0, timeoutMs - (performance.now() - t0)));
      progress({ type: "phase", phase: "enqueue", state: "start", detail: `the earlier run of this build failed (${(earlier.failedReason ?? "").slice(0, 200)}); retrying it` });
    }
    if ((await mergeQueue.getJob(mergeId)) === undefined) {
      const data: MergeJobData = { planVersion: PLAN_VERSION, buildKey: plan.buildKey, root: plan.root, planPath };
      await flow.add({
        name: "merge",
        queueName: `${prefix}-merge`,
        data,
        opts: { jobId: mergeId, attempts, backoff: { type: "fixed", delay: 500 } },
        children: plan.shards.map((s) => ({
          name: "shard",
          queueName: `${prefix}-shards`,
          data: s,
          opts: { jobId: shardJobId(plan.buildKey, s.index), attempts, backoff: { type: "fixed", delay: 500 }, failParentOnFailure: true },
        })),
      });
    }
    progress({ type: "phase", phase: "enqueue", state: "done" });
    progress({ type: "phase", phase: "shards", state: "start" });
    const seen = new Map<string, string>();
    // Completed shards are final: only the others are polled, and the poll interval grows with
    // their number, so a build of thousands of shards costs Redis about one request per shard per
    // 2 s instead of one per shard per poll.
    const pending = new Set(plan.shards.map((s) => s.index));
    let shardsMs: number | undefined;
    for (;;) {
      if (timeoutMs !== undefined && performance.now() - t0 > timeoutMs) throw new QuiverDistributedError("DIST_TIMEOUT", `the build did not finish within ${timeoutMs} ms`);
      const job = await mergeQueue.getJob(mergeId);
      if (job === undefined) throw new QuiverDistributedError("DIST_MERGE_FAILED", `the merge job ${mergeId} disappeared from ${prefix}-merge (removed by someone else?)`);
      for (const s of plan.shards) {
        if (!pending.has(s.index)) continue;
        const c = await shardsQueue.getJob(shardJobId(plan.buildKey, s.index));
        const state = c === undefined ? "unknown" : await c.getState();
        const p = (c?.progress ?? {}) as { done?: number; total?: number };
        const key = `${state}:${p.done ?? ""}:${c?.attemptsStarted ?? 0}`;
        if (state === "completed") pending.delete(s.index);
        if (seen.get(s.shard) !== key) {
          seen.set(s.shard, key);
          progress({ type: "shard", shard: s.shard, index: s.index, state, ...(typeof p.done === "number" ? { done: p.done } : {}), ...(typeof p.total === "number" ? { total: p.total } : {}), ...(c === undefined ? {} : { attempt: c.attemptsStarted }) });
        }
        if (state === "failed") {
          throw new QuiverDistributedError("DIST_SHARD_FAILED", `${s.shard} failed after ${c?.attemptsMade ?? 0} attempt(s): ${(c?.failedReason ?? "").slice(0, 500)}`, { shard: s.shard, ...codeOf(c?.failedReason) });
        }
      }
      if (pending.size === 0 && shardsMs === undefined) {
        shardsMs = performance.now() - tShards;
        progress({ type: "phase", phase: "shards", state: "done" });
      }
      const state = await job.getState();
      if (state === "completed") {
        // the job object was read before it completed: read it again for its return value
        const r = (await mergeQueue.getJob(mergeId))?.returnvalue as MergeResult | undefined;
        if (r === undefined || r === null) throw new QuiverDistributedError("DIST_MERGE_FAILED", `the merge job ${mergeId} completed without a result`);
        return {
          version: r.version, manifestPath: r.manifestPath, buildKey: plan.buildKey, alreadyPublished: r.alreadyPublished, resumed: planned.resumed, modelStatus: planned.modelStatus,
          phases: { pinMs: planned.pinMs, modelMs: planned.modelMs, planMs: planned.planMs, shardsMs: shardsMs ?? performance.now() - tShards, validateMs: r.validateMs, publishMs: r.publishMs, totalMs: performance.now() - t0 },
          shards: r.shards,
        };
      }
      if (state === "failed") {
        const original = mergeErrors.get(mergeId);
        mergeErrors.delete(mergeId);
        if (original !== undefined) throw original;
        const reason = job.failedReason ?? "";
        throw new QuiverDistributedError("DIST_MERGE_FAILED", `the merge failed: ${reason.slice(0, 800)}`, { ...codeOf(reason), ...shardOf(reason) });
      }
      await sleep(Math.min(5000, Math.max(200, pending.size * 2)));
    }
  } finally {
    await flow.close();
    await shardsQueue.close();
    await mergeQueue.close();
    await merge?.close();
  }
}

/**
 * Remove a failed merge job and its shard jobs. A shard of the failed flow that is still running
 * holds its lock; removal is retried until it stops (it fails or completes) or `waitMs` passes.
 */
async function removeFailedFlow(job: Job, waitMs: number): Promise<void> {
  const until = performance.now() + waitMs;
  for (;;) {
    try {
      await job.remove({ removeChildren: true });
      return;
    } catch (e) {
      if (performance.now() > until) {
        throw new QuiverDistributedError("DIST_TIMEOUT", `the earlier, failed run of this build still has a running shard job, so it cannot be retried yet (${e instanceof Error ? e.message : String(e)})`);
      }
      await sleep(500);
    }
  }
}

function codeOf(reason: string | undefined): { causeCode?: string } {
  const m = /^([A-Z][A-Z0-9_]{2,63}):/.exec(reason ?? "");
  return m === null ? {} : { causeCode: m[1]! };
}

function shardOf(reason: string): { shard?: string } {
  const m = /\b(shard-\d{4,})\b/.exec(reason);
  return m === null ? {} : { shard: m[1]! };
}

/**
 * Test hook of the process: QUIVER_DIST_TEST_PAUSE_BEFORE_PUBLISH=1 makes the merge print
 * "quiver-dist: paused before publish" on stderr after validating and wait forever (the fault
 * tests SIGKILL the coordinator there).
 */
function mergeHooksFromEnv(): MergeHooks | undefined {
  if (process.env.QUIVER_DIST_TEST_PAUSE_BEFORE_PUBLISH !== "1") return undefined;
  return {
    beforePublish: async () => {
      process.stderr.write("quiver-dist: paused before publish\n");
      await new Promise(() => {});
    },
  };
}
