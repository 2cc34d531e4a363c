/**
 * Object layout of a segmented index under its root (spec/segments.md#object-layout):
 * `_versions/<20-digit version>.json` (the commit points), segment files anywhere else under the
 * root (by convention `segments/<segmentId>.ivf` or a staging directory), staging directories
 * `_staging/<jobId>-<attempt>/` with their lease `_staging/<jobId>-<attempt>/_lease.json`.
 */
import { QuiverArgumentError } from "@quiver/format";

/** Directory of the manifest versions, relative to the root. */
export const VERSIONS_DIR = "_versions";
/** Default staging directory, relative to the root. */
export const STAGING_DIR = "_staging";
/** Name of the lease object inside a staging directory. */
export const LEASE_FILE = "_lease.json";
/** Digits of a version's object name (zero-padded, so a listing sorts by version). */
export const VERSION_DIGITS = 20;
const VERSION_NAME = /^[0-9]{20}\.json$/;

/** Validated root: "" or a relative path without a trailing slash. */
export function checkRoot(root: unknown): string {
  if (typeof root !== "string" || root.length > 1024 || root.startsWith("/") || root.endsWith("/") || root.split("/").some((s) => s === "." || s === ".." || (s === "" && root !== ""))) {
    throw new QuiverArgumentError(root === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "root", expected: 'an index root: "" or a relative object path without a trailing slash', given: root });
  }
  return root;
}

/** `root/rel` ("" root: `rel`). */
export function joinRoot(root: string, rel: string): string {
  return root === "" ? rel : `${root}/${rel}`;
}

/** Path relative to the root, or undefined when `path` is not inside it. */
export function relativeToRoot(root: string, path: string): string | undefined {
  if (root === "") return path;
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : undefined;
}

/** Object path of manifest version `v`. */
export function versionPath(root: string, v: number): string {
  return joinRoot(root, `${VERSIONS_DIR}/${String(v).padStart(VERSION_DIGITS, "0")}.json`);
}

/** The version named by a `_versions/` object name, or undefined for other names. */
export function versionOfName(name: string): number | undefined {
  if (!VERSION_NAME.test(name)) return undefined;
  const v = Number(name.slice(0, VERSION_DIGITS));
  return Number.isSafeInteger(v) && v >= 1 ? v : undefined;
}

/** True when a relative segment path is acceptable in a manifest (valid, inside the root, not a commit point). */
export function isSegmentRelPath(rel: string): boolean {
  if (rel.length === 0 || rel.startsWith("/") || rel.includes("\0")) return false;
  const parts = rel.split("/");
  if (parts.some((s) => s === "" || s === "." || s === "..")) return false;
  return parts[0] !== VERSIONS_DIR;
}
