import { readdir, rm, rmdir, stat } from "node:fs/promises";
import * as nodePath from "node:path";
import { QuiverFormatError, checkInteger, checkOptions, isQuiverFormatError, parseJsonBytes } from "@quiver/format";
import { LocalDirectoryStore, type ObjectStore, TEMP_FILE_PREFIX, isStoreError } from "@quiver/store";
import { artifactPath } from "./internal/output.js";
import { ARTIFACT_ID_RE, DATA_DIR } from "./manifest.js";
import { readManifest } from "./reader.js";
import { writeLeaseName } from "./writer.js";

/** Default age after which an unreferenced write is reclaimed: 24 hours. */
export const DEFAULT_GC_AGE_MS = 24 * 60 * 60 * 1000;

/** Options of {@link gcArtifact}. */
export interface GcArtifactOptions {
  /** Only writes whose lease started at least this long ago (or that have no lease) are removed. Default 24 h. */
  readonly olderThanMs?: number;
  /** The current time in ms since the epoch (default `Date.now()`); tests pass a fixed clock. */
  readonly now?: number;
}

/** What {@link gcArtifact} removed. */
export interface GcArtifactResult {
  /** Artifact ids whose files were removed. */
  readonly removedWrites: readonly string[];
  /** Paths (relative to the artifact) removed, temp files included. */
  readonly removedPaths: readonly string[];
}

async function leaseAge(store: ObjectStore, uri: string, id: string, now: number): Promise<number> {
  try {
    const v = parseJsonBytes(await store.get(artifactPath(uri, writeLeaseName(id)))) as { started_at_ms?: unknown };
    return typeof v === "object" && v !== null && Number.isSafeInteger(v.started_at_ms) ? now - (v.started_at_ms as number) : Number.POSITIVE_INFINITY;
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND") || isQuiverFormatError(e)) return Number.POSITIVE_INFINITY;
    throw e;
  }
}

async function committedId(store: ObjectStore, uri: string): Promise<string | undefined> {
  try {
    return (await readManifest(store, uri)).artifact_id;
  } catch (e) {
    if (isQuiverFormatError(e, "ARTIFACT_UNCOMMITTED")) return undefined;
    // An unreadable manifest: nothing can be known to be unreferenced, so nothing is removed.
    if (e instanceof QuiverFormatError) throw new QuiverFormatError("ARTIFACT_GC_REFUSED", `gcArtifact: the manifest does not parse (${e.code}); no file is removed`, { stage: "gc", cause: e });
    throw e;
  }
}

/**
 * Reclaim the files of writes that no manifest references (spec/artifact.md#reclamation): every
 * `data/<id>/` directory (and its `data/<id>.write.json` lease) whose id is not the committed
 * manifest's `artifact_id` and whose lease is missing or older than `olderThanMs`. Temp files of a
 * killed writer (in a local directory store) go with their write, and stale temp files of
 * interrupted puts (older than the bound by mtime) are removed too. The manifest is read before and
 * after listing, so a write that commits meanwhile is never removed. Safe to run at any time.
 */
export async function gcArtifact(store: ObjectStore, uri: string, options: GcArtifactOptions = {}): Promise<GcArtifactResult> {
  checkOptions("options", options, ["olderThanMs", "now"]);
  const olderThanMs = checkInteger("olderThanMs", options.olderThanMs ?? DEFAULT_GC_AGE_MS, 0, Number.MAX_SAFE_INTEGER);
  const now = checkInteger("now", options.now ?? Date.now(), 0, Number.MAX_SAFE_INTEGER);
  const keep = await committedId(store, uri);
  const dataPrefix = artifactPath(uri, `${DATA_DIR}/`);
  const byId = new Map<string, string[]>();
  for (const o of await store.list(dataPrefix)) {
    const rel = o.path.slice(dataPrefix.length);
    const id = rel.split("/")[0]!.replace(/\.write\.json$/, "");
    if (!ARTIFACT_ID_RE.test(id)) continue;
    const list = byId.get(id) ?? [];
    list.push(o.path);
    byId.set(id, list);
  }
  // Temp files are invisible to list(); a local store's write directories are scanned for them.
  const local = store instanceof LocalDirectoryStore ? store : undefined;
  const dataDir = local === undefined ? undefined : nodePath.join(local.root, ...dataPrefix.split("/").filter((x) => x !== ""));
  if (dataDir !== undefined) {
    for (const name of await readdir(dataDir).catch(() => [] as string[])) if (ARTIFACT_ID_RE.test(name) && !byId.has(name)) byId.set(name, []);
  }
  const candidates: string[] = [];
  for (const id of byId.keys()) if (id !== keep && (await leaseAge(store, uri, id, now)) >= olderThanMs) candidates.push(id);
  // A write that committed while we listed is referenced now: keep it.
  const keepNow = await committedId(store, uri);
  const removedWrites: string[] = [];
  const removedPaths: string[] = [];
  const base = artifactPath(uri, "");
  const rel = (p: string): string => (base === "" ? p : p.slice(base.length + 1));
  for (const id of candidates.sort()) {
    if (id === keepNow) continue;
    const lease = artifactPath(uri, writeLeaseName(id));
    for (const p of byId.get(id)!) {
      if (p === lease) continue;
      await store.delete(p).catch((e: unknown) => {
        if (!isStoreError(e, "NOT_FOUND")) throw e;
      });
      removedPaths.push(rel(p));
    }
    if (dataDir !== undefined) {
      const dir = nodePath.join(dataDir, id);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith(TEMP_FILE_PREFIX)) continue;
        await rm(nodePath.join(dir, name), { force: true });
        removedPaths.push(`${DATA_DIR}/${id}/${name}`);
      }
      await rmdir(dir).catch(() => {});
    }
    // The lease goes last: until then a crash mid-gc leaves the write visible to the next gc.
    if (byId.get(id)!.includes(lease)) {
      await store.delete(lease).catch(() => {});
      removedPaths.push(rel(lease));
    }
    removedWrites.push(id);
  }
  // Temp files of interrupted puts (manifest, leases) in the artifact's root and data directories,
  // by their age on disk: a put in progress is younger than the bound.
  if (dataDir !== undefined) {
    const rootDir = nodePath.dirname(dataDir);
    for (const [dir, relDir] of [[rootDir, ""], [dataDir, `${DATA_DIR}/`]] as const) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (!name.startsWith(TEMP_FILE_PREFIX)) continue;
        const full = nodePath.join(dir, name);
        const st = await stat(full).catch(() => undefined);
        if (st === undefined || !st.isFile() || now - st.mtimeMs < olderThanMs) continue;
        await rm(full, { force: true });
        removedPaths.push(`${relDir}${name}`);
      }
    }
  }
  return { removedWrites, removedPaths };
}
