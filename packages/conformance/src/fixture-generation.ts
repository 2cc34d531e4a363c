/**
 * What `fixtures/_gen/generate.ts` and `quiver fixtures check` share: discover the area modules,
 * collect their cases, and write or check the tree.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  type FixtureCaseInput,
  FixtureCaseError,
  type FixtureTreeDiff,
  type FixtureTreeLayout,
  type FixtureWriteSummary,
  diffFixtureTrees,
  renderFixtureTree,
  writeFixtureTree,
} from "./fixture-tree.js";

/**
 * Import every `<areasDir>/*.ts` (sorted; `*.d.ts` and `_*` skipped) and collect its `cases()`.
 * Each case's `area` must equal its module's area: the exported `area` string when it has one (a
 * second module of an area, e.g. `ivf-search.ts` with `area = "ivf"`), else its file name. Needs a
 * TypeScript-aware loader (tsx, vitest).
 */
export async function loadFixtureCases(areasDir: string, onArea?: (area: string, count: number) => void): Promise<FixtureCaseInput[]> {
  const files = readdirSync(areasDir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith("_"))
    .sort();
  const all: FixtureCaseInput[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(areasDir, file)).href)) as { area?: unknown; cases?: () => FixtureCaseInput[] | Promise<FixtureCaseInput[]> };
    const area = typeof mod.area === "string" ? mod.area : basename(file, ".ts");
    if (typeof mod.cases !== "function") {
      problems.push(`${file}: does not export cases()`);
      continue;
    }
    const cases = await mod.cases();
    for (const c of cases) {
      if (c.area !== area) problems.push(`${file}: case ${c.name} declares area "${c.area}", expected "${area}"`);
    }
    onArea?.(area, cases.length);
    all.push(...cases);
  }
  if (problems.length > 0) throw new FixtureCaseError(problems);
  return all;
}

/** Render the cases and mirror them onto `root` (stale outputs removed). */
export function generateFixtures(root: string, cases: readonly FixtureCaseInput[], layout: FixtureTreeLayout = {}): FixtureWriteSummary {
  return writeFixtureTree(root, renderFixtureTree(cases, root, layout), layout);
}

/** Regenerate into a temporary directory and byte-compare it with `root`'s committed tree. */
export function checkFixtures(root: string, cases: readonly FixtureCaseInput[], layout: FixtureTreeLayout = {}): FixtureTreeDiff {
  const files = renderFixtureTree(cases, root, layout);
  const tmp = mkdtempSync(join(tmpdir(), "quiver-fixtures-check-"));
  try {
    writeFixtureTree(tmp, files, layout);
    return diffFixtureTrees(tmp, root, layout);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
