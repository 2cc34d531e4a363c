/**
 * Reclaiming what abandoned distributed builds leave behind. `gcSegments` (@quiver/segments)
 * reclaims staging leftovers and segments dropped by newer versions, but a shard's committed
 * segment (`segments/b<buildKey>-<i>.ivf`) of a build that never published, and its
 * `_builds/<buildKey>/` plan and model, carry no lease it understands. A build is abandoned when
 * its plan was committed at least `minAgeMs` ago and no manifest version (of any age) lists any
 * of its segments; then its committed segments go first and its plan last, so an interrupted gc
 * finds the build again. Builds that published are never touched here (their plan and model are
 * a few KiB and let a rerun with the same arguments find its own version).
 */
import { QuiverArgumentError, checkInteger, checkOptions, parseJsonBytes } from "@quiver/format";
import { type ObjectStore, getIfExists } from "@quiver/store";
import { QuiverSegmentError, listSegmentVersions, readSegmentManifest } from "@quiver/segments";
import { type DistributedPlan, buildDir, joinRoot, segmentPath } from "./plan.js";

/** Options of {@link gcAbandonedBuilds}. */
export interface GcBuildsOptions {
  /** A build is abandoned only when its plan is at least this old (ms). Longer than the longest build. */
  readonly minAgeMs: number;
  /** Report what would be deleted without deleting. */
  readonly dryRun?: boolean;
  /** The current time in ms since the epoch (default `Date.now()`). */
  readonly now?: number;
}

/** What {@link gcAbandonedBuilds} found and did. */
export interface GcBuildsResult {
  /** Objects deleted (dryRun: that would be). */
  readonly deleted: string[];
  /** Build keys judged abandoned. */
  readonly abandoned: string[];
  /** Build keys kept: published, too young, or with a plan that does not decode or has no time. */
  readonly kept: string[];
}

/** Delete the committed segments, plan and model of builds under `root` that never published and are older than `minAgeMs`. */
export async function gcAbandonedBuilds(store: ObjectStore, root: string, options: GcBuildsOptions): Promise<GcBuildsResult> {
  checkOptions("options", options, ["minAgeMs", "dryRun", "now"]);
  if (typeof root !== "string" || root.startsWith("/") || root.endsWith("/")) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "root", expected: 'an index root: "" or a relative object path without a trailing slash', given: root });
  }
  const minAge = checkInteger("options.minAgeMs", options.minAgeMs, 0, Number.MAX_SAFE_INTEGER);
  const now = checkInteger("options.now", options.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER);
  // every path any version ever listed: a build with one of them published
  const referenced = new Set<string>();
  for (const v of await listSegmentVersions(store, root)) {
    try {
      for (const s of (await readSegmentManifest(store, root, { version: v })).segments) referenced.add(s.path);
    } catch (e) {
      if ((e as { name?: unknown }).name !== "QuiverFormatError") throw e;
      throw new QuiverSegmentError([{ code: "SEGMENT_GC_REFUSED", message: `version ${v} does not decode; no build is known to be unpublished, so nothing is deleted` }], { stage: "gc", cause: e });
    }
  }
  const buildsPrefix = joinRoot(root, "_builds/");
  const keys = new Set<string>();
  for (const o of await store.list(buildsPrefix)) {
    const key = o.path.slice(buildsPrefix.length).split("/")[0]!;
    if (/^[0-9a-f]{1,64}$/.test(key)) keys.add(key);
  }
  const deleted: string[] = [];
  const abandoned: string[] = [];
  const kept: string[] = [];
  for (const key of [...keys].sort()) {
    const dir = buildDir(root, key);
    const plan = await readPlan(store, joinRoot(dir, "plan.json"));
    if (plan === undefined || plan.buildKey !== key || typeof plan.plannedAtMs !== "number" || !Number.isSafeInteger(plan.plannedAtMs) || now - plan.plannedAtMs < minAge || !Array.isArray(plan.shards)) {
      kept.push(key);
      continue;
    }
    const segmentPrefix = segmentPath(root, `b${key}-`).replace(/\.ivf$/, "");
    const segments = (await store.list(segmentPrefix)).map((o) => o.path).filter((p) => p.endsWith(".ivf"));
    const planned = plan.shards.map((s) => segmentPath(root, String(s.segmentId)));
    if ([...segments, ...planned].some((p) => referenced.has(p))) {
      kept.push(key);
      continue;
    }
    abandoned.push(key);
    const dirObjects = (await store.list(`${dir}/`)).map((o) => o.path);
    // the plan goes last: an interrupted gc still finds the build and finishes next time
    const planPath = joinRoot(dir, "plan.json");
    deleted.push(...segments.sort(), ...dirObjects.filter((p) => p !== planPath).sort(), ...(dirObjects.includes(planPath) ? [planPath] : []));
  }
  if (options.dryRun !== true) for (const p of deleted) await store.delete(p);
  return { deleted, abandoned, kept };
}

async function readPlan(store: ObjectStore, path: string): Promise<Partial<DistributedPlan> | undefined> {
  const bytes = await getIfExists(store, path);
  if (bytes === undefined) return undefined;
  try {
    const v = parseJsonBytes(bytes) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Partial<DistributedPlan>) : undefined;
  } catch {
    return undefined;
  }
}
