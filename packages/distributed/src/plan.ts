/**
 * The plan of a distributed build: everything the shard jobs and the merge job need, derived
 * deterministically from the input version and the options, so a restarted coordinator computes
 * the same build key, the same job ids and the same segment ids and finds what is committed.
 *
 * Objects of a build under the index root (spec/segments.md layout, plus these):
 *   _builds/<buildKey>/model.qvm   the model every shard encodes with (committed once, create-only)
 *   _builds/<buildKey>/plan.json   the plan (create-only; a restart reads it back)
 *   _staging/<jobId>-<attempt>/    one shard attempt's private output (lease, segment, state)
 *   segments/<segmentId>.ivf       committed segments (renamed from staging; identical on retry)
 *   _versions/<n>.json             manifest versions (written by publishSegments)
 */
import { createHash } from "node:crypto";
import type { RowRange } from "@quiver/build";

/** Version of the job data / plan layout. */
export const PLAN_VERSION = 1;

/** Tuning a shard passes to `buildIndex` besides the model (the model fixes metric, partitions, quantizer). */
export interface ShardTuning {
  readonly storeRawVectors?: boolean;
  readonly memoryBudgetBytes?: number;
  readonly threads?: number;
}

/** Where a shard reads its rows. */
export interface ShardInput {
  /** Absolute path of the input file (every worker must reach it: a shared file system). */
  readonly path: string;
  /** Pinned version (see `inputVersionOf`). */
  readonly version: string;
  readonly column?: string;
  readonly idColumn?: string;
  readonly idsFile?: string;
}

/** The data of one shard job (JSON, in Redis). */
export interface ShardJobData {
  readonly planVersion: number;
  readonly buildKey: string;
  /** "shard-<index>", used in every error naming the shard. */
  readonly shard: string;
  readonly index: number;
  readonly segmentId: string;
  readonly root: string;
  readonly input: ShardInput;
  readonly range: RowRange;
  readonly modelPath: string;
  readonly tuning: ShardTuning;
}

/** The data of the merge job (the flow's parent). */
export interface MergeJobData {
  readonly planVersion: number;
  readonly buildKey: string;
  readonly root: string;
  readonly planPath: string;
}

/** A committed plan (`_builds/<buildKey>/plan.json`). */
export interface DistributedPlan {
  readonly planVersion: number;
  readonly buildKey: string;
  readonly root: string;
  readonly input: ShardInput & { readonly numRows: number; readonly dim: number };
  readonly modelPath: string;
  readonly modelDigest: string;
  /** Latest manifest version when the build was planned (the publish expects it unchanged). */
  readonly baseVersion: number | null;
  readonly shards: readonly ShardJobData[];
  /** Row-id coverage the merge checks: [[0, numRows)] for implicit row ids; absent with a user id column (ids are only known to the shards). */
  readonly rowIdRanges?: readonly (readonly [string, string])[];
  readonly totalRows: number;
  /** When the plan was committed (ms since the epoch); `gcAbandonedBuilds` ages builds by it. Absent in plans written before it existed (such builds are never reclaimed). */
  readonly plannedAtMs?: number;
}

/** A short, stable hex digest of a JSON-able value (the build key). */
export function digestOf(value: unknown, length = 20): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, length);
}

/** Shard name of index `i` ("shard-0003"). */
export function shardName(i: number): string {
  return `shard-${String(i).padStart(4, "0")}`;
}

/** BullMQ job id of shard `i` of a build (no ":" — BullMQ reserves it). */
export function shardJobId(buildKey: string, i: number): string {
  return `${buildKey}-${shardName(i)}`;
}

/** BullMQ job id of a build's merge job. */
export function mergeJobId(buildKey: string): string {
  return `${buildKey}-merge`;
}

/** Segment id of shard `i` of a build: unique per build and shard, identical for every attempt. */
export function segmentIdOf(buildKey: string, i: number): string {
  return `b${buildKey}-${String(i).padStart(4, "0")}`;
}

/** `root/rel` ("" root: `rel`). */
export function joinRoot(root: string, rel: string): string {
  return root === "" ? rel : `${root}/${rel}`;
}

/** Object path of a committed segment. */
export function segmentPath(root: string, segmentId: string): string {
  return joinRoot(root, `segments/${segmentId}.ivf`);
}

/** Staging directory of one attempt of a shard job. */
export function stagingDir(root: string, jobId: string, attempt: number): string {
  return joinRoot(root, `_staging/${jobId}-${attempt}`);
}

/** Directory of a build's model and plan. */
export function buildDir(root: string, buildKey: string): string {
  return joinRoot(root, `_builds/${buildKey}`);
}
