/**
 * The options of `buildIndex`, with LanceDB's names and defaults, validated before any work:
 * unknown options, wrong types and out-of-range values throw `QuiverArgumentError`.
 */
import { QuiverArgumentError, checkInteger, checkOneOf, checkOptions } from "@quiver/format";
import { type DistanceType, type QuantizerKind, defaultNumSubVectors } from "@quiver/ivf";

/** Distance types (LanceDB's `distanceType`). */
export const DISTANCE_TYPES: readonly DistanceType[] = ["l2", "cosine", "dot"];
/** Quantizers: IVF_PQ, IVF_SQ, IVF_FLAT, IVF_RQ (RaBitQ). */
export const QUANTIZERS: readonly QuantizerKind[] = ["pq", "sq", "flat", "rabitq"];
/** Target rows per partition when `numPartitions` is omitted (the modelled system's: FLAT 4096, PQ/SQ 8192). */
export const TARGET_PARTITION_SIZE: Readonly<Record<QuantizerKind, number>> = { flat: 4096, pq: 8192, sq: 8192, rabitq: 8192 };
/** Most partitions the default rule picks (the modelled system's cap). */
export const MAX_DEFAULT_PARTITIONS = 4096;
/** Default memory budget: 1 GiB. */
export const DEFAULT_MEMORY_BUDGET_BYTES = 1024 ** 3;
/** Smallest memory budget accepted: 64 MiB. */
export const MIN_MEMORY_BUDGET_BYTES = 64 * 1024 ** 2;
/**
 * Default iteration cap of IVF training (k-means on the sample, kmeans++ seeded). The modelled
 * system caps at 50 (from a random start) with tolerance 1e-4; from kmeans++ seeds it converged
 * at that tolerance in 24-27 iterations on the build bench's 100k x 128 data (256 partitions),
 * and 10 iterations left the training loss 0.3 % (equal mixture) / 0.8 % (unequal clusters) above
 * convergence with the same partition recall@20 (0.9925 vs 0.992; 1.0 vs 1.0) at 45-55 % of the
 * CPU time (bench/ivf-training.bench.ts).
 */
export const DEFAULT_IVF_MAX_ITERATIONS = 12;
/** Default quantizer training sample: 256 x 2^8 rows, the modelled system's PQ default. */
export const DEFAULT_QUANTIZER_SAMPLE = 65_536;

/** The tunable options of a build (everything but where input and output are). */
export interface BuildTuning {
  /** Metric: "l2" (default), "cosine" or "dot". */
  readonly distanceType?: DistanceType;
  /** "pq" (default), "sq", "flat" or "rabitq". */
  readonly quantizer?: QuantizerKind;
  /** IVF partitions (default: rows / targetPartitionSize, clamped to [1, 4096]). */
  readonly numPartitions?: number;
  /** Rows per partition the default `numPartitions` aims at (default 8192; 4096 for flat). */
  readonly targetPartitionSize?: number;
  /** PQ sub-vectors (default dim/16, else dim/8, else 1). */
  readonly numSubVectors?: number;
  /** IVF training rows per partition (default 256). */
  readonly sampleRate?: number;
  /** k-means iteration cap of the quantizer training (default 50), and of IVF training when lower than its own cap. */
  readonly maxIterations?: number;
  /** k-means iteration cap of IVF training (default min(maxIterations, 12): see DEFAULT_IVF_MAX_ITERATIONS). */
  readonly ivfMaxIterations?: number;
  /** Quantizer training rows (default 65,536). */
  readonly quantizerSampleSize?: number;
  /** Seed of sampling and training (default 42). */
  readonly seed?: number;
  /** Keep raw vectors in the index so searches can refine (default true). */
  readonly storeRawVectors?: boolean;
  /** Bytes the build may hold (default 1 GiB, at least 64 MiB). */
  readonly memoryBudgetBytes?: number;
  /** Worker threads of training and assign + encode (default: all cores). */
  readonly threads?: number;
}

/** Tuning with every default applied. */
export interface ResolvedTuning {
  readonly distanceType: DistanceType;
  readonly quantizer: QuantizerKind;
  readonly numPartitions: number;
  readonly numSubVectors: number;
  readonly sampleRate: number;
  readonly maxIterations: number;
  readonly ivfMaxIterations: number;
  readonly quantizerSampleSize: number;
  readonly seed: number;
  readonly storeRawVectors: boolean;
  readonly memoryBudgetBytes: number;
  readonly threads: number | undefined;
}

/** Option names of {@link BuildTuning}. */
export const TUNING_OPTIONS = [
  "distanceType", "quantizer", "numPartitions", "targetPartitionSize", "numSubVectors", "sampleRate",
  "maxIterations", "ivfMaxIterations", "quantizerSampleSize", "seed", "storeRawVectors", "memoryBudgetBytes", "threads",
] as const;

/** Default partition count: clamp(round(rows / target), 1, 4096). */
export function defaultNumPartitions(rows: number, target: number): number {
  return Math.max(1, Math.min(MAX_DEFAULT_PARTITIONS, Math.round(rows / target)));
}

/** Validate the tuning options (limits first), without knowing the input. */
export function checkTuning(o: BuildTuning, argument = "options"): void {
  if (o.distanceType !== undefined) checkOneOf(`${argument}.distanceType`, o.distanceType, DISTANCE_TYPES);
  if (o.quantizer !== undefined) checkOneOf(`${argument}.quantizer`, o.quantizer, QUANTIZERS);
  if (o.numPartitions !== undefined) checkInteger(`${argument}.numPartitions`, o.numPartitions, 1, 65_536);
  if (o.targetPartitionSize !== undefined) checkInteger(`${argument}.targetPartitionSize`, o.targetPartitionSize, 1, 2 ** 31);
  if (o.numSubVectors !== undefined) checkInteger(`${argument}.numSubVectors`, o.numSubVectors, 1, 65_536);
  if (o.sampleRate !== undefined) checkInteger(`${argument}.sampleRate`, o.sampleRate, 1, 65_536);
  if (o.maxIterations !== undefined) checkInteger(`${argument}.maxIterations`, o.maxIterations, 1, 10_000);
  if (o.ivfMaxIterations !== undefined) checkInteger(`${argument}.ivfMaxIterations`, o.ivfMaxIterations, 1, 10_000);
  if (o.quantizerSampleSize !== undefined) checkInteger(`${argument}.quantizerSampleSize`, o.quantizerSampleSize, 256, 2 ** 24);
  if (o.seed !== undefined) checkInteger(`${argument}.seed`, o.seed, 0, 0xffff_ffff);
  if (o.storeRawVectors !== undefined && typeof o.storeRawVectors !== "boolean") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${argument}.storeRawVectors`, expected: "a boolean", given: o.storeRawVectors });
  }
  if (o.memoryBudgetBytes !== undefined) checkInteger(`${argument}.memoryBudgetBytes`, o.memoryBudgetBytes, MIN_MEMORY_BUDGET_BYTES, Number.MAX_SAFE_INTEGER);
  if (o.threads !== undefined) checkInteger(`${argument}.threads`, o.threads, 1, 256);
}

/** Apply the defaults once the input's rows and dim are known; checks numSubVectors against dim. */
export function resolveTuning(o: BuildTuning, rows: number, dim: number, argument = "options"): ResolvedTuning {
  const quantizer = o.quantizer ?? "pq";
  const numSubVectors = o.numSubVectors ?? defaultNumSubVectors(dim);
  if (quantizer === "pq" && dim % numSubVectors !== 0) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${argument}.numSubVectors`, expected: `a divisor of dim ${dim}`, given: numSubVectors });
  }
  const numPartitions = o.numPartitions ?? defaultNumPartitions(rows, o.targetPartitionSize ?? TARGET_PARTITION_SIZE[quantizer]);
  return {
    distanceType: o.distanceType ?? "l2",
    quantizer,
    numPartitions,
    numSubVectors,
    sampleRate: o.sampleRate ?? 256,
    maxIterations: o.maxIterations ?? 50,
    ivfMaxIterations: o.ivfMaxIterations ?? Math.min(o.maxIterations ?? 50, DEFAULT_IVF_MAX_ITERATIONS),
    quantizerSampleSize: o.quantizerSampleSize ?? DEFAULT_QUANTIZER_SAMPLE,
    seed: o.seed ?? 42,
    storeRawVectors: o.storeRawVectors ?? true,
    memoryBudgetBytes: o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET_BYTES,
    threads: o.threads,
  };
}

/** Parse a byte size such as "1GiB", "512MiB", "64MB" or "1073741824". */
export function parseByteSize(text: string, argument = "budget"): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?$/i.exec(text.trim());
  if (m === null) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: "a size such as 1GiB, 512MiB or 1073741824", given: text });
  const unit = (m[2] ?? "b").toLowerCase();
  const mult: Record<string, number> = { b: 1, kb: 1e3, kib: 1024, mb: 1e6, mib: 1024 ** 2, gb: 1e9, gib: 1024 ** 3, tb: 1e12, tib: 1024 ** 4 };
  const n = Math.floor(Number(m[1]) * mult[unit]!);
  if (!Number.isSafeInteger(n)) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument, expected: "a size below 2^53 bytes", given: text });
  return n;
}

export { checkOptions };
