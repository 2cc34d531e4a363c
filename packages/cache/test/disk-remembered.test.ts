/**
 * The disk backend's unchanged-file memo (issue 13, reopen fixed costs): a get of an entry file
 * this process decoded before, still the same file (inode, size, mtime, ctime) and its value still
 * alive, returns that value after one stat (counted in `rememberedHits`) for every backend of the
 * directory; a file changed in place (same size), replaced, or deleted is read again (a changed one
 * is then found corrupt and deleted), never served from the memo.
 */
import { open, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiskCacheBackend, type TestVectors, formatCacheKey, frameCodec, testVectorsCodec } from "@quiver/cache";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

const codec = frameCodec(testVectorsCodec);
/** Longer than the memo's quiet time (100 ms): entry files written before it are remembered when read. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 250));

async function entryFile(dir: string): Promise<string> {
  for (const shard of await readdir(join(dir, "entries"))) {
    for (const n of await readdir(join(dir, "entries", shard))) return join(dir, "entries", shard, n);
  }
  throw new Error("no entry file");
}

describe("DiskCacheBackend remembered entries", () => {
  it("serves an unchanged file's value again after one stat, across fresh backends of the directory", async () => {
    const t = await tempDir();
    try {
      const key = formatCacheKey("remembered", "a", testVectorsCodec.typeName);
      const w = await DiskCacheBackend.open({ directory: t.dir });
      await w.insert(key, { value: vectors("a", 40, 8), sizeBytes: 1280 }, codec);
      await w.close();
      await settle();
      const b1 = await DiskCacheBackend.open({ directory: t.dir });
      const first = await b1.get(key, codec);
      expect((first?.value as TestVectors).id).toBe("a");
      expect(b1.counters.rememberedHits).toBe(0);
      const again = await b1.get(key, codec);
      expect(again?.value).toBe(first?.value);
      expect(again?.sizeBytes).toBe(first?.sizeBytes);
      expect(b1.counters.rememberedHits).toBe(1);
      await b1.close();
      // a fresh backend of the same directory (a reopen in this process) gets it the same way
      const b2 = await DiskCacheBackend.open({ directory: t.dir });
      expect((await b2.get(key, codec))?.value).toBe(first?.value);
      expect(b2.counters.rememberedHits).toBe(1);
      await b2.close();
      // another directory holding the same key is its own file
      const t2 = await tempDir();
      try {
        const other = await DiskCacheBackend.open({ directory: t2.dir });
        expect(await other.get(key, codec)).toBeUndefined();
        expect(other.counters.rememberedHits).toBe(0);
        await other.close();
      } finally {
        await t2.cleanup();
      }
    } finally {
      await t.cleanup();
    }
  });

  it("a file changed in place after a remembered read is read again, found corrupt and deleted", async () => {
    const t = await tempDir();
    try {
      const key = formatCacheKey("remembered", "b", testVectorsCodec.typeName);
      const logger = recordingLogger();
      const b = await DiskCacheBackend.open({ directory: t.dir, logger });
      await b.insert(key, { value: vectors("b", 40, 8), sizeBytes: 1280 }, codec);
      await settle();
      const held = await b.get(key, codec);
      expect((await b.get(key, codec))?.value).toBe(held?.value);
      expect(b.counters.rememberedHits).toBe(1);
      // flip a byte of the payload in place: same inode, same size, a new ctime
      const path = await entryFile(t.dir);
      const fh = await open(path, "r+");
      try {
        const st = await fh.stat();
        const one = Buffer.alloc(1);
        await fh.read(one, 0, 1, st.size - 5);
        one[0] = one[0]! ^ 0xff;
        await fh.write(one, 0, 1, st.size - 5);
      } finally {
        await fh.close();
      }
      expect(await b.get(key, codec)).toBeUndefined();
      expect(b.counters.rememberedHits).toBe(1);
      expect(b.counters.corruptDeleted).toBe(1);
      await b.close();
      expect(held?.value).toBeDefined();
    } finally {
      await t.cleanup();
    }
  });

  it("a replaced or deleted file is not served from the memo", async () => {
    const t = await tempDir();
    try {
      const key = formatCacheKey("remembered", "c", testVectorsCodec.typeName);
      const b = await DiskCacheBackend.open({ directory: t.dir });
      await b.insert(key, { value: vectors("c", 40, 8, 1), sizeBytes: 1280 }, codec);
      await settle();
      const held = await b.get(key, codec);
      expect((await b.get(key, codec))?.value).toBe(held?.value);
      // another value of the same size written under the key (a new file renamed over the old one)
      const path = await entryFile(t.dir);
      const t2 = await tempDir();
      try {
        const other = await DiskCacheBackend.open({ directory: t2.dir });
        await other.insert(key, { value: vectors("c", 40, 8, 2), sizeBytes: 1280 }, codec);
        await other.close();
        await rename(await entryFile(t2.dir), path);
      } finally {
        await t2.cleanup();
      }
      const replaced = await b.get(key, codec);
      expect(replaced?.value).not.toBe(held?.value);
      expect(Array.from((replaced?.value as TestVectors).data)).toEqual(Array.from(vectors("c", 40, 8, 2).data));
      expect(b.counters.rememberedHits).toBe(1);
      await rm(path);
      expect(await b.get(key, codec)).toBeUndefined();
      expect(b.counters.rememberedHits).toBe(1);
      await b.close();
    } finally {
      await t.cleanup();
    }
  });
});
