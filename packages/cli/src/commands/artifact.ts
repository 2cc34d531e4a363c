/** `quiver artifact validate <dir> [--json]`: every problem of a partition artifact, exit 1 when any. */
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { validateArtifact } from "@quiver/artifact";
import { canonicalJson } from "@quiver/conformance";
import { LocalDirectoryStore, QuiverStoreError } from "@quiver/store";
import type { CliIo } from "../io.js";

/** Validate the artifact in a local directory; prints each problem's code, stage and message. */
export async function artifactValidateCommand(dir: string, flags: { json?: boolean }, io: CliIo): Promise<number> {
  const abs = resolve(io.cwd, dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new QuiverStoreError("NOT_FOUND", dir, "not a directory");
  const problems = await validateArtifact(new LocalDirectoryStore(abs), "");
  if (flags.json === true) io.stdout(canonicalJson({ artifact: dir, valid: problems.length === 0, problems }));
  else if (problems.length === 0) io.stdout(`${dir}: valid partition artifact\n`);
  else {
    io.stdout(`${dir}: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n`);
    for (const p of problems) io.stdout(`  ${p.code}: ${p.message} (stage ${p.stage})\n`);
  }
  return problems.length === 0 ? 0 : 1;
}
