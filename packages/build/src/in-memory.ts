/**
 * The in-memory build (what `@quiver/ivf`'s `buildIvfIndex` was): train on samples of the whole
 * matrix, assign + encode every row at once, group in memory and write the index with one put.
 * Kept as the reference the streaming pipeline is checked against, and for small inputs.
 */
import { QuiverArgumentError, checkOptions } from "@quiver/format";
import {
  InMemoryPartitionSource,
  type IvfIndexWriteResult,
  type QuantizerMetadata,
  type TrainedQuantizer,
  encodeAndAssignParallel,
  quantizerFromMetadata,
  trainIvfModelParallel,
  trainQuantizerParallel,
  writeIvfIndex,
} from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import type { IvfTrainedModel } from "./model-file.js";
import { type BuildTuning, type ResolvedTuning, TUNING_OPTIONS, checkTuning, resolveTuning } from "./options.js";

/** Options of {@link buildIndexInMemory}. */
export interface InMemoryBuildOptions extends BuildTuning {
  readonly store: ObjectStore;
  readonly path: string;
  /** rows x dim values, row-major. */
  readonly vectors: Float32Array;
  readonly dim: number;
  /** User row ids (default: row numbers). */
  readonly ids?: BigUint64Array;
  /** A trained model (with its quantizer) to use instead of training. */
  readonly model?: IvfTrainedModel;
}

/** Result of the in-memory build, with phase timings in milliseconds. */
export interface InMemoryBuildResult extends IvfIndexWriteResult {
  readonly model: IvfTrainedModel & { readonly quantizer: QuantizerMetadata };
  readonly options: ResolvedTuning;
  readonly timings: { readonly trainIvfMs: number; readonly trainQuantizerMs: number; readonly assignEncodeMs: number; readonly writeMs: number; readonly totalMs: number };
}

/** Build an index with everything in memory (about 4x the input at peak); see `buildIndex` for the streaming pipeline. */
export async function buildIndexInMemory(o: InMemoryBuildOptions): Promise<InMemoryBuildResult> {
  checkOptions("options", o, [...TUNING_OPTIONS, "store", "path", "vectors", "dim", "ids", "model"]);
  checkTuning(o);
  if (!(o.vectors instanceof Float32Array) || !Number.isInteger(o.dim) || o.dim < 1 || o.vectors.length % o.dim !== 0) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.vectors", expected: "a Float32Array of rows x dim values", given: o.vectors });
  }
  const { vectors, dim } = o;
  const n = vectors.length / dim;
  const tuning = resolveTuning(o.model === undefined ? o : { ...o, distanceType: o.model.distance, numPartitions: o.model.numPartitions }, n, dim);
  const threads = tuning.threads === undefined ? {} : { threads: tuning.threads };
  const t0 = performance.now();
  const centroids = o.model?.centroids ?? (await trainIvfModelParallel(vectors, n, dim, {
    numPartitions: tuning.numPartitions, distance: tuning.distanceType, seed: tuning.seed, sampleRate: tuning.sampleRate, maxIters: tuning.ivfMaxIterations, ...threads,
  })).centroids;
  const t1 = performance.now();
  let quantizer: TrainedQuantizer;
  if (o.model?.quantizer !== undefined) quantizer = quantizerFromMetadata(o.model.quantizer);
  else {
    quantizer = await trainQuantizerParallel(tuning.quantizer, vectors, n, dim, {
      ...threads, distance: tuning.distanceType, seed: tuning.seed, ivfCentroids: centroids, numPartitions: tuning.numPartitions,
      sampleSize: tuning.quantizerSampleSize, numSubVectors: tuning.numSubVectors, maxIters: tuning.maxIterations,
    });
  }
  const t2 = performance.now();
  const encoded = await encodeAndAssignParallel({ vectors, n, dim, centroids, k: tuning.numPartitions, distance: tuning.distanceType, quantizer, ...threads });
  const t3 = performance.now();
  const source = new InMemoryPartitionSource({
    numPartitions: tuning.numPartitions,
    partitions: encoded.partitions,
    codes: encoded.codes,
    codeWidth: encoded.codeWidth,
    dim,
    ...(o.ids === undefined ? {} : { rowIds: o.ids }),
    ...(tuning.storeRawVectors ? { vectors } : {}),
  });
  const written = await writeIvfIndex(o.store, o.path, { dim, distance: tuning.distanceType, centroids, quantizer: quantizer.metadata, codeWidth: quantizer.codeWidth, source });
  const t4 = performance.now();
  return {
    ...written,
    model: { dim, distance: tuning.distanceType, numPartitions: tuning.numPartitions, centroids, quantizer: quantizer.metadata },
    options: tuning,
    timings: { trainIvfMs: t1 - t0, trainQuantizerMs: t2 - t1, assignEncodeMs: t3 - t2, writeMs: t4 - t3, totalMs: t4 - t0 },
  };
}
