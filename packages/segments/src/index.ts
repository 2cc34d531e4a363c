/**
 * @quiver/segments: an IVF index made of several segments (each a complete IVF file over a subset
 * of rows, all sharing one model), published as small versioned manifests. Segment descriptors,
 * validation before publish, the atomic manifest commit, pinned readers with one merged top-k,
 * physical merge and gc. Implements segments spec 1.0 (spec/segments.md) over IVF index spec 1.1.
 */
export { describeSegment, segmentModelDigest, SEGMENT_ID_PATTERN, SEGMENT_LIMITS } from "./descriptor.js";
export type { SegmentDescriptor } from "./descriptor.js";
export { QuiverSegmentError, SEGMENT_ERROR_CODES, isSegmentError } from "./errors.js";
export type { SegmentErrorCode, SegmentProblem } from "./errors.js";
export type { SegmentPlan } from "./set-rules.js";
export { validateSegments, checkSegments } from "./validate.js";
export {
  SEGMENT_MANIFEST_FORMAT_VERSION,
  MAX_MANIFEST_RANGES,
  decodeSegmentManifest,
  encodeSegmentManifest,
  readSegmentManifest,
  latestSegmentVersion,
  listSegmentVersions,
} from "./manifest.js";
export type { SegmentManifest } from "./manifest.js";
export { SEGMENT_MANIFEST_SCHEMA } from "./internal/manifest-schema.js";
export { VERSIONS_DIR, STAGING_DIR, LEASE_FILE, versionPath } from "./layout.js";
export { publishSegments } from "./publish.js";
export type { PublishSegmentsOptions } from "./publish.js";
export { openSegmentedIndex } from "./segmented-index.js";
export type { SegmentedIndex } from "./segmented-index.js";
export { mergeSegments } from "./merge.js";
export { gcSegments, DEFAULT_SEGMENT_GC_AGE_MS, DEFAULT_KEEP_VERSIONS } from "./gc.js";
export type { GcSegmentsOptions } from "./gc.js";
export { beginStaging, stagingPath } from "./staging.js";
