/**
 * Compute half of the IVF package: distances, seeded PRNG, k-means, IVF model training, the
 * Flat/SQ/PQ/RaBitQ quantizers and the parallel assign+encode. Hot loops run on WebAssembly
 * SIMD kernels assembled from src/kernels/vector.wat; internal/reference.ts states what each
 * kernel computes in plain TypeScript.
 */
export { createRng } from "./internal/rng.js";
export type { Rng } from "./internal/rng.js";
export { normalize as normalizeVector, normalizeRows, distance as vectorDistance, assignNearest, nearestCentroids } from "./internal/vector-math.js";
export { trainKMeans, PQ_TRAIN_TOLERANCE } from "./internal/kmeans.js";
export type { KMeansOptions, KMeansResult } from "./internal/kmeans.js";
export { trainIvfModel } from "./internal/ivf-model.js";
export type { IvfModel, IvfTrainOptions } from "./internal/ivf-model.js";
export { trainQuantizer, prepareRows, defaultNumSubVectors, defaultResidual, PQ_CENTROIDS } from "./internal/quantizers.js";
export type { QuantizerTrainOptions } from "./internal/quantizers.js";
export { quantizerFromMetadata, validateQuantizerMetadata, MAX_VECTOR_DIM, MAX_RABITQ_DIM } from "./internal/metadata-validation.js";
export { encodeAndAssignParallel, trainQuantizerParallel, trainKMeansParallel, trainIvfModelParallel } from "./internal/parallel.js";
export { createComputePool } from "./internal/parallel-pool.js";
export type { ComputePool } from "./internal/parallel-pool.js";
export type { AssignEncodeInput, AssignEncodeResult, ParallelOptions, ParallelReport } from "./internal/parallel.js";
