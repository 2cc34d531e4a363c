/**
 * Child process of finalize-crash.test.ts: a build whose store is not a `LocalDirectoryStore`
 * (an `IoStatsStore` over one, so every phase goes through the generic store path and finalize
 * takes the spill write: a local spill file in TMPDIR, then streamed through the object writer).
 * With `atDone` it SIGKILLs itself when finalize has written that many partitions into the spill
 * file (a real kill: no cleanup runs); without it, it resumes the build to the end.
 */
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { buildIndex } from "../src/index.js";
import { FAST } from "./helpers.js";

const [storeDir, input, atDone] = process.argv.slice(2);
const r = await buildIndex({
  input: input!,
  store: new IoStatsStore(new LocalDirectoryStore(storeDir!)),
  path: "index.qvr",
  ...FAST,
  resume: atDone === undefined,
  onProgress: (e) => {
    if (atDone !== undefined && e.phase === "finalize" && e.done >= Number(atDone)) process.kill(process.pid, "SIGKILL");
  },
});
process.stdout.write(JSON.stringify({ phases: r.phases.map((p) => p.status) }) + "\n");
