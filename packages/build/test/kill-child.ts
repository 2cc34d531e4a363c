/**
 * Child process of resume.test.ts: runs a fresh build and SIGKILLs itself right after the named
 * phase's output is committed (a real kill: no cleanup, no finally blocks run).
 */
import { LocalDirectoryStore } from "@quiver/store";
import { buildIndex } from "../src/index.js";
import { FAST } from "./helpers.js";

const [storeDir, input, killAfter] = process.argv.slice(2);
await buildIndex({
  input: input!,
  store: new LocalDirectoryStore(storeDir!),
  path: "index.qvr",
  ...FAST,
  onPhaseCommitted: (phase) => {
    if (phase === killAfter) process.kill(process.pid, "SIGKILL");
  },
});
process.stdout.write("finished without being killed\n");
