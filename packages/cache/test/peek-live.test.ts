/** `IndexCache.peekLive`: a synchronous hit on a backend that holds live values, nothing on others. */
import { afterAll, describe, expect, it } from "vitest";
import { DiskCacheBackend, IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";
import { tempDir, vectors } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe("peekLive", () => {
  it("returns what get would on a hit, counts the hit, and counts nothing on a miss", async () => {
    const cache = IndexCache.inMemory(1 << 20).withPrefix("p");
    const key = cacheKey("v", testVectorsCodec);
    expect(cache.peekLive(key)).toBeUndefined();
    expect(cache.stats().hits + cache.stats().misses).toBe(0);
    const value = vectors("a", 2, 4);
    await cache.insert(key, value);
    expect(cache.peekLive(key)).toBe(value);
    expect(cache.peekLive(key)).toBe(await cache.get(key));
    expect(cache.stats().byType[testVectorsCodec.typeName]).toMatchObject({ hits: 3, misses: 0 });
    // another prefix is another key
    expect(IndexCache.inMemory(1 << 20).peekLive(key)).toBeUndefined();
    // a key object whose key changed is looked up under its new key
    const moving = { ...key };
    expect(cache.peekLive(moving)).toBe(value);
    (moving as { key: string }).key = "w";
    expect(cache.peekLive(moving)).toBeUndefined();
  });

  it("serves a finished load whose background store is still running, like get", async () => {
    const cache = IndexCache.inMemory(1 << 20);
    const key = cacheKey("v", testVectorsCodec);
    const value = vectors("b", 2, 4);
    await cache.getOrInsert(key, async () => value);
    expect(cache.peekLive(key)).toBe(value);
  });

  it("is always undefined on a backend without live values (disk)", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    cleanups.unshift(() => disk.close());
    const cache = new IndexCache(disk);
    const key = cacheKey("v", testVectorsCodec);
    await cache.insert(key, vectors("c", 2, 4));
    await cache.flush();
    expect(await cache.get(key)).toBeDefined();
    const before = cache.stats();
    expect(cache.peekLive(key)).toBeUndefined();
    expect(cache.stats().hits).toBe(before.hits);
  });
});
