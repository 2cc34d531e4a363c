/**
 * Runs a package README's "## Example" block as written (tsx, `quiver-source` condition, from the
 * repository root) with extra environment, for the packages whose example needs a server the
 * generic runner does not start (their own test/readme-example.test.ts starts it). Returns stdout.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { readmeBlock } from "../registry-roundtrip/readme-blocks.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url));

/** `testDir`: the package's test folder (`new URL(".", import.meta.url)`); the example is its ../README.md. */
export async function runReadmeExample(testDir: URL, env: Record<string, string>): Promise<string> {
  const here = fileURLToPath(testDir);
  const { code } = readmeBlock(readFileSync(join(here, "..", "README.md"), "utf8"), "example");
  const file = join(here, ".readme-example.tmp.ts");
  writeFileSync(file, code);
  try {
    const { stdout } = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsx"), ["--conditions=quiver-source", file], { cwd: repo, env: { ...process.env, ...env } });
    return stdout;
  } finally {
    rmSync(file, { force: true });
  }
}
