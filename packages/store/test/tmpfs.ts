/**
 * A real, small tmpfs for full-disk tests (root only). Shared by the store's and the disk cache's
 * tests; where mounting is not allowed it returns the reason, which the tests report as a skip.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Mount a tmpfs of `bytes` at a fresh directory, or return why that is not possible here. */
export function mountTmpfs(bytes: number): { dir: string; unmount: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), "quiver-tmpfs-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 120)}); full-disk cases SKIPPED`;
  }
  return {
    dir,
    unmount: () => {
      spawnSync("umount", [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
