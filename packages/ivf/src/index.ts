/**
 * @quiver/ivf: the IVF vector index. Compute half (k-means, Flat/SQ/PQ/RaBitQ quantizers, WASM
 * kernels, worker pool) and index half (on-store format, finalize writer, search, cache codecs).
 * Implements IVF index spec 1.1 (spec/ivf.md) over container spec 1.0.
 */
export * from "./compute/index.js";
export type {
  DistanceType,
  QuantizerKind,
  QuantizerMetadata,
  PartitionScorer,
  TrainedQuantizer,
} from "./quantizer.js";
export {
  IVF_INDEX_KIND,
  IVF_INDEX_KIND_VERSION,
  IVF_INDEX_MIN_KIND_VERSION,
  IVF_INDEX_TYPE_NAME,
  IVF_SECTION,
  IVF_LIMITS,
  COLD_OPEN_PREFIX_BYTES,
  parseIvfIndexMetadata,
  partitionSectionLength,
} from "./index-format.js";
export type { IvfIndexMetadata, PartitionLocation, QuantizerArrayInfo, QuantizerArrayEncoding, RowGroupMember } from "./index-format.js";
export {
  computeRawRowGroupChecksums,
  rawRowGroupRowsFor,
  rawRowGroupCount,
  rawRowGroupTable,
  RAW_ROW_GROUP_TARGET_BYTES,
  MAX_RAW_ROW_GROUP_ROWS,
} from "./raw-row-groups.js";
export type { RawRowGroupTable } from "./raw-row-groups.js";
export { InMemoryPartitionSource, ivfPayloadSchema, ivfPayloadBatch, PAYLOAD_FIELDS } from "./memory-partition-source.js";
export type { InMemoryPartitionInput } from "./memory-partition-source.js";
export { encodeIvfIndex, writeIvfIndex } from "./writer.js";
export type { IvfIndexWriteInput, IvfIndexWriteResult } from "./writer.js";
export { ivfIndexStateCodec, IVF_INDEX_STATE_TYPE_NAME, IVF_STATE_SECTION } from "./state-codec.js";
export type { IvfIndexState } from "./state-codec.js";
export {
  partitionEntryCodecs,
  partitionVectorsCodec,
  partitionEntryFromSection,
  PARTITION_TYPE_NAMES,
  PARTITION_VECTORS_TYPE_NAME,
  PARTITION_ENTRY_SECTION,
  PARTITION_VECTORS_SECTION,
} from "./partition-codecs.js";
export type { IvfPartitionEntry, IvfPartitionVectors } from "./partition-codecs.js";
export { openVectorIndex, prewarm, readIvfIndexState, IvfVectorIndex, DEFAULT_K, DEFAULT_NPROBES, MAX_SEARCH_K, MAX_REFINE_FACTOR, DEFAULT_CACHE_MEMORY_SHARE, RAW_ROW_GROUP_BYTES, RAW_ROW_GROUP_TYPE_NAME } from "./reader.js";
export { computeIndexIdentity, isIndexIdentity, IDENTITY_LENGTH, CanonicalDigest } from "./identity.js";
export type { IdentityInput } from "./identity.js";
export type { OpenVectorIndexOptions, RowIdPrefilter, VectorSearchOptions, VectorSearchHit, VectorQuery, IvfCacheRejects, IvfCacheStats, IvfCacheTypeStats, IndexLiveOptions, IvfSearchThreadStats } from "./reader.js";
export { gaussianMixture, bruteForceKnn, recallAtK, exactDistanceAt } from "./dataset.js";
export type { GaussianMixtureOptions } from "./dataset.js";
