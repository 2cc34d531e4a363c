import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The repository root: the nearest ancestor of this file that holds `conformance/` and `spec/`.
 * The catalog, fixtures and schemas live there, not inside the package.
 */
export function defaultRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "spec", "schemas")) && existsSync(join(dir, "fixtures"))) return dir;
    const up = dirname(dir);
    if (up === dir) return resolve(process.cwd());
    dir = up;
  }
}

/** Forward-slash relative path check: no absolute paths, `.`/`..` segments, backslashes or empty segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.length > 512 || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== ".." && /^[A-Za-z0-9._-]+$/.test(seg));
}
