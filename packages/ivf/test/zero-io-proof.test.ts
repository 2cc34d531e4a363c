/**
 * The proof of issue 5: after a prewarm through a serializing backend (disk, Redis), a new typed
 * cache over a new backend instance rebuilds the index and answers 100 queries with zero store
 * reads and zero HEADs, with results identical to a cold open; a corrupted entry falls back to
 * the store for that one load and still answers correctly.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CacheBackend, DiskCacheBackend, IndexCache } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "../../cache-redis/test/redis-server.js";
import { PARTITION_TYPE_NAMES, type QuantizerKind, type VectorSearchHit, gaussianMixture, openVectorIndex, prewarm } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const N = 4000;
const DIM = 32;
const QUERIES = 100;
const PATH = "indexes/vec/index.qvr";
const data = gaussianMixture({ n: N, dim: DIM, clusters: 24, seed: 11 });
const queries = gaussianMixture({ n: QUERIES, dim: DIM, clusters: 24, seed: 12, centerSeed: 11 });
const silent = { warn: () => undefined };

async function runQueries(index: Awaited<ReturnType<typeof openVectorIndex>>, refine: boolean): Promise<VectorSearchHit[][]> {
  const out: VectorSearchHit[][] = [];
  for (let i = 0; i < QUERIES; i++) {
    const q = queries.subarray(i * DIM, (i + 1) * DIM);
    out.push(await index.search(q, refine && i % 2 === 0 ? { k: 10, nprobes: 4, refineFactor: 5 } : { k: 10, nprobes: 4 }));
  }
  return out;
}

let root: string;
let redis: RedisServerHandle | undefined;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-ivf-proof-"));
  if (redisServerUnavailable() === undefined) redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
  await rm(root, { recursive: true, force: true });
});

type BackendFactory = { name: string; make(tag: string): Promise<CacheBackend>; corrupt(tag: string, byteKey: string): Promise<void> };

const disk: BackendFactory = {
  name: "DiskCacheBackend",
  make: async (tag) => new DiskCacheBackend({ directory: join(root, `disk-${tag}`), logger: silent }),
  async corrupt(tag, byteKey) {
    const h = createHash("sha256").update(byteKey, "utf8").digest("hex");
    const file = join(root, `disk-${tag}`, "entries", h.slice(0, 2), `${h}.qce`);
    const bytes = await readFile(file);
    bytes[bytes.length - 3]! ^= 0x5a;
    await writeFile(file, bytes);
  },
};

const redisFactory: BackendFactory = {
  name: "RedisCacheBackend",
  make: (tag) => RedisCacheBackend.connect({ redis: redis!.url, namespace: `proof:${tag}:`, logger: silent, stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 }),
  async corrupt(tag, byteKey) {
    const b = await RedisCacheBackend.connect({ redis: redis!.url, namespace: `proof:${tag}:`, logger: silent, stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 });
    const key = `proof:${tag}:${byteKey}`;
    const bytes = await b.client.getBuffer(key);
    expect(bytes).not.toBeNull();
    bytes![bytes!.length - 3]! ^= 0x5a;
    await b.client.set(key, bytes!);
    await b.close();
  },
};

const kinds: QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];

describe.each(kinds)("zero-IO reconstruction, %s", (kind) => {
  let store: LocalDirectoryStore;
  let coldResults: VectorSearchHit[][];
  let identity: string;
  beforeAll(async () => {
    store = new LocalDirectoryStore(join(root, `store-${kind}`));
    ({ identity } = await buildIvfIndex(store, PATH, data, N, DIM, { quantizer: kind, distance: "l2", numPartitions: 12, seed: 5, threads: 1, maxIters: 10 }));
    const cold = await openVectorIndex(new IoStatsStore(store), PATH);
    coldResults = await runQueries(cold, true);
  });

  for (const factory of [disk, redisFactory]) {
    const skip = factory === redisFactory && redisServerUnavailable() !== undefined;
    it.skipIf(skip)(`through ${factory.name}: open + 100 queries make 0 reads and 0 HEADs, same results as cold`, async () => {
      const tag = `${kind}-ok`;
      const first = await factory.make(tag);
      const index = await openVectorIndex(store, PATH, { cache: new IndexCache(first) });
      await prewarm(index);
      await first.close?.();

      const second = await factory.make(tag);
      const stats = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await openVectorIndex(stats, PATH, { cache, identity });
      const results = await runQueries(warm, true);
      await second.close?.();
      expect(stats.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
      expect(cache.stats().loads).toBe(0);
      expect(results).toEqual(coldResults);
    });

    it.skipIf(skip)(`through ${factory.name}: a corrupted partition entry falls back to the store for that load only`, async () => {
      const tag = `${kind}-corrupt`;
      const first = await factory.make(tag);
      const index = await openVectorIndex(store, PATH, { cache: new IndexCache(first) });
      await prewarm(index);
      await first.close?.();
      // Corrupt the entry of the partition nearest to query 0 (so it is surely probed).
      const probe = warmProbe(index, 0);
      await factory.corrupt(tag, `${PATH}/${identity}/partition/${probe}\0${PARTITION_TYPE_NAMES[kind]}`);

      const second = await factory.make(tag);
      const stats = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await openVectorIndex(stats, PATH, { cache, identity });
      const results = await runQueries(warm, true);
      await second.close?.();
      expect(stats.snapshot().total.readRequests).toBe(1);
      expect(stats.snapshot().total.heads).toBe(0);
      expect(cache.stats().loads).toBe(1);
      expect(results).toEqual(coldResults);
    });
  }
});

/** The partition nearest to query i (probed first). */
function warmProbe(index: Awaited<ReturnType<typeof openVectorIndex>>, i: number): number {
  const q = queries.subarray(i * DIM, (i + 1) * DIM);
  let best = 0;
  let bestD = Infinity;
  for (let p = 0; p < index.numPartitions; p++) {
    let d = 0;
    for (let j = 0; j < DIM; j++) d += (q[j]! - index.state.centroids[p * DIM + j]!) ** 2;
    if (d < bestD) [best, bestD] = [p, d];
  }
  return best;
}
