/** Public entry of @quiver/ivf: compute half (k-means, quantizers, kernels) and index half (format, writer, search, cache codecs). */
export * from "./compute/index.js";
export type {
  DistanceType,
  QuantizerKind,
  QuantizerMetadata,
  PartitionScorer,
  TrainedQuantizer,
} from "./quantizer.js";
