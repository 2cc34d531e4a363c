import { execFile } from "node:child_process";
import { readdir, readFile, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  DiskCacheBackend,
  IndexCache,
  cacheKey,
  formatCacheKey,
  frameCodec,
  parseDiskEntryHeader,
  testVectorsCodec,
} from "@quiver/cache";
import { isQuiverFormatError } from "@quiver/format";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

const run = promisify(execFile);
const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");
const tsx = join(repo, "node_modules", ".bin", "tsx");

async function entryFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const shard of await readdir(join(dir, "entries"))) {
    for (const n of await readdir(join(dir, "entries", shard))) out.push(join(dir, "entries", shard, n));
  }
  return out;
}

function runChild(dir: string, count: number, prefix: string, mode = ""): Promise<{ stdout: string }> {
  return run(tsx, ["--conditions=quiver-source", join(here, "disk-writer.child.ts"), dir, String(count), prefix, mode], { cwd: repo });
}

describe("DiskCacheBackend", () => {
  it("a fresh process gets hits for entries another process wrote (two real processes)", async () => {
    const t = await tempDir();
    const { stdout } = await runChild(t.dir, 12, "p1-");
    expect(stdout.trim()).toBe("done 12 12");
    const cache = new IndexCache(await DiskCacheBackend.open({ directory: t.dir }));
    for (let i = 0; i < 12; i++) {
      const v = await cache.get(cacheKey(`p1-${i}`, testVectorsCodec));
      expect(v?.id).toBe(`p1-${i}`);
      expect(v?.data[3]).toBe(i * 1000 + 3);
    }
    expect(cache.stats().hits).toBe(12);
    expect(cache.stats().entryCount).toBe(12);
    await t.cleanup();
  });

  it("two processes rewriting one key while a third reads never expose a torn entry", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger: recordingLogger() });
    const cache = new IndexCache(disk);
    const writers = Promise.all([runChild(t.dir, 150, "a-", "loop"), runChild(t.dir, 150, "b-", "loop")]);
    let done = false;
    void writers.finally(() => (done = true));
    let reads = 0;
    let hits = 0;
    const key = cacheKey("a-shared", testVectorsCodec);
    const key2 = cacheKey("b-shared", testVectorsCodec);
    while (!done) {
      for (const k of [key, key2]) {
        const v = await cache.get(k);
        reads++;
        if (v !== undefined) {
          hits++;
          const i = Number(v.id.slice(2));
          expect(v.data[0]).toBe(i * 1000);
        }
      }
    }
    await writers;
    expect(cache.stats().decodeFailures).toBe(0);
    expect(disk.counters.corruptDeleted).toBe(0);
    expect((await cache.get(key))?.id).toBe("a-149");
    expect(hits).toBeGreaterThan(0);
    await t.cleanup();
  });

  it("deletes truncated, corrupted and foreign files and reports misses", async () => {
    const t = await tempDir();
    const logger = recordingLogger();
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger });
    const codec = frameCodec(testVectorsCodec);
    const damage: [string, (p: string) => Promise<void>][] = [
      ["truncated", async (p) => truncate(p, (await stat(p)).size - 7)],
      ["header-only", async (p) => truncate(p, 10)],
      ["empty", async (p) => truncate(p, 0)],
      ["bit flip in frame", async (p) => {
        const b = await readFile(p);
        b[b.length - 3]! ^= 0x10;
        await writeFile(p, b);
      }],
      ["bit flip in key", async (p) => {
        const b = await readFile(p);
        b[25]! ^= 0x01;
        await writeFile(p, b);
      }],
      ["foreign", async (p) => writeFile(p, "not a cache entry at all, just text")],
      ["trailing", async (p) => writeFile(p, Buffer.concat([await readFile(p), Buffer.from([0])]))],
    ];
    for (const [what, hurt] of damage) {
      await disk.clear();
      const key = formatCacheKey("", what, "CacheTestVectors");
      await disk.insert(key, { value: vectors(what, 4, 4), sizeBytes: 0 }, codec);
      expect((await disk.get(key, codec))?.value, what).toBeDefined();
      const [file] = await entryFiles(t.dir);
      await hurt(file!);
      const before = disk.counters.corruptDeleted;
      expect(await disk.get(key, codec), what).toBeUndefined();
      expect(disk.counters.corruptDeleted, what).toBe(before + 1);
      expect(await entryFiles(t.dir), what).toEqual([]);
    }
    expect(logger.lines.length).toBe(damage.length);
    await t.cleanup();
  });

  it("rejects bad headers with QuiverFormatError codes", () => {
    const h = new Uint8Array(24);
    h.set([0x51, 0x56, 0x43, 0x44]);
    new DataView(h.buffer).setUint32(4, 1, true);
    new DataView(h.buffer).setBigUint64(16, 2n ** 63n, true);
    const codeOf = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        if (isQuiverFormatError(e)) return e.code;
        throw e;
      }
      return "none";
    };
    expect(codeOf(() => parseDiskEntryHeader(h, 1000))).toBe("TRUNCATED");
    expect(codeOf(() => parseDiskEntryHeader(h.subarray(0, 10), 10))).toBe("TRUNCATED");
    const bad = h.slice();
    bad[0] = 0;
    expect(codeOf(() => parseDiskEntryHeader(bad, 1000))).toBe("BAD_MAGIC");
    const v2 = h.slice();
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(codeOf(() => parseDiskEntryHeader(v2, 1000))).toBe("UNSUPPORTED_VERSION");
    const longKey = h.slice();
    new DataView(longKey.buffer).setUint32(8, 70_000, true);
    expect(codeOf(() => parseDiskEntryHeader(longKey, 1000))).toBe("LIMIT_EXCEEDED");
    const ok = h.slice();
    new DataView(ok.buffer).setBigUint64(16, 100n, true);
    expect(codeOf(() => parseDiskEntryHeader(ok, 125))).toBe("TRAILING_BYTES");
    expect(parseDiskEntryHeader(ok, 124)).toMatchObject({ keyLength: 0, frameLength: 100 });
  });

  it("evicts least recently accessed entries above capacity", async () => {
    const t = await tempDir();
    const codec = frameCodec(testVectorsCodec);
    const one = 70_000; // one entry file is ~66 KB (16 Ki floats plus headers)
    const disk = await DiskCacheBackend.open({ directory: t.dir, maxBytes: one * 5 });
    const keys = Array.from({ length: 5 }, (_, i) => formatCacheKey("", `k${i}`, "CacheTestVectors"));
    for (const [i, k] of keys.entries()) {
      await disk.insert(k, { value: vectors(`k${i}`, 4096, 4, i), sizeBytes: 0 }, codec);
    }
    // Age every file, then touch k0 by reading it: it becomes the most recently used.
    const old = new Date(Date.now() - 60_000);
    for (const f of await entryFiles(t.dir)) await utimes(f, old, old);
    expect(await disk.get(keys[0]!, codec)).toBeDefined();
    await disk.insert(formatCacheKey("", "k5", "CacheTestVectors"), { value: vectors("k5", 4096, 4, 5), sizeBytes: 0 }, codec);
    expect(disk.counters.evicted).toBeGreaterThan(0);
    expect(disk.approxSizeBytes()).toBeLessThanOrEqual(disk.maxBytes);
    expect(await disk.get(keys[0]!, codec)).toBeDefined();
    expect(await disk.get(formatCacheKey("", "k5", "CacheTestVectors"), codec)).toBeDefined();
    expect(await disk.get(keys[1]!, codec)).toBeUndefined();
    await t.cleanup();
  });

  it("invalidates by prefix across instances and counts entries", async () => {
    const t = await tempDir();
    const a = new IndexCache(await DiskCacheBackend.open({ directory: t.dir }));
    await a.forIndex("x").insert(cacheKey("s", testVectorsCodec), vectors("x", 1, 1));
    await a.forIndex("y").insert(cacheKey("s", testVectorsCodec), vectors("y", 1, 1));
    const b = new IndexCache(await DiskCacheBackend.open({ directory: t.dir }));
    expect(b.stats().entryCount).toBe(2);
    await b.forIndex("x").clear();
    expect(await a.forIndex("x").get(cacheKey("s", testVectorsCodec))).toBeUndefined();
    expect((await a.forIndex("y").get(cacheKey("s", testVectorsCodec)))?.id).toBe("y");
    expect(b.stats().entryCount).toBe(1);
    await t.cleanup();
  });
});
