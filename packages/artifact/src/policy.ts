import { QuiverFormatError } from "@quiver/format";
import { type BucketPolicyKind, type BucketPolicyRecord, bucketOfPartition } from "./manifest.js";

/** Defaults of the adaptive bucket count (spec/artifact.md#adaptive-bucket-count). */
export const DEFAULT_TARGET_BUCKET_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MIN_BUCKETS = 1;
export const DEFAULT_MAX_BUCKETS = 256;
/** MUST-level maxima. */
export const MAX_BUCKETS = 4096;
export const MAX_PARTITIONS = 1048576;

/** Inputs of {@link planBucketPolicy}. */
export interface BucketPlanInput {
  readonly kind: BucketPolicyKind;
  readonly numPartitions: number;
  /** Bytes of one payload row. */
  readonly rowBytes: number;
  /** Explicit bucket count (skips the adaptive rule). */
  readonly numBuckets?: number;
  /** Estimated total rows (adaptive rule); ignored when `partitionSizeEstimates` is given. */
  readonly estimatedRows?: number;
  /** Estimated rows per partition; required by size-balanced-range. */
  readonly partitionSizeEstimates?: ArrayLike<number>;
  readonly targetBucketBytes?: number;
  readonly minBuckets?: number;
  readonly maxBuckets?: number;
}

function bad(message: string): never {
  throw new QuiverFormatError("INVALID_VALUE", message, { stage: "write" });
}

/**
 * The adaptive bucket count: `clamp(ceil(estimated payload bytes / target), min, min(max, partitions))`,
 * with `min` when there is no estimate.
 */
export function adaptiveBucketCount(input: BucketPlanInput): number {
  const target = input.targetBucketBytes ?? DEFAULT_TARGET_BUCKET_BYTES;
  const min = input.minBuckets ?? DEFAULT_MIN_BUCKETS;
  const max = Math.min(input.maxBuckets ?? DEFAULT_MAX_BUCKETS, MAX_BUCKETS, input.numPartitions);
  let rows = input.estimatedRows;
  if (input.partitionSizeEstimates !== undefined) {
    rows = 0;
    for (let p = 0; p < input.partitionSizeEstimates.length; p++) rows += Math.max(0, input.partitionSizeEstimates[p] ?? 0);
  }
  const want = rows === undefined ? min : Math.ceil((rows * input.rowBytes) / target);
  return Math.max(1, Math.min(max, Math.max(min, want)));
}

/** Choose the bucket count and the policy parameters (first partition of every bucket for range policies). */
export function planBucketPolicy(input: BucketPlanInput): BucketPolicyRecord {
  const P = input.numPartitions;
  if (!Number.isSafeInteger(P) || P < 1 || P > MAX_PARTITIONS) bad(`numPartitions ${P} is not in [1, ${MAX_PARTITIONS}]`);
  const B = input.numBuckets ?? adaptiveBucketCount(input);
  if (!Number.isSafeInteger(B) || B < 1 || B > Math.min(P, MAX_BUCKETS)) bad(`numBuckets ${B} is not in [1, min(numPartitions, ${MAX_BUCKETS})]`);
  if (input.kind === "hash-modulo") return { kind: "hash-modulo", num_buckets: B };
  const first: number[] = [0];
  if (input.kind === "range-by-partition-id") {
    for (let b = 1; b < B; b++) first.push(Math.floor((b * P) / B));
    return { kind: input.kind, num_buckets: B, bucket_first_partition: first };
  }
  const est = input.partitionSizeEstimates;
  if (est === undefined || est.length !== P) bad("size-balanced-range needs partitionSizeEstimates with one entry per partition");
  const cum = new Float64Array(P + 1);
  for (let p = 0; p < P; p++) cum[p + 1] = cum[p]! + Math.max(0, est[p] ?? 0);
  const total = cum[P]!;
  let p = 0;
  for (let b = 1; b < B; b++) {
    const target = (b * total) / B;
    // Smallest cut after the previous one whose prefix reaches the target, leaving room for the rest.
    p = Math.max(p + 1, first[b - 1]! + 1);
    while (p < P - (B - b) && cum[p]! < target) p++;
    first.push(p);
  }
  return { kind: input.kind, num_buckets: B, bucket_first_partition: first };
}

/** Partition <-> (bucket, local index) arithmetic of a policy. */
export class BucketAssignment {
  readonly numBuckets: number;
  readonly numPartitions: number;
  readonly #hash: boolean;
  readonly #first: Uint32Array;
  /** Bucket of every partition. */
  readonly bucketOf: Uint32Array;

  constructor(policy: BucketPolicyRecord, numPartitions: number) {
    this.numBuckets = policy.num_buckets;
    this.numPartitions = numPartitions;
    this.#hash = policy.kind === "hash-modulo";
    this.#first = Uint32Array.from(policy.bucket_first_partition ?? []);
    this.bucketOf = new Uint32Array(numPartitions);
    for (let p = 0; p < numPartitions; p++) this.bucketOf[p] = bucketOfPartition(policy, p);
  }

  /** Number of partitions assigned to bucket b. */
  partitionsIn(b: number): number {
    if (this.#hash) return Math.floor((this.numPartitions - 1 - b) / this.numBuckets) + 1;
    const end = b + 1 < this.#first.length ? this.#first[b + 1]! : this.numPartitions;
    return end - this.#first[b]!;
  }

  /** Index of partition p among its bucket's partitions (ascending partition id). */
  localIndex(p: number): number {
    return this.#hash ? Math.floor(p / this.numBuckets) : p - this.#first[this.bucketOf[p]!]!;
  }

  /** Partition id of local index l in bucket b. */
  partitionAt(b: number, l: number): number {
    return this.#hash ? l * this.numBuckets + b : this.#first[b]! + l;
  }
}
