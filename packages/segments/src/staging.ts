/**
 * Staging directories (spec/segments.md#staging): a shard job writes its segment under
 * `<root>/_staging/<jobId>-<attempt>/`, a name no other job or attempt uses, so a retried or
 * duplicated job never touches another's files. The lease `_lease.json` (written first, with the
 * start time) lets gc reclaim what a killed worker left behind.
 */
import { QuiverArgumentError, checkInteger, checkOptions, parseJsonBytes } from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { LEASE_FILE, STAGING_DIR, checkRoot, joinRoot } from "./layout.js";

const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The staging directory of one job attempt: `<root>/_staging/<jobId>-<attempt>` (no trailing slash). */
export function stagingPath(root: string, jobId: string, attempt: number): string {
  const r = checkRoot(root);
  if (typeof jobId !== "string" || !JOB_ID.test(jobId)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "jobId", expected: `a job id matching ${JOB_ID.source}`, given: jobId });
  checkInteger("attempt", attempt, 0, 1_000_000);
  return joinRoot(r, `${STAGING_DIR}/${jobId}-${attempt}`);
}

/**
 * Start a staging directory: writes its lease (`{"startedAtMs": now}`) with a conditional create
 * and returns the directory path. Call it before writing anything else there; an existing lease
 * (the same attempt started twice) is kept as it is.
 */
export async function beginStaging(store: ObjectStore, root: string, job: { jobId: string; attempt: number; now?: number }): Promise<string> {
  checkOptions("job", job, ["jobId", "attempt", "now"]);
  const dir = stagingPath(root, job.jobId, job.attempt);
  const now = checkInteger("job.now", job.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER);
  try {
    await store.put(`${dir}/${LEASE_FILE}`, new TextEncoder().encode(JSON.stringify({ startedAtMs: now })), { ifAbsent: true });
  } catch (e) {
    if (!isStoreError(e, "ALREADY_EXISTS")) throw e;
  }
  return dir;
}

/** Start time of a staging directory's lease, or undefined when it has none (or an unreadable one). */
export async function leaseStartedAt(store: ObjectStore, dir: string): Promise<number | undefined> {
  try {
    const v = parseJsonBytes(await store.get(`${dir}/${LEASE_FILE}`)) as { startedAtMs?: unknown } | null;
    return typeof v === "object" && v !== null && Number.isSafeInteger(v.startedAtMs) && (v.startedAtMs as number) >= 0 ? (v.startedAtMs as number) : undefined;
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND") || (e as { name?: unknown }).name === "QuiverFormatError") return undefined;
    throw e;
  }
}
