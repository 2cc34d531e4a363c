/**
 * Test helper (the in-memory build that moved to @quiver/build as buildIndexInMemory): train, assign +
 * encode, group in memory and write, with the positional signature these tests were written against.
 */
import type { ObjectStore } from "@quiver/store";
import { encodeAndAssignParallel, trainIvfModelParallel, trainQuantizerParallel } from "../src/index.js";
import type { IvfModel } from "../src/index.js";
import { InMemoryPartitionSource } from "../src/index.js";
import type { DistanceType, QuantizerKind, TrainedQuantizer } from "../src/index.js";
import { type IvfIndexWriteResult, writeIvfIndex } from "../src/index.js";

/** Options of {@link buildIvfIndex}. */
export interface BuildIvfIndexOptions {
  readonly quantizer: QuantizerKind;
  readonly distance: DistanceType;
  readonly numPartitions: number;
  readonly seed?: number;
  /** PQ sub-vectors (default: the compute half's, 16 or dim/16). */
  readonly numSubVectors?: number;
  /** IVF training rows per partition (default 256). */
  readonly sampleRate?: number;
  /** k-means iteration cap (default 50). */
  readonly maxIters?: number;
  /** Quantizer training sample (default 65,536 rows). */
  readonly quantizerSampleSize?: number;
  /** Encode residuals (default: the compute half's rule, PQ with l2/cosine and RaBitQ always). */
  readonly residual?: boolean;
  /** Store raw vectors so searches can refine (default true). */
  readonly storeRawVectors?: boolean;
  /** Row ids (default: row index). */
  readonly rowIds?: BigUint64Array;
  /** Worker threads of assign + encode (default: the compute half's choice). */
  readonly threads?: number;
  /** Called with a short phase name as the build progresses. */
  readonly onPhase?: (phase: "train-ivf" | "train-quantizer" | "assign-encode" | "write", ms: number) => void;
}

/** Result of a build, with phase timings in milliseconds. */
export interface IvfBuildResult extends IvfIndexWriteResult {
  readonly model: IvfModel;
  readonly quantizer: TrainedQuantizer;
  readonly timings: { readonly trainIvfMs: number; readonly trainQuantizerMs: number; readonly assignEncodeMs: number; readonly writeMs: number; readonly totalMs: number };
}

/** Default quantizer training sample: 256 x 2^8 rows, the modelled system's PQ default. */
export const DEFAULT_QUANTIZER_SAMPLE = 65_536;

/** Build an IVF index over `n` vectors of `dim` and write it to `store` at `path`. */
export async function buildIvfIndex(store: ObjectStore, path: string, vectors: Float32Array, n: number, dim: number, o: BuildIvfIndexOptions): Promise<IvfBuildResult> {
  if (vectors.length !== n * dim) throw new RangeError(`vectors has ${vectors.length} values, expected ${n * dim}`);
  const seed = o.seed ?? 42;
  const t0 = performance.now();
  const ivfOpts = { numPartitions: o.numPartitions, distance: o.distance, seed, ...(o.sampleRate === undefined ? {} : { sampleRate: o.sampleRate }), ...(o.maxIters === undefined ? {} : { maxIters: o.maxIters }) };
  const threads = o.threads === undefined ? {} : { threads: o.threads };
  // Training is most of the build's CPU: both k-means runs spread their assignment steps over the worker pool.
  const model = await trainIvfModelParallel(vectors, n, dim, { ...ivfOpts, ...threads });
  const t1 = performance.now();
  o.onPhase?.("train-ivf", t1 - t0);
  // trainQuantizer samples (65,536 rows by default), normalises for cosine and takes residuals itself.
  const quantizer = await trainQuantizerParallel(o.quantizer, vectors, n, dim, {
    ...threads,
    distance: o.distance,
    seed,
    ivfCentroids: model.centroids,
    numPartitions: model.numPartitions,
    ...(o.residual === undefined ? {} : { residual: o.residual }),
    ...(o.quantizerSampleSize === undefined ? {} : { sampleSize: o.quantizerSampleSize }),
    ...(o.numSubVectors === undefined ? {} : { numSubVectors: o.numSubVectors }),
    ...(o.maxIters === undefined ? {} : { maxIters: o.maxIters }),
  });
  const t2 = performance.now();
  o.onPhase?.("train-quantizer", t2 - t1);
  const encoded = await encodeAndAssignParallel({
    vectors,
    n,
    dim,
    centroids: model.centroids,
    k: model.numPartitions,
    distance: o.distance,
    quantizer,
    ...(o.threads === undefined ? {} : { threads: o.threads }),
  });
  const t3 = performance.now();
  o.onPhase?.("assign-encode", t3 - t2);
  const source = new InMemoryPartitionSource({
    numPartitions: model.numPartitions,
    partitions: encoded.partitions,
    codes: encoded.codes,
    codeWidth: encoded.codeWidth,
    dim,
    ...(o.rowIds === undefined ? {} : { rowIds: o.rowIds }),
    ...((o.storeRawVectors ?? true) ? { vectors } : {}),
  });
  const written = await writeIvfIndex(store, path, {
    dim,
    distance: o.distance,
    centroids: model.centroids,
    quantizer: quantizer.metadata,
    codeWidth: quantizer.codeWidth,
    source,
  });
  const t4 = performance.now();
  o.onPhase?.("write", t4 - t3);
  return {
    ...written,
    model,
    quantizer,
    timings: { trainIvfMs: t1 - t0, trainQuantizerMs: t2 - t1, assignEncodeMs: t3 - t2, writeMs: t4 - t3, totalMs: t4 - t0 },
  };
}
