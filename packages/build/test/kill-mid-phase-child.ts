/**
 * Child process of finalize-crash.test.ts: runs a fresh build and SIGKILLs itself in the middle of
 * a phase, when that phase's progress reaches `atDone` (a real kill: no cleanup, no finally blocks
 * run). "finalize" progress counts partitions written to the index; "assign-encode" counts rows
 * appended to the artifact writer (killed before its finish commits the artifact).
 */
import { LocalDirectoryStore } from "@quiver/store";
import { buildIndex } from "../src/index.js";
import { FAST } from "./helpers.js";

const [storeDir, input, phase, atDone] = process.argv.slice(2);
await buildIndex({
  input: input!,
  store: new LocalDirectoryStore(storeDir!),
  path: "index.qvr",
  ...FAST,
  onProgress: (e) => {
    if (e.phase === phase && e.done >= Number(atDone)) process.kill(process.pid, "SIGKILL");
  },
});
process.stdout.write("finished without being killed\n");
