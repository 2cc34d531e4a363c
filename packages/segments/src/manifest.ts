/**
 * Segment manifests (spec/segments.md#manifest): one immutable JSON object per committed version
 * at `<root>/_versions/<20-digit version>.json`, listing the segments of that version. Decoded
 * as hostile input: size limit, UTF-8 JSON with bounded depth, the JSON Schema, then the rules
 * across fields; every failure is a QuiverFormatError with a stable code and stage "manifest".
 */
import { Ajv, type ValidateFunction } from "ajv";
import { QuiverArgumentError, QuiverFormatError, checkInteger, checkOptions, describeValue, parseJsonBytes } from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { SEGMENT_LIMITS, type SegmentDescriptor, descriptorProblems } from "./descriptor.js";
import { QuiverSegmentError } from "./errors.js";
import { SEGMENT_MANIFEST_SCHEMA } from "./internal/manifest-schema.js";
import { VERSIONS_DIR, checkRoot, isSegmentRelPath, joinRoot, relativeToRoot, versionOfName, versionPath } from "./layout.js";
import { setProblems } from "./set-rules.js";

/** The manifest format this package writes (major 1; minor versions only add optional meaning). */
export const SEGMENT_MANIFEST_FORMAT_VERSION = "1.0";
/** Most row-id ranges one manifest may hold over all its segments. */
export const MAX_MANIFEST_RANGES = 1_000_000;

/** One committed version of a segmented index. Segment paths are store paths (the root joined to the manifest's relative paths). */
export interface SegmentManifest {
  readonly formatVersion: string;
  readonly version: number;
  readonly segments: readonly SegmentDescriptor[];
  readonly dims: number;
  readonly distanceType: string;
  /** The model digest every segment shares. */
  readonly modelDigest: string;
  /** ISO-8601 UTC time of the commit. */
  readonly createdAt: string;
}

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  validator ??= new Ajv({ allErrors: false, strict: true }).compile(SEGMENT_MANIFEST_SCHEMA);
  return validator;
}

function fail(code: string, message: string, cause?: unknown): never {
  throw new QuiverFormatError(code, message, cause === undefined ? { stage: "manifest" } : { stage: "manifest", cause });
}

/**
 * Decode manifest bytes (spec/segments.md#manifest-validation). `root` is joined to every
 * segment path; `expectedVersion` is the version its object name says (SEGMENT_MANIFEST_VERSION_MISMATCH otherwise).
 */
export function decodeSegmentManifest(bytes: Uint8Array, options: { root?: string; expectedVersion?: number } = {}): SegmentManifest {
  checkOptions("options", options, ["root", "expectedVersion"]);
  const root = checkRoot(options.root ?? "");
  if (!(bytes instanceof Uint8Array)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "bytes", expected: "a Uint8Array", given: bytes });
  if (bytes.byteLength > SEGMENT_LIMITS.maxManifestBytes) fail("LIMIT_EXCEEDED", `manifest of ${bytes.byteLength} bytes, above the maximum ${SEGMENT_LIMITS.maxManifestBytes}`);
  let value: unknown;
  try {
    value = parseJsonBytes(bytes);
  } catch (e) {
    fail("BAD_JSON", `the manifest is not UTF-8 JSON of at most 64 levels (${e instanceof Error ? e.message : "parse error"})`, e);
  }
  const fv = (value as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof value === "object" && value !== null && typeof fv === "string" && !/^1\./.test(fv)) {
    fail("UNSUPPORTED_VERSION", `manifest formatVersion ${describeValue(fv)}; this reader implements 1.x`);
  }
  const validate = schemaValidator();
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const limit = e !== undefined && (e.keyword === "maxItems" || e.keyword === "maxLength" || (e.keyword === "maximum" && e.instancePath !== "/version"));
    fail(limit ? "LIMIT_EXCEEDED" : "SCHEMA_VIOLATION", `manifest${e?.instancePath ?? ""} ${e?.message ?? "is invalid"}`);
  }
  const m = value as SegmentManifest;
  if (options.expectedVersion !== undefined && m.version !== options.expectedVersion) {
    fail("SEGMENT_MANIFEST_VERSION_MISMATCH", `the manifest says version ${m.version}, its object name ${options.expectedVersion}`);
  }
  if (Number.isNaN(Date.parse(m.createdAt))) fail("SCHEMA_VIOLATION", `createdAt ${describeValue(m.createdAt)} is not a date`);
  let ranges = 0;
  const segments: SegmentDescriptor[] = m.segments.map((s, i) => {
    ranges += s.rowIdRanges.length;
    if (ranges > MAX_MANIFEST_RANGES) fail("LIMIT_EXCEEDED", `more than ${MAX_MANIFEST_RANGES} row-id ranges`);
    if (!isSegmentRelPath(s.path)) fail("SCHEMA_VIOLATION", `segments[${i}].path ${describeValue(s.path)} is not a relative path inside the root (no empty, . or .. segments, not under ${VERSIONS_DIR}/)`);
    const own = descriptorProblems(s, i);
    if (own.length > 0) throw new QuiverSegmentError(own, { stage: "manifest" });
    if (s.modelDigest !== m.modelDigest) throw new QuiverSegmentError([{ code: "SEGMENT_MODEL_MISMATCH", shard: s.shard, segmentId: s.segmentId, message: `segments[${i}].modelDigest differs from the manifest's modelDigest` }], { stage: "manifest" });
    return { ...s, path: joinRoot(root, s.path) };
  });
  const problems = setProblems(segments, undefined, undefined);
  if (problems.length > 0) throw new QuiverSegmentError(problems, { stage: "manifest" });
  return { formatVersion: m.formatVersion, version: m.version, segments, dims: m.dims, distanceType: m.distanceType, modelDigest: m.modelDigest, createdAt: m.createdAt };
}

/** Canonical manifest bytes (keys in spec order, segment paths relative to `root`, UTF-8, no trailing newline). */
export function encodeSegmentManifest(m: SegmentManifest, root = ""): Uint8Array {
  checkRoot(root);
  const segments = m.segments.map((s) => {
    const rel = relativeToRoot(root, s.path);
    if (rel === undefined || !isSegmentRelPath(rel)) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "segments[].path", expected: `a path inside the root ${describeValue(root)} (not under ${VERSIONS_DIR}/)`, given: s.path });
    }
    return {
      segmentId: s.segmentId,
      shard: s.shard,
      path: rel,
      rows: s.rows,
      rowIdRanges: s.rowIdRanges.map((r) => [r[0], r[1]]),
      modelDigest: s.modelDigest,
      inputVersion: s.inputVersion,
      indexIdentity: s.indexIdentity,
      bytes: s.bytes,
    };
  });
  const json = { formatVersion: m.formatVersion, version: m.version, createdAt: m.createdAt, dims: m.dims, distanceType: m.distanceType, modelDigest: m.modelDigest, segments };
  return new TextEncoder().encode(JSON.stringify(json));
}

function checkStore(store: unknown): asserts store is ObjectStore {
  const s = store as Partial<ObjectStore> | null;
  if (typeof s !== "object" || s === null || typeof s.get !== "function" || typeof s.list !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore", given: store });
  }
}

/** Every committed version under `root`, ascending (one list request). */
export async function listSegmentVersions(store: ObjectStore, root: string): Promise<number[]> {
  checkStore(store);
  const r = checkRoot(root);
  const prefix = joinRoot(r, `${VERSIONS_DIR}/`);
  const out: number[] = [];
  for (const o of await store.list(prefix)) {
    const name = o.path.slice(prefix.length);
    const v = versionOfName(name);
    if (v !== undefined) out.push(v);
  }
  return out.sort((a, b) => a - b);
}

/** The latest committed version under `root`, or undefined when none is (one list request). */
export async function latestSegmentVersion(store: ObjectStore, root: string): Promise<number | undefined> {
  const all = await listSegmentVersions(store, root);
  return all[all.length - 1];
}

/**
 * Read one committed manifest version (the latest when `version` is omitted: one list, then one
 * get). The returned object is the reader's pin: nothing read later changes it.
 */
export async function readSegmentManifest(store: ObjectStore, root: string, options: { version?: number } = {}): Promise<SegmentManifest> {
  checkStore(store);
  const r = checkRoot(root);
  checkOptions("options", options, ["version"]);
  let version = options.version === undefined ? undefined : checkInteger("options.version", options.version, 1, Number.MAX_SAFE_INTEGER);
  if (version === undefined) {
    version = await latestSegmentVersion(store, r);
    if (version === undefined) fail("SEGMENT_VERSION_NOT_FOUND", `no committed version under ${describeValue(r)}`);
  }
  let bytes: Uint8Array;
  try {
    bytes = await store.get(versionPath(r, version));
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) fail("SEGMENT_VERSION_NOT_FOUND", `version ${version} is not committed under ${describeValue(r)}`, e);
    throw e;
  }
  return decodeSegmentManifest(bytes, { root: r, expectedVersion: version });
}
