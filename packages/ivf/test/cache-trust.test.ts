/**
 * Issue 8, "the cache -> search path trusts what the cache returns" and "index identity": every
 * entry taken from a cache is checked against the state that refers to it; a mismatch is a
 * counted miss that reloads from the store and answers exactly like a cold open; a state that
 * leads to failing reads heals; a rebuilt file at the same path is never answered from the old
 * file's entries.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, cacheKey, decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { encodeFrame, inspectFrameHeader } from "@quiver/format";
import { IoStatsStore, LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type IvfIndexState,
  type IvfPartitionEntry,
  type VectorSearchHit,
  gaussianMixture,
  ivfIndexStateCodec,
  openVectorIndex,
  partitionEntryCodecs,
  writeIvfIndex,
} from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";
import { syntheticIndexInput } from "./helpers.js";

const PATH = "idx/index.qvr";
const DIM = 8;
const P = 6;
const silent = { warn: () => undefined };

async function fixture() {
  const input = syntheticIndexInput({ n: 240, dim: DIM, numPartitions: P, codeWidth: DIM, raw: true, seed: 9 });
  const store = new MemoryObjectStore();
  const res = await writeIvfIndex(store, PATH, input);
  const query = input.vectors.slice(3 * DIM, 4 * DIM);
  const cold = await openVectorIndex(store, PATH);
  const opts = { k: 10, nprobes: P, refineFactor: 3 };
  const expected = await cold.search(query, opts);
  return { store, res, query, opts, expected, cold };
}

type Fixture = Awaited<ReturnType<typeof fixture>>;
let f: Fixture;
beforeAll(async () => {
  f = await fixture();
});

/** A warmed memory cache and its index (identity known: the open makes no read). */
async function warmed(): Promise<{ cache: IndexCache; index: Awaited<ReturnType<typeof openVectorIndex>> }> {
  const cache = IndexCache.inMemory();
  const first = await openVectorIndex(f.store, PATH, { cache });
  await first.prewarm();
  const index = await openVectorIndex(f.store, PATH, { cache, identity: f.res.identity });
  return { cache, index };
}

describe("partition entries from a cache are checked against the state", () => {
  const bad: [string, (e: IvfPartitionEntry, other: IvfPartitionEntry) => IvfPartitionEntry][] = [
    ["a wider code width with self-consistent lengths", (e) => ({ ...e, codeWidth: e.codeWidth * 4, codes: new Uint8Array(e.rows * e.codeWidth * 4) })],
    ["fewer rows", (e) => ({ ...e, rows: e.rows - 1, rowIds: e.rowIds.subarray(1), codes: e.codes.subarray(e.codeWidth) })],
    ["another partition's rows", (_e, other) => other],
    ["one flipped code byte", (e) => {
      const codes = e.codes.slice();
      codes[0] = codes[0]! ^ 0xff;
      return { ...e, codes };
    }],
    ["a row id changed", (e) => {
      const rowIds = e.rowIds.slice();
      rowIds[0] = 999_999n;
      return { ...e, rowIds };
    }],
    ["arrays of the wrong types", (e) => ({ ...e, rowIds: new Uint8Array(e.rows), codes: new Float32Array(e.rows * e.codeWidth) }) as unknown as IvfPartitionEntry],
  ];
  for (const [what, mutate] of bad) {
    it(`${what}: a counted miss, reloaded from the store, same answer as a cold open`, async () => {
      const { cache, index } = await warmed();
      const clean = await Promise.all(Array.from({ length: P }, (_, p) => index.loadPartition(p)));
      for (let p = 0; p < P; p++) await cache.insert(index.partitionCacheKey(p), mutate(clean[p]!, clean[(p + 1) % P]!));
      const stats = new IoStatsStore(f.store);
      const reopened = await openVectorIndex(stats, PATH, { cache, identity: f.res.identity });
      expect(await reopened.search(f.query, f.opts)).toEqual(f.expected);
      const reads = stats.snapshot().total.readRequests;
      expect({ rejects: reopened.cacheRejects().partitions, reads }).toEqual({ rejects: P, reads: P });
      // The reloaded entries replaced the bad ones: a second search reads nothing.
      stats.reset();
      expect(await reopened.search(f.query, f.opts)).toEqual(f.expected);
      expect(stats.snapshot().total.readRequests).toBe(0);
    });
  }

  it("an entry of partition 2 stored under partition 5 is refused through a serializing codec too", async () => {
    const { index } = await warmed();
    const two = await index.loadPartition(2);
    const bytes = encodeCacheEntry(partitionEntryCodecs.sq, two);
    const decoded = decodeCacheEntry(partitionEntryCodecs.sq, bytes).value;
    const cache = IndexCache.inMemory();
    const fresh = await openVectorIndex(f.store, PATH, { cache });
    await cache.insert(fresh.partitionCacheKey(5), decoded);
    expect((await fresh.loadPartition(5)).partition).toBe(5);
    expect(fresh.cacheRejects().partitions).toBe(1);
  });
});

describe("raw vectors from a cache are checked against the state", () => {
  it("changed values or row counts are misses; refine distances stay those of a cold open", async () => {
    const { cache, index } = await warmed();
    for (let p = 0; p < P; p++) {
      const v = await index.loadPartitionVectors(p);
      const vectors = v.vectors.slice();
      vectors[0] = vectors[0]! + 1;
      await cache.insert(index.vectorsCacheKey(p), p % 2 === 0 ? { ...v, vectors } : { ...v, rows: v.rows - 1, vectors: v.vectors.subarray(DIM) });
    }
    const reopened = await openVectorIndex(f.store, PATH, { cache, identity: f.res.identity });
    expect(await reopened.search(f.query, f.opts)).toEqual(f.expected);
    expect(reopened.cacheRejects().vectors).toBeGreaterThan(0);
  });
});

describe("a cached state is checked against the path, the identity and its own digest", () => {
  async function withState(mutate: (s: IvfIndexState) => IvfIndexState): Promise<{ hits: VectorSearchHit[]; rejects: number; reads: number }> {
    const { cache, index } = await warmed();
    const key = cacheKey(`${PATH}/${f.res.identity}/state`, ivfIndexStateCodec);
    await cache.insert(key, mutate(index.state));
    const stats = new IoStatsStore(f.store);
    const reopened = await openVectorIndex(stats, PATH, { cache, identity: f.res.identity });
    return { hits: await reopened.search(f.query, f.opts), rejects: reopened.cacheRejects().state, reads: stats.snapshot().total.readRequests };
  }

  const cases: [string, (s: IvfIndexState) => IvfIndexState][] = [
    ["invalid quantizer params (bits as a string)", (s) => ({ ...s, quantizer: { ...s.quantizer, params: { bits: "8" } }, metadata: { ...s.metadata, quantizer: { ...s.metadata.quantizer, params: { bits: "8" } } } })],
    ["wrong partition CRCs", (s) => ({ ...s, partitions: s.partitions.map((p) => ({ ...p, crc32: (p.crc32 + 1) >>> 0 })) })],
    ["a moved centroid", (s) => {
      const centroids = s.centroids.slice();
      centroids[0] = centroids[0]! + 5;
      return { ...s, centroids };
    }],
    ["another path", (s) => ({ ...s, path: "elsewhere.qvr" })],
    ["a non-finite centroid", (s) => {
      const centroids = s.centroids.slice();
      centroids[1] = Number.NaN;
      return { ...s, centroids };
    }],
    ["not a state", () => ({ path: PATH, metadata: { identity: f.res.identity }, centroids: new Float32Array(1), quantizer: { arrays: {} }, partitions: [] }) as unknown as IvfIndexState],
  ];
  for (const [what, mutate] of cases) {
    it(`${what}: a counted miss, the state is reloaded, same answer as a cold open`, async () => {
      const r = await withState(mutate);
      expect(r.hits).toEqual(f.expected);
      expect(r.rejects).toBe(1);
      expect(r.reads).toBeGreaterThan(0);
    });
  }

  it("a serialized state with invalid quantizer params fails to decode (a counted decode failure) and opens from the store", async () => {
    const s = f.cold.state;
    const bad = { ...s, quantizer: { ...s.quantizer, params: { bits: 7 } }, metadata: { ...s.metadata, quantizer: { ...s.metadata.quantizer, params: { bits: 7 } } } };
    expect(() => decodeCacheEntry(ivfIndexStateCodec, encodeCacheEntry(ivfIndexStateCodec, bad))).toThrow(expect.objectContaining({ code: "BAD_QUANTIZER_METADATA" }));
  });

  it("a state whose offsets no longer match the file heals: the search re-opens cold once and answers correctly", async () => {
    // The same content laid out differently (pretty-printed metadata JSON shifts every offset)
    // has the same identity: the cached state is accepted, its first read fails its CRC, the
    // index re-opens cold, and the answer is right.
    const store = new MemoryObjectStore();
    const file = await f.store.get(PATH);
    await store.put(PATH, file);
    const cache = IndexCache.inMemory();
    await (await openVectorIndex(store, PATH, { cache })).prewarm({ vectors: false });
    const header = inspectFrameHeader(file);
    const sections = header.sections.map((s) => ({ id: s.id, encoding: s.encoding, bytes: file.subarray(s.offset, s.offset + s.length) }));
    const meta = JSON.parse(new TextDecoder().decode(sections[0]!.bytes)) as unknown;
    sections[0] = { id: 0, encoding: "json", bytes: new TextEncoder().encode(JSON.stringify(meta, null, 8)) };
    await store.put(PATH, encodeFrame({ kind: header.kind, kindVersion: header.kindVersion, typeName: header.typeName, sections }));
    const onlyState = IndexCache.inMemory();
    const old = await openVectorIndex(new MemoryObjectStore(), PATH, { cache, identity: f.res.identity });
    await onlyState.insert(cacheKey(`${PATH}/${f.res.identity}/state`, ivfIndexStateCodec), old.state);
    const reopened = await openVectorIndex(store, PATH, { cache: onlyState, identity: f.res.identity });
    expect(await reopened.search(f.query, f.opts)).toEqual(f.expected);
    expect(reopened.cacheRejects().healed).toBe(1);
    expect(reopened.state.partitions[0]!.offset).not.toBe(old.state.partitions[0]!.offset);
  });
});

describe("index identity", () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "quiver-ivf-identity-"));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("a rebuild at the same path under a persistent disk cache is never answered from the old entries", async () => {
    const store = new LocalDirectoryStore(join(root, "store"));
    const cacheDir = join(root, "cache");
    const dim = 16;
    const small = gaussianMixture({ n: 3000, dim, clusters: 8, seed: 1 });
    const large = gaussianMixture({ n: 3500, dim, clusters: 8, seed: 2 });
    const opts = { quantizer: "flat", distance: "l2", numPartitions: 4, threads: 1, maxIters: 5 } as const;
    const a = await buildIvfIndex(store, PATH, small, 3000, dim, opts);
    const first = await openVectorIndex(store, PATH, { cache: new IndexCache(new DiskCacheBackend({ directory: cacheDir, logger: silent })) });
    await first.prewarm();
    expect(first.state.metadata.numRows).toBe(3000);

    const b = await buildIvfIndex(store, PATH, large, 3500, dim, opts);
    expect(b.identity).not.toBe(a.identity);
    // Without an identity: the open reads the file, learns its identity, and sees the new rows.
    const reopened = await openVectorIndex(store, PATH, { cache: new IndexCache(new DiskCacheBackend({ directory: cacheDir, logger: silent })) });
    expect(reopened.state.metadata.numRows).toBe(3500);
    const q = large.subarray(3400 * dim, 3401 * dim);
    const hits = await reopened.search(q, { k: 1, nprobes: 4 });
    expect(hits[0]).toEqual({ id: 3400, distance: 0 });
    // Asking for the old identity where only its state is cached: the first partition read of
    // the replaced file fails its CRC, the index re-opens cold, and the new identity is a typed error.
    const stateOnly = IndexCache.inMemory();
    await stateOnly.insert(cacheKey(`${PATH}/${a.identity}/state`, ivfIndexStateCodec), first.state);
    const stale = await openVectorIndex(store, PATH, { cache: stateOnly, identity: a.identity });
    await expect(stale.search(q, { k: 1, nprobes: 4 })).rejects.toMatchObject({ name: "QuiverFormatError", code: "IDENTITY_MISMATCH" });
    // A cold open asking for the old identity is a typed error too.
    await expect(openVectorIndex(store, PATH, { identity: a.identity })).rejects.toMatchObject({ code: "IDENTITY_MISMATCH" });
    // With the new identity the reopen is zero-IO.
    const counted = new IoStatsStore(store);
    const warm = await openVectorIndex(counted, PATH, { cache: new IndexCache(new DiskCacheBackend({ directory: cacheDir, logger: silent })), identity: b.identity });
    expect(await warm.search(q, { k: 1, nprobes: 4 })).toEqual(hits);
    expect(counted.snapshot().total.readRequests).toBe(0);
  });

  it("the identity is the content digest: equal inputs give equal identities, the cold open verifies it", async () => {
    const one = await writeIvfIndex(new MemoryObjectStore(), "a", syntheticIndexInput({ n: 50, dim: 4, numPartitions: 2, codeWidth: 4, raw: false, seed: 3 }));
    const two = await writeIvfIndex(new MemoryObjectStore(), "b", syntheticIndexInput({ n: 50, dim: 4, numPartitions: 2, codeWidth: 4, raw: false, seed: 3 }));
    const three = await writeIvfIndex(new MemoryObjectStore(), "c", syntheticIndexInput({ n: 50, dim: 4, numPartitions: 2, codeWidth: 4, raw: false, seed: 4 }));
    expect(one.identity).toMatch(/^[0-9a-f]{64}$/);
    expect(two.identity).toBe(one.identity);
    expect(three.identity).not.toBe(one.identity);
  });
});
