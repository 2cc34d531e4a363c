/**
 * Reclaiming unreferenced objects of a segmented index (spec/segments.md#gc). Manifest versions
 * are never deleted (they are small and are what makes everything else decidable). An object is
 * deleted only when no retained version references it and it is provably old:
 * - it was referenced by an older version and the version that dropped it (a merge, a republish)
 *   was committed at least `minAgeMs` ago; or
 * - no version ever referenced it, it lies in a staging directory, and that directory's lease
 *   started at least `minAgeMs` ago (a killed or failed worker's leftovers).
 * Anything else under the root (no lease, not ours) is kept.
 */
import { QuiverArgumentError, QuiverFormatError, checkInteger, checkOptions } from "@quiver/format";
import type { ObjectStore } from "@quiver/store";
import { QuiverSegmentError } from "./errors.js";
import { LEASE_FILE, STAGING_DIR, VERSIONS_DIR, checkRoot, joinRoot } from "./layout.js";
import { type SegmentManifest, listSegmentVersions, readSegmentManifest } from "./manifest.js";
import { leaseStartedAt } from "./staging.js";

/** Default minimum age of anything gc deletes: 24 hours. */
export const DEFAULT_SEGMENT_GC_AGE_MS = 24 * 60 * 60 * 1000;
/** Default number of newest versions whose segments are kept: 2 (the latest and the one before it). */
export const DEFAULT_KEEP_VERSIONS = 2;

/** Options of {@link gcSegments}. */
export interface GcSegmentsOptions {
  /** Only objects unreferenced for at least this long are deleted (default 24 h). */
  readonly minAgeMs?: number;
  /** The newest this-many versions keep every segment they list (default 2, at least 1). */
  readonly keepVersions?: number;
  /** Report what would be deleted without deleting. */
  readonly dryRun?: boolean;
  /** Where staging directories are (default `<root>/_staging/`). */
  readonly stagingPrefix?: string;
  /** The current time in ms since the epoch (default `Date.now()`). */
  readonly now?: number;
}

async function readAll(store: ObjectStore, root: string, versions: readonly number[], into: Map<number, SegmentManifest>): Promise<void> {
  for (const v of versions) {
    if (into.has(v)) continue;
    try {
      into.set(v, await readSegmentManifest(store, root, { version: v }));
    } catch (e) {
      if (!(e instanceof QuiverFormatError)) throw e;
      throw new QuiverSegmentError([{ code: "SEGMENT_GC_REFUSED", message: `version ${v} does not decode (${e.code}); nothing is known to be unreferenced, so nothing is deleted` }], { stage: "gc", cause: e });
    }
  }
}

/**
 * Objects under root that no retained manifest version references and that are older than
 * `minAgeMs` (staging leftovers of killed workers, segments replaced by a merge once
 * `keepVersions` newer versions exist). Returns what it deleted (dryRun: what it would delete)
 * and how many objects it kept. Manifests are read before and after listing, so a version
 * committed meanwhile is respected.
 */
export async function gcSegments(store: ObjectStore, root: string, options: GcSegmentsOptions = {}): Promise<{ deleted: string[]; kept: number }> {
  const r = checkRoot(root);
  checkOptions("options", options, ["minAgeMs", "keepVersions", "dryRun", "stagingPrefix", "now"]);
  const minAge = checkInteger("options.minAgeMs", options.minAgeMs ?? DEFAULT_SEGMENT_GC_AGE_MS, 0, Number.MAX_SAFE_INTEGER);
  const keep = checkInteger("options.keepVersions", options.keepVersions ?? DEFAULT_KEEP_VERSIONS, 1, 1_000_000);
  const now = checkInteger("options.now", options.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER);
  const stagingPrefix = options.stagingPrefix ?? joinRoot(r, `${STAGING_DIR}/`);
  if (typeof stagingPrefix !== "string" || !stagingPrefix.endsWith("/") || (r !== "" && !stagingPrefix.startsWith(`${r}/`))) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.stagingPrefix", expected: "a prefix inside the root ending with /", given: stagingPrefix });
  }
  const manifests = new Map<number, SegmentManifest>();
  await readAll(store, r, await listSegmentVersions(store, r), manifests);
  const objects = await store.list(r === "" ? "" : `${r}/`);
  const versions = await listSegmentVersions(store, r);
  await readAll(store, r, versions, manifests);
  const retained = versions.slice(-keep);
  const live = new Set<string>();
  for (const v of retained) for (const s of manifests.get(v)!.segments) live.add(s.path);
  // When an object stopped being referenced: the commit time of the first version after the last one listing it.
  const lastRef = new Map<string, number>();
  for (const v of versions) for (const s of manifests.get(v)!.segments) lastRef.set(s.path, v);
  const droppedAt = (path: string): number | undefined => {
    const last = lastRef.get(path);
    if (last === undefined) return undefined;
    const after = versions.find((v) => v > last);
    return after === undefined ? undefined : Date.parse(manifests.get(after)!.createdAt);
  };
  const versionsPrefix = joinRoot(r, `${VERSIONS_DIR}/`);
  const leases = new Map<string, number | undefined>();
  // A staging directory with a live object keeps its lease (and so its age).
  const liveDirs = new Set<string>();
  const dirOf = (path: string): string | undefined => {
    if (!path.startsWith(stagingPrefix)) return undefined;
    const name = path.slice(stagingPrefix.length).split("/")[0]!;
    return path.length > stagingPrefix.length + name.length ? `${stagingPrefix}${name}` : undefined;
  };
  for (const p of live) {
    const d = dirOf(p);
    if (d !== undefined) liveDirs.add(d);
  }
  const deleted: string[] = [];
  let kept = 0;
  for (const o of objects) {
    if (o.path.startsWith(versionsPrefix) || live.has(o.path)) {
      if (!o.path.startsWith(versionsPrefix)) kept++;
      continue;
    }
    const dropped = droppedAt(o.path);
    let old = false;
    if (dropped !== undefined) old = now - dropped >= minAge;
    else if (!lastRef.has(o.path)) {
      const dir = dirOf(o.path);
      if (dir !== undefined && !(o.path.endsWith(`/${LEASE_FILE}`) && liveDirs.has(dir))) {
        if (!leases.has(dir)) leases.set(dir, await leaseStartedAt(store, dir));
        const started = leases.get(dir);
        old = started !== undefined && now - started >= minAge;
      }
    }
    if (old) deleted.push(o.path);
    else kept++;
  }
  // Leases go last, so an interrupted gc leaves the directory's age behind for the next run.
  deleted.sort((a, b) => Number(a.endsWith(`/${LEASE_FILE}`)) - Number(b.endsWith(`/${LEASE_FILE}`)) || (a < b ? -1 : a > b ? 1 : 0));
  if (options.dryRun !== true) for (const p of deleted) await store.delete(p);
  return { deleted, kept };
}
