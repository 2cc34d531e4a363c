/**
 * A search through a tiered cache (memory over disk) takes its resident partitions from the
 * memory tier synchronously (`peekLive`): no `get` / `getOrInsert` promise per probed partition
 * once prewarmed. A partition the memory tier evicted still comes back from disk through the
 * normal path, with the same results.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, MemoryCacheBackend, TieredCacheBackend } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type VectorSearchHit, gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const N = 3000;
const DIM = 16;
const QUERIES = 30;
const PATH = "t/index.qvr";
const data = gaussianMixture({ n: N, dim: DIM, clusters: 16, seed: 31 });
const queries = gaussianMixture({ n: QUERIES, dim: DIM, clusters: 16, seed: 32, centerSeed: 31 });
const OPTS = { k: 10, nprobes: 4 };

/** A tiered backend that counts the promise-path lookups the index makes. */
class CountingTiered extends TieredCacheBackend {
  gets = 0;
  getOrInserts = 0;
  override get(...args: Parameters<TieredCacheBackend["get"]>): ReturnType<TieredCacheBackend["get"]> {
    this.gets++;
    return super.get(...args);
  }
  override getOrInsert(...args: Parameters<TieredCacheBackend["getOrInsert"]>): ReturnType<TieredCacheBackend["getOrInsert"]> {
    this.getOrInserts++;
    return super.getOrInsert(...args);
  }
}

let root: string;
const store = new MemoryObjectStore();
let want: VectorSearchHit[][];
const backends: DiskCacheBackend[] = [];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-ivf-tiered-"));
  await buildIvfIndex(store, PATH, data, N, DIM, { quantizer: "pq", distance: "l2", numPartitions: 12, numSubVectors: 4, seed: 3, threads: 1, maxIters: 8 });
  const plain = await openVectorIndex(store, PATH);
  want = await searchAll(plain);
});
afterAll(async () => {
  for (const b of backends) await b.close();
  await rm(root, { recursive: true, force: true });
});

async function searchAll(index: Awaited<ReturnType<typeof openVectorIndex>>): Promise<VectorSearchHit[][]> {
  const out: VectorSearchHit[][] = [];
  for (let i = 0; i < QUERIES; i++) out.push(await index.search(queries.subarray(i * DIM, (i + 1) * DIM), OPTS));
  return out;
}

async function tieredCache(tag: string, memoryBytes?: number): Promise<CountingTiered> {
  const disk = new DiskCacheBackend({ directory: join(root, tag) });
  backends.push(disk);
  return new CountingTiered(new MemoryCacheBackend(memoryBytes === undefined ? {} : { maxBytes: memoryBytes }), disk);
}

describe("search through a TieredCacheBackend", () => {
  it("makes 0 promise-path lookups and 0 store reads for resident partitions after prewarm", async () => {
    const tier = await tieredCache("resident");
    const stats = new IoStatsStore(store);
    const index = await openVectorIndex(stats, PATH, { cache: new IndexCache(tier), prewarm: true });
    const [gets, getOrInserts, reads, memoryHits] = [tier.gets, tier.getOrInserts, stats.snapshot().total.readRequests, tier.counters.memoryHits];
    expect(await searchAll(index)).toEqual(want);
    expect(tier.gets - gets).toBe(0);
    expect(tier.getOrInserts - getOrInserts).toBe(0);
    expect(stats.snapshot().total.readRequests - reads).toBe(0);
    // every probed partition was a live memory hit
    expect(tier.counters.memoryHits - memoryHits).toBe(QUERIES * OPTS.nprobes);
  });

  it("brings a partition evicted from memory back from disk through the normal path, same results", async () => {
    // a memory tier far smaller than the index: most partitions live on disk only after prewarm
    const tier = await tieredCache("evicted", 4096);
    const stats = new IoStatsStore(store);
    const index = await openVectorIndex(stats, PATH, { cache: new IndexCache(tier), prewarm: true });
    await index.cache!.flush();
    const [getOrInserts, reads, fromDisk] = [tier.getOrInserts, stats.snapshot().total.readRequests, tier.counters.persistentHits];
    expect(await searchAll(index)).toEqual(want);
    expect(tier.getOrInserts - getOrInserts).toBeGreaterThan(0);
    expect(tier.counters.persistentHits - fromDisk).toBeGreaterThan(0);
    // every partition came from a tier, none from the store
    expect(stats.snapshot().total.readRequests - reads).toBe(0);
  });
});
