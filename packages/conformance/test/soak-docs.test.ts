// The root README says what QUIVER_SOAK=1 does: it scales heavy tests, and each package README
// describes its own soak run. Keep that true: every test file that reads QUIVER_SOAK must belong
// to a package whose README mentions QUIVER_SOAK, and the root README must keep the flag's row.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { defaultRepoRoot } from "@quiver/conformance";
import { expect, it } from "vitest";

const root = defaultRepoRoot();

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && /\.(ts|mts|mjs|js)$/.test(d.name))
    .map((d) => join(d.parentPath, d.name));
}

it("every package whose tests read QUIVER_SOAK documents its soak run in its README", () => {
  const undocumented: string[] = [];
  let readers = 0;
  for (const pkg of readdirSync(join(root, "packages"))) {
    const users = testFiles(join(root, "packages", pkg, "test")).filter((f) => f !== import.meta.filename && readFileSync(f, "utf8").includes("QUIVER_SOAK"));
    readers += users.length;
    const readme = join(root, "packages", pkg, "README.md");
    if (users.length > 0 && !(existsSync(readme) && readFileSync(readme, "utf8").includes("QUIVER_SOAK"))) undocumented.push(pkg);
  }
  expect(undocumented).toEqual([]);
  expect(readers).toBeGreaterThan(0);
  expect(readFileSync(join(root, "README.md"), "utf8")).toMatch(/\| `QUIVER_SOAK=1` \| run the heavy tests at soak size/);
});
