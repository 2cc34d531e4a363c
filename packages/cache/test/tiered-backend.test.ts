import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CACHE_ENTRY_KIND,
  DISK_ENTRY_MAGIC,
  DiskCacheBackend,
  IndexCache,
  MemoryCacheBackend,
  TieredCacheBackend,
  cacheKey,
  memoryCacheKey,
  testVectorsCodec,
} from "@quiver/cache";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

describe("TieredCacheBackend", () => {
  it("promotes a persistent-tier hit into memory and serves the next read from memory", async () => {
    const t = await tempDir();
    const writer = new IndexCache(await DiskCacheBackend.open({ directory: t.dir }));
    await writer.insert(cacheKey("s", testVectorsCodec), vectors("s", 2, 2));
    const memory = new MemoryCacheBackend();
    const tiered = new TieredCacheBackend(memory, await DiskCacheBackend.open({ directory: t.dir }));
    const cache = new IndexCache(tiered);
    expect(memory.approxEntryCount()).toBe(0);
    const first = await cache.get(cacheKey("s", testVectorsCodec));
    expect(first?.id).toBe("s");
    expect(tiered.counters).toEqual({ memoryHits: 0, persistentHits: 1 });
    expect(memory.approxEntryCount()).toBe(1);
    const second = await cache.get(cacheKey("s", testVectorsCodec));
    expect(second).toBe(first); // the live promoted value, no second decode
    expect(tiered.counters).toEqual({ memoryHits: 1, persistentHits: 1 });
    await t.cleanup();
  });

  it("keeps codec-less values in memory only", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger: recordingLogger() });
    const cache = new IndexCache(new TieredCacheBackend(new MemoryCacheBackend(), disk));
    const key = memoryCacheKey<string>("k", "Live", () => 8);
    await cache.insert(key, "live");
    expect(await cache.get(key)).toBe("live");
    expect(disk.approxEntryCount()).toBe(0);
    expect(disk.counters.skippedWithoutCodec).toBe(1);
    await t.cleanup();
  });

  it("invalidates both tiers", async () => {
    const t = await tempDir();
    const memory = new MemoryCacheBackend();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const cache = new IndexCache(new TieredCacheBackend(memory, disk));
    await cache.forIndex("a").insert(cacheKey("s", testVectorsCodec), vectors("a", 1, 1));
    await cache.forIndex("b").insert(cacheKey("s", testVectorsCodec), vectors("b", 1, 1));
    await cache.forIndex("a").clear();
    expect(memory.approxEntryCount()).toBe(1);
    expect(disk.approxEntryCount()).toBe(1);
    expect(await cache.forIndex("a").get(cacheKey("s", testVectorsCodec))).toBeUndefined();
    await t.cleanup();
  });
});

describe("spec registries agree with the code", () => {
  const root = new URL("../../../spec/", import.meta.url);
  const registry = readFileSync(new URL("registry.csv", root), "utf8").split("\n").map((l) => l.split(","));
  const codes = new Set(readFileSync(new URL("error-codes.csv", root), "utf8").split("\n").map((l) => l.split(",")[0]));
  it("registers the cache-entry kind, the disk magic and the test codec type", () => {
    expect(registry.find((r) => r[0] === "kind" && r[1] === "cache-entry")?.[2]).toBe(String(CACHE_ENTRY_KIND));
    const magic = new DataView(DISK_ENTRY_MAGIC.buffer).getUint32(0, true);
    expect(registry.find((r) => r[0] === "magic" && r[1] === "QVCD")?.[2]).toBe("0x" + magic.toString(16).padStart(8, "0"));
    expect(registry.some((r) => r[0] === "type" && r[1] === testVectorsCodec.typeName)).toBe(true);
  });
  it("lists every error code the cache package raises", () => {
    const src = ["codec.ts", "disk-backend.ts", "test-vectors-codec.ts"]
      .map((f) => readFileSync(new URL(`../src/${f}`, import.meta.url), "utf8"))
      .join("\n");
    const raised = new Set([...src.matchAll(/QuiverFormatError\("([A-Z_]+)"/g)].map((m) => m[1]!));
    expect(raised.size).toBeGreaterThan(5);
    for (const c of raised) expect(codes.has(c), c).toBe(true);
  });
});
