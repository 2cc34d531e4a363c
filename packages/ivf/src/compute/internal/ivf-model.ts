/** IVF model training: k-means over a seeded sample of numPartitions * sampleRate rows. */
import type { DistanceType } from "../../quantizer.js";
import { trainKMeans } from "./kmeans.js";
import type { KMeansOptions, KMeansResult } from "./kmeans.js";
import { sampleRows } from "./quantizers.js";

/** Options for IVF model training. */
export interface IvfTrainOptions {
  readonly numPartitions: number;
  readonly distance: DistanceType;
  /** Sample rows per partition (default 256). */
  readonly sampleRate?: number;
  /** k-means iteration cap (default 50). */
  readonly maxIters?: number;
  /** k-means relative loss tolerance (default 1e-4). */
  readonly tolerance?: number;
  /** Seed for sampling and initialisation (default 42). */
  readonly seed?: number;
  /** k-means initialisation (default kmeans++). */
  readonly init?: KMeansOptions["init"];
}

/** A trained IVF model: the partition centroids. */
export interface IvfModel {
  readonly dim: number;
  readonly numPartitions: number;
  readonly distance: DistanceType;
  /** numPartitions * dim; unit vectors for cosine. */
  readonly centroids: Float32Array;
  readonly iterations: number;
  readonly loss: number;
  readonly converged: boolean;
  /** Rows the k-means ran on. */
  readonly sampleRows: number;
}

/** Trains the IVF centroids on a sample of the `n` rows (rows with non-finite values are skipped). */
export function trainIvfModel(vectors: Float32Array, n: number, dim: number, opts: IvfTrainOptions): IvfModel {
  const { rows, sample, kmeansOptions } = ivfTrainingSample(vectors, n, dim, opts);
  return ivfModelFrom(opts, dim, rows, trainKMeans(sample, rows, dim, opts.numPartitions, kmeansOptions));
}

/** The seeded training sample (numPartitions * sampleRate finite rows) and the k-means options. */
export function ivfTrainingSample(
  vectors: Float32Array, n: number, dim: number, opts: IvfTrainOptions,
): { rows: number; sample: Float32Array; kmeansOptions: KMeansOptions } {
  const k = opts.numPartitions;
  const seed = opts.seed ?? 42;
  const want = Math.min(n, k * (opts.sampleRate ?? 256));
  const picked = want < n ? sampleRows(vectors, n, dim, want, seed) : vectors.slice(0, n * dim);
  // drop rows with NaN/Inf (as the modelled system does) by compacting in place
  let rows = 0;
  for (let i = 0; i < want; i++) {
    let finite = true;
    for (let t = 0; t < dim && finite; t++) finite = Number.isFinite(picked[i * dim + t]);
    if (!finite) continue;
    if (rows !== i) picked.copyWithin(rows * dim, i * dim, i * dim + dim);
    rows++;
  }
  // dot trains with L2: maximum-inner-product k-means lets large-norm centroids absorb every row
  const kmeansOptions: KMeansOptions = {
    maxIters: opts.maxIters ?? 50,
    tolerance: opts.tolerance ?? 1e-4,
    seed,
    distance: opts.distance === "dot" ? "l2" : opts.distance,
    ...(opts.init === undefined ? {} : { init: opts.init }),
  };
  return { rows, sample: picked.subarray(0, rows * dim), kmeansOptions };
}

/** The model record for a finished k-means. */
export function ivfModelFrom(opts: IvfTrainOptions, dim: number, rows: number, km: KMeansResult): IvfModel {
  return {
    dim, numPartitions: opts.numPartitions, distance: opts.distance, centroids: km.centroids,
    iterations: km.iterations, loss: km.loss, converged: km.converged, sampleRows: rows,
  };
}
