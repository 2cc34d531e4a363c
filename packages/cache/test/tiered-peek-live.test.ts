/**
 * `TieredCacheBackend.peekLive`: a live hit of the memory tier (counted as a memory hit), never a
 * read of the persistent tier; an entry the memory tier evicted comes back from disk through the
 * normal path (`get`, promoted into memory) and is then live again.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DiskCacheBackend, IndexCache, MemoryCacheBackend, TieredCacheBackend, cacheKey, testVectorsCodec } from "@quiver/cache";
import { tempDir, vectors } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

/** A disk backend that counts the reads it is asked for. */
class CountingDisk extends DiskCacheBackend {
  gets = 0;
  override get(...args: Parameters<DiskCacheBackend["get"]>): ReturnType<DiskCacheBackend["get"]> {
    this.gets++;
    return super.get(...args);
  }
}

async function tiered(memoryBytes: number): Promise<{ cache: IndexCache; tier: TieredCacheBackend; memory: MemoryCacheBackend; disk: CountingDisk }> {
  const t = await tempDir();
  const disk = new CountingDisk({ directory: t.dir });
  cleanups.push(async () => {
    await disk.close();
    await t.cleanup();
  });
  const memory = new MemoryCacheBackend({ maxBytes: memoryBytes });
  const tier = new TieredCacheBackend(memory, disk);
  return { cache: new IndexCache(tier), tier, memory, disk };
}

describe("TieredCacheBackend.peekLive", () => {
  it("answers a resident entry from memory synchronously, counted as a memory hit, without touching disk", async () => {
    const { cache, tier, disk } = await tiered(1 << 20);
    const key = cacheKey("v", testVectorsCodec);
    const value = vectors("a", 4, 4);
    expect(cache.peekLive(key)).toBeUndefined();
    await cache.insert(key, value);
    await cache.flush();
    const before = disk.gets;
    expect(cache.peekLive(key)).toBe(value);
    expect(cache.peekLive(key)).toBe(value);
    expect(disk.gets).toBe(before);
    expect(tier.counters).toEqual({ memoryHits: 2, persistentHits: 0 });
    expect(cache.stats().byType[testVectorsCodec.typeName]).toMatchObject({ hits: 2, misses: 0 });
  });

  it("is undefined for an entry only the disk tier holds; get brings it back from disk, then it is live", async () => {
    // room for one entry of 4 x 64 floats in memory: inserting a second evicts the first
    const { cache, tier, memory, disk } = await tiered(1024 + 512);
    const a = cacheKey("a", testVectorsCodec);
    const b = cacheKey("b", testVectorsCodec);
    await cache.insert(a, vectors("a", 4, 64));
    await cache.insert(b, vectors("b", 4, 64, 2));
    await cache.flush();
    expect(memory.approxEntryCount()).toBe(1);
    const before = disk.gets;
    expect(cache.peekLive(a)).toBeUndefined();
    expect(disk.gets).toBe(before); // never a disk read
    const back = await cache.get(a);
    expect(back?.id).toBe("a");
    expect(Array.from(back!.data)).toEqual(Array.from(vectors("a", 4, 64).data));
    expect(disk.gets).toBe(before + 1);
    expect(tier.counters.persistentHits).toBe(1);
    expect(cache.peekLive(a)).toBe(back);
    expect(cache.peekLive(b)).toBeUndefined(); // b was evicted by a's promotion
  });

  it("serves a finished load whose background store is still running", async () => {
    const { cache } = await tiered(1 << 20);
    const key = cacheKey("v", testVectorsCodec);
    const value = vectors("c", 2, 4);
    await cache.getOrInsert(key, async () => value);
    expect(cache.peekLive(key)).toBe(value);
    await cache.flush();
    expect(cache.peekLive(key)).toBe(value);
  });

  it("is undefined over a memory tier without peekLive", async () => {
    const t = await tempDir();
    const upper = await DiskCacheBackend.open({ directory: `${t.dir}/u` });
    const lower = await DiskCacheBackend.open({ directory: `${t.dir}/l` });
    cleanups.push(async () => {
      await upper.close();
      await lower.close();
      await t.cleanup();
    });
    const cache = new IndexCache(new TieredCacheBackend(upper, lower));
    const key = cacheKey("v", testVectorsCodec);
    await cache.insert(key, vectors("d", 2, 4));
    await cache.flush();
    expect(cache.peekLive(key)).toBeUndefined();
    expect((await cache.get(key))?.id).toBe("d");
  });
});
