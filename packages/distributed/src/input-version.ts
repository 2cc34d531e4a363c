/**
 * Input pinning: a build records the version of its input once (a local file's absolute path,
 * size and mtime in nanoseconds), every shard re-reads it before and after reading its rows, and
 * the merge rejects shards of another version. A file rewritten in place changes its mtime (and
 * usually its size), so a shard never mixes rows of two versions into one published index.
 */
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { QuiverDistributedError } from "./errors.js";

/** The version string of a local input file: `file:///abs/path#size=<bytes>;mtime=<ns>`. */
export async function inputVersionOf(path: string): Promise<string> {
  const abs = resolve(path);
  const st = await stat(abs, { bigint: true });
  if (!st.isFile()) throw new QuiverDistributedError("DIST_INPUT_CHANGED", `input ${abs.slice(0, 512)} is not a regular file`);
  return `${pathToFileURL(abs).href}#size=${st.size};mtime=${st.mtimeNs}`;
}

/** Throw DIST_INPUT_CHANGED when the file at `path` is no longer of `version`. */
export async function checkInputVersion(path: string, version: string, shard?: string): Promise<void> {
  let now: string;
  try {
    now = await inputVersionOf(path);
  } catch (e) {
    throw new QuiverDistributedError("DIST_INPUT_CHANGED", `input ${resolve(path).slice(0, 512)} cannot be read: ${String((e as Error).message ?? e).slice(0, 200)}`, { ...(shard === undefined ? {} : { shard }), cause: e });
  }
  if (now !== version) {
    throw new QuiverDistributedError("DIST_INPUT_CHANGED", `input changed since the build pinned it (pinned ${version.slice(0, 600)}, now ${now.slice(0, 600)})`, shard === undefined ? {} : { shard });
  }
}
