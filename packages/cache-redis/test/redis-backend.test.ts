import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IndexCache, cacheKey, formatCacheKey, frameCodec, memoryCacheKey, testVectorsCodec } from "@quiver/cache";
import { RedisCacheBackend, type RedisCacheBackendOptions } from "@quiver/cache-redis";
import { freePort, redisServerUnavailable, startRedisServer, type RedisServerHandle } from "./redis-server.js";
import { recordingLogger, vectors } from "../../cache/test/helpers.js";

const skipReason = redisServerUnavailable();

describe.skipIf(skipReason !== undefined)("RedisCacheBackend against a real redis-server", () => {
  let server: RedisServerHandle;
  let n = 0;
  const open = (extra: Partial<RedisCacheBackendOptions> = {}) =>
    RedisCacheBackend.connect({ redis: server.url, namespace: `t${n++}:`, logger: recordingLogger(), ...extra });

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("round-trips typed values and survives a new backend instance", async () => {
    const a = await open();
    const cache = new IndexCache(a);
    await cache.forIndex("u").insert(cacheKey("s", testVectorsCodec), vectors("a", 3, 5));
    const b = await RedisCacheBackend.connect({ redis: server.url, namespace: a.namespace });
    const v = await new IndexCache(b).forIndex("u").get(cacheKey("s", testVectorsCodec));
    expect(v?.id).toBe("a");
    expect(Array.from(v!.data)).toEqual(Array.from(vectors("a", 3, 5).data));
    expect(b.approxEntryCount()).toBe(1);
    expect(b.approxSizeBytes()).toBeGreaterThan(60);
    await a.close();
    await b.close();
  });

  it("reports the retained size of a decoded value, not the socket buffer it arrived in", async () => {
    const b = await open();
    const codec = frameCodec(testVectorsCodec);
    for (let i = 0; i < 20; i++) await b.insert(`k${i}`, { value: vectors(`k${i}`, 16, 16, i), sizeBytes: 0 }, codec);
    const frameLen = codec.encode(vectors("k3", 16, 16, 3)).byteLength;
    // MGET-like pipelining makes replies share socket chunks; each decoded entry must still own its bytes.
    const entries = await Promise.all(Array.from({ length: 20 }, (_, i) => b.get(`k${i}`, codec)));
    for (const e of entries) {
      expect(e!.sizeBytes).toBeLessThanOrEqual(frameLen + 2 * 8 + 64);
      expect((e!.value as { data: Float32Array }).data.buffer.byteLength).toBe(frameLen);
    }
    await b.close();
  });

  it("invalidates a prefix over thousands of keys with SCAN + UNLINK, leaving others", async () => {
    // No deadline may decide this test: a loaded machine only makes it slower, never different.
    const b = await open({ commandTimeoutMs: 600_000, stallTimeoutMs: 600_000 });
    const codec = frameCodec(testVectorsCodec);
    const small = vectors("x", 1, 1);
    const keys = Array.from({ length: 2500 }, (_, i) => formatCacheKey("index/a/", `p${i}`, "CacheTestVectors"));
    keys.push(formatCacheKey("index/b/", "p0", "CacheTestVectors"));
    // Glob metacharacters in a prefix match literally.
    keys.push(formatCacheKey("index/*/", "p0", "CacheTestVectors"));
    for (let i = 0; i < keys.length; i += 100) {
      await Promise.all(keys.slice(i, i + 100).map((k) => b.insert(k, { value: small, sizeBytes: 0 }, codec)));
    }
    expect(b.counters.droppedWrites).toBe(0);
    const stored = async () => {
      let n = 0;
      let cursor = "0";
      do {
        const [next, found] = await b.client.scan(cursor, "MATCH", `${b.namespace}*`, "COUNT", 1000);
        n += found.length;
        cursor = next;
      } while (cursor !== "0");
      return n;
    };
    expect(await stored()).toBe(2502);
    expect(b.approxEntryCount()).toBe(2502);
    await b.invalidatePrefix("index/*/");
    expect(await stored()).toBe(2501);
    await b.invalidatePrefix("index/a/");
    expect(await stored()).toBe(1);
    expect(b.approxEntryCount()).toBe(1);
    expect(b.counters.droppedWrites).toBe(0);
    expect(await b.get(formatCacheKey("index/b/", "p0", "CacheTestVectors"), codec)).toBeDefined();
    await b.close();
  });

  it("expires entries after the TTL", async () => {
    const b = await open({ ttlMs: 150 });
    const cache = new IndexCache(b);
    const key = cacheKey("t", testVectorsCodec);
    await cache.insert(key, vectors("t", 1, 1));
    expect(await cache.get(key)).toBeDefined();
    const pttl = await b.client.pttl(b.namespace + formatCacheKey("", "t", "CacheTestVectors"));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(150);
    await new Promise((r) => setTimeout(r, 300));
    expect(await cache.get(key)).toBeUndefined();
    await b.close();
  });

  it("deletes an undecodable value and reports a miss", async () => {
    const b = await open();
    const k = formatCacheKey("", "bad", "CacheTestVectors");
    await b.client.set(b.namespace + k, Buffer.from("garbage"));
    const cache = new IndexCache(b);
    expect(await cache.get(cacheKey("bad", testVectorsCodec))).toBeUndefined();
    expect(cache.stats().byType.CacheTestVectors?.failureCodes.TRUNCATED).toBe(1);
    expect(b.counters.corruptDeleted).toBe(1);
    expect(await b.client.exists(b.namespace + k)).toBe(0);
    await b.close();
  });

  it("skips values without a codec and counts the skip", async () => {
    const b = await open();
    const cache = new IndexCache(b);
    await cache.insert(memoryCacheKey<string>("k", "Live", () => 1), "x");
    expect(b.counters.skippedWithoutCodec).toBe(1);
    expect(await b.client.exists(b.namespace + formatCacheKey("", "k", "Live"))).toBe(0);
    expect(b.approxEntryCount()).toBe(0);
    await b.close();
  });

  it("keeps queries working when the server dies mid-way", async () => {
    const own = await startRedisServer();
    const logger = recordingLogger();
    const b = await RedisCacheBackend.connect({ redis: own.url, logger, commandTimeoutMs: 500 });
    const cache = new IndexCache(b);
    await cache.insert(cacheKey("q", testVectorsCodec), vectors("q", 1, 1));
    expect(await cache.get(cacheKey("q", testVectorsCodec))).toBeDefined();
    await own.stop();
    let loads = 0;
    for (let i = 0; i < 10; i++) {
      const v = await cache.getOrInsert(cacheKey(`q${i}`, testVectorsCodec), async () => (loads++, vectors("reloaded", 1, 1)));
      expect(v.id).toBe("reloaded");
    }
    await b.flush();
    expect(loads).toBe(10);
    expect(b.counters.failedReads).toBe(10);
    expect(b.counters.droppedWrites).toBe(10);
    // The breaker opened after a few failures: the rest were not even sent.
    expect(b.counters.circuitSkips).toBeGreaterThan(0);
    expect(logger.lines.length).toBeGreaterThanOrEqual(1);
    expect(logger.lines.length).toBeLessThanOrEqual(3); // one per failure kind at most (connection, circuit)
    b.client.disconnect();
  });
});

describe("RedisCacheBackend without a server", () => {
  it("reads are misses and writes are dropped with a warning and a counter", async () => {
    const port = await freePort(); // nothing listens here
    const logger = recordingLogger();
    const b = new RedisCacheBackend({ redis: `redis://127.0.0.1:${port}`, logger, commandTimeoutMs: 300 });
    expect(await b.waitUntilReady(200)).toBe(false);
    const cache = new IndexCache(b);
    const key = cacheKey("k", testVectorsCodec);
    expect(await cache.get(key)).toBeUndefined();
    await cache.insert(key, vectors("k", 1, 1));
    expect((await cache.getOrInsert(key, async () => vectors("loaded", 1, 1))).id).toBe("loaded");
    await cache.invalidatePrefix("");
    expect(b.counters.failedReads).toBe(2);
    expect(b.counters.droppedWrites).toBe(3);
    expect(logger.lines[0]).toMatch(/Redis read .* failed/);
    await b.close();
  });
});

if (skipReason !== undefined) {
  describe("RedisCacheBackend against a real redis-server", () => {
    it.skip(`skipped: ${skipReason}`, () => undefined);
  });
}
