/**
 * The README example runs as written: its first ```ts block is extracted, its /tmp paths are
 * pointed at a fresh temporary directory, and it runs in a child Node process (tsx loader), whose
 * printed lines are checked against the comments in the README.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const pkg = fileURLToPath(new URL("../", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

it("the README example runs and prints what its comments say", { timeout: 180_000 }, () => {
  const readme = readFileSync(join(pkg, "README.md"), "utf8");
  const code = /## Example\s+```(?:ts|js)\n([\s\S]*?)```/.exec(readme)![1]!;
  const dir = mkdtempSync(join(tmpdir(), "quiver-ivf-readme-"));
  // In the repository root (whose devDependencies link every workspace package): the example also
  // imports @quiver/build, which sits above this package.
  const file = join(repoRoot, `.readme-example-ivf-${process.pid}.ts`);
  try {
    writeFileSync(file, code.replaceAll("/tmp/quiver-example", dir));
    const out = execFileSync(process.execPath, ["--import", "tsx", "--conditions=quiver-source", file], { cwd: repoRoot, encoding: "utf8" });
    const expected = [...code.matchAll(/\/\/ (.+)$/gm)].map((m) => m[1]!).filter((c) => c.startsWith("{") || /^\d/.test(c));
    expect(out.trim().split("\n")).toEqual(expected);
  } finally {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
