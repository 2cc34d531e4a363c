/**
 * LocalDirectoryStore on a full file system: a real 1 MiB tmpfs mounted by the test (root only;
 * elsewhere the case is reported as skipped with the reason). A put that does not fit fails with
 * a typed IO_ERROR, the object it would replace is unchanged, and no temp file is left.
 */
import { readdirSync, rmSync } from "node:fs";
import { statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mountTmpfs } from "./tmpfs.js";
import { LocalDirectoryStore, QuiverStoreError, TEMP_FILE_PREFIX } from "@quiver/store";


const fs = mountTmpfs(1024 * 1024);
const skip = typeof fs === "string" ? fs : undefined;
if (skip !== undefined) console.warn(`[quiver store tests] ${skip}`);
afterAll(() => {
  if (typeof fs !== "string") fs.unmount();
});

describe.skipIf(skip !== undefined)("LocalDirectoryStore on a full file system (1 MiB tmpfs)", () => {
  for (const durable of [false, true]) {
    it(`a put that does not fit is a typed IO_ERROR; the old object stays; no temp file is left (durable: ${durable})`, async () => {
      if (typeof fs === "string") return;
      const root = join(fs.dir, `store-${durable}`);
      const store = await LocalDirectoryStore.open(root, { durable });
      await store.put("a/obj", new Uint8Array(1000).fill(1));
      const st = await statfs(fs.dir);
      await writeFile(join(fs.dir, "filler"), new Uint8Array(Math.max(0, st.bavail * st.bsize - 16 * 1024)));
      let err: unknown;
      try {
        await store.put("a/obj", new Uint8Array(200_000).fill(2));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(QuiverStoreError);
      expect((err as QuiverStoreError).code).toBe("IO_ERROR");
      expect(Array.from(await store.get("a/obj")).every((b) => b === 1)).toBe(true);
      expect((await store.head("a/obj")).size).toBe(1000);
      expect(readdirSync(join(root, "a")).filter((n) => n.startsWith(TEMP_FILE_PREFIX))).toEqual([]);
      rmSync(join(fs.dir, "filler"));
    });
  }
});
