/**
 * `gcAbandonedBuilds`: a build whose shards committed segments but that never published (a
 * permanently failed or given-up build) is reclaimed once its plan is `minAgeMs` old: its
 * segments, model and plan; a published build on the same root keeps every object; a young
 * build, a plan without a time and a root with an undecodable manifest keep everything.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IvfTrainedModel } from "@quiver/build";
import { MemoryObjectStore } from "@quiver/store";
import { openSegmentedIndex } from "@quiver/segments";
import { type DistributedPlan, buildDir, gcAbandonedBuilds, mergeShardResults, planDistributedBuild, runShard, shardJobId } from "../src/index.js";
import { dataDir, trainTestModel } from "./helpers.js";

const HOUR = 3_600_000;

describe("gc of abandoned distributed builds", () => {
  let data: Awaited<ReturnType<typeof dataDir>>;
  let model: IvfTrainedModel;

  beforeAll(async () => {
    data = await dataDir(2000, 16, 13);
    model = await trainTestModel(data.input);
  }, 60_000);
  afterAll(async () => data?.cleanup());

  async function shardsOf(store: MemoryObjectStore, shards: number): Promise<{ plan: DistributedPlan; results: Awaited<ReturnType<typeof runShard>>[] }> {
    const { plan } = await planDistributedBuild({ input: data.input, store, root: "idx", shards, model, threads: 1 });
    const results = [];
    for (const s of plan.shards) results.push(await runShard(store, s, shardJobId(plan.buildKey, s.index), 1));
    return { plan, results };
  }
  const paths = async (store: MemoryObjectStore): Promise<string[]> => (await store.list("idx/")).map((o) => o.path).sort();

  it("deletes an unpublished build's segments, model and plan once it is old; a published build keeps everything", async () => {
    const store = new MemoryObjectStore();
    const abandoned = await shardsOf(store, 2);
    const published = await shardsOf(store, 3);
    await mergeShardResults(store, published.plan, published.results);
    const before = await paths(store);
    const plannedAt = abandoned.plan.plannedAtMs!;
    expect(typeof plannedAt).toBe("number");

    const young = await gcAbandonedBuilds(store, "idx", { minAgeMs: HOUR, now: plannedAt + HOUR - 1 });
    expect(young).toMatchObject({ deleted: [], abandoned: [] });
    expect(await paths(store)).toEqual(before);

    const dry = await gcAbandonedBuilds(store, "idx", { minAgeMs: HOUR, now: plannedAt + 2 * HOUR, dryRun: true });
    expect(dry.abandoned).toEqual([abandoned.plan.buildKey]);
    expect(await paths(store)).toEqual(before);
    const dir = buildDir("idx", abandoned.plan.buildKey);
    const expected = [...abandoned.results.map((r) => r.descriptor.path), `${dir}/model.qvm`, `${dir}/plan.json`];
    expect([...dry.deleted].sort()).toEqual(expected.sort());
    expect(dry.deleted.at(-1)).toBe(`${dir}/plan.json`);

    const real = await gcAbandonedBuilds(store, "idx", { minAgeMs: HOUR, now: plannedAt + 2 * HOUR });
    expect(real.deleted).toEqual(dry.deleted);
    expect(real.kept).toEqual([published.plan.buildKey]);
    expect(await paths(store)).toEqual(before.filter((p) => !expected.includes(p)));
    // the published index is whole
    const index = await openSegmentedIndex(store, "idx");
    expect((await index.search(data.vectors.slice(0, 16), { k: 5, nprobes: 4 })).length).toBe(5);
    await index.close?.();
    // and a rerun of the abandoned build plans afresh
    const again = await planDistributedBuild({ input: data.input, store, root: "idx", shards: 2, model, threads: 1 });
    expect(again).toMatchObject({ resumed: false });
  }, 60_000);

  it("keeps a build whose plan has no time (written before plannedAtMs) and refuses when a manifest does not decode", async () => {
    const store = new MemoryObjectStore();
    const { plan } = await shardsOf(store, 2);
    const planPath = `${buildDir("idx", plan.buildKey)}/plan.json`;
    const { plannedAtMs: _dropped, ...old } = plan;
    await store.put(planPath, new TextEncoder().encode(JSON.stringify(old)));
    const r = await gcAbandonedBuilds(store, "idx", { minAgeMs: 0, now: Date.now() + 100 * HOUR });
    expect(r).toMatchObject({ deleted: [], abandoned: [], kept: [plan.buildKey] });

    await store.put(planPath, new TextEncoder().encode(JSON.stringify(plan)));
    await store.put("idx/_versions/00000000000000000001.json", new TextEncoder().encode("{not json"));
    const before = await paths(store);
    await expect(gcAbandonedBuilds(store, "idx", { minAgeMs: 0 })).rejects.toMatchObject({ name: "QuiverSegmentError" });
    expect(await paths(store)).toEqual(before);
  }, 60_000);

  it("validates its arguments first", async () => {
    const store = new MemoryObjectStore();
    await expect(gcAbandonedBuilds(store, "idx", { minAgeMs: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.minAgeMs" });
    await expect(gcAbandonedBuilds(store, "idx", { minAgeMs: 1, olderThan: 3 } as never)).rejects.toMatchObject({ code: "UNKNOWN_OPTION" });
    await expect(gcAbandonedBuilds(store, "/abs", { minAgeMs: 1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "root" });
  });
});
