import { createRequire } from "node:module";
import type { Ajv as AjvClass, ValidateFunction } from "ajv";
import { QuiverFormatError, describeValue, parseJsonBytes } from "@quiver/format";
import { MANIFEST_SCHEMA } from "./internal/manifest-schema.js";
import { type PayloadField, parsePayloadType } from "./payload-schema.js";

/** The artifact format this package writes (spec/artifact.md, manifest `version`): 2, the compact ranges table. */
export const ARTIFACT_FORMAT_VERSION = 2;
/** Every manifest `version` this package reads: 1 (Arrow IPC ranges table, spec revision 4) and 2 (compact ranges table). */
export const ARTIFACT_READABLE_VERSIONS: readonly number[] = [1, 2];
/** The manifest's `format` marker. */
export const ARTIFACT_FORMAT_NAME = "quiver-partition-artifact";
/** Every error code this package raises or reports (each is a row of spec/error-codes.csv). */
export const ARTIFACT_ERROR_CODES = [
  "ARTIFACT_UNCOMMITTED",
  "ARTIFACT_MISSING_FILE",
  "ARTIFACT_SIZE_MISMATCH",
  "ARTIFACT_ROW_COUNT_MISMATCH",
  "ARTIFACT_PARTITION_OUT_OF_RANGE",
  "ARTIFACT_BUCKET_OUT_OF_RANGE",
  "ARTIFACT_EMPTY_RANGE",
  "ARTIFACT_RANGES_UNSORTED",
  "ARTIFACT_POLICY_VIOLATION",
  "ARTIFACT_RANGE_PAST_END",
  "ARTIFACT_RANGE_OVERLAP",
  "ARTIFACT_RANGE_GAP",
  "ARTIFACT_BATCH_MISMATCH",
  "ARTIFACT_PAYLOAD_SCHEMA_MISMATCH",
  "ARTIFACT_RANGE_CHECKSUM_MISMATCH",
  "ARTIFACT_WRITE_FAILED",
  "ARTIFACT_GC_REFUSED",
  "ARTIFACT_RANGES_BAD_HEADER",
  "ARTIFACT_RANGES_LENGTH_MISMATCH",
  "ARTIFACT_RANGE_COUNT_MISMATCH",
] as const;
/** Object names inside an artifact directory. */
export const MANIFEST_FILE = "manifest.json";
/** Base name of the format-2 ranges table inside a write's data directory (`data/<artifact_id>/ranges.bin`). */
export const RANGES_FILE = "ranges.bin";
/** Base name of the format-1 ranges table (`data/<artifact_id>/ranges.arrow`). */
export const RANGES_FILE_V1 = "ranges.arrow";
/** Directory of every write's immutable files: `data/<artifact_id>/`. */
export const DATA_DIR = "data";
/** An artifact id: 32 lowercase hex digits (128 random bits). */
export const ARTIFACT_ID_RE = /^[0-9a-f]{32}$/;
/** Stage of problems found in the ranges table. */
export const RANGES_STAGE = "ranges";
/** MUST-level maximum size of manifest.json in bytes. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** How partitions are assigned to buckets. */
export type BucketPolicyKind = "hash-modulo" | "range-by-partition-id" | "size-balanced-range";

/** The manifest's `bucket_policy`. Range policies list the first partition of every bucket. */
export interface BucketPolicyRecord {
  readonly kind: BucketPolicyKind;
  readonly num_buckets: number;
  readonly bucket_first_partition?: readonly number[];
}

/** One bucket file (or the ranges file) as the manifest records it. */
export interface ArtifactFileRecord {
  readonly path: string;
  readonly num_rows: number;
  readonly byte_size: number;
  readonly crc32: number;
}

/** The decoded JSON head of an artifact (spec/artifact.md#manifest). */
export interface ArtifactManifest {
  readonly format: typeof ARTIFACT_FORMAT_NAME;
  readonly version: number;
  /** 128-bit random id of this write (32 lowercase hex digits): a rewritten artifact never has the old one's id. */
  readonly artifact_id: string;
  readonly num_partitions: number;
  readonly payload_schema: readonly PayloadField[];
  readonly bucket_policy: BucketPolicyRecord;
  readonly buckets: readonly ArtifactFileRecord[];
  readonly ranges: { readonly path: string; readonly num_ranges: number; readonly byte_size: number; readonly crc32: number };
  readonly total_rows: number;
}

let validateSchema: ValidateFunction | undefined;

/**
 * The manifest schema's validator, compiled on first use. Ajv itself is loaded then too: every
 * process that imports this package (an IVF reader opening an index) paid ~100-190 ms for its
 * import without ever reading a manifest.
 */
function schemaValidator(): ValidateFunction {
  if (validateSchema === undefined) {
    const { Ajv } = createRequire(import.meta.url)("ajv") as { Ajv: typeof AjvClass };
    validateSchema = new Ajv({ allErrors: true, strict: true }).compile(MANIFEST_SCHEMA);
  }
  return validateSchema;
}

function fail(code: string, message: string): never {
  throw new QuiverFormatError(code, message, { stage: "manifest" });
}

/** Bucket of partition `p` under a policy (spec/artifact.md#bucket-policies). */
export function bucketOfPartition(policy: BucketPolicyRecord, p: number): number {
  if (policy.kind === "hash-modulo") return p % policy.num_buckets;
  const first = policy.bucket_first_partition!;
  // Largest b with first[b] <= p (first[0] === 0, ascending).
  let lo = 0;
  let hi = first.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (first[mid]! <= p) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Parse and check manifest.json bytes: UTF-8 JSON (BAD_JSON), the JSON Schema (SCHEMA_VIOLATION),
 * version (UNSUPPORTED_VERSION), and the cross-field rules the schema cannot say.
 */
export function parseManifest(bytes: Uint8Array): ArtifactManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) fail("LIMIT_EXCEEDED", `manifest of ${bytes.byteLength} bytes > ${MAX_MANIFEST_BYTES}`);
  let value: unknown;
  try {
    value = parseJsonBytes(bytes);
  } catch (e) {
    throw new QuiverFormatError("BAD_JSON", "manifest.json is not UTF-8 JSON", { stage: "manifest", cause: e });
  }
  if (typeof value === "object" && value !== null && "version" in value && typeof value.version === "number" && !ARTIFACT_READABLE_VERSIONS.includes(value.version)) {
    fail("UNSUPPORTED_VERSION", `manifest version ${describeValue(value.version)}, this reader implements ${ARTIFACT_READABLE_VERSIONS.join(" and ")}`);
  }
  const fractional = nonIntegerNumberAt(bytes);
  if (fractional >= 0) fail("SCHEMA_VIOLATION", `manifest.json: the number at byte ${fractional} has a fraction or exponent (integers are written as JSON integers)`);
  const validate = schemaValidator();
  if (!validate(value)) {
    const first = validate.errors?.[0];
    fail("SCHEMA_VIOLATION", `manifest.json: ${first?.instancePath ?? ""} ${first?.message ?? "invalid"}`);
  }
  const m = value as ArtifactManifest;
  const names = new Set<string>();
  for (const f of m.payload_schema) {
    if (names.has(f.name)) fail("SCHEMA_VIOLATION", `duplicate payload field ${f.name}`);
    names.add(f.name);
    parsePayloadType(f.type);
  }
  const policy = m.bucket_policy;
  if (policy.num_buckets !== m.buckets.length) fail("SCHEMA_VIOLATION", `bucket_policy.num_buckets ${policy.num_buckets} but ${m.buckets.length} buckets`);
  if (policy.num_buckets > m.num_partitions) fail("SCHEMA_VIOLATION", `${policy.num_buckets} buckets for ${m.num_partitions} partitions`);
  if (policy.kind === "hash-modulo") {
    if (policy.bucket_first_partition !== undefined) fail("SCHEMA_VIOLATION", "hash-modulo takes no bucket_first_partition");
  } else {
    const first = policy.bucket_first_partition;
    if (first === undefined || first.length !== policy.num_buckets) fail("SCHEMA_VIOLATION", `${policy.kind} needs bucket_first_partition with num_buckets entries`);
    if (first[0] !== 0) fail("SCHEMA_VIOLATION", "bucket_first_partition[0] must be 0");
    for (let b = 1; b < first.length; b++) {
      if (first[b]! <= first[b - 1]! || first[b]! >= m.num_partitions) fail("SCHEMA_VIOLATION", `bucket_first_partition[${b}] = ${first[b]} is not ascending inside [1, num_partitions)`);
    }
  }
  if (m.ranges.path === MANIFEST_FILE) fail("SCHEMA_VIOLATION", `ranges.path is ${MANIFEST_FILE}`);
  const paths = new Set<string>([MANIFEST_FILE, m.ranges.path]);
  let rows = 0;
  for (const b of m.buckets) {
    if (paths.has(b.path)) fail("SCHEMA_VIOLATION", `path ${b.path} is used twice`);
    paths.add(b.path);
    rows += b.num_rows;
  }
  if (rows !== m.total_rows) fail("ARTIFACT_ROW_COUNT_MISMATCH", `buckets hold ${rows} rows, total_rows says ${m.total_rows}`);
  return m;
}

/** Byte position of the first JSON number (outside strings) with a `.`, `e` or `E`, or -1. */
function nonIntegerNumberAt(bytes: Uint8Array): number {
  let inString = false;
  let numberStart = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++;
      else if (b === 0x22) inString = false;
      continue;
    }
    if (b === 0x22) {
      inString = true;
      numberStart = -1;
    } else if (b === 0x2d || (b >= 0x30 && b <= 0x39)) {
      if (numberStart < 0) numberStart = i;
    } else if (numberStart >= 0 && (b === 0x2e || b === 0x65 || b === 0x45 || b === 0x2b)) {
      return numberStart;
    } else numberStart = -1;
  }
  return -1;
}

/** Canonical manifest bytes: the JSON with keys in the order of the spec, UTF-8, no trailing newline. */
export function encodeManifest(m: ArtifactManifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m));
}
