/**
 * Entry point of the fresh process the main job spawns:
 * `tsx --conditions=quiver-source reopen-main.ts <workDir> <dim> <k> <nprobes> <refineFactor>`.
 */
import { runReopenPhase } from "./reopen-phase.js";

const [workDir, dim, k, nprobes, refineFactor] = process.argv.slice(2);
if (workDir === undefined || dim === undefined) {
  console.error("usage: reopen-main.ts <workDir> <dim> [k] [nprobes] [refineFactor]");
  process.exit(2);
}
await runReopenPhase({
  workDir,
  dim: Number(dim),
  ...(k === undefined ? {} : { k: Number(k) }),
  ...(nprobes === undefined ? {} : { nprobes: Number(nprobes) }),
  ...(refineFactor === undefined ? {} : { refineFactor: Number(refineFactor) }),
});
