/**
 * Publishing a segment set: validate, then commit one new manifest version with a conditional
 * create (spec/segments.md#commit). The manifest object is the only commit point and is written
 * last; nothing committed is ever overwritten or deleted by a publish.
 */
import { QuiverArgumentError, QuiverFormatError, checkInteger, checkOptions } from "@quiver/format";
import { readIvfIndexState } from "@quiver/ivf";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { type SegmentDescriptor, unreadable } from "./descriptor.js";
import { QuiverSegmentError } from "./errors.js";
import { checkRoot, relativeToRoot, versionPath } from "./layout.js";
import { SEGMENT_MANIFEST_FORMAT_VERSION, type SegmentManifest, decodeSegmentManifest, encodeSegmentManifest, latestSegmentVersion } from "./manifest.js";
import type { SegmentPlan } from "./set-rules.js";
import { validateSegments } from "./validate.js";

/** Options of {@link publishSegments}. */
export interface PublishSegmentsOptions {
  /** The version the caller based its work on (0: none yet). A different latest version is SEGMENT_VERSION_CONFLICT. */
  readonly expectedVersion?: number;
  /** What the set must contain (rows, model, input version). */
  readonly plan?: SegmentPlan;
  /** Validate before committing (default true; false only for a set validated moments ago by the caller). */
  readonly validate?: boolean;
  /** Commit time in ms since the epoch (default `Date.now()`); fixtures and tests pass a fixed clock. */
  readonly now?: number;
}

function conflict(message: string, cause?: unknown): QuiverSegmentError {
  return new QuiverSegmentError([{ code: "SEGMENT_VERSION_CONFLICT", message }], cause === undefined ? { stage: "publish" } : { stage: "publish", cause });
}

/**
 * Validate, then publish a new manifest version listing the segments, written last and
 * atomically (conditional create); returns the version. `expectedVersion` = the version the
 * caller based its work on (optimistic concurrency: a concurrent publish makes this fail with
 * SEGMENT_VERSION_CONFLICT instead of overwriting).
 */
export async function publishSegments(
  store: ObjectStore,
  root: string,
  segments: readonly SegmentDescriptor[],
  options: PublishSegmentsOptions = {},
): Promise<{ version: number; manifestPath: string }> {
  const r = checkRoot(root);
  checkOptions("options", options, ["expectedVersion", "plan", "validate", "now"]);
  const expected = options.expectedVersion === undefined ? undefined : checkInteger("options.expectedVersion", options.expectedVersion, 0, Number.MAX_SAFE_INTEGER - 1);
  const now = checkInteger("options.now", options.now ?? Date.now(), 0, 253_402_300_799_999);
  if (options.validate !== undefined && typeof options.validate !== "boolean") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.validate", expected: "a boolean", given: options.validate });
  if (!Array.isArray(segments) || segments.length === 0) {
    throw new QuiverArgumentError(segments === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "segments", expected: "a non-empty array of segment descriptors", given: segments });
  }
  for (const [i, s] of segments.entries()) {
    const path = (s as Partial<SegmentDescriptor> | null)?.path;
    if (typeof path !== "string" || relativeToRoot(r, path) === undefined) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `segments[${i}].path`, expected: `an object path inside the index root ${JSON.stringify(r)}`, given: path });
    }
  }
  if (options.validate !== false) await validateSegments(store, segments, options.plan);
  // dims and metric of the set come from a segment file (validation made them equal everywhere).
  const first = segments[0]!;
  let meta;
  try {
    meta = (await readIvfIndexState(store, first.path, first.bytes)).metadata;
  } catch (e) {
    throw unreadable(e, first.shard, first.segmentId, first.path);
  }
  const latest = await latestSegmentVersion(store, r);
  if (expected !== undefined && (latest ?? 0) !== expected) throw conflict(`the latest committed version is ${latest ?? 0}, the caller based its work on ${expected}`);
  const version = (latest ?? 0) + 1;
  const manifest: SegmentManifest = {
    formatVersion: SEGMENT_MANIFEST_FORMAT_VERSION,
    version,
    createdAt: new Date(now).toISOString(),
    dims: meta.dim,
    distanceType: meta.distance,
    modelDigest: first.modelDigest,
    segments: segments.map((s: SegmentDescriptor) => ({ ...s, rowIdRanges: s.rowIdRanges.map((x) => [x[0], x[1]] as const) })),
  };
  const bytes = encodeSegmentManifest(manifest, r);
  // Never commit what a reader would reject.
  decodeSegmentManifest(bytes, { root: r, expectedVersion: version });
  const manifestPath = versionPath(r, version);
  try {
    await store.put(manifestPath, bytes, { ifAbsent: true, durable: true });
  } catch (e) {
    if (isStoreError(e, "ALREADY_EXISTS")) throw conflict(`version ${version} was committed by a concurrent publish`, e);
    if (e instanceof QuiverFormatError) throw e;
    throw e;
  }
  return { version, manifestPath };
}
