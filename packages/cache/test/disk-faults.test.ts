/**
 * Faults of the disk backend: a full file system (a real, small tmpfs mounted by the test where
 * the machine allows it), a directory that cannot be created, and temp files left by crashed
 * writers. Every case checks what the backend promises: misses and counted errors, never an
 * exception, and never a truncated file renamed over a valid entry.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readdir, statfs, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mountTmpfs } from "../../store/test/tmpfs.js";
import { DiskCacheBackend, IndexCache, cacheKey, formatCacheKey, frameCodec, testVectorsCodec } from "@quiver/cache";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

const codec = frameCodec(testVectorsCodec);
const k = (name: string) => formatCacheKey("", name, "CacheTestVectors");


const fs = mountTmpfs(1024 * 1024);
const fsSkip = typeof fs === "string" ? fs : undefined;
if (fsSkip !== undefined) console.warn(`[quiver cache tests] ${fsSkip}`);
afterAll(() => {
  if (typeof fs !== "string") fs.unmount();
});

describe.skipIf(fsSkip !== undefined)("DiskCacheBackend on a full file system (1 MiB tmpfs)", () => {
  it("a write that does not fit is dropped and counted; the valid entry it would replace is kept", async () => {
    if (typeof fs === "string") return;
    const dir = join(fs.dir, "cache-a");
    const logger = recordingLogger();
    const disk = await DiskCacheBackend.open({ directory: dir, logger });
    await disk.insert(k("a"), { value: vectors("old", 4, 4), sizeBytes: 0 }, codec);
    // Fill the file system, leaving ~12 KiB: a 64 KiB entry can only be written partly.
    const st = await statfs(fs.dir);
    const free = st.bavail * st.bsize;
    await writeFile(join(fs.dir, "filler"), new Uint8Array(Math.max(0, free - 12 * 1024)));
    await disk.insert(k("a"), { value: vectors("new", 4096, 4), sizeBytes: 0 }, codec);
    expect(disk.counters.writeErrors).toBe(1);
    const got = await disk.get(k("a"), codec);
    expect((got?.value as { id: string } | undefined)?.id).toBe("old");
    expect(disk.counters.corruptDeleted).toBe(0);
    expect(await readdir(join(dir, "tmp"))).toEqual([]); // the partial temp file is gone
    expect(logger.lines.some((l) => l.includes("dropped"))).toBe(true);
    // getOrInsert still answers with the loaded value while the disk is full.
    const cache = new IndexCache(disk);
    const v = await cache.getOrInsert(cacheKey("b", testVectorsCodec), async () => vectors("loaded", 4096, 4));
    expect(v.id).toBe("loaded");
    await disk.close();
    rmSync(join(fs.dir, "filler"));
  });
});

describe("DiskCacheBackend whose directory cannot be created", () => {
  it("degrades to misses and dropped writes with counted errors, never a raw ENOENT/ENOTDIR", async () => {
    const t = await tempDir();
    writeFileSync(join(t.dir, "a-file"), "x");
    const logger = recordingLogger();
    // A path under a regular file can never be created (ENOTDIR), like a read-only or inode-less fs.
    const disk = await DiskCacheBackend.open({ directory: join(t.dir, "a-file", "cache"), logger });
    expect(await disk.isAvailable()).toBe(false);
    expect(disk.counters.directoryErrors).toBe(1);
    expect(await disk.get(k("x"), codec)).toBeUndefined();
    await disk.insert(k("x"), { value: vectors("x", 1, 1), sizeBytes: 0 }, codec);
    expect(disk.counters.writeErrors).toBe(1);
    const cache = new IndexCache(disk);
    expect((await cache.getOrInsert(cacheKey("y", testVectorsCodec), async () => vectors("y", 1, 1))).id).toBe("y");
    await cache.invalidatePrefix("");
    await cache.clear();
    await disk.refresh();
    await disk.close();
    expect(logger.lines.length).toBe(1);
    await t.cleanup();
  });

  it("uses the directory once it can be created (retried, not given up)", async () => {
    const t = await tempDir();
    const parent = join(t.dir, "later");
    writeFileSync(parent, "blocks the directory for now");
    const disk = new DiskCacheBackend({ directory: join(parent, "cache"), logger: recordingLogger() });
    expect(await disk.isAvailable()).toBe(false);
    rmSync(parent);
    mkdirSync(parent);
    // The retry waits a few seconds after a failure; poll under a generous deadline.
    const deadline = Date.now() + 30_000;
    while (!(await disk.isAvailable()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await disk.insert(k("z"), { value: vectors("z", 1, 1), sizeBytes: 0 }, codec);
    expect(((await disk.get(k("z"), codec))?.value as { id: string }).id).toBe("z");
    await disk.close();
    await t.cleanup();
  });
});

describe("DiskCacheBackend temp-file reclamation", () => {
  it("removes temp files older than the bound on open and on refresh; keeps younger ones and foreign files", async () => {
    const t = await tempDir();
    await mkdir(join(t.dir, "tmp"), { recursive: true });
    const old = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const n of ["1-dead.tmp", "2-dead.tmp"]) {
      await writeFile(join(t.dir, "tmp", n), new Uint8Array(1000));
      await utimes(join(t.dir, "tmp", n), old, old);
    }
    await writeFile(join(t.dir, "tmp", "3-live.tmp"), new Uint8Array(10));
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger: recordingLogger() });
    expect((await readdir(join(t.dir, "tmp"))).sort()).toEqual(["3-live.tmp"]);
    expect(disk.counters.tempFilesRemoved).toBe(2);
    await utimes(join(t.dir, "tmp", "3-live.tmp"), old, old);
    await disk.refresh();
    expect(await readdir(join(t.dir, "tmp"))).toEqual([]);
    // The explicit call takes its own bound.
    await writeFile(join(t.dir, "tmp", "4.tmp"), "x");
    expect(await disk.reclaimTempFiles(0)).toBe(1);
    expect(disk.counters.tempFilesRemoved).toBe(4);
    await disk.close();
    await t.cleanup();
  });
});
