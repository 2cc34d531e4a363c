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
import { PROBE_EVERY_MAX, ThreadCostModel, planChunks, searchTestHooks } from "../src/search-pool.js";
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

/** Runs `fn` with the search test hooks set (restored after). */
async function withHooks<T>(hooks: Partial<typeof searchTestHooks>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...searchTestHooks };
  Object.assign(searchTestHooks, hooks);
  try {
    return await fn();
  } finally {
    Object.assign(searchTestHooks, saved);
  }
}

/** Chunks small enough that every partition is cut by queries and by row ranges. */
const TINY_CHUNKS = { minChunkCost: 64, minChunkRows: 16 };

describe("searchBatch on worker threads equals the one-thread path", () => {
  const kinds: QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
  const metrics: DistanceType[] = ["l2", "cosine", "dot"];
  for (const kind of kinds) {
    for (const distance of metrics) {
      it(`${kind} / ${distance}: batches of 1, 16 and 256, workers alone and with this thread, partitions cut by rows`, async () => {
        const index = await indexFor(kind, distance);
        for (const size of [1, 16, 256]) {
          const qs = batch(size);
          const one = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 1 });
          // the workers score every chunk (this thread only merges)
          const workersOnly = await withHooks({ mainClaims: false, ...TINY_CHUNKS }, () => index.searchBatch(qs, { k: 7, nprobes: 5, threads: 2 }));
          // this thread and the worker claim chunks as they come
          const mixed = await withHooks(TINY_CHUNKS, () => index.searchBatch(qs, { k: 7, nprobes: 5, threads: 3 }));
          const whole = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 2 });
          expect(workersOnly).toEqual(one);
          expect(mixed).toEqual(one);
          expect(whole).toEqual(one);
          expect(one.every((hits) => hits.length === 7)).toBe(true);
        }
        // the threaded calls really ran on workers (a failed worker would leave its chunks to this thread)
        const stats = index.searchThreadStats();
        expect(stats.workerTasks).toBeGreaterThanOrEqual(3);
        expect(stats.workerChunks).toBeGreaterThan(0);
        expect(stats.workerRowScores).toBeGreaterThan(0);
        expect(stats.workerFailures).toBe(0);
        expect(stats.rescannedChunks).toBe(0);
        // and a single search on threads equals the single search on one thread
        const q0 = queries.subarray(0, DIM);
        expect(await withHooks({ mainClaims: false, ...TINY_CHUNKS }, () => index.search(q0, { k: 7, nprobes: 12, threads: 2 }))).toEqual(await index.search(q0, { k: 7, nprobes: 12, threads: 1 }));
        if (kind !== "flat") {
          const qs = batch(16);
          const ref = await index.searchBatch(qs, { k: 5, nprobes: 4, refineFactor: 3, threads: 1 });
          expect(await withHooks({ mainClaims: false, ...TINY_CHUNKS }, () => index.searchBatch(qs, { k: 5, nprobes: 4, refineFactor: 3, threads: 2 }))).toEqual(ref);
          expect(await withHooks(TINY_CHUNKS, () => index.searchBatch(qs, { k: 5, nprobes: 4, refineFactor: 3, threads: 2 }))).toEqual(ref);
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

  it("close() stops the workers and frees the partitions they hold; later searches run on this thread with the same results", async () => {
    const index = await indexFor("sq", "cosine");
    const qs = batch(16);
    const before = await withHooks({ mainClaims: false }, () => index.searchBatch(qs, { threads: 2 }));
    const held = index.searchThreadStats();
    expect(held.workerTasks).toBe(1);
    expect(held.residentPartitions).toBeGreaterThan(0);
    expect(held.residentBytes).toBeGreaterThan(0);
    await index.close();
    expect(index.searchThreadStats()).toMatchObject({ residentPartitions: 0, residentBytes: 0 });
    expect(await index.searchBatch(qs, { threads: 2 })).toEqual(before);
    expect(index.searchThreadStats()).toMatchObject({ threadedScans: 1, workerTasks: 1, residentPartitions: 0 });
    await index.close(); // idempotent
  });

  it("a second batch hands no partition over again (the workers keep them)", async () => {
    const index = await indexFor("pq", "cosine");
    const qs = batch(32);
    await withHooks({ mainClaims: false }, () => index.searchBatch(qs, { threads: 2 }));
    const first = index.searchThreadStats().residentPartitions;
    await withHooks({ mainClaims: false }, () => index.searchBatch(qs, { threads: 2 }));
    expect(index.searchThreadStats().residentPartitions).toBe(first);
    await index.close();
  });

  it("a worker that dies mid-batch leaves its chunks to this thread: same results, no hang", async () => {
    process.env.QUIVER_SEARCH_WORKER_FAULT = "exit";
    let index: IvfVectorIndex;
    try {
      index = await indexFor("pq", "l2");
      // the pool starts (workers read the variable) during the first threaded search
      const qs = batch(64);
      const one = await index.searchBatch(qs, { k: 7, nprobes: 5, threads: 1 });
      const two = await withHooks({ mainClaims: false, ...TINY_CHUNKS }, () => index.searchBatch(qs, { k: 7, nprobes: 5, threads: 2 }));
      expect(two).toEqual(one);
      // and again with the replacement worker (which dies the same way)
      expect(await withHooks({ mainClaims: false, ...TINY_CHUNKS }, () => index.searchBatch(qs, { k: 7, nprobes: 5, threads: 2 }))).toEqual(one);
      const stats = index.searchThreadStats();
      expect(stats.workerFailures).toBeGreaterThanOrEqual(2);
      expect(stats.rescannedChunks).toBeGreaterThan(0);
    } finally {
      delete process.env.QUIVER_SEARCH_WORKER_FAULT;
    }
    await index.close();
  }, 60_000);

  it("skewed partitions (one holds most rows) are cut by row range; results equal one thread", async () => {
    const store = new MemoryObjectStore();
    // 5000 rows around one point and 1000 spread over 9 clusters: one partition of thousands of rows
    const big = gaussianMixture({ n: 5000, dim: DIM, clusters: 1, seed: 11 });
    const rest = gaussianMixture({ n: 1000, dim: DIM, clusters: 9, seed: 12 });
    const data = new Float32Array(6000 * DIM);
    data.set(big);
    data.set(rest, big.length);
    await buildIvfIndex(store, "idx", data, 6000, DIM, { quantizer: "pq", distance: "l2", numPartitions: 10, seed: 3, maxIters: 8, threads: 1, numSubVectors: 4 });
    const index = await openVectorIndex(store, "idx", { cache: IndexCache.inMemory(64 * 1024 * 1024) });
    opened.push(index);
    const qs = Array.from({ length: 4 }, (_, i) => big.subarray(i * DIM, (i + 1) * DIM));
    const one = await index.searchBatch(qs, { k: 10, nprobes: 3, threads: 1 });
    const two = await withHooks({ mainClaims: false, minChunkCost: 1024, minChunkRows: 256 }, () => index.searchBatch(qs, { k: 10, nprobes: 3, threads: 2 }));
    expect(two).toEqual(one);
    // refine after a threaded scan whose big partition was cut by row range: the same ids and distances
    for (const hooks of [{ mainClaims: false, minChunkCost: 1024, minChunkRows: 256 }, { minChunkCost: 512, minChunkRows: 128 }]) {
      const refined = await withHooks(hooks, () => index.searchBatch(qs, { k: 10, nprobes: 3, refineFactor: 4, threads: 2 }));
      expect(refined).toEqual(await index.searchBatch(qs, { k: 10, nprobes: 3, refineFactor: 4, threads: 1 }));
    }
    // one query, one partition: every chunk past the first is a row range of it
    const before = index.searchThreadStats().workerChunks;
    const single = await withHooks({ mainClaims: false, minChunkCost: 64, minChunkRows: 64 }, () => index.searchBatch(qs.slice(0, 1), { k: 10, nprobes: 1, threads: 2 }));
    expect(single).toEqual(await index.searchBatch(qs.slice(0, 1), { k: 10, nprobes: 1, threads: 1 }));
    expect(index.searchThreadStats().workerChunks - before).toBeGreaterThan(4);
    expect(index.searchThreadStats().rescannedChunks).toBe(0);
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

describe("planChunks", () => {
  /** Every (partition, user, row) exactly once, and chunk costs largest first. */
  function checkCover(rows: number[], users: number[], threads: number): Int32Array {
    const chunks = planChunks(rows, users, threads);
    const seen = rows.map((n, j) => new Uint8Array(n * users[j]!));
    let last = Number.POSITIVE_INFINITY;
    for (let at = 0; at < chunks.length; at += 5) {
      const [j, start, end, from, to] = Array.from(chunks.subarray(at, at + 5));
      const cost = (end! - start!) * (to! - from!);
      expect(cost).toBeGreaterThan(0);
      expect(cost).toBeLessThanOrEqual(last);
      last = cost;
      for (let u = from!; u < to!; u++) for (let r = start!; r < end!; r++) seen[j!]![u * rows[j!]! + r]! += 1;
    }
    for (const s of seen) expect(s.every((v) => v === 1)).toBe(true);
    return chunks;
  }

  it("cuts a huge partition of one query by row range, and covers every row of every user once", () => {
    const chunks = checkCover([200_000, 300, 0, 5000], [1, 2, 3, 4], 2);
    const ofBig = Array.from({ length: chunks.length / 5 }, (_, c) => chunks[c * 5]!).filter((j) => j === 0).length;
    expect(ofBig).toBeGreaterThan(4);
    expect(planChunks([0], [5], 2).length).toBe(0);
  });

  it("splits many users of one partition into query groups before row ranges", () => {
    const chunks = checkCover([3000], [256], 2);
    for (let at = 0; at < chunks.length; at += 5) expect(chunks[at + 2]! - chunks[at + 1]!).toBe(3000);
    expect(chunks.length / 5).toBeGreaterThan(1);
  });

  it("covers random plans exactly once", () => {
    for (let t = 0; t < 30; t++) {
      const J = 1 + (t % 7);
      const rows = Array.from({ length: J }, (_, j) => ((t * 7919 + j * 104729) % 40_000) + (j % 3 === 0 ? 0 : 1));
      const users = Array.from({ length: J }, (_, j) => 1 + ((t + j * 13) % 9));
      checkCover(rows, users, 2 + (t % 3));
    }
  });
});

/**
 * Drives `m` like the reader does: `n` decisions for scans of `rowScores`, each followed by the
 * measurement of the kind chosen, taken from `ns` (ns per row score of each kind at decision i).
 */
function drive(m: ThreadCostModel, rowScores: number, n: number, ns: (i: number) => { one: number; threaded: number }): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    const yes = m.worthThreading(rowScores);
    out.push(yes);
    const f = ns(i);
    if (yes) m.threaded(0.05, 0.5, rowScores, (f.threaded * rowScores) / 1e6);
    else m.scanned(rowScores, (f.one * rowScores) / 1e6);
  }
  return out;
}

describe("ThreadCostModel", () => {
  const S = 4_200_000;
  it("a new size class follows the estimate first, then measures both kinds twice before its figures decide", () => {
    const m = new ThreadCostModel(2);
    m.overheadMs = 0.01;
    // estimate: 4.2M x 1 ns x 0.5 = 2.1 ms of worker work > 2 x 0.01 ms: thread first, then alternate
    expect(drive(m, S, 4, () => ({ one: 1, threaded: 0.6 }))).toEqual([true, false, true, false]);
    // the figures now say threaded (0.6 < 0.9 x 1): threaded, apart from probes of one thread
    const next = drive(m, S, 200, () => ({ one: 1, threaded: 0.6 }));
    expect(next.filter(Boolean).length).toBeGreaterThan(190);
    // with a high overhead the estimate keeps the first scan of a new class on this thread
    const m2 = new ThreadCostModel(2);
    m2.overheadMs = 50;
    expect(m2.worthThreading(S)).toBe(false);
  });

  it("keeps a class on this thread when threaded scans are not >= 10% faster, probing with gaps that grow to PROBE_EVERY_MAX", () => {
    for (const threaded of [2, 0.95]) {
      const m = new ThreadCostModel(2);
      const d = drive(m, S, 1000, () => ({ one: 1, threaded }));
      const after = d.slice(4);
      const probes = after.filter(Boolean).length;
      // gaps 8, 16, 32, 64, then 128: about 12 probes in ~1000 decisions, never one in 16
      expect(probes).toBeGreaterThanOrEqual(4);
      expect(probes).toBeLessThanOrEqual(16);
      const at = after.flatMap((y, i) => (y ? [i] : []));
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(PROBE_EVERY_MAX);
      expect(at.at(-1)! - at.at(-2)!).toBe(PROBE_EVERY_MAX);
      expect(m.probes).toBe(probes);
    }
  });

  it("never gets stuck: a class declined while the machine was busy goes back to threads within one probe gap once it frees up, and back again when it is busy", () => {
    const m = new ThreadCostModel(2);
    // busy: threaded scans take 3x as long as on one thread
    const busy = drive(m, S, 600, () => ({ one: 1, threaded: 3 }));
    expect(busy.slice(-200).filter(Boolean).length).toBeLessThanOrEqual(2);
    // the machine frees up at decision 600: threaded is now 0.55 ns
    const free = drive(m, S, PROBE_EVERY_MAX + 20, () => ({ one: 1, threaded: 0.55 }));
    const first = free.indexOf(true);
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).toBeLessThanOrEqual(PROBE_EVERY_MAX);
    // from the first probe on, the class is threaded (apart from probes of one thread)
    expect(free.slice(first).filter((y) => !y).length).toBeLessThanOrEqual(3);
    // busy again: threaded scans are measured each time, so within a few scans it leaves them
    const again = drive(m, S, 50, () => ({ one: 1, threaded: 3 }));
    expect(again.slice(10).filter(Boolean).length).toBeLessThanOrEqual(2);
  });

  it("keeps classes apart and never threads a scan below the smallest threaded size", () => {
    const m = new ThreadCostModel(2);
    drive(m, S, 300, () => ({ one: 1, threaded: 3 }));
    // another class has no figures: the estimate (4 ms of worker work vs 2 x 0.2 ms) says thread
    expect(m.worthThreading(33_000_000)).toBe(true);
    m.overheadMs = 0;
    expect(Array.from({ length: 300 }, () => m.worthThreading(60_000)).some(Boolean)).toBe(false);
  });
});
