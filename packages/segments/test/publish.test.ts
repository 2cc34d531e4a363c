/**
 * The commit rule (one conditional create per version, optimistic concurrency), reader pinning
 * (an open index never re-lists and is not affected by a later publish), and gc's rule, over a
 * memory store and a real local directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexCache } from "@quiver/cache";
import { IoStatsStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  QuiverSegmentError,
  type SegmentDescriptor,
  beginStaging,
  gcSegments,
  latestSegmentVersion,
  mergeSegments,
  openSegmentedIndex,
  publishSegments,
  readSegmentManifest,
  versionPath,
} from "../src/index.js";
import { type Fixture, buildSegment, buildSplit, queries, trainSingle } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function localStore(): LocalDirectoryStore {
  const d = mkdtempSync(join(tmpdir(), "quiver-segments-"));
  dirs.push(d);
  return new LocalDirectoryStore(d);
}

describe.each([
  ["memory", () => new MemoryObjectStore()],
  ["local directory", localStore],
] as const)("publish over a %s store", (_name, make) => {
  let store: ObjectStore;
  let fx: Fixture;
  let segs: SegmentDescriptor[];
  beforeAll(async () => {
    store = make();
    fx = await trainSingle(store, { n: 600, quantizer: "sq" });
    segs = await buildSplit(store, fx, "idx", [200, 400]);
  });

  it("versions count up from 1; each is one immutable object under _versions/", async () => {
    expect(await latestSegmentVersion(store, "idx")).toBeUndefined();
    await expect(readSegmentManifest(store, "idx")).rejects.toMatchObject({ code: "SEGMENT_VERSION_NOT_FOUND" });
    const a = await publishSegments(store, "idx", segs, { expectedVersion: 0, now: Date.UTC(2026, 0, 1) });
    expect(a).toEqual({ version: 1, manifestPath: "idx/_versions/00000000000000000001.json" });
    const b = await publishSegments(store, "idx", segs.slice(0, 2), { expectedVersion: 1 });
    expect(b.version).toBe(2);
    const m1 = await readSegmentManifest(store, "idx", { version: 1 });
    expect(m1).toMatchObject({ version: 1, dims: 16, distanceType: "l2", createdAt: "2026-01-01T00:00:00.000Z", modelDigest: segs[0]!.modelDigest });
    expect(m1.segments).toEqual(segs);
    expect((await readSegmentManifest(store, "idx")).segments).toHaveLength(2);
    await expect(readSegmentManifest(store, "idx", { version: 3 })).rejects.toMatchObject({ code: "SEGMENT_VERSION_NOT_FOUND" });
  });

  it("a stale expectedVersion is SEGMENT_VERSION_CONFLICT and commits nothing", async () => {
    const before = await latestSegmentVersion(store, "idx");
    const e = await publishSegments(store, "idx", segs, { expectedVersion: 1 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(QuiverSegmentError);
    expect(e).toMatchObject({ code: "SEGMENT_VERSION_CONFLICT", stage: "publish" });
    expect(await latestSegmentVersion(store, "idx")).toBe(before);
  });

  it("two racing publishes of the same next version: exactly one commits, the other gets a conflict", async () => {
    const v = (await latestSegmentVersion(store, "idx"))!;
    const results = await Promise.allSettled([publishSegments(store, "idx", segs, { expectedVersion: v }), publishSegments(store, "idx", segs.slice(1), { expectedVersion: v })]);
    const ok = results.filter((r) => r.status === "fulfilled");
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed.map((r) => (r.reason as QuiverSegmentError).code)).toEqual(["SEGMENT_VERSION_CONFLICT"]);
    expect(await latestSegmentVersion(store, "idx")).toBe(v + 1);
  });

  it("refuses segment paths outside the root", async () => {
    await expect(publishSegments(store, "other", segs)).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "segments[0].path" });
    await expect(publishSegments(store, "idx", segs, { bogus: 1 } as never)).rejects.toMatchObject({ code: "UNKNOWN_OPTION" });
  });
});

describe("reader pinning", () => {
  it("an open index keeps answering from its version while new versions are published, merged and gc'd, with no list request", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 800, quantizer: "pq" });
    const segs = await buildSplit(store, fx, "idx", [200, 400, 600]);
    await publishSegments(store, "idx", segs.slice(0, 2), { expectedVersion: 0 });
    const io = new IoStatsStore(store);
    const old = await openSegmentedIndex(io, "idx");
    const qs = queries(fx, 6);
    const before = await old.searchBatch(qs, { k: 5, nprobes: 8 });
    expect(before.flat().every((h) => Number(h.id) < 400)).toBe(true);
    // a new version with all four segments, then a merge of them into one
    await publishSegments(store, "idx", segs, { expectedVersion: 1 });
    await mergeSegments(store, "idx", { targetSegmentBytes: 1 << 30, expectedVersion: 2 });
    io.reset();
    expect(await old.searchBatch(qs, { k: 5, nprobes: 8 })).toEqual(before);
    expect(old.version).toBe(1);
    expect(io.snapshot().total.lists).toBe(0);
    const fresh = await openSegmentedIndex(store, "idx");
    expect(fresh.version).toBe(3);
    expect((await fresh.searchBatch(qs, { k: 5, nprobes: 8 })).flat().some((h) => Number(h.id) >= 400)).toBe(true);
    const pinnedAgain = await openSegmentedIndex(store, "idx", { version: 1 });
    expect(await pinnedAgain.searchBatch(qs, { k: 5, nprobes: 8 })).toEqual(before);
  });

  it("a pinned reopen through a warm cache makes one store request (the manifest get), and its searches none", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 600, quantizer: "pq" });
    const segs = await buildSplit(store, fx, "idx", [200, 400]);
    await publishSegments(store, "idx", segs);
    const cache = IndexCache.inMemory(64 * 1024 * 1024);
    const warm = await openSegmentedIndex(store, "idx", { cache, prewarm: true });
    const qs = queries(fx, 4);
    const want = await warm.searchBatch(qs, { k: 5, nprobes: 8, refineFactor: 2 });
    const io = new IoStatsStore(store);
    const again = await openSegmentedIndex(io, "idx", { cache, version: 1 });
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, lists: 0, heads: 0 });
    expect(await again.searchBatch(qs, { k: 5, nprobes: 8, refineFactor: 2 })).toEqual(want);
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, lists: 0, heads: 0 });
  });

  it("a segment file replaced under a committed manifest is refused at open (SEGMENT_IDENTITY_MISMATCH)", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 400, quantizer: "flat" });
    const segs = await buildSplit(store, fx, "idx", [200]);
    await publishSegments(store, "idx", segs);
    await buildSegment(store, fx, { root: "idx", start: 200, end: 400, segmentId: "seg-1", shard: "shard-1", path: segs[1]!.path, storeRawVectors: false });
    await expect(openSegmentedIndex(store, "idx")).rejects.toMatchObject({ code: "SEGMENT_IDENTITY_MISMATCH", shard: "shard-1" });
  });
});

describe("gcSegments", () => {
  const HOUR = 3600_000;
  const T0 = Date.UTC(2026, 5, 1);

  it("reclaims a killed worker's staging directory once its lease is older than minAgeMs, never a published one", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 400, quantizer: "sq" });
    const liveDir = await beginStaging(store, "idx", { jobId: "job1", attempt: 0, now: T0 });
    const live = await buildSegment(store, fx, { root: "idx", start: 0, end: 400, segmentId: "live", shard: "shard-0", path: `${liveDir}/live.ivf` });
    await publishSegments(store, "idx", [live], { now: T0 });
    const deadDir = await beginStaging(store, "idx", { jobId: "job2", attempt: 0, now: T0 });
    expect(deadDir).toBe("idx/_staging/job2-0");
    await buildSegment(store, fx, { root: "idx", start: 0, end: 200, segmentId: "dead", shard: "shard-1", path: `${deadDir}/dead.ivf` });
    await store.put("idx/notes/readme.txt", new Uint8Array(3)); // not ours: never deleted
    await store.put("idx/_staging/nolease-0/x.ivf", new Uint8Array(3)); // no lease: never deleted
    expect(await gcSegments(store, "idx", { now: T0 + HOUR })).toEqual({ deleted: [], kept: 6 });
    const dry = await gcSegments(store, "idx", { now: T0 + 25 * HOUR, dryRun: true });
    expect(dry).toEqual({ deleted: ["idx/_staging/job2-0/dead.ivf", "idx/_staging/job2-0/_lease.json"], kept: 4 });
    expect((await store.list("idx/_staging/job2-0/")).length).toBe(2);
    expect(await gcSegments(store, "idx", { now: T0 + 25 * HOUR })).toEqual(dry);
    expect((await store.list("idx/_staging/job2-0/")).length).toBe(0);
    expect((await store.list(`${liveDir}/`)).map((o) => o.path)).toEqual([`${liveDir}/_lease.json`, live.path]);
    await openSegmentedIndex(store, "idx"); // still opens
  });

  it("segments replaced by a merge go once keepVersions newer versions exist and the replacing commit is old enough", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 600, quantizer: "pq" });
    const segs = await buildSplit(store, fx, "idx", [200, 400]);
    await publishSegments(store, "idx", segs, { now: T0 });
    const old = await openSegmentedIndex(store, "idx");
    await mergeSegments(store, "idx", { targetSegmentBytes: 1 << 30, now: T0 + HOUR });
    // keepVersions 2 (default): version 1's segments are still retained
    expect((await gcSegments(store, "idx", { now: T0 + 100 * HOUR })).deleted).toEqual([]);
    await old.search(queries(fx, 1)[0]!, { k: 3 });
    // keepVersions 1: they go, but only once the merge commit is minAgeMs old
    expect((await gcSegments(store, "idx", { keepVersions: 1, now: T0 + 2 * HOUR })).deleted).toEqual([]);
    const r = await gcSegments(store, "idx", { keepVersions: 1, now: T0 + 26 * HOUR });
    expect(r.deleted).toEqual(segs.map((s) => s.path));
    const merged = await openSegmentedIndex(store, "idx");
    expect((await merged.search(queries(fx, 1)[0]!, { k: 3 })).length).toBe(3);
    expect(await store.head(versionPath("idx", 1))).toBeDefined(); // versions are never deleted
  });

  it("refuses to delete anything when a manifest does not decode", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 300, quantizer: "flat" });
    const dir = await beginStaging(store, "idx", { jobId: "j", attempt: 3, now: T0 });
    await buildSegment(store, fx, { root: "idx", start: 0, end: 300, segmentId: "s", shard: "s", path: `${dir}/s.ivf` });
    await store.put(versionPath("idx", 1), new TextEncoder().encode("{ not json"));
    await expect(gcSegments(store, "idx", { now: T0 + 100 * HOUR, minAgeMs: 0 })).rejects.toMatchObject({ code: "SEGMENT_GC_REFUSED" });
    expect((await store.list(`${dir}/`)).length).toBe(2);
  });
});
