/**
 * @quiver/distributed: distributed index builds. A coordinator pins the input, trains the model
 * once, plans row-range shards and enqueues a BullMQ flow; shard workers (separate processes,
 * `quiver worker`) encode their rows into staging segments on a shared object store and commit
 * them by rename; the flow's merge job validates every segment (@quiver/segments) and publishes
 * one manifest version atomically. Store URIs name the shared store (memory:, file://, s3://).
 */
export { openStoreFromUri, closeStore, MAX_STORE_URI_LENGTH } from "./store-uri.js";
export type { StoreUriOptions } from "./store-uri.js";
export { redisConnection } from "./redis.js";
export { inputVersionOf, checkInputVersion } from "./input-version.js";
export { QuiverDistributedError, DISTRIBUTED_ERROR_CODES, isDistributedError } from "./errors.js";
export type { DistributedErrorCode } from "./errors.js";
export {
  PLAN_VERSION,
  shardName,
  shardJobId,
  mergeJobId,
  segmentIdOf,
  segmentPath,
  stagingDir,
  buildDir,
} from "./plan.js";
export type { DistributedPlan, ShardJobData, MergeJobData, ShardInput, ShardTuning } from "./plan.js";
export { runShard, MAX_SHARD_ID_RANGES } from "./shard-job.js";
export type { ShardResult, ShardHooks } from "./shard-job.js";
export {
  startShardWorker,
  DEFAULT_QUEUE_PREFIX,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
  DEFAULT_MAX_STALLED_COUNT,
} from "./worker.js";
export type { ShardWorkerOptions, ShardWorkerHandle, ShardWorkerEvent, StallOptions } from "./worker.js";
export { gcAbandonedBuilds } from "./gc.js";
export type { GcBuildsOptions, GcBuildsResult } from "./gc.js";
export { runDistributedBuild, planDistributedBuild, mergeShardResults, startMergeWorker, segmentPlanOf, MAX_SHARDS } from "./coordinator.js";
export type { DistributedBuildOptions, DistributedBuildResult, DistributedProgressEvent, MergeResult, MergeHooks, MergeWorkerOptions, PlanDistributedBuildOptions } from "./coordinator.js";
