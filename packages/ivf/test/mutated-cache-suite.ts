/**
 * Issue 8 "keep it fixed", cache path: mutated-but-sealed entries (state, partition entries, raw
 * vectors; every container CRC recomputed by the re-sealing mutator) in the memory, disk and Redis
 * backends -> openVectorIndex (with the identity, so the state comes from the cache) -> search,
 * compared with the clean index. The file in the store is clean, so every case must answer exactly
 * like the clean index (a mutated entry is a counted miss that reloads), within a deadline; a
 * typed error is tolerated and counted, an untyped error, a hang or a wrong answer fails.
 * >= 10,000 cases per backend in `pnpm test`, >= 1,000,000 with QUIVER_SOAK=1.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CacheBackend,
  type CacheKey,
  DiskCacheBackend,
  type ErasedCodec,
  IndexCache,
  cacheKey,
  decodeCacheEntry,
  encodeCacheEntry,
  formatCacheKey,
} from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { MemoryObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "../../cache-redis/test/redis-server.js";
import { type VectorSearchHit, ivfIndexStateCodec, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";
import { caseCount, isTyped, mutate, outcomes, rng, withDeadline } from "./mutation.js";

const PATH = "i";
const DIM = 8;
const P = 2;
/** Refine (which reads the raw-vector entries) only when a raw-vector entry is the mutated one: fewer backend reads per case. */
const PLAIN = { k: 5, nprobes: P } as const;
const REFINE = { k: 5, nprobes: P, refineFactor: 2 } as const;
const silent = { warn: () => undefined };

interface Entry {
  readonly key: CacheKey<unknown>;
  readonly byteKey: string;
  readonly value: unknown;
  readonly bytes: Uint8Array;
}

let root: string;
/** Set by the Redis suite only: the others start no server. */
let needRedis = false;
let redis: RedisServerHandle | undefined;
const store = new MemoryObjectStore();
let identity: string;
let query: Float32Array;
let expectedPlain: VectorSearchHit[];
let expectedRefine: VectorSearchHit[];
let entries: Entry[];

beforeAll(async () => {
  // A tmpfs when the machine has one: the disk backend's code path is the same, its file IO is not
  // what is under test, and 10,000 cases on a loaded disk would cost minutes.
  root = await mkdtemp(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "quiver-ivf-mutcache-"));
  if (needRedis && redisServerUnavailable() === undefined) redis = await startRedisServer();
  const input = syntheticIndexInput({ n: 36, dim: DIM, numPartitions: P, codeWidth: DIM, raw: true, seed: 22 });
  identity = (await writeIvfIndex(store, PATH, input)).identity;
  query = input.vectors.slice(6 * DIM, 7 * DIM);
  const index = await openVectorIndex(store, PATH, { cache: IndexCache.inMemory() });
  expectedPlain = await index.search(query, PLAIN);
  expectedRefine = await index.search(query, REFINE);
  const all: { key: CacheKey<unknown>; value: unknown }[] = [{ key: cacheKey(`${PATH}/${identity}/state`, ivfIndexStateCodec) as CacheKey<unknown>, value: index.state }];
  for (let p = 0; p < P; p++) {
    all.push({ key: index.partitionCacheKey(p) as CacheKey<unknown>, value: await index.readPartition(p) });
    all.push({ key: index.vectorsCacheKey(p) as CacheKey<unknown>, value: await index.readPartitionVectors(p) });
  }
  entries = all.map(({ key, value }) => ({ key, value, byteKey: formatCacheKey("", key.key, key.typeName), bytes: encodeCacheEntry(key.codec!, value as never) }));
});

afterAll(async () => {
  await redis?.stop();
  await rm(root, { recursive: true, force: true });
});

/** An erased codec that stores the given bytes as they are (to plant a mutated entry in a serializing backend). */
function rawBytes(typeName: string, bytes: Uint8Array): ErasedCodec {
  return { typeName, version: 1, encode: () => bytes, decode: () => ({ value: undefined, sizeBytes: 0 }) };
}

interface Harness {
  readonly cache: IndexCache;
  /** Put the mutated entry in place; true when it could not even be decoded (the memory backend then holds nothing: a miss). */
  plant(e: Entry, bytes: Uint8Array): Promise<boolean>;
  restore(e: Entry): Promise<void>;
  close(): Promise<void>;
}

function serializing(backend: CacheBackend): Harness {
  const cache = new IndexCache(backend);
  return {
    cache,
    plant: async (e, bytes) => {
      await backend.insert(e.byteKey, { value: undefined, sizeBytes: bytes.byteLength }, rawBytes(e.key.typeName, bytes));
      return false;
    },
    restore: (e) => backend.insert(e.byteKey, { value: undefined, sizeBytes: e.bytes.byteLength }, rawBytes(e.key.typeName, e.bytes)),
    close: async () => backend.close?.(),
  };
}

function memory(): Harness {
  const cache = IndexCache.inMemory();
  return {
    cache,
    // A memory backend holds values: the mutated bytes are decoded (a decode failure leaves no entry, a miss).
    async plant(e, bytes) {
      let value: unknown;
      try {
        value = decodeCacheEntry(e.key.codec!, bytes).value;
      } catch {
        await cache.invalidatePrefix(e.key.key);
        return true;
      }
      await cache.insert(e.key, value);
      return false;
    },
    restore: (e) => cache.insert(e.key, e.value),
    close: async () => undefined,
  };
}

const BACKENDS: { name: string; skip: boolean; make: () => Promise<Harness> }[] = [
  { name: "MemoryCacheBackend", skip: false, make: async () => memory() },
  { name: "DiskCacheBackend", skip: false, make: async () => serializing(new DiskCacheBackend({ directory: join(root, "disk"), logger: silent })) },
  {
    name: "RedisCacheBackend",
    skip: redisServerUnavailable() !== undefined,
    make: async () => serializing(await RedisCacheBackend.connect({ redis: redis!.url, namespace: "mut:", logger: silent, stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 })),
  },
];

/** Define the suite for one backend (one test file per backend, so the three run in parallel). */
export function mutatedCacheSuite(backend: "MemoryCacheBackend" | "DiskCacheBackend" | "RedisCacheBackend"): void {
needRedis = backend === "RedisCacheBackend";
describe("mutated, re-sealed cache entries never change an answer", () => {
  for (const b of BACKENDS.filter((x) => x.name === backend)) {
    it.skipIf(b.skip)(`${b.name}: ${caseCount()} cases, each equal to the clean index (or a typed error), none untyped, none hung`, { timeout: 3_600_000 }, async () => {
      const h = await b.make();
      for (const e of entries) await h.restore(e);
      const o = outcomes();
      let detected = 0;
      const r = rng(0xcace ^ b.name.length);
      const total = caseCount();
      const fmt = (hits: VectorSearchHit[]) => hits.map((x) => `${x.id}:${x.distance}`).join(",");
      const wantPlain = fmt(expectedPlain);
      const wantRefine = fmt(expectedRefine);
      for (let i = 0; i < total; i++) {
        const e = entries[Math.floor(r() * entries.length)]!;
        const refine = e.key.key.includes("/vectors/");
        const want = refine ? wantRefine : wantPlain;
        const { bytes, what } = mutate(e.bytes, r);
        o.cases++;
        const undecodable = await h.plant(e, bytes);
        const before = h.cache.stats().decodeFailures;
        const res = await withDeadline(async () => {
          try {
            const index = await openVectorIndex(store, PATH, { cache: h.cache, identity });
            const hits = await index.search(query, refine ? REFINE : PLAIN);
            const rej = index.cacheRejects();
            return { hits, rejected: rej.state + rej.partitions + rej.vectors + rej.healed };
          } catch (err) {
            return { error: err };
          }
        }, 5000);
        const note = (kind: string, detail: string) => {
          if (o.samples.length < 5) o.samples.push(`case ${i} (${e.key.key}: ${what}): ${kind} ${detail}`);
        };
        if (res === "hang") {
          o.hang++;
          note("hang", "");
        } else if ("error" in res) {
          if (isTyped(res.error)) {
            o.typed++;
            note("typed", String((res.error as Error).message).slice(0, 200));
          } else {
            o.other++;
            note("untyped", String((res.error as Error)?.stack ?? res.error).slice(0, 300));
          }
        } else if (fmt(res.hits) === want) {
          o.equal++;
          const caught = undecodable || res.rejected > 0 || h.cache.stats().decodeFailures > before;
          if (caught) detected++;
          // A caught entry was replaced by the reload (the reader re-inserts what it read); an
          // accepted one (a harmless mutation) is put back so the next case starts clean.
          else await h.restore(e);
          continue;
        } else {
          o.wrong++;
          note("wrong", fmt(res.hits));
        }
        await h.restore(e);
      }
      await h.close();
      console.log(`[ivf mutated cache entries] ${b.name}: ${JSON.stringify({ ...o, detectedAsMiss: detected })}`);
      expect({ other: o.other, hang: o.hang, wrong: o.wrong }).toEqual({ other: 0, hang: 0, wrong: 0 });
      expect(o.cases).toBe(total);
      expect(detected).toBeGreaterThan(total / 2);
    });
  }
});
}
