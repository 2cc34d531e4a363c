import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The files a conformance root must hold (relative paths, `/`-separated). */
export const CONFORMANCE_ROOT_ENTRIES = ["conformance/catalog.json", "fixtures", "spec/schemas"] as const;

/** No usable conformance root: none found next to the package, or the given one lacks an entry. */
export class ConformanceRootError extends Error {
  override readonly name = "ConformanceRootError";
  readonly code = "CONFORMANCE_ROOT_NOT_FOUND";
  /** The directory that was tried last. */
  readonly root: string;
  /** The entries of {@link CONFORMANCE_ROOT_ENTRIES} it lacks. */
  readonly missing: readonly string[];
  readonly hint: string;

  constructor(root: string, missing: readonly string[], hint: string) {
    super(`no conformance catalog at ${root} (missing ${missing.join(", ")})`);
    this.root = root;
    this.missing = missing;
    this.hint = hint;
  }
}

/** The entries of {@link CONFORMANCE_ROOT_ENTRIES} that `dir` lacks (empty: it is a conformance root). */
export function missingRootEntries(dir: string, catalogPath?: string): string[] {
  const missing = CONFORMANCE_ROOT_ENTRIES.filter((e) => !existsSync(join(dir, ...e.split("/"))));
  if (catalogPath === undefined) return missing;
  // a catalog named explicitly replaces the root's own
  const rest = missing.filter((e) => e !== "conformance/catalog.json");
  return existsSync(resolve(catalogPath)) ? rest : [catalogPath, ...rest];
}

// This file is <package>/src/internal/paths.ts in the workspace, <package>/dist/internal/paths.js installed.
const packageDir = fileURLToPath(new URL("../../", import.meta.url));

/** Where the copy shipped inside the package lives (`<package>/data`, filled by `pnpm build`). */
export function bundledConformanceRoot(): string {
  return join(packageDir, "data");
}

const ROOT_HINT = "point --root (CLI) or options.root (API) at a directory holding conformance/catalog.json, fixtures/ and spec/schemas/";

/**
 * The conformance root holding `conformance/catalog.json`, `fixtures/` and `spec/schemas/`:
 * `explicit` when given (checked), else the repository this package is checked out in (so the
 * workspace always runs its current fixtures, never a stale build copy), else the copy shipped in
 * the package. `catalogPath` (a catalog used instead of the root's) is checked when given.
 * Throws {@link ConformanceRootError}, never a bare ENOENT.
 */
export function resolveConformanceRoot(explicit?: string, catalogPath?: string): string {
  if (explicit !== undefined) {
    const root = resolve(explicit);
    const missing = missingRootEntries(root, catalogPath);
    if (missing.length > 0) throw new ConformanceRootError(root, missing, ROOT_HINT);
    return root;
  }
  // packages/conformance sits two levels under the repository root
  const repo = resolve(packageDir, "..", "..");
  if (missingRootEntries(repo).length === 0 && existsSync(join(repo, "packages", "conformance"))) return repo;
  const bundled = bundledConformanceRoot();
  const missing = missingRootEntries(bundled);
  if (missing.length > 0) throw new ConformanceRootError(bundled, missing, `the installed package is incomplete; ${ROOT_HINT}`);
  return bundled;
}

/**
 * The default conformance root (see {@link resolveConformanceRoot}). Kept under its old name:
 * in a checkout it is still the repository root.
 */
export function defaultRepoRoot(): string {
  return resolveConformanceRoot();
}

/** Forward-slash relative path check: no absolute paths, `.`/`..` segments, backslashes or empty segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 512 || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".." && /^[A-Za-z0-9._-]+$/.test(seg));
}
