import { afterAll, describe, expect, it } from "vitest";
import {
  DiskCacheBackend,
  IndexCache,
  MemoryCacheBackend,
  type CacheBackend,
  cacheKey,
  encodeCacheEntry,
  formatCacheKey,
  memoryCacheKey,
  parseCacheKey,
  testVectorsCodec,
} from "@quiver/cache";
import { deferred, recordingLogger, tempDir, ticks, vectors } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});
async function freshDisk(): Promise<DiskCacheBackend> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return DiskCacheBackend.open({ directory: t.dir });
}

class LoaderError extends Error {
  readonly tag = "loader";
}

async function backends(): Promise<{ name: string; backend: CacheBackend; cleanup: () => Promise<void> }[]> {
  const t = await tempDir();
  return [
    { name: "memory", backend: new MemoryCacheBackend(), cleanup: async () => undefined },
    { name: "disk", backend: await DiskCacheBackend.open({ directory: t.dir, logger: recordingLogger() }), cleanup: t.cleanup },
  ];
}

describe("byte keys", () => {
  it("formats prefix + user key + NUL + type name and parses back", () => {
    const k = formatCacheKey("index/u1/", "state", "IvfIndexState");
    expect(k).toBe("index/u1/state\0IvfIndexState");
    expect(parseCacheKey(k)).toEqual({ userKey: "index/u1/state", typeName: "IvfIndexState" });
    expect(parseCacheKey(new TextEncoder().encode(k))).toEqual({ userKey: "index/u1/state", typeName: "IvfIndexState" });
  });
  it("splits at the last NUL so user keys may contain NUL", () => {
    expect(parseCacheKey(formatCacheKey("", "a\0b", "T"))).toEqual({ userKey: "a\0b", typeName: "T" });
  });
  it("parseCacheKey never throws on short or odd keys", () => {
    expect(parseCacheKey("")).toEqual({ userKey: "", typeName: "" });
    expect(parseCacheKey("\0")).toEqual({ userKey: "", typeName: "" });
    expect(parseCacheKey("abc")).toEqual({ userKey: "abc", typeName: "" });
    expect(parseCacheKey(Uint8Array.of(0xff, 0xfe, 0, 0x41))).toEqual({ userKey: "\ufffd\ufffd", typeName: "A" });
    expect(parseCacheKey(undefined as unknown as string)).toEqual({ userKey: "", typeName: "" });
  });
  it("rejects illegal type names and overlong keys", () => {
    expect(() => formatCacheKey("", "k", "")).toThrow(RangeError);
    expect(() => formatCacheKey("", "k", "Vec<T>")).toThrow(RangeError);
    expect(() => formatCacheKey("", "x".repeat(70_000), "T")).toThrow(RangeError);
  });
});

describe("IndexCache", () => {
  it("round-trips values through every backend and counts hits and misses per type", async () => {
    for (const { name, backend, cleanup } of await backends()) {
      const cache = new IndexCache(backend);
      const key = cacheKey("v", testVectorsCodec);
      expect(await cache.get(key), name).toBeUndefined();
      const v = vectors("a", 4, 8);
      await cache.insert(key, v);
      const got = await cache.get(key);
      expect(got?.id, name).toBe("a");
      expect(Array.from(got!.data), name).toEqual(Array.from(v.data));
      const s = cache.stats();
      expect(s.byType.CacheTestVectors).toMatchObject({ hits: 1, misses: 1, loads: 0, decodeFailures: 0 });
      expect(s.entryCount, name).toBe(1);
      await cleanup();
    }
  });

  it("derives namespaced children that share backend and stats", async () => {
    const root = IndexCache.inMemory();
    const a = root.forIndex("uuid-a");
    const b = root.forIndex("uuid-b");
    expect(a.prefix).toBe("index/uuid-a/");
    const key = memoryCacheKey<number[]>("k", "Numbers", (x) => x.length * 8);
    await a.insert(key, [1]);
    await b.insert(key, [2]);
    expect(await a.get(key)).toEqual([1]);
    expect(await b.get(key)).toEqual([2]);
    await a.clear();
    expect(await a.get(key)).toBeUndefined();
    expect(await b.get(key)).toEqual([2]);
    expect(root.stats().byType.Numbers).toMatchObject({ hits: 3, misses: 1 });
    await b.withPrefix("part").insert(key, [3]);
    await b.invalidatePrefix("part/");
    expect(await b.withPrefix("part").get(key)).toBeUndefined();
    expect(await b.get(key)).toEqual([2]);
  });

  it("keeps type names apart under one user key", async () => {
    const cache = IndexCache.inMemory();
    await cache.insert(memoryCacheKey<string>("k", "A", () => 1), "a");
    await cache.insert(memoryCacheKey<string>("k", "B", () => 1), "b");
    expect(await cache.get(memoryCacheKey<string>("k", "A", () => 1))).toBe("a");
    expect(await cache.get(memoryCacheKey<string>("k", "B", () => 1))).toBe("b");
  });

  it("rejects a key whose type name differs from its codec's", async () => {
    const cache = IndexCache.inMemory();
    await expect(cache.get({ key: "k", typeName: "Other", codec: testVectorsCodec })).rejects.toThrow(RangeError);
  });

  it("skips persistent storage of codec-less values and counts the skip", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const cache = new IndexCache(disk);
    const key = memoryCacheKey<string>("k", "Live", () => 1);
    await cache.insert(key, "x");
    expect(disk.counters.skippedWithoutCodec).toBe(1);
    expect(await cache.get(key)).toBeUndefined();
    expect(disk.approxEntryCount()).toBe(0);
    await t.cleanup();
  });

  it("turns every decode failure into a counted miss that reloads", async () => {
    const t = await tempDir();
    const logger = recordingLogger();
    const disk = await DiskCacheBackend.open({ directory: t.dir, logger });
    const cache = new IndexCache(disk);
    const key = cacheKey("v", testVectorsCodec);
    const byteKey = formatCacheKey("", "v", "CacheTestVectors");
    const good = encodeCacheEntry(testVectorsCodec, vectors("a", 2, 4));
    const newer = encodeCacheEntry({ ...testVectorsCodec, version: 2 }, vectors("a", 2, 4));
    const wrongType = encodeCacheEntry({ ...testVectorsCodec, typeName: "BTreePage" }, vectors("a", 2, 4));
    const badCrc = good.slice();
    badCrc[badCrc.length - 1]! ^= 1;
    const cases: [Uint8Array, string][] = [
      [newer, "UNSUPPORTED_KIND_VERSION"],
      [wrongType, "WRONG_TYPE_NAME"],
      [badCrc, "CHECKSUM_MISMATCH"],
      [good.subarray(0, 100), "TRUNCATED"],
      [new Uint8Array(80), "BAD_MAGIC"],
    ];
    // Write raw frames under the key through a pass-through codec (what a buggy or older writer would do).
    for (const [bytes, code] of cases) {
      await disk.insert(byteKey, { value: bytes, sizeBytes: bytes.byteLength }, { typeName: "x", version: 1, encode: (v) => v as Uint8Array, decode: () => ({ value: 0, sizeBytes: 0 }) });
      let loads = 0;
      const v = await cache.getOrInsert(key, async () => {
        loads++;
        return vectors("fresh", 1, 4);
      });
      expect(v.id, code).toBe("fresh");
      expect(loads, code).toBe(1);
      expect(cache.stats().byType.CacheTestVectors!.failureCodes[code], code).toBe(1);
      expect((await cache.get(key))?.id, code).toBe("fresh"); // the reload was stored
    }
    expect(cache.stats().byType.CacheTestVectors!.decodeFailures).toBe(cases.length);
    expect(disk.counters.corruptDeleted).toBe(cases.length);
    await t.cleanup();
  });
});

describe("load de-duplication", () => {
  for (const [label, make] of [["memory", async () => new MemoryCacheBackend()], ["disk", freshDisk]] as const) {
    it(`runs the loader once for N concurrent callers (${label})`, async () => {
      const cache = new IndexCache(await make());
      const key = cacheKey("v", testVectorsCodec);
      const gate = deferred<void>();
      let loads = 0;
      const loader = async () => {
        loads++;
        await gate.promise;
        return vectors("once", 2, 2);
      };
      const calls = Array.from({ length: 20 }, () => cache.getOrInsert(key, loader));
      await ticks(5);
      gate.resolve();
      const values = await Promise.all(calls);
      expect(loads).toBe(1);
      for (const v of values) expect(v).toBe(values[0]);
      expect(cache.stats().byType.CacheTestVectors).toMatchObject({ loads: 1, misses: 1, hits: 19 });
    });
  }

  it("sends a loader error to every waiter, with its type, and caches nothing", async () => {
    const cache = IndexCache.inMemory();
    const key = memoryCacheKey<string>("k", "S", () => 1);
    const gate = deferred<void>();
    const err = new LoaderError("boom");
    const calls = Array.from({ length: 5 }, () =>
      cache.getOrInsert(key, async () => {
        await gate.promise;
        throw err;
      }),
    );
    gate.resolve();
    const settled = await Promise.allSettled(calls);
    for (const s of settled) {
      expect(s.status).toBe("rejected");
      expect((s as PromiseRejectedResult).reason).toBe(err);
      expect((s as PromiseRejectedResult).reason).toBeInstanceOf(LoaderError);
    }
    expect(await cache.get(key)).toBeUndefined();
    expect(await cache.getOrInsert(key, async () => "ok")).toBe("ok");
  });

  it("never starts a second load for a caller arriving at any microtask of the first one's finish", async () => {
    // For every k, the second caller arrives k microtasks after the loader resolves: while the
    // value is being stored, just after, and after the first caller returned.
    for (const make of [() => new MemoryCacheBackend(), freshDisk]) {
      for (let k = 0; k <= 40; k++) {
        const backend = await make();
        const cache = new IndexCache(backend);
        const key = cacheKey(`v${k}`, testVectorsCodec);
        let loads = 0;
        const gate = deferred<void>();
        const loader = async () => {
          loads++;
          await gate.promise;
          return vectors("v", 1, 2);
        };
        const first = cache.getOrInsert(key, loader);
        await ticks(3);
        gate.resolve();
        await ticks(k);
        const second = cache.getOrInsert(key, loader);
        await Promise.all([first, second]);
        expect(loads, `k=${k}`).toBe(1);
      }
    }
  });

  it("joins a load whose store is still in progress", async () => {
    const inner = new MemoryCacheBackend();
    const storeGate = deferred<void>();
    let stores = 0;
    // A backend whose inserts stall: getOrInsert's store step stays pending until released.
    const slow: CacheBackend = Object.assign(Object.create(inner) as CacheBackend, {
      getOrInsert: (key: string, loader: () => Promise<import("@quiver/cache").CacheEntry>) =>
        (inner as unknown as { getOrInsert: CacheBackend["getOrInsert"] }).getOrInsert.call(inner, key, async () => {
          const e = await loader();
          stores++;
          await storeGate.promise;
          return e;
        }),
    });
    const cache = new IndexCache(slow);
    const key = memoryCacheKey<string>("k", "S", () => 1);
    let loads = 0;
    const first = cache.getOrInsert(key, async () => (loads++, "v"));
    await ticks(10);
    const second = cache.getOrInsert(key, async () => (loads++, "w"));
    storeGate.resolve();
    expect(await Promise.all([first, second])).toEqual(["v", "v"]);
    expect(loads).toBe(1);
    expect(stores).toBe(1);
  });
});

describe("size accounting", () => {
  it("reports the retained buffer after a decode round trip, not the view length", async () => {
    const t = await tempDir();
    const disk = await DiskCacheBackend.open({ directory: t.dir });
    const cache = new IndexCache(disk);
    const key = cacheKey("v", testVectorsCodec);
    const v = vectors("a", 16, 8);
    await cache.insert(key, v);
    const entry = await disk.get(formatCacheKey("", "v", "CacheTestVectors"), (await import("@quiver/cache")).frameCodec(testVectorsCodec));
    const got = entry!.value as typeof v;
    // The data view pins the whole frame buffer; the reported size counts it.
    expect(got.data.buffer.byteLength).toBeGreaterThan(got.data.byteLength);
    expect(entry!.sizeBytes).toBeGreaterThanOrEqual(got.data.buffer.byteLength);
    expect(entry!.sizeBytes).toBeLessThan(got.data.buffer.byteLength + 1024);
    await t.cleanup();
  });

  it("copies a frame that views a larger buffer so a small entry cannot pin a big one", async () => {
    const { decodeCacheEntry } = await import("@quiver/cache");
    const frame = encodeCacheEntry(testVectorsCodec, vectors("a", 1, 4));
    const big = new Uint8Array(1 << 20);
    big.set(frame, 4096);
    const d = decodeCacheEntry(testVectorsCodec, big.subarray(4096, 4096 + frame.byteLength));
    expect(d.value.data.buffer.byteLength).toBe(frame.byteLength);
    expect(d.sizeBytes).toBeLessThan(4096);
  });
});

describe("decoding from Node Buffers", () => {
  it("decodes a frame held in a misaligned view of a pooled Buffer (Buffer.slice is a view, not a copy)", async () => {
    const { decodeCacheEntry } = await import("@quiver/cache");
    const frame = encodeCacheEntry(testVectorsCodec, vectors("a", 3, 3));
    const pool = Buffer.alloc(frame.byteLength + 3);
    pool.set(frame, 3);
    const d = decodeCacheEntry(testVectorsCodec, pool.subarray(3));
    expect(Array.from(d.value.data)).toEqual(Array.from(vectors("a", 3, 3).data));
  });
});
