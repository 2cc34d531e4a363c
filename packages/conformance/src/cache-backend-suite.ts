/**
 * `runCacheBackendConformance`: the behaviour every `CacheBackend` must have (spec/cache.md#backend-conformance),
 * as vitest tests a plugin author runs in their own vitest. vitest is an optional peer dependency,
 * imported lazily so that importing @quiver/conformance never loads it.
 */
import {
  type CacheBackend,
  type CacheCodec,
  type CacheEntry,
  type ErasedCodec,
  formatCacheKey,
  frameCodec,
  retainedBytes,
} from "@quiver/cache";
import { getSection, rawSection } from "@quiver/format";

/** Creates a backend over fresh, empty storage (or storage the suite may clear). */
export type CacheBackendFactory = () => CacheBackend | Promise<CacheBackend>;

/** Options of {@link runCacheBackendConformance}. */
export interface CacheBackendConformanceOptions {
  /**
   * A second, independent instance over the same storage as `first`. Required when the backend
   * says it is persistent: without it every persistence case fails (it is not skipped).
   */
  readonly reopen?: (first: CacheBackend) => CacheBackend | Promise<CacheBackend>;
  /**
   * The backend keeps live values in a memory tier in front of its persistent storage (a tiered
   * backend): the same instance then returns codec-less and undecoded values live. Default false.
   */
  readonly memoryTier?: boolean;
  /** Skip the 64 MiB byte-fidelity case; the reason is reported as a skipped test. */
  readonly skipLargeReason?: string;
  /** Per-test timeout in ms; default 120 000 (the 64 MiB case hashes and copies a lot). */
  readonly timeoutMs?: number;
}

/** A value of the suite's codec: raw bytes. */
interface Blob {
  readonly bytes: Uint8Array;
}

/** The codec the suite stores with: one raw section, decoded zero-copy. */
function bytesCodec(typeName: string): CacheCodec<Blob> {
  return {
    typeName,
    version: 1,
    encode: (v) => [rawSection(1, v.bytes)],
    decode: (frame) => ({ bytes: getSection(frame, 1, "raw").bytes }),
    sizeOf: (v) => retainedBytes([v.bytes]) + 32,
  };
}

const BYTES = frameCodec(bytesCodec("ConformanceBytes"));
const OTHER = frameCodec(bytesCodec("ConformanceOther"));
const key = (user: string, typeName = "ConformanceBytes", prefix = "conformance/") => formatCacheKey(prefix, user, typeName);
const entry = (bytes: Uint8Array): CacheEntry => ({ value: { bytes }, sizeBytes: bytes.byteLength + 32 });

function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Wait for a backend's background writes (getOrInsert may store after returning). */
async function flushOf(b: CacheBackend): Promise<void> {
  await b.flush?.();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

async function bytesOf(backend: CacheBackend, k: string, codec: ErasedCodec = BYTES): Promise<Uint8Array | undefined> {
  const e = await backend.get(k, codec);
  return e === undefined ? undefined : (e.value as Blob).bytes;
}

/**
 * Register a `describe(name)` whose tests check a backend: byte fidelity (empty, all 256 byte
 * values, 64 MiB), prefix and type-name isolation, clear, counts, load de-duplication, concurrent
 * writers, decode failures as misses, and (persistent backends) survival across a new instance.
 * Call at the top level of a test file: `await runCacheBackendConformance("mine", () => new Mine())`.
 */
export async function runCacheBackendConformance(
  name: string,
  factory: CacheBackendFactory,
  options: CacheBackendConformanceOptions = {},
): Promise<void> {
  const { describe, it, expect, afterEach } = await import("vitest");
  const timeout = options.timeoutMs ?? 120_000;
  const memoryTier = options.memoryTier ?? false;
  /** The reopen of a persistent backend; skips (with the reason) for a backend that is not persistent, fails without reopen. */
  const reopenOf = (b: CacheBackend, skip: (note: string) => never): NonNullable<CacheBackendConformanceOptions["reopen"]> => {
    if (!b.persistent) skip("not persistent: entries are not expected to survive a new instance");
    if (options.reopen === undefined) {
      throw new Error(`${name} says it is persistent but the suite was given no reopen: pass { reopen: (first) => <a new instance over first's storage> }`);
    }
    return options.reopen;
  };
  describe(`cache backend conformance: ${name}`, () => {
    const open: CacheBackend[] = [];
    const fresh = async (): Promise<CacheBackend> => {
      const b = await factory();
      open.push(b);
      await b.clear();
      return b;
    };
    afterEach(async () => {
      for (const b of open.splice(0)) await b.close?.();
    });

    it("misses an absent key, returns an inserted one, and replaces on insert", async () => {
      const b = await fresh();
      expect(await b.get(key("absent"), BYTES)).toBeUndefined();
      await b.insert(key("k"), entry(pattern(100, 1)), BYTES);
      expect(sameBytes((await bytesOf(b, key("k")))!, pattern(100, 1))).toBe(true);
      await b.insert(key("k"), entry(pattern(50, 2)), BYTES);
      expect(sameBytes((await bytesOf(b, key("k")))!, pattern(50, 2))).toBe(true);
    }, timeout);

    it("keeps bytes exact: empty, all 256 byte values, 1 MiB", async () => {
      const b = await fresh();
      const all = Uint8Array.from({ length: 512 }, (_, i) => i & 0xff);
      const cases: [string, Uint8Array][] = [["empty", new Uint8Array(0)], ["all-bytes", all], ["crlf-nul", Uint8Array.of(13, 10, 0, 13, 0, 10, 0x80, 0xff)], ["1mib", pattern(1 << 20, 3)]];
      for (const [k, bytes] of cases) await b.insert(key(k), entry(bytes), BYTES);
      for (const [k, bytes] of cases) {
        const got = await bytesOf(b, key(k));
        expect(got, k).toBeDefined();
        expect(got!.byteLength, k).toBe(bytes.byteLength);
        expect(sameBytes(got!, bytes), k).toBe(true);
      }
    }, timeout);

    it.skipIf(options.skipLargeReason !== undefined)(
      `keeps a 64 MiB entry exact${options.skipLargeReason === undefined ? "" : ` (skipped: ${options.skipLargeReason})`}`,
      async () => {
        const b = await fresh();
        const big = pattern(64 << 20, 4);
        await b.insert(key("64mib"), entry(big), BYTES);
        const got = await bytesOf(b, key("64mib"));
        expect(got?.byteLength).toBe(big.byteLength);
        expect(sameBytes(got!, big)).toBe(true);
      },
      timeout,
    );

    it("isolates prefixes: invalidatePrefix removes exactly the keys that start with it", async () => {
      const b = await fresh();
      const prefixes = ["index/a/", "index/ab/", "index/b/", "index/*/", "index/[x]?/", "index/.+/"];
      for (const p of prefixes) for (const u of ["s", "t"]) await b.insert(key(u, "ConformanceBytes", p), entry(pattern(10, p.length)), BYTES);
      await b.invalidatePrefix("index/a/");
      await b.invalidatePrefix("index/*/");
      await b.invalidatePrefix("index/[x]?/");
      for (const p of prefixes) {
        const gone = p === "index/a/" || p === "index/*/" || p === "index/[x]?/";
        for (const u of ["s", "t"]) expect(await b.get(key(u, "ConformanceBytes", p), BYTES) === undefined, `${p}${u}`).toBe(gone);
      }
      expect(b.approxEntryCount()).toBe(6);
    }, timeout);

    it("isolates type names under one user key", async () => {
      const b = await fresh();
      await b.insert(key("same", "ConformanceBytes"), entry(pattern(8, 5)), BYTES);
      await b.insert(key("same", "ConformanceOther"), entry(pattern(9, 6)), OTHER);
      expect(sameBytes((await bytesOf(b, key("same", "ConformanceBytes")))!, pattern(8, 5))).toBe(true);
      expect(sameBytes((await bytesOf(b, key("same", "ConformanceOther"), OTHER))!, pattern(9, 6))).toBe(true);
      await b.invalidatePrefix(key("same", "ConformanceOther"));
      expect(await b.get(key("same", "ConformanceOther"), OTHER)).toBeUndefined();
      expect(await b.get(key("same", "ConformanceBytes"), BYTES)).toBeDefined();
    }, timeout);

    it("clears everything and counts entries", async () => {
      const b = await fresh();
      expect(b.approxEntryCount()).toBe(0);
      for (let i = 0; i < 20; i++) await b.insert(key(`c${i}`), entry(pattern(1000, i + 1)), BYTES);
      expect(b.approxEntryCount()).toBe(20);
      expect(b.approxSizeBytes()).toBeGreaterThanOrEqual(20 * 1000);
      for (let i = 0; i < 5; i++) await b.insert(key(`c${i}`), entry(pattern(1000, i + 100)), BYTES);
      expect(b.approxEntryCount()).toBe(20);
      await b.invalidatePrefix(key("c1")); // exactly one key
      expect(b.approxEntryCount()).toBe(19);
      await b.clear();
      expect(b.approxEntryCount()).toBe(0);
      expect(b.approxSizeBytes()).toBe(0);
      for (let i = 0; i < 20; i++) expect(await b.get(key(`c${i}`), BYTES)).toBeUndefined();
    }, timeout);

    it("de-duplicates concurrent getOrInsert: one load, one value for all", async () => {
      const b = await fresh();
      let loads = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const loader = async () => {
        loads++;
        await gate;
        return entry(pattern(64, 7));
      };
      const calls = Array.from({ length: 25 }, () => b.getOrInsert(key("d"), loader, BYTES));
      for (let i = 0; i < 5; i++) await Promise.resolve();
      release();
      const results = await Promise.all(calls);
      expect(loads).toBe(1);
      expect(results.filter((r) => !r.wasCached)).toHaveLength(1);
      for (const r of results) expect(r.entry).toBe(results[0]!.entry);
      expect(sameBytes((await bytesOf(b, key("d")))!, pattern(64, 7))).toBe(true);
    }, timeout);

    it("sends a loader error to every waiter unchanged and caches nothing", async () => {
      const b = await fresh();
      class LoadFailed extends Error {}
      const err = new LoadFailed("source unavailable");
      let loads = 0;
      const calls = Array.from({ length: 10 }, () =>
        b.getOrInsert(key("e"), async () => {
          loads++;
          await Promise.resolve();
          throw err;
        }, BYTES),
      );
      const settled = await Promise.allSettled(calls);
      expect(loads).toBe(1);
      for (const s of settled) expect(s.status === "rejected" && s.reason === err).toBe(true);
      expect(await b.get(key("e"), BYTES)).toBeUndefined();
      const ok = await b.getOrInsert(key("e"), async () => entry(pattern(3, 8)), BYTES);
      expect(ok.wasCached).toBe(false);
    }, timeout);

    it("never starts a second load for a caller arriving as the first load finishes", async () => {
      const b = await fresh();
      for (let k = 0; k <= 30; k++) {
        let loads = 0;
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const loader = async () => {
          loads++;
          await gate;
          return entry(pattern(16, k + 1));
        };
        const first = b.getOrInsert(key(`race${k}`), loader, BYTES);
        await Promise.resolve();
        release();
        for (let i = 0; i < k; i++) await Promise.resolve();
        const second = b.getOrInsert(key(`race${k}`), loader, BYTES);
        await Promise.all([first, second]);
        expect(loads, `second caller ${k} microtasks after the load resolved`).toBe(1);
      }
    }, timeout);

    it("survives concurrent writers: every key ends with one complete written value", async () => {
      const b = await fresh();
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 40; i++) {
        writes.push(b.insert(key("shared"), entry(new Uint8Array(4096).fill(i)), BYTES));
        writes.push(b.insert(key(`own${i}`), entry(new Uint8Array(512).fill(i)), BYTES));
      }
      await Promise.all(writes);
      const shared = (await bytesOf(b, key("shared")))!;
      expect(shared.byteLength).toBe(4096);
      expect(shared.every((x) => x === shared[0])).toBe(true);
      expect(shared[0]!).toBeLessThan(40);
      for (let i = 0; i < 40; i++) {
        const own = (await bytesOf(b, key(`own${i}`)))!;
        expect(own.byteLength === 512 && own.every((x) => x === i), `own${i}`).toBe(true);
      }
      expect(b.approxEntryCount()).toBe(41);
    }, timeout);

    it("never throws from get when a codec fails to decode: a miss when it decodes, the live value when it does not", async () => {
      const b = await fresh();
      const throwing: ErasedCodec = { ...BYTES, decode: () => { throw new Error("corrupt"); } };
      const e = entry(pattern(32, 10));
      await b.insert(key("u"), e, BYTES);
      const r = await b.get(key("u"), throwing);
      // A memory backend (or tier) holds the live value and never decodes; storage-only backends must decode, fail, miss.
      if (!b.persistent || memoryTier) expect(r?.value).toBe(e.value);
      else expect(r).toBeUndefined();
    }, timeout);

    it(
      "persistent: stored bytes that fail to decode (wrong type, codec error) are misses",
      async (ctx) => {
        const a = await fresh();
        const reopen = reopenOf(a, (note) => ctx.skip(note));
        await a.insert(key("t"), entry(pattern(32, 9)), BYTES);
        await a.insert(key("u"), entry(pattern(32, 10)), BYTES);
        await flushOf(a);
        // A new instance has nothing in memory: the bytes come from storage and must be verified.
        const b = await reopen(a);
        open.push(b);
        expect(await b.get(key("t"), OTHER)).toBeUndefined(); // the frame carries another type name
        const throwing: ErasedCodec = { ...BYTES, decode: () => { throw new Error("corrupt"); } };
        expect(await b.get(key("u"), throwing)).toBeUndefined();
      },
      timeout,
    );

    it("stores codec-less values only in memory: a memory backend or tier returns them live, storage never holds them", async () => {
      const b = await fresh();
      const live = { live: true };
      await b.insert(key("live", "ConformanceLive"), { value: live, sizeBytes: 16 });
      const got = await b.get(key("live", "ConformanceLive"));
      if (!b.persistent || memoryTier) expect(got?.value).toBe(live);
      else expect(got).toBeUndefined();
      if (b.persistent) {
        await flushOf(b);
        const again = await reopenOf(b, () => undefined as never)(b);
        open.push(again);
        expect(await again.get(key("live", "ConformanceLive"))).toBeUndefined();
      }
    }, timeout);

    it(
      "persistent: a new instance over the same storage sees the entries, including a getOrInsert's",
      async (ctx) => {
        const a = await fresh();
        const reopen = reopenOf(a, (note) => ctx.skip(note));
        await a.insert(key("keep"), entry(pattern(4096, 11)), BYTES);
        await a.getOrInsert(key("loaded"), async () => entry(pattern(100, 12)), BYTES);
        await flushOf(a);
        const b = await reopen(a);
        open.push(b);
        expect(sameBytes((await bytesOf(b, key("keep")))!, pattern(4096, 11))).toBe(true);
        expect(sameBytes((await bytesOf(b, key("loaded")))!, pattern(100, 12))).toBe(true);
        expect(b.approxEntryCount()).toBe(2);
      },
      timeout,
    );
  });
}
