/**
 * Contract between the compute half of the IVF package (distances, k-means, quantizers, WASM
 * kernels) and the index half (on-store format, finalize writer, search, cache codecs).
 */

/** Distance between a query and a vector. Smaller is closer for all three (dot is negated). */
export type DistanceType = "l2" | "cosine" | "dot";

/** Quantizer kinds. */
export type QuantizerKind = "flat" | "sq" | "pq" | "rabitq";

/**
 * Serializable description of a trained quantizer: small JSON-able parameters plus named
 * typed arrays (codebooks, bounds, rotation matrices) that the index format stores as aligned
 * sections and decodes as zero-copy views.
 */
export interface QuantizerMetadata {
  readonly kind: QuantizerKind;
  readonly dim: number;
  readonly distance: DistanceType;
  /** True when rows are encoded as (vector - assigned IVF centroid). */
  readonly residual: boolean;
  /** Small parameters, e.g. { numSubVectors: 16, nbits: 8 } or { bits: 8 }. JSON values only. */
  readonly params: Readonly<Record<string, number | boolean | string>>;
  /** Named arrays, e.g. { codebook: Float32Array } for PQ, { lower, upper } for SQ, { rotation } for RaBitQ. */
  readonly arrays: Readonly<Record<string, Float32Array | Uint8Array | Uint32Array>>;
}

/** Scores the rows of one partition against one query. */
export interface PartitionScorer {
  /**
   * Approximate distances of `n` encoded rows (`codes`, n * codeWidth bytes) into `out[0..n)`;
   * no allocation per row.
   */
  score(codes: Uint8Array, n: number, out: Float32Array): void;
  /**
   * Optional: the caller is done with this scorer; its tables go back to the quantizer for the
   * next scorer (no table allocated per query or probe). `score` must not be called after it.
   */
  release?(): void;
}

/** A trained quantizer. */
export interface TrainedQuantizer {
  readonly metadata: QuantizerMetadata;
  /** Bytes per encoded row. Flat stores raw f32: dim * 4. */
  readonly codeWidth: number;
  /**
   * Encode `n` vectors (row-major, n * dim) into `out` (n * codeWidth bytes). When
   * `metadata.residual` the caller passes residuals (vector - centroid) — for cosine the vectors
   * are L2-normalised first.
   */
  encode(vectors: Float32Array, n: number, out: Uint8Array): void;
  /** Prepare scoring of `query` against a partition whose IVF centroid is `centroid`. */
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer;
}
