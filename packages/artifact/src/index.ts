/**
 * @quiver/artifact: the partition artifact (spec/artifact.md, format version 2; reads 1 too), a
 * payload-agnostic shuffle layout: a JSON manifest head, a compact binary ranges table (an Arrow IPC
 * one in format 1) and N Arrow IPC bucket files.
 * Also the two-file shuffle baseline, both as {@link PartitionSource}s.
 */
export type { PartitionSource } from "./partition-source.js";
export {
  PartitionArtifactWriter,
  bucketFileName,
  rangesFileName,
  writeLeaseName,
  DEFAULT_MEMORY_BUDGET_BYTES,
  DEFAULT_PARTITION_ID_COLUMN,
  MAX_BUCKET_ROWS,
  encodePayloadFile,
} from "./writer.js";
export { encodeRangesTable, decodeRangesTable, encodeCompactRanges, decodeCompactRanges, compactRangesSize, COMPACT_RANGES_MAGIC, COMPACT_RANGES_HEADER_BYTES, RANGE_COLUMNS } from "./internal/ranges-table.js";
export { fileBlocks } from "./internal/arrow-file.js";
export type { BatchBlock } from "./internal/arrow-file.js";
export type { RangeColumns, CompactRanges } from "./internal/ranges-table.js";
export type { PartitionArtifactWriterOptions, PartitionArtifactWriterStats } from "./writer.js";
export { PartitionArtifactReader, readManifest, DEFAULT_ORDERED_MAX_REQUEST_BYTES, DEFAULT_ORDERED_MAX_BUFFERED_BYTES, DEFAULT_ORDERED_CONCURRENCY } from "./reader.js";
export type { PartitionArtifactReaderOptions, ReadCost, PartitionsInOrderOptions, OrderedPartition, OrderedReadCost, PartitionColumns } from "./reader.js";
export { validateArtifact } from "./validate.js";
export { gcArtifact, DEFAULT_GC_AGE_MS } from "./gc.js";
export type { GcArtifactOptions, GcArtifactResult } from "./gc.js";
export type { ArtifactProblem } from "./validate.js";
export {
  ARTIFACT_FORMAT_VERSION,
  ARTIFACT_READABLE_VERSIONS,
  ARTIFACT_FORMAT_NAME,
  ARTIFACT_ERROR_CODES,
  MANIFEST_FILE,
  RANGES_FILE,
  RANGES_FILE_V1,
  DATA_DIR,
  ARTIFACT_ID_RE,
  MAX_MANIFEST_BYTES,
  parseManifest,
  encodeManifest,
  bucketOfPartition,
} from "./manifest.js";
export type { ArtifactManifest, ArtifactFileRecord, BucketPolicyKind, BucketPolicyRecord } from "./manifest.js";
export {
  planBucketPolicy,
  adaptiveBucketCount,
  estimateBucketCost,
  DEFAULT_BUCKET_COST_MODEL,
  BucketAssignment,
  DEFAULT_TARGET_BUCKET_BYTES,
  DEFAULT_MIN_BUCKETS,
  DEFAULT_MAX_BUCKETS,
  MAX_BUCKETS,
  MAX_PARTITIONS,
} from "./policy.js";
export type { BucketPlanInput, BucketCostModel, BucketCostEstimate } from "./policy.js";
export { payloadFieldsOf, payloadSchemaOf, parsePayloadType, payloadTypeName, payloadTypeWidth, MAX_PAYLOAD_FIELDS } from "./payload-schema.js";
export type { PayloadField } from "./payload-schema.js";
export { TwoFileShuffleWriter, TwoFileShuffleSource, DEFAULT_FLUSH_GROUP_BYTES } from "./two-file-shuffle.js";
export type { TwoFileShuffleWriterOptions } from "./two-file-shuffle.js";
export { canonicalPayloadRows } from "./canonical-rows.js";
