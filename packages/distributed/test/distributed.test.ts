/**
 * The distributed build end to end against a real redis-server and a real s3rver (both started
 * here on free loopback ports), with `quiver worker` processes: equal to the single-process build
 * over the same data and model, a worker SIGKILLed mid-shard, a coordinator SIGKILLed between
 * merge validation and publish, a reader pinned to a version while the next is published, gc.
 */
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex, encodeModelFile, type IvfTrainedModel } from "@quiver/build";
import { type VectorSearchHit, openVectorIndex } from "@quiver/ivf";
import { MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { gcSegments, latestSegmentVersion, mergeSegments, openSegmentedIndex, readSegmentManifest } from "@quiver/segments";
import { type DistributedBuildResult, closeStore, openStoreFromUri, runDistributedBuild, stagingDir } from "../src/index.js";
import {
  type QuiverProcess,
  type RedisServerHandle,
  type S3rverHandle,
  STALL,
  TUNING,
  dataDir,
  redisServerUnavailable,
  s3Uri,
  spawnQuiver,
  startRedisServer,
  startS3rver,
  startWorkers,
  trainTestModel,
} from "./helpers.js";

const N = 8000;
const DIM = 16;
const SEARCH = { k: 10, nprobes: 3 } as const;
// Each case waits on worker / coordinator processes whose own deadlines are 60-90 s (build timeoutMs,
// waitFor): the test's deadline sits above them, so a slow machine fails with their message, and a
// hang still fails.
const TEST_DEADLINE = 240_000;

function queriesOf(vectors: Float32Array, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) => vectors.slice(((i * 97) % N) * DIM, ((i * 97) % N) * DIM + DIM).map((v, j) => v + ((i + j) % 3) * 0.01));
}

function plain(hits: VectorSearchHit[][]): [string, number][][] {
  return hits.map((hs) => hs.map((h) => [String(h.id), h.distance]));
}

describe.skipIf(redisServerUnavailable() !== undefined)("distributed build over redis-server + s3rver with quiver worker processes", () => {
  let redis: RedisServerHandle;
  let s3: S3rverHandle;
  let data: Awaited<ReturnType<typeof dataDir>>;
  let model: IvfTrainedModel;
  let modelFile: string;
  let uri: string;
  let store: ObjectStore;
  let workers: QuiverProcess[] = [];
  let single: [string, number][][];
  let queries: Float32Array[];
  let clean: DistributedBuildResult;
  const prefix = "t1";

  beforeAll(async () => {
    [redis, s3, data] = await Promise.all([startRedisServer(), startS3rver(), dataDir(N, DIM)]);
    uri = s3Uri(s3.endpoint, s3.bucket, "idx");
    store = openStoreFromUri(uri);
    model = await trainTestModel(data.input);
    modelFile = join(data.dir, "model.qvm");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(modelFile, encodeModelFile(model));
    // the single-process build over the same rows with the same model
    const mem = new MemoryObjectStore();
    await buildIndex({ input: data.input, store: mem, path: "single.ivf", model, threads: 1 });
    queries = queriesOf(data.vectors, 40);
    single = plain(await (await openVectorIndex(mem, "single.ivf")).searchBatch(queries, SEARCH));
    workers = await startWorkers(2, redis.url, uri, prefix);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    if (store !== undefined) closeStore(store);
    await Promise.all([redis?.stop(), s3?.stop(), data?.cleanup()]);
  });

  it("a 4-shard build on 2 worker processes answers like the single-process build (4 segments, and merged into one)", { timeout: TEST_DEADLINE }, async () => {
    clean = await runDistributedBuild({ input: data.input, store, root: "clean", redis: redis.url, shards: 4, model, queuePrefix: prefix, ...STALL, threads: 1, timeoutMs: 90_000 });
    expect(clean.version).toBe(1);
    expect(clean.modelStatus).toBe("given");
    expect(clean.shards.map((s) => s.rows)).toEqual([2000, 2000, 2000, 2000]);
    expect(clean.shards.every((s) => s.status === "built" && s.io.writes > 0)).toBe(true);
    // every shard ran in a worker process, none in this one
    const pids = new Set(workers.map((w) => String(w.process.pid)));
    for (const s of clean.shards) expect(pids.has(s.worker.split(":").at(-1)!)).toBe(true);
    const m = await readSegmentManifest(store, "clean");
    expect(m.segments.map((s) => s.rows)).toEqual([2000, 2000, 2000, 2000]);
    expect(new Set(m.segments.map((s) => s.modelDigest)).size).toBe(1);

    const seg = await openSegmentedIndex(store, "clean");
    const four = plain(await seg.searchBatch(queries, SEARCH));
    expect(four).toEqual(single);

    // a reader pinned to version 1 while the physical merge publishes version 2 (and after gc keeping both)
    const merged = await mergeSegments(store, "clean", { targetSegmentBytes: 1 << 30 });
    expect(merged.version).toBe(2);
    const one = await openSegmentedIndex(store, "clean");
    expect(one.version).toBe(2);
    expect(one.manifest.segments).toHaveLength(1);
    expect(plain(await one.searchBatch(queries, SEARCH))).toEqual(single);
    expect(plain(await seg.searchBatch(queries, SEARCH))).toEqual(four);
    await gcSegments(store, "clean", { minAgeMs: 0, keepVersions: 2 });
    expect(plain(await seg.searchBatch(queries, SEARCH))).toEqual(four);
    expect(plain(await one.searchBatch(queries, SEARCH))).toEqual(single);
  });

  it("a worker SIGKILLed mid-shard: the job is stalled, retried by another worker, and the published index equals the clean one", { timeout: TEST_DEADLINE }, async () => {
    expect(clean).toBeDefined();
    const kp = "t3";
    const [paused] = await startWorkers(1, redis.url, uri, kp, { QUIVER_DIST_TEST_PAUSE_IN_SHARD: "1" });
    const build = runDistributedBuild({ input: data.input, store, root: "faulty", redis: redis.url, shards: 4, model, queuePrefix: kp, ...STALL, threads: 1, timeoutMs: 90_000 });
    let healthy: QuiverProcess[] = [];
    try {
      await paused!.waitFor(/paused in shard-\d+/);
      const victim = /paused in (shard-\d+)/.exec(paused!.stderr())![1]!;
      healthy = await startWorkers(1, redis.url, uri, kp);
      await paused!.kill("SIGKILL");
      const r = await build;
      const retried = r.shards.find((s) => s.shard === victim)!;
      expect(retried.attempt).toBeGreaterThanOrEqual(2);
      expect(retried.worker.split(":").at(-1)).toBe(String(healthy[0]!.process.pid));
      // same segments as the clean build: same content identity and model digest, shard by shard
      expect(r.shards.map((s) => [s.descriptor.indexIdentity, s.descriptor.modelDigest, s.descriptor.rows])).toEqual(
        clean.shards.map((s) => [s.descriptor.indexIdentity, s.descriptor.modelDigest, s.descriptor.rows]),
      );
      const seg = await openSegmentedIndex(store, "faulty");
      expect(plain(await seg.searchBatch(queries, SEARCH))).toEqual(single);

      // the killed attempt's staging dir is an orphan: gc keeps it while young, reclaims it once old enough, never a referenced segment
      const orphan = stagingDir("faulty", `${r.buildKey}-${victim}`, 1);
      expect((await store.list(`${orphan}/`)).length).toBeGreaterThan(0);
      const young = await gcSegments(store, "faulty", { minAgeMs: 3_600_000 });
      expect(young.deleted.filter((p) => p.startsWith(orphan))).toEqual([]);
      const dry = await gcSegments(store, "faulty", { minAgeMs: 0, dryRun: true });
      expect(dry.deleted.some((p) => p.startsWith(orphan))).toBe(true);
      expect((await store.list(`${orphan}/`)).length).toBeGreaterThan(0);
      const old = await gcSegments(store, "faulty", { minAgeMs: 0 });
      const referenced = (await readSegmentManifest(store, "faulty")).segments.map((s) => s.path);
      expect(old.deleted.some((p) => p.startsWith(orphan))).toBe(true);
      for (const p of referenced) expect(old.deleted).not.toContain(p);
      expect(await store.list(`${orphan}/`)).toEqual([]);
      expect(plain(await (await openSegmentedIndex(store, "faulty")).searchBatch(queries, SEARCH))).toEqual(single);
    } finally {
      await paused!.kill();
      await Promise.all(healthy.map((w) => w.kill()));
    }
  });

  it("a coordinator SIGKILLed between merge validation and publish: the restarted one publishes exactly one version", { timeout: TEST_DEADLINE }, async () => {
    const args = ["build", data.input, "--distributed", "--redis", redis.url, "--store", uri, "--shards", "4", "--out", "resumed", "--model", modelFile, "--threads", "1", "--queue-prefix", prefix, "--lock-duration", String(STALL.lockDurationMs), "--json", "--timeout", "90"];
    const first = spawnQuiver(args, { QUIVER_DIST_TEST_PAUSE_BEFORE_PUBLISH: "1" });
    await first.waitFor(/paused before publish/, 90_000);
    await first.kill("SIGKILL");
    expect(await latestSegmentVersion(store, "resumed")).toBeUndefined();
    const second = spawnQuiver(args);
    const code = await second.exited();
    expect(code, second.stderr()).toBe(0);
    const summary = JSON.parse(second.stdout()) as { version: number; resumed: boolean; alreadyPublished: boolean; shards: { status: string }[] };
    expect(summary).toMatchObject({ version: 1, resumed: true, alreadyPublished: false });
    // piped progress: one line per event, per shard
    for (const s of ["shard-0000", "shard-0003"]) expect(first.stderr()).toMatch(new RegExp(`build: ${s} completed`));
    expect(second.stderr()).toMatch(/build: publish done \(version 1\)/);
    const versions = await store.list("resumed/_versions/");
    expect(versions).toHaveLength(1);
    const segs = (await store.list("resumed/segments/")).filter((m) => m.path.endsWith(".ivf"));
    expect(segs).toHaveLength(4);
    const seg = await openSegmentedIndex(store, "resumed");
    expect(plain(await seg.searchBatch(queries, SEARCH))).toEqual(single);
    // a third run with the same arguments finds the completed flow: still one version
    const third = spawnQuiver(args);
    expect(await third.exited(), third.stderr()).toBe(0);
    expect(JSON.parse(third.stdout())).toMatchObject({ version: 1 });
    expect(await store.list("resumed/_versions/")).toHaveLength(1);
  });

  it("an input rewritten after planning fails its shards (DIST_INPUT_CHANGED) and nothing is published", { timeout: TEST_DEADLINE }, async () => {
    const copy = join(data.dir, "changing.npy");
    await copyFile(data.input, copy);
    const cp = "t4";
    const [paused] = await startWorkers(1, redis.url, uri, cp, { QUIVER_DIST_TEST_PAUSE_IN_SHARD: "1" });
    const build = runDistributedBuild({ input: copy, store, root: "changed", redis: redis.url, shards: 2, model, queuePrefix: cp, ...STALL, threads: 1, attempts: 1, timeoutMs: 60_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await paused!.waitFor(/paused in shard-\d+/);
    await paused!.kill();
    // rewrite the input in place (same size, new bytes and mtime) before any shard runs again
    const { open } = await import("node:fs/promises");
    const fh = await open(copy, "r+");
    await fh.write(new Uint8Array(64).fill(1), 0, 64, 200);
    await fh.close();
    const [w] = await startWorkers(1, redis.url, uri, cp);
    try {
      const e = (await build) as { code?: string; causeCode?: string; shard?: string };
      expect(e.code).toBe("DIST_SHARD_FAILED");
      expect(e.causeCode).toBe("DIST_INPUT_CHANGED");
      expect(e.shard).toMatch(/^shard-000[01]$/);
      expect(await latestSegmentVersion(store, "changed")).toBeUndefined();
    } finally {
      await w!.kill();
    }
  });
});
