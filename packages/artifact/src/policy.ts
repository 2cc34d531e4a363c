import { QuiverFormatError } from "@quiver/format";
import { type BucketPolicyKind, type BucketPolicyRecord, bucketOfPartition } from "./manifest.js";

/** Defaults of the adaptive bucket count (spec/artifact.md#adaptive-bucket-count). */
export const DEFAULT_TARGET_BUCKET_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MIN_BUCKETS = 1;
export const DEFAULT_MAX_BUCKETS = 256;
/** MUST-level maxima. */
export const MAX_BUCKETS = 4096;
export const MAX_PARTITIONS = 1048576;

/**
 * The cost model the adaptive bucket count minimises (spec/artifact.md#bucket-cost-model): the
 * finalize-time bulk read of an artifact (open + `partitionsInOrder`) over an object store.
 * Defaults measured with `pnpm bench artifact` (LatencyStore 20 ms, 2-core VM).
 */
export interface BucketCostModel {
  /** Per-request latency of the store, ms (20: the bench's LatencyStore). */
  readonly latencyMs: number;
  /**
   * Requests per latency round (32, fitted): the ordered read keeps 16 in flight, but the
   * model's data-request count D over-counts the coalesced requests the reader really issues (by
   * up to 2.3x at 256 buckets in the bench), and the fit of the bench's bucket-rule table absorbs it.
   */
  readonly concurrency: number;
  /** Store bandwidth, bytes/s (Infinity: the latency model only). */
  readonly bandwidthBytesPerSecond: number;
  /** CPU per range (CRC-32, bounds-checked message decode, copy): 0.005 ms, fitted to the bench's bucket-rule table (with concurrency 32). */
  readonly perRangeMs: number;
  /** IPC metadata bytes each range's record batch adds to the payload: 224 B measured. */
  readonly rangeOverheadBytes: number;
  /** Fetched bytes held at once by the ordered read (64 MiB): windows of half of it are one round each. */
  readonly maxBufferedBytes: number;
  /** The ordered read's request cap (8 MiB). */
  readonly maxRequestBytes: number;
}

/** The measured defaults of {@link BucketCostModel}. */
export const DEFAULT_BUCKET_COST_MODEL: BucketCostModel = {
  latencyMs: 20,
  concurrency: 32,
  bandwidthBytesPerSecond: Number.POSITIVE_INFINITY,
  perRangeMs: 0.005,
  rangeOverheadBytes: 224,
  maxBufferedBytes: 64 * 1024 * 1024,
  maxRequestBytes: 8 * 1024 * 1024,
};

/** What the cost model predicts for one bucket count. */
export interface BucketCostEstimate {
  readonly buckets: number;
  readonly flushThresholdRows: number;
  readonly flushesPerBucket: number;
  readonly ranges: number;
  readonly bytes: number;
  readonly requests: number;
  readonly ms: number;
}

/**
 * Predicted cost of reading an artifact of `rows` rows of `rowBytes` over `partitions` partitions
 * written into `buckets` buckets under a `memoryBudgetBytes` writer budget (the reference writer's
 * flush rule): see spec/artifact.md#bucket-cost-model for the formulas.
 */
export function estimateBucketCost(rows: number, rowBytes: number, partitions: number, buckets: number, memoryBudgetBytes: number, model: BucketCostModel = DEFAULT_BUCKET_COST_MODEL): BucketCostEstimate {
  const B = buckets;
  const threshold = Math.max(1, Math.floor(memoryBudgetBytes / ((B + 2) * (rowBytes + 4))));
  const perBucket = rows / B;
  const flushes = Math.max(1, Math.ceil(perBucket / threshold));
  const rowsPerFlush = Math.min(threshold, perBucket);
  const partsPerBucket = partitions / B;
  // Expected distinct partitions among a flush's rows (uniform assignment): one range each.
  const runsPerFlush = partsPerBucket * (1 - Math.exp(-rowsPerFlush / partsPerBucket));
  const ranges = B * flushes * runsPerFlush;
  const bytes = rows * rowBytes + ranges * model.rangeOverheadBytes;
  // Open: manifest + ranges table, then per bucket a footer probe, its head, and the footer itself
  // when it is larger than the 64 KiB probe (24 B per block).
  const bigFooter = (ranges / B) * 24 > 64 * 1024 ? 1 : 0;
  const footerRequests = B * (2 + bigFooter);
  // Read: one request per (bucket, flush) run a window touches, plus the splits at maxRequestBytes.
  const windows = Math.max(1, Math.ceil(bytes / (model.maxBufferedBytes / 2)));
  const dataRequests = B * flushes + Math.ceil(bytes / model.maxRequestBytes) + (windows - 1) * flushes;
  // a footer larger than the probe is fetched after the probe that gives its size: a round of its own
  const rounds = 1 + Math.ceil(footerRequests / model.concurrency) + bigFooter + Math.max(windows, Math.ceil(dataRequests / model.concurrency));
  const ms = rounds * model.latencyMs + (bytes / model.bandwidthBytesPerSecond) * 1000 + ranges * model.perRangeMs;
  return { buckets: B, flushThresholdRows: threshold, flushesPerBucket: flushes, ranges: Math.round(ranges), bytes: Math.round(bytes), requests: 2 + footerRequests + dataRequests, ms };
}

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
  /** The writer's memory budget (default 64 MiB): the cost model's flush threshold. */
  readonly memoryBudgetBytes?: number;
  /** Cost model constants (default {@link DEFAULT_BUCKET_COST_MODEL}). */
  readonly costModel?: Partial<BucketCostModel>;
  /** The earlier size rule instead of the cost model: ceil(payload bytes / target) buckets. */
  readonly targetBucketBytes?: number;
  readonly minBuckets?: number;
  readonly maxBuckets?: number;
}

function bad(message: string): never {
  throw new QuiverFormatError("INVALID_VALUE", message, { stage: "write" });
}

/**
 * The adaptive bucket count: the candidate (the bounds and 16, 64, 256, ... within [min, min(max,
 * partitions)]) with the least predicted read cost ({@link estimateBucketCost}); a candidate must
 * be more than 5% cheaper than a smaller one to win (fewer files for a cost in the noise). `min`
 * when there is no estimate. With `targetBucketBytes`, the earlier size rule instead:
 * `clamp(ceil(estimated payload bytes / target), min, min(max, partitions))`.
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
  if (rows === undefined) return Math.max(1, Math.min(max, min));
  if (input.targetBucketBytes !== undefined) return Math.max(1, Math.min(max, Math.max(min, Math.ceil((rows * input.rowBytes) / target))));
  const lo = Math.max(1, Math.min(max, min));
  // The grid the bench measures (powers of 4 from 16) plus the bounds: between grid points the model
  // predicts near-equal costs (same ranges, a few request rounds apart) that measurement cannot
  // tell apart, and the smallest would win on the 5% rule without being measured best.
  const candidates = new Set<number>([lo, max]);
  for (let b = 16; b < max; b *= 4) if (b > lo) candidates.add(b);
  const model = { ...DEFAULT_BUCKET_COST_MODEL, ...input.costModel };
  const budget = input.memoryBudgetBytes ?? 64 * 1024 * 1024;
  let best = lo;
  let bestMs = estimateBucketCost(rows, input.rowBytes, input.numPartitions, lo, budget, model).ms;
  for (const b of [...candidates].sort((x, y) => x - y)) {
    const ms = estimateBucketCost(rows, input.rowBytes, input.numPartitions, b, budget, model).ms;
    if (ms < bestMs * 0.95) {
      best = b;
      bestMs = ms;
    }
  }
  return best;
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
