/**
 * Compute half of the IVF package: distances, seeded PRNG, k-means, quantizers and the
 * parallel assign+encode entry point. Stubs for now; signatures are the contract.
 */
import type { DistanceType, QuantizerKind, QuantizerMetadata, TrainedQuantizer } from "../quantizer.js";

/** Deterministic pseudo-random source. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  nextInt(n: number): number;
  /** Standard normal sample. */
  nextGaussian(): number;
}

/** Options for k-means. */
export interface KMeansOptions {
  readonly maxIters?: number;
  readonly tolerance?: number;
  readonly seed?: number;
  readonly distance?: DistanceType;
  readonly init?: "random" | "kmeans++";
}

/** Result of k-means training. */
export interface KMeansResult {
  readonly centroids: Float32Array;
  readonly iterations: number;
  readonly loss: number;
  readonly converged: boolean;
}

/** Options for IVF model training. */
export interface IvfTrainOptions {
  readonly numPartitions: number;
  readonly distance: DistanceType;
  readonly sampleRate?: number;
  readonly maxIters?: number;
  readonly tolerance?: number;
  readonly seed?: number;
}

/** A trained IVF model: the partition centroids. */
export interface IvfModel {
  readonly dim: number;
  readonly numPartitions: number;
  readonly distance: DistanceType;
  readonly centroids: Float32Array;
  readonly iterations: number;
  readonly loss: number;
  readonly converged: boolean;
}

/** Options for quantizer training. */
export interface QuantizerTrainOptions {
  readonly distance: DistanceType;
  readonly seed?: number;
  readonly numSubVectors?: number;
  readonly nbits?: number;
  readonly maxIters?: number;
  readonly sampleSize?: number;
  /** Encode residuals against IVF centroids (defaults: true for PQ with l2/cosine). */
  readonly residual?: boolean;
}

/** Input to the parallel assign+encode. */
export interface AssignEncodeInput {
  readonly vectors: Float32Array;
  readonly n: number;
  readonly dim: number;
  readonly centroids: Float32Array;
  readonly k: number;
  readonly distance: DistanceType;
  readonly quantizer: TrainedQuantizer;
  readonly threads?: number;
}

/** Output of the parallel assign+encode. */
export interface AssignEncodeResult {
  readonly partitions: Uint32Array;
  readonly codes: Uint8Array;
  readonly codeWidth: number;
}

function notYet(): never {
  throw new Error("not implemented yet");
}

/** Seeded PRNG. */
export function createRng(_seed: number): Rng { return notYet(); }
/** Distance between two vectors. */
export function distance(_a: Float32Array, _b: Float32Array, _dim: number, _type: DistanceType): number { return notYet(); }
/** L2-normalise in place; returns v. */
export function normalize(v: Float32Array): Float32Array { return v; }
/** k-means. */
export function trainKMeans(_data: Float32Array, _n: number, _dim: number, _k: number, _opts?: KMeansOptions): KMeansResult { return notYet(); }
/** Nearest centroid per row. */
export function assignNearest(_data: Float32Array, _n: number, _dim: number, _centroids: Float32Array, _k: number, _distance: DistanceType, _out?: Uint32Array): Uint32Array { return notYet(); }
/** Top-nprobes centroids for one query, closest first. */
export function nearestCentroids(_query: Float32Array, _centroids: Float32Array, _k: number, _dim: number, _distance: DistanceType, _nprobes: number): Uint32Array { return notYet(); }
/** Train the IVF model. */
export function trainIvfModel(_vectors: Float32Array, _n: number, _dim: number, _opts: IvfTrainOptions): IvfModel { return notYet(); }
/** Train a quantizer. */
export function trainQuantizer(_kind: QuantizerKind, _sample: Float32Array, _n: number, _dim: number, _opts: QuantizerTrainOptions): TrainedQuantizer { return notYet(); }
/** Reopen a quantizer from metadata. */
export function quantizerFromMetadata(_meta: QuantizerMetadata): TrainedQuantizer { return notYet(); }
/** Assign + encode over worker threads. */
export async function encodeAndAssignParallel(_input: AssignEncodeInput): Promise<AssignEncodeResult> { return notYet(); }
