/**
 * The zero-IO reopen proof (zero-io-proof.test.ts) over an S3-compatible store: the index lives in
 * a real s3rver started by the test, requests are counted by IoStatsStore around S3ObjectStore
 * (no mocks). After a prewarm through a persistent cache (disk), a new cache over a new backend
 * instance reopens the index and answers 100 queries with 0 GETs, 0 HEADs and 0 LISTs, with the
 * same results as a cold open over S3, which itself is counted. s3rver caveats: suffix ranges
 * (`bytes=-N`) return wrong bytes and If-None-Match is not enforced; the S3 store never sends
 * suffix ranges and nothing here creates conditionally, so neither matters to this proof.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache } from "@quiver/cache";
import { IoStatsStore } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type S3rverHandle, startS3rver } from "../../store-s3/test/s3rver-server.js";
import { type QuantizerKind, type VectorSearchHit, gaussianMixture, openVectorIndex, prewarm } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const N = 4000;
const DIM = 32;
const QUERIES = 100;
const PATH = "indexes/vec/index.qvr";
const data = gaussianMixture({ n: N, dim: DIM, clusters: 24, seed: 11 });
const queries = gaussianMixture({ n: QUERIES, dim: DIM, clusters: 24, seed: 12, centerSeed: 11 });
const silent = { warn: () => undefined };

async function runQueries(index: Awaited<ReturnType<typeof openVectorIndex>>): Promise<VectorSearchHit[][]> {
  const out: VectorSearchHit[][] = [];
  for (let i = 0; i < QUERIES; i++) {
    const q = queries.subarray(i * DIM, (i + 1) * DIM);
    out.push(await index.search(q, i % 2 === 0 ? { k: 10, nprobes: 4, refineFactor: 5 } : { k: 10, nprobes: 4 }));
  }
  return out;
}

let server: S3rverHandle | undefined;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-ivf-s3-proof-"));
  server = await startS3rver();
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

const kinds: QuantizerKind[] = ["pq", "rabitq"];

describe.each(kinds)("zero-IO reopen over S3 (real s3rver), %s", (kind) => {
  it("cold open reads from S3; after a prewarm a new cache + backend instance reopens with 0 GET / HEAD / LIST, same results", async () => {
    const s3 = new S3ObjectStore({ bucket: server!.bucket, prefix: `proof-${kind}/`, client: server!.client() });
    const { identity } = await buildIvfIndex(s3, PATH, data, N, DIM, { quantizer: kind, distance: "l2", numPartitions: 12, seed: 5, threads: 1, maxIters: 10 });

    // Cold, no persistent cache: real requests to S3, counted.
    const coldStats = new IoStatsStore(s3);
    const cold = await openVectorIndex(coldStats, PATH);
    const coldResults = await runQueries(cold);
    const coldTotal = coldStats.snapshot().total;
    expect(coldTotal.readRequests).toBeGreaterThan(0);

    const dir = join(root, `disk-${kind}`);
    const first = new DiskCacheBackend({ directory: dir, logger: silent });
    const warmUp = await openVectorIndex(s3, PATH, { cache: new IndexCache(first) });
    await prewarm(warmUp);
    await first.close?.();

    const second = new DiskCacheBackend({ directory: dir, logger: silent });
    const stats = new IoStatsStore(s3);
    const cache = new IndexCache(second);
    const warm = await openVectorIndex(stats, PATH, { cache, identity });
    const results = await runQueries(warm);
    await second.close?.();
    expect(stats.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0, bytesRead: 0 });
    expect(cache.stats().loads).toBe(0);
    expect(results).toEqual(coldResults);
    console.log(`[zero-io s3 ${kind}] cold: ${coldTotal.readRequests} GETs + ${coldTotal.heads} HEADs, ${coldTotal.bytesRead} bytes; warm reopen: 0`);
  }, 120_000);
});
