/**
 * Batch search spread over worker threads (issue 12 "batch search spread over the cores", issue 13
 * "batch search and throughput"): the threaded scan returns exactly the one-thread results (ids
 * and distances) for every quantizer and metric, at batch sizes 1, 16 and 256; the pool is shut
 * down by close() and never keeps the process alive.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { IndexCache } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { afterAll, describe, expect, it } from "vitest";
import { type DistanceType, type IvfVectorIndex, type QuantizerKind, gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const DIM = 16;
const N = 3000;
const opened: IvfVectorIndex[] = [];

async function indexFor(kind: QuantizerKind, distance: DistanceType): Promise<IvfVectorIndex> {
  const store = new MemoryObjectStore();
  const data = gaussianMixture({ n: N, dim: DIM, clusters: 12, seed: 7 });
  await buildIvfIndex(store, "idx", data, N, DIM, { quantizer: kind, distance, numPartitions: 12, seed: 3, maxIters: 8, threads: 1, ...(kind === "pq" ? { numSubVectors: 4 } : {}) });
  const index = await openVectorIndex(store, "idx", { cache: IndexCache.inMemory(64 * 1024 * 1024) });
  opened.push(index);
  return index;
}

afterAll(async () => {
  await Promise.all(opened.map((i) => i.close()));
});

const queries = gaussianMixture({ n: 256, dim: DIM, clusters: 12, seed: 8, centerSeed: 7 });
const batch = (n: number) => Array.from({ length: n }, (_, i) => queries.subarray(i * DIM, (i + 1) * DIM));

describe("searchBatch on worker threads equals the one-thread path", () => {
  const kinds: QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
  const metrics: DistanceType[] = ["l2", "cosine", "dot"];
  for (const kind of kinds) {
    for (const distance of metrics) {
      it(`${kind} / ${distance}: batches of 1, 16 and 256`, async () => {
        const index = await indexFor(kind, distance);
        for (const size of [1, 16, 256]) {
          const qs = batch(size);
          const one = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 1 });
          const two = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 2 });
          const three = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 3 });
          expect(two).toEqual(one);
          expect(three).toEqual(one);
          expect(one.every((hits) => hits.length === 7)).toBe(true);
        }
        // the threaded calls really ran on workers (a failed worker would fall back to this thread)
        const stats = index.searchThreadStats();
        expect(stats.workerTasks).toBeGreaterThanOrEqual(6);
        expect(stats.workerFailures).toBe(0);
        // and a single search on threads equals the single search on one thread
        expect(await index.search(queries.subarray(0, DIM), { k: 7, nprobes: 12, threads: 2 })).toEqual(await index.search(queries.subarray(0, DIM), { k: 7, nprobes: 12, threads: 1 }));
        if (kind !== "flat") {
          const qs = batch(16);
          expect(await index.searchBatch(qs, { k: 5, nprobes: 4, refineFactor: 3, threads: 2 })).toEqual(await index.searchBatch(qs, { k: 5, nprobes: 4, refineFactor: 3, threads: 1 }));
        }
      });
    }
  }
});

describe("threads option and the pool", () => {
  it("rejects a bad threads value before any work", async () => {
    const index = await indexFor("sq", "l2");
    await expect(index.searchBatch(batch(2), { threads: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.threads" });
    await expect(index.searchBatch(batch(2), { threads: 257 })).rejects.toMatchObject({ argument: "options.threads" });
    await expect(index.search(batch(1)[0]!, { threads: 1.5 as number })).rejects.toMatchObject({ argument: "options.threads" });
  });

  it("filters run on one thread with the same results", async () => {
    const index = await indexFor("pq", "l2");
    const qs = batch(16);
    const allowList = Array.from({ length: N / 2 }, (_, i) => 2 * i);
    const before = index.searchThreadStats().threadedScans;
    const a = await index.searchBatch(qs, { k: 5, allowList, threads: 2 });
    expect(index.searchThreadStats().threadedScans).toBe(before);
    const b = await index.searchBatch(qs, { k: 5, allowList, threads: 1 });
    expect(a).toEqual(b);
    expect(a.flat().every((h) => (h.id as number) % 2 === 0)).toBe(true);
  });

  it("close() stops the workers; later searches run on this thread with the same results", async () => {
    const index = await indexFor("sq", "cosine");
    const qs = batch(16);
    const before = await index.searchBatch(qs, { threads: 2 });
    expect(index.searchThreadStats().workerTasks).toBe(1);
    await index.close();
    expect(await index.searchBatch(qs, { threads: 2 })).toEqual(before);
    expect(index.searchThreadStats()).toMatchObject({ threadedScans: 1, workerTasks: 1 });
    await index.close(); // idempotent
  });

  it("an unclosed pool does not keep the process alive", async () => {
    const here = fileURLToPath(new URL(".", import.meta.url));
    const child = join(here, "search-pool-child.ts");
    const p = spawn(process.execPath, ["--import", "tsx", "--conditions=quiver-source", child], { cwd: join(here, "..", "..", ".."), stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (b: Buffer) => (out += b.toString()));
    // a generous deadline only turns a hang (the process kept alive by its workers) into a failure
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        p.kill("SIGKILL");
        resolve(null);
      }, 45_000);
      p.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).toBe(0);
    expect(out).toContain("searched 32 queries on 2 threads");
  });
});
