/**
 * The merge step rejects crafted bad shards before anything is published: each case runs the real
 * shard code (`runShard`, as a worker does) with one shard's job data tampered with, then the real
 * merge (`mergeShardResults`, as the merge job does), and expects the typed error naming that
 * shard and no manifest version. Also: the publish is idempotent (a second merge of the same
 * results returns the published version instead of publishing again).
 */
import { copyFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type IvfTrainedModel, encodeModelFile, encodeNpy, trainModel } from "@quiver/build";
import { MemoryObjectStore } from "@quiver/store";
import { QuiverSegmentError, latestSegmentVersion, listSegmentVersions } from "@quiver/segments";
import { type DistributedPlan, type ShardJobData, type ShardResult, inputVersionOf, mergeShardResults, planDistributedBuild, runShard, shardJobId } from "../src/index.js";
import { TUNING, dataDir } from "./helpers.js";

const N = 4000;
const DIM = 16;

describe("merge validation of crafted bad shards", () => {
  let data: Awaited<ReturnType<typeof dataDir>>;
  let model: IvfTrainedModel;
  let otherModel: IvfTrainedModel;

  beforeAll(async () => {
    data = await dataDir(N, DIM, 9);
    model = (await trainModel({ input: data.input, ...TUNING })).model;
    otherModel = (await trainModel({ input: data.input, ...TUNING, seed: 77 })).model;
  }, 60_000);
  afterAll(async () => data?.cleanup());

  /** A fresh store with a 4-shard plan; `tamper` edits one shard's job data before it runs. */
  async function run(root: string, tamper?: (s: ShardJobData, store: MemoryObjectStore) => Promise<ShardJobData>): Promise<{ store: MemoryObjectStore; plan: DistributedPlan; results: ShardResult[] }> {
    const store = new MemoryObjectStore();
    const { plan } = await planDistributedBuild({ input: data.input, store, root, shards: 4, model, threads: 1 });
    const results: ShardResult[] = [];
    for (const s of plan.shards) {
      const job = tamper === undefined || s.index !== 2 ? s : await tamper(s, store);
      results.push(await runShard(store, job, shardJobId(plan.buildKey, s.index), 1));
    }
    return { store, plan, results };
  }

  async function rejected(store: MemoryObjectStore, plan: DistributedPlan, results: ShardResult[]): Promise<QuiverSegmentError> {
    const e = await mergeShardResults(store, plan, results).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(QuiverSegmentError);
    expect(await latestSegmentVersion(store, plan.root)).toBeUndefined();
    return e as QuiverSegmentError;
  }

  it("a clean set merges into version 1, and merging it again returns version 1 (idempotent publish)", async () => {
    const { store, plan, results } = await run("ok");
    const first = await mergeShardResults(store, plan, results);
    expect(first).toMatchObject({ version: 1, alreadyPublished: false });
    const again = await mergeShardResults(store, plan, results);
    expect(again).toMatchObject({ version: 1, alreadyPublished: true });
    expect(await listSegmentVersions(store, "ok")).toEqual([1]);
    // a rerun of a committed shard reuses its segment instead of rebuilding it
    const rerun = await runShard(store, plan.shards[1]!, shardJobId(plan.buildKey, 1), 2);
    expect(rerun.status).toBe("reused");
    expect(rerun.descriptor).toEqual(results[1]!.descriptor);
    expect(rerun.io.writes).toBe(0);
  });

  it("a shard encoded with another model: SEGMENT_MODEL_MISMATCH naming shard-0002", async () => {
    const { store, plan, results } = await run("model", async (s, st) => {
      await st.put("model/other.qvm", encodeModelFile(otherModel));
      return { ...s, modelPath: "model/other.qvm" };
    });
    const e = await rejected(store, plan, results);
    expect(e.problems.some((p) => p.code === "SEGMENT_MODEL_MISMATCH" && p.shard === "shard-0002")).toBe(true);
  });

  it("a shard whose range overlaps its neighbour's: SEGMENT_ROWS_OVERLAP naming the shard", async () => {
    const { store, plan, results } = await run("overlap", async (s) => ({ ...s, range: { start: s.range.start - 10, end: s.range.end } }));
    const e = await rejected(store, plan, results);
    expect(e.problems.some((p) => p.code === "SEGMENT_ROWS_OVERLAP" && (p.shard === "shard-0002" || p.shard === "shard-0001"))).toBe(true);
  });

  it("a shard that covers fewer rows than planned: SEGMENT_ROWS_MISSING", async () => {
    const { store, plan, results } = await run("missing", async (s) => ({ ...s, range: { start: s.range.start + 25, end: s.range.end } }));
    const e = await rejected(store, plan, results);
    expect(e.problems.some((p) => p.code === "SEGMENT_ROWS_MISSING" || p.code === "SEGMENT_ROW_COUNT_MISMATCH")).toBe(true);
    // and a missing shard result altogether
    const { store: s2, plan: p2, results: r2 } = await run("missing2");
    const e2 = await rejected(s2, p2, r2.filter((r) => r.index !== 3));
    expect(e2.problems.some((p) => p.code === "SEGMENT_ROWS_MISSING" || p.code === "SEGMENT_ROW_COUNT_MISMATCH")).toBe(true);
  });

  it("a shard built from another input version (a copy of the file): SEGMENT_INPUT_VERSION_MISMATCH naming shard-0002", async () => {
    const copy = join(data.dir, "copy.npy");
    await copyFile(data.input, copy);
    const { store, plan, results } = await run("version", async (s) => ({ ...s, input: { ...s.input, path: copy, version: await inputVersionOf(copy) } }));
    const e = await rejected(store, plan, results);
    expect(e.problems.some((p) => p.code === "SEGMENT_INPUT_VERSION_MISMATCH" && p.shard === "shard-0002")).toBe(true);
  });

  it("the same shard twice (duplicate segment id and path) and a replaced segment file are rejected", async () => {
    const { store, plan, results } = await run("dup");
    const e = await rejected(store, plan, [...results, results[0]!]);
    expect(e.problems.some((p) => p.code === "SEGMENT_DUPLICATE_ID" || p.code === "SEGMENT_DUPLICATE_PATH")).toBe(true);
    // replace shard-0001's committed file by shard-0000's bytes: the identity no longer matches
    await store.put(results[1]!.descriptor.path, await store.get(results[0]!.descriptor.path));
    const t = await rejected(store, plan, results);
    expect(t.problems.some((p) => p.shard === "shard-0001" && (p.code === "SEGMENT_IDENTITY_MISMATCH" || p.code === "SEGMENT_DESCRIPTOR_MISMATCH"))).toBe(true);
  });

  it("a shard whose input changed before it ran fails with DIST_INPUT_CHANGED instead of building", async () => {
    const copy = join(data.dir, "changing.npy");
    await copyFile(data.input, copy);
    const store = new MemoryObjectStore();
    const { plan } = await planDistributedBuild({ input: copy, store, root: "changing", shards: 2, model, threads: 1 });
    await writeFile(copy, new Uint8Array(128));
    const e = await runShard(store, plan.shards[0]!, "j", 1).then(() => undefined, (x: unknown) => x);
    expect((e as { code?: string }).code).toBe("DIST_INPUT_CHANGED");
    expect((e as { shard?: string }).shard).toBe("shard-0000");
    expect(await store.list("changing/segments/")).toEqual([]);
  });

  it("with a user id column each shard records the ranges of the ids it read; the merge checks them for overlap", async () => {
    // ids in runs of 10 with gaps: 10 ranges per 100 rows, far above 2^53
    const ids = new BigUint64Array(N).map((_, i) => 2n ** 60n + BigInt(Math.floor(i / 10) * 1000 + (i % 10)));
    const idsFile = join(data.dir, "ids.npy");
    await writeFile(idsFile, encodeNpy("<u8", [N], new Uint8Array(ids.buffer)));
    const store = new MemoryObjectStore();
    const { plan } = await planDistributedBuild({ input: data.input, idsFile, store, root: "ids", shards: 4, model, threads: 1 });
    expect(plan.rowIdRanges).toBeUndefined();
    const results: ShardResult[] = [];
    for (const s of plan.shards) results.push(await runShard(store, s, shardJobId(plan.buildKey, s.index), 1));
    expect(results[0]!.descriptor.rowIdRanges).toHaveLength(100);
    expect(results[0]!.descriptor.rowIdRanges[0]).toEqual([String(2n ** 60n), String(2n ** 60n + 10n)]);
    expect((await mergeShardResults(store, plan, results)).version).toBe(1);
    // the same ids twice (shard 0 built again over shard 1's rows as a new segment id) overlap
    const dupStore = new MemoryObjectStore();
    const { plan: p2 } = await planDistributedBuild({ input: data.input, idsFile, store: dupStore, root: "ids2", shards: 4, model, threads: 1 });
    const r2: ShardResult[] = [];
    for (const s of p2.shards) r2.push(await runShard(dupStore, s.index === 1 ? { ...s, range: p2.shards[0]!.range } : s, shardJobId(p2.buildKey, s.index), 1));
    const e = await rejected(dupStore, p2, r2);
    expect(e.problems.some((p) => p.code === "SEGMENT_ROWS_OVERLAP")).toBe(true);
  });
});
