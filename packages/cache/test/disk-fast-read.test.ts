/**
 * The disk backend's fast hit path reads every entry into one buffer it reuses, and hands copying
 * codecs (`ErasedCodec.copiesInput`) a view of it: these tests prove that no value ever keeps a
 * view of that buffer (values read earlier stay intact after later reads overwrite it), that a
 * codec without the flag still gets bytes of its own, that files of every size around the
 * buffer's size hit, and that a damaged file read through the fast path is still a counted miss
 * that deletes it.
 */
import { readFile, readdir, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DiskCacheBackend, type ErasedCodec, IndexCache, cacheKey, formatCacheKey, frameCodec, testVectorsCodec } from "@quiver/cache";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

async function entryFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(join(dir, "entries"))) {
    for (const n of await readdir(join(dir, "entries", shard))) out.push(join(dir, "entries", shard, n));
  }
  return out;
}

// Rows of 16 floats: 64 bytes a row. Sizes straddle the 64 KiB the read buffer starts at, and grow.
// The first eight (under 64 KiB) take the fast path with keys of every length mod 8.
const ROWS = [1, 40, 200, 500, 700, 900, 5, 17, 1000, 1023, 1024, 1025, 3000, 9000, 3, 64];
// Keys of every length mod 8, so that some frames sit 8-aligned in the read buffer (a codec could
// then view them in place) and some do not.
const name = (i: number): string => `k${"x".repeat(i % 8)}${i}`;

describe("DiskCacheBackend fast reads into a reused buffer", () => {
  it("values read earlier stay intact after later reads reuse the buffer (fresh backend, fresh keys)", async () => {
    const t = await tempDir();
    const writer = new IndexCache(await DiskCacheBackend.open({ directory: t.dir }));
    // Seeds unique to this run: no entry is byte-identical to one decoded before in this process.
    const seed = (Date.now() % 100_000) * 16;
    for (const [i, rows] of ROWS.entries()) await writer.insert(cacheKey(name(i), testVectorsCodec), vectors(name(i), rows, 16, seed + i));
    await writer.backend.close?.();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const cache = new IndexCache(disk);
    const got = [];
    for (let i = 0; i < ROWS.length; i++) got.push(await cache.get(cacheKey(name(i), testVectorsCodec)));
    // Read them all again in reverse (overwriting the buffer again), then check every value.
    for (let i = ROWS.length - 1; i >= 0; i--) await cache.get(cacheKey(name(i), testVectorsCodec));
    for (const [i, rows] of ROWS.entries()) {
      const want = vectors(name(i), rows, 16, seed + i);
      expect(got[i]?.id).toBe(name(i));
      expect(got[i]?.data).toEqual(want.data);
      // The value owns its bytes: a buffer of exactly the frame, not the shared read buffer.
      expect(got[i]!.data.buffer.byteLength).toBeLessThan(rows * 64 + 4096);
    }
    expect(cache.stats().hits).toBe(2 * ROWS.length);
    expect(disk.counters.corruptDeleted).toBe(0);
    await disk.close();
    await t.cleanup();
  });

  it("a codec without copiesInput gets a buffer of its own that it may keep", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const inner = frameCodec(testVectorsCodec);
    const kept: Uint8Array[] = [];
    // Keeps the bytes it is given, as a zero-copy plugin codec may.
    const keeping: ErasedCodec = { typeName: inner.typeName, version: inner.version, encode: inner.encode, decode: (b) => (kept.push(b), inner.decode(b)) };
    const keys = [0, 1, 2].map((i) => formatCacheKey("", `own${i}`, "CacheTestVectors"));
    for (const [i, k] of keys.entries()) await disk.insert(k, { value: vectors(`own${i}`, 300 * (i + 1), 16, 7 + i), sizeBytes: 0 }, inner);
    for (const k of keys) expect(await disk.get(k, keeping)).toBeDefined();
    const files = await entryFiles(t.dir);
    for (const b of kept) {
      expect(b.byteOffset).toBe(0);
      expect(b.buffer.byteLength).toBe(b.byteLength);
    }
    // Each kept buffer is still exactly the frame of one of the files (nothing overwrote it).
    const frames = await Promise.all(files.map(async (f) => new Uint8Array(await readFile(f))));
    for (const b of kept) expect(frames.some((f) => f.byteLength > b.byteLength && Buffer.compare(f.subarray(f.byteLength - b.byteLength), b) === 0)).toBe(true);
    await disk.close();
    await t.cleanup();
  });

  it("damaged files read through the fast path are counted misses that delete them", async () => {
    const t = await tempDir();
    const logger = recordingLogger();
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger });
    const codec = frameCodec(testVectorsCodec);
    expect(codec.copiesInput).toBe(true);
    const damage: [string, (p: string) => Promise<void>][] = [
      ["truncated", async (p) => truncate(p, (await stat(p)).size - 1)],
      ["bit flip in frame", async (p) => {
        const b = await readFile(p);
        b[b.length - 9]! ^= 0x04;
        await writeFile(p, b);
      }],
      ["trailing", async (p) => writeFile(p, Buffer.concat([await readFile(p), Buffer.alloc(3)]))],
      ["another key's file", async (p) => {
        const other = formatCacheKey("", "someone-else", "CacheTestVectors");
        await disk.insert(other, { value: vectors("x", 3, 16), sizeBytes: 0 }, codec);
        const files = await entryFiles(t.dir);
        const theirs = files.find((f) => f !== p)!;
        await writeFile(p, await readFile(theirs));
      }],
    ];
    for (const [what, hurt] of damage) {
      await disk.clear();
      const key = formatCacheKey("", what, "CacheTestVectors");
      // Over 64 KiB for some, under for others: both sides of the buffer's first size.
      await disk.insert(key, { value: vectors(what, what.length * 100, 16, what.length), sizeBytes: 0 }, codec);
      const [file] = await entryFiles(t.dir);
      await hurt(file!);
      const before = disk.counters.corruptDeleted;
      expect(await disk.get(key, codec), what).toBeUndefined();
      expect(disk.counters.corruptDeleted, what).toBe(before + 1);
      expect(await entryFiles(t.dir).then((fs) => fs.includes(file!)), what).toBe(false);
    }
    await disk.close();
    await t.cleanup();
  });

  it("a fast-path hit refreshes the entry's mtime (the LRU clock)", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const codec = frameCodec(testVectorsCodec);
    const key = formatCacheKey("", "lru", "CacheTestVectors");
    await disk.insert(key, { value: vectors("lru", 10, 16), sizeBytes: 0 }, codec);
    const [file] = await entryFiles(t.dir);
    const old = new Date(Date.now() - 3600_000);
    await utimes(file!, old, old);
    const reader = new DiskCacheBackend({ directory: t.dir });
    expect(await reader.get(key, codec)).toBeDefined();
    await reader.flush();
    expect((await stat(file!)).mtimeMs).toBeGreaterThan(old.getTime() + 1800_000);
    await reader.close();
    await disk.close();
    await t.cleanup();
  });

  it("backends of two directories in one process read the same key from their own directory (the per-process path memo)", async () => {
    const a = await tempDir();
    const b = await tempDir();
    const key = cacheKey("shared-key", testVectorsCodec);
    const seed = (Date.now() % 100_000) * 16 + 7;
    const wa = new IndexCache(await DiskCacheBackend.open({ directory: a.dir }));
    await wa.insert(key, vectors("in-a", 3, 16, seed));
    const wb = new IndexCache(await DiskCacheBackend.open({ directory: b.dir }));
    await wb.insert(key, vectors("in-b", 5, 16, seed + 1));
    // Alternate, each time through a fresh backend: the memo's path must follow the directory.
    for (let round = 0; round < 3; round++) {
      for (const [t, id, rows] of [[a, "in-a", 3], [b, "in-b", 5]] as const) {
        const disk = await DiskCacheBackend.open({ directory: t.dir });
        const got = await new IndexCache(disk).get(key);
        expect(got?.id).toBe(id);
        expect(got?.data.length).toBe(rows * 16);
        await disk.close();
      }
    }
    await wa.backend.close?.();
    await wb.backend.close?.();
    await a.cleanup();
    await b.cleanup();
  });

  it("a backend just made answers a hit without waiting for its directory set-up (microtasks only, no IO callback)", async () => {
    const t = await tempDir();
    const key = cacheKey("ready-key", testVectorsCodec);
    const seed = (Date.now() % 100_000) * 16 + 11;
    const writer = await DiskCacheBackend.open({ directory: t.dir });
    await new IndexCache(writer).insert(key, vectors("ready", 4, 16, seed));
    await writer.close();
    const disk = new DiskCacheBackend({ directory: t.dir });
    let got: { id: string } | undefined;
    void new IndexCache(disk).get(key).then((v) => (got = v));
    // No event-loop turn happens here, so no thread-pool operation (mkdir, heartbeat write) can
    // have completed: the hit must come from the synchronous read alone.
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(got?.id).toBe("ready");
    expect(await disk.isAvailable()).toBe(true);
    await disk.close();
    await t.cleanup();
  });

  it("a get while the set-up of an unusable directory still runs is a plain miss (no read error; the set-up reports the directory once)", async () => {
    const t = await tempDir();
    await writeFile(join(t.dir, "a-file"), "x");
    const logger = recordingLogger();
    const disk = new DiskCacheBackend({ directory: join(t.dir, "a-file", "cache"), logger });
    expect(await new IndexCache(disk).get(cacheKey("x", testVectorsCodec))).toBeUndefined();
    expect(await disk.isAvailable()).toBe(false);
    expect(disk.counters.readErrors).toBe(0);
    expect(disk.counters.directoryErrors).toBe(1);
    expect(logger.lines.length).toBe(1);
    await disk.close();
    await t.cleanup();
  });
});
