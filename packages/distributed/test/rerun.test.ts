/**
 * A rerun of a failed distributed build with the same arguments retries it: the first run's
 * shard fails (an injected failure before its commit, one attempt), so the build fails with
 * DIST_SHARD_FAILED and publishes nothing; the second run, with a healthy worker, removes the
 * failed flow, enqueues a fresh one, rebuilds only the shard that never committed, and publishes
 * version 1. Real redis-server; the store is one in-process MemoryObjectStore shared by the
 * coordinator and the in-process shard workers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IvfTrainedModel } from "@quiver/build";
import { MemoryObjectStore } from "@quiver/store";
import { latestSegmentVersion, listSegmentVersions } from "@quiver/segments";
import { type DistributedProgressEvent, runDistributedBuild, startShardWorker } from "../src/index.js";
import { type RedisServerHandle, STALL, dataDir, redisServerUnavailable, startRedisServer, trainTestModel } from "./helpers.js";

describe.skipIf(redisServerUnavailable() !== undefined)("rerun of a failed distributed build", () => {
  let redis: RedisServerHandle;
  let data: Awaited<ReturnType<typeof dataDir>>;
  let model: IvfTrainedModel;

  beforeAll(async () => {
    [redis, data] = await Promise.all([startRedisServer(), dataDir(3000, 16, 11)]);
    model = await trainTestModel(data.input);
  }, 60_000);
  afterAll(async () => Promise.all([redis?.stop(), data?.cleanup()]));

  it("fails with DIST_SHARD_FAILED, then the same arguments retry it and publish version 1 (committed shards reused)", async () => {
    const store = new MemoryObjectStore();
    const prefix = "rr";
    const args = { input: data.input, store, root: "idx", redis: redis.url, shards: 2, model, queuePrefix: prefix, ...STALL, threads: 1, attempts: 1, timeoutMs: 60_000 } as const;
    const failing = startShardWorker({
      redis: redis.url, store, queuePrefix: prefix, threads: 1, ...STALL,
      beforeCommit: (job) => {
        if (job.index === 1) throw new Error("injected failure before commit");
      },
    });
    let first: unknown;
    try {
      first = await runDistributedBuild(args).then(() => undefined, (e: unknown) => e);
    } finally {
      await failing.close();
    }
    expect(first).toMatchObject({ code: "DIST_SHARD_FAILED", shard: "shard-0001" });
    expect(await latestSegmentVersion(store, "idx")).toBeUndefined();

    // without the retry the second run found the failed flow and failed again at once
    const healthy = startShardWorker({ redis: redis.url, store, queuePrefix: prefix, threads: 1, ...STALL });
    const events: DistributedProgressEvent[] = [];
    try {
      const second = await runDistributedBuild({ ...args, onProgress: (e) => events.push(e) });
      expect(second).toMatchObject({ version: 1, resumed: true, alreadyPublished: false });
      const byShard = Object.fromEntries(second.shards.map((s) => [s.shard, s.status]));
      // shard 0 may have committed in the first run (then it is reused) or never run before the flow failed
      expect(byShard["shard-0001"]).toBe("built");
      expect(["built", "reused"]).toContain(byShard["shard-0000"]);
      expect(events.some((e) => e.type === "phase" && e.phase === "enqueue" && /retrying/.test(e.detail ?? ""))).toBe(true);
      expect(await listSegmentVersions(store, "idx")).toEqual([1]);
    } finally {
      await healthy.close();
    }
  }, 120_000);
});
