/**
 * Child process of crash-trials.test.ts: replaces object "obj" in a LocalDirectoryStore over
 * argv[2] with versions argv[3], argv[3]+1, ... forever, printing "c <v>" after each put resolved.
 * The parent SIGKILLs it at a random moment.
 */
import { LocalDirectoryStore } from "@quiver/store";
import { versionBytes } from "./crash-versions.js";

const store = new LocalDirectoryStore(process.argv[2]!);
for (let v = Number(process.argv[3]); ; v++) {
  await store.put("dir/obj", versionBytes(v));
  process.stdout.write(`c ${v}\n`);
}
