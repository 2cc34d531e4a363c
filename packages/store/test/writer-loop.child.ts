/**
 * Child process of crash-trials.test.ts: like put-loop.child.ts, but each version goes through a
 * streaming writer in 64 KiB appends (createWriter, write..., commit), printing "c <v>" after
 * each commit resolved. The parent SIGKILLs it at a random moment, usually mid-write.
 */
import { LocalDirectoryStore } from "@quiver/store";
import { versionBytes } from "./crash-versions.js";

const store = new LocalDirectoryStore(process.argv[2]!);
for (let v = Number(process.argv[3]); ; v++) {
  const bytes = versionBytes(v);
  const w = await store.createWriter("dir/obj");
  for (let at = 0; at < bytes.byteLength; at += 65_536) await w.write(bytes.subarray(at, at + 65_536));
  await w.commit();
  process.stdout.write(`c ${v}\n`);
}
