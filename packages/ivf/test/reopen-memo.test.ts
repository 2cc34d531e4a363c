/**
 * Issue 13 "Reopen": a reopen in the same process from a persistent cache reuses the state it
 * verified before (held by the reader even after every index over it is gone), compares the bytes
 * it reads with the verified ones instead of trusting them, and decodes and checks in full
 * whatever differs. Zero store requests are counted at the store layer.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { DiskCacheBackend, IndexCache, cacheKey } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IvfIndexState, type VectorSearchHit, ivfIndexStateCodec, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { heldRecentStates } from "../src/reader.js";
import { syntheticIndexInput } from "./helpers.js";

const PATH = "idx/reopen.qvr";
const DIM = 16;
const P = 8;
const silent = { warn: () => undefined };
const SEARCH = { k: 5, nprobes: 4 } as const;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let root: string;
const store = new MemoryObjectStore();
let identity: string;
let query: Float32Array;
let expected: VectorSearchHit[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-ivf-reopen-"));
  // codeWidth < dim: residual PQ, so searches use the per-state scoring tables too
  const input = syntheticIndexInput({ n: 400, dim: DIM, numPartitions: P, codeWidth: 4, raw: false, seed: 31 });
  identity = (await writeIvfIndex(store, PATH, input)).identity;
  query = input.vectors.slice(5 * DIM, 6 * DIM);
  expected = await (await openVectorIndex(store, PATH)).search(query, SEARCH);
  const writer = new DiskCacheBackend({ directory: join(root, "disk"), logger: silent });
  await (await openVectorIndex(store, PATH, { cache: new IndexCache(writer), prewarm: true })).search(query, SEARCH);
  await writer.close();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Open + first query over a fresh disk backend, counting store requests. */
async function reopen(): Promise<{ state: IvfIndexState; hits: VectorSearchHit[]; requests: number; rejected: number }> {
  const backend = new DiskCacheBackend({ directory: join(root, "disk"), logger: silent });
  const counted = new IoStatsStore(store);
  const index = await openVectorIndex(counted, PATH, { cache: new IndexCache(backend), identity });
  const hits = await index.search(query, SEARCH);
  const io = counted.snapshot().total;
  await backend.close();
  return { state: index.state, hits, requests: io.readRequests + io.heads + io.lists, rejected: index.cacheRejects().state };
}

describe("reopen from a disk cache in the same process", () => {
  it("reuses the verified state after every index over it was dropped and a GC ran, with zero store requests", async () => {
    let first: Awaited<ReturnType<typeof reopen>> | undefined = await reopen();
    expect(first.requests).toBe(0);
    expect(first.hits).toEqual(expected);
    const held = new WeakRef(first.state);
    first = undefined;
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    const again = await reopen();
    expect(again.requests).toBe(0);
    expect(again.hits).toEqual(expected);
    // the bytes read compared equal to the verified ones: the same checked state object comes back
    expect(held.deref()).toBeDefined();
    expect(again.state).toBe(held.deref());
  });

  it("a state entry whose bytes changed (sealed, checksums valid) is decoded and checked in full: a miss that reloads", async () => {
    const good = await reopen();
    // Another state under the same key: one centroid moved, every checksum recomputed by the codec.
    const centroids = Float32Array.from(good.state.centroids);
    centroids[3] = centroids[3]! + 0.25;
    const forged: IvfIndexState = { ...good.state, centroids };
    const backend = new DiskCacheBackend({ directory: join(root, "disk"), logger: silent });
    await new IndexCache(backend).insert(cacheKey(`${PATH}/${identity}/state`, ivfIndexStateCodec), forged);
    await backend.close();
    const after = await reopen();
    // the forged entry fails the identity digest: the open read the state from the store
    expect(after.requests).toBeGreaterThan(0);
    expect(after.state).not.toBe(good.state);
    expect(after.state.centroids[3]).toBe(good.state.centroids[3]);
    expect(after.hits).toEqual(expected);
    // and healed the entry: the next reopen is again free of store requests
    const healed = await reopen();
    expect(healed.requests).toBe(0);
    expect(healed.hits).toEqual(expected);
  });

  it("holds a bounded number of states", async () => {
    const other = new MemoryObjectStore();
    for (let i = 0; i < 12; i++) {
      const input = syntheticIndexInput({ n: 40, dim: 4, numPartitions: 2, codeWidth: 4, raw: false, seed: 100 + i });
      await writeIvfIndex(other, `many/${i}`, input);
      await openVectorIndex(other, `many/${i}`, { cache: IndexCache.inMemory() });
    }
    expect(heldRecentStates()).toBe(8);
  });
});
