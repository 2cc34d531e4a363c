import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultRepoRoot } from "@quiver/conformance";

/** A scratch repository root with the real spec/schemas, removed by the returned cleanup. */
export function makeTempRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "quiver-conformance-test-"));
  cpSync(join(defaultRepoRoot(), "spec", "schemas"), join(root, "spec", "schemas"), { recursive: true });
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
