/** `quiver fixtures check [--root <repo>]`: regenerate the fixture tree in a temp dir and byte-compare it with the committed one. */
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { checkFixtures, formatFixtureTreeDiff, isEmptyDiff, loadFixtureCases } from "@quiver/conformance";
import { type CliIo, UsageError } from "../io.js";

/** 0 when the committed fixtures match the generator, 1 with the list of differences otherwise. */
export async function fixturesCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { root: { type: "string" } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1 || positionals[0] !== "check") throw new UsageError("fixtures check [--root <repo>]");
  const root = values.root === undefined ? findRepoRoot(io.cwd) : resolve(io.cwd, values.root);
  const cases = await loadFixtureCases(join(root, "fixtures", "_gen", "areas"));
  const diff = checkFixtures(root, cases);
  if (isEmptyDiff(diff)) {
    io.stdout(`fixtures: ${cases.length} cases, tree matches the generator\n`);
    return 0;
  }
  io.stderr(`fixtures are out of date (run \`pnpm fixtures:generate\`; never hand-edit):\n${formatFixtureTreeDiff(diff)}\n`);
  return 1;
}

function findRepoRoot(from: string): string {
  let dir = resolve(from);
  for (;;) {
    if (existsSync(join(dir, "fixtures", "_gen", "areas"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new UsageError(`no fixtures/_gen/areas above ${from}; pass --root`);
    dir = up;
  }
}
