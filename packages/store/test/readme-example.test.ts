import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");

it("the README example runs as written and prints what it says", async () => {
  const readme = readFileSync(join(here, "..", "README.md"), "utf8");
  const code = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const file = join(here, ".readme-example.tmp.ts");
  writeFileSync(file, code!);
  try {
    const { stdout } = await promisify(execFile)(join(repo, "node_modules", ".bin", "tsx"), ["--conditions=quiver-source", file], { cwd: repo });
    expect(stdout.trim().split("\n")).toEqual(["[ 64, 64, 16 ] 2", "[ 'index/part-0.bin' ]", "not found"]);
  } finally {
    rmSync(file, { force: true });
  }
});
