/**
 * Every validation rule rejects a crafted bad shard with a typed error naming that shard, and
 * validation reads only segment headers/metadata: one ranged read per segment, counted at the
 * store layer.
 */
import { buildIndexInMemory } from "@quiver/build";
import { QuiverFormatError } from "@quiver/format";
import { gaussianMixture } from "@quiver/ivf";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { QuiverSegmentError, type SegmentDescriptor, checkSegments, describeSegment, latestSegmentVersion, publishSegments, validateSegments } from "../src/index.js";
import { DIM, type Fixture, buildSegment, buildSplit, trainSingle } from "./helpers.js";

let store: MemoryObjectStore;
let fx: Fixture;
let good: SegmentDescriptor[];
const PLAN = { rowIdRanges: [["0", "800"]] as [string, string][], totalRows: 800 };

beforeAll(async () => {
  store = new MemoryObjectStore();
  fx = await trainSingle(store, { n: 900, quantizer: "pq" });
  // four good segments of 200 rows over [0, 800); rows [800, 900) are left for crafted bad shards
  good = await buildSplit(store, { ...fx, n: 800 }, "idx", [200, 400, 600]);
});

async function rejects(segments: SegmentDescriptor[], code: string, shard: string | undefined, plan: object | undefined = PLAN): Promise<QuiverSegmentError> {
  const err = await validateSegments(store, segments, plan).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(QuiverSegmentError);
  const e = err as QuiverSegmentError;
  expect(e).toBeInstanceOf(QuiverFormatError);
  expect({ code: e.code, shard: e.shard }).toEqual({ code, shard });
  if (shard !== undefined) expect(e.message).toContain(`shard "${shard}"`);
  // publish refuses the same set and commits nothing
  const before = await latestSegmentVersion(store, "idx");
  await expect(publishSegments(store, "idx", segments, plan === undefined ? {} : { plan })).rejects.toMatchObject({ code });
  expect(await latestSegmentVersion(store, "idx")).toBe(before);
  return e;
}

/** A segment of rows [800, 900) built with another model, as shard "bad". */
async function badModelSegment(name: string, build: { dim?: number; distanceType?: "l2" | "cosine" | "dot"; quantizer?: "pq" | "sq" | "flat"; numSubVectors?: number; seed?: number; numPartitions?: number }): Promise<SegmentDescriptor> {
  const dim = build.dim ?? DIM;
  const vectors = dim === DIM ? fx.vectors.subarray(800 * DIM, 900 * DIM) : gaussianMixture({ n: 100, dim, clusters: 4, seed: 5 });
  const path = `idx/segments/${name}.ivf`;
  const ids = BigUint64Array.from({ length: 100 }, (_, i) => BigInt(800 + i));
  await buildIndexInMemory({
    store, path, vectors, dim, ids, threads: 1, numPartitions: build.numPartitions ?? 8, quantizer: build.quantizer ?? "pq", seed: build.seed ?? 3,
    ...(build.distanceType === undefined ? {} : { distanceType: build.distanceType }),
    ...(build.numSubVectors === undefined ? {} : { numSubVectors: build.numSubVectors }),
  });
  return describeSegment(store, path, { segmentId: name, shard: "bad", rowIdRanges: [["800", "900"]], inputVersion: good[0]!.inputVersion });
}

const PLAN900 = { rowIdRanges: [["0", "900"]] as [string, string][] };

describe("validation rules", () => {
  it("accepts the good set, reading one range per segment and never a row id", async () => {
    const io = new IoStatsStore(store);
    await validateSegments(io, good, PLAN);
    const s = io.snapshot().total;
    expect(s.readRequests).toBe(good.length);
    expect(s.heads + s.lists + s.writes).toBe(0);
    for (const d of good) expect(io.snapshot().perPath[d.path]!.readRequests).toBe(1);
  });

  it("reads headers and metadata only: large segments cost one 64 KiB read each", async () => {
    const big = new MemoryObjectStore();
    const fx2 = await trainSingle(big, { n: 6000, quantizer: "pq" });
    const segs = await buildSplit(big, fx2, "big", [2000, 4000], true);
    const io = new IoStatsStore(big);
    await validateSegments(io, segs, { rowIdRanges: [["0", "6000"]] });
    const s = io.snapshot().total;
    expect(s.readRequests).toBe(3);
    expect(s.bytesRead).toBe(3 * 64 * 1024);
    expect(s.bytesRead).toBeLessThan(segs.reduce((n, d) => n + d.bytes, 0) / 2);
  });

  it("different dims", async () => rejects([...good, await badModelSegment("dim8", { dim: 8, numSubVectors: 4 })], "SEGMENT_DIM_MISMATCH", "bad", PLAN900));
  it("different metric", async () => rejects([...good, await badModelSegment("cosine", { distanceType: "cosine" })], "SEGMENT_METRIC_MISMATCH", "bad", PLAN900));
  it("different quantizer parameters", async () => rejects([...good, await badModelSegment("pq4", { numSubVectors: 4 })], "SEGMENT_QUANTIZER_MISMATCH", "bad", PLAN900));
  it("different quantizer kind", async () => rejects([...good, await badModelSegment("sq", { quantizer: "sq" })], "SEGMENT_QUANTIZER_MISMATCH", "bad", PLAN900));
  it("different centroids/codebook (model digest)", async () => {
    const e = await rejects([...good, await badModelSegment("seed9", { seed: 9 })], "SEGMENT_MODEL_MISMATCH", "bad", PLAN900);
    // said once, from the file, not again from the descriptor
    expect(e.problems.filter((p) => p.code === "SEGMENT_MODEL_MISMATCH")).toHaveLength(1);
  });
  it("a plan's model digest blames every segment of another model", async () => {
    const other = await badModelSegment("seed11", { seed: 11 });
    await rejects([...good], "SEGMENT_MODEL_MISMATCH", "shard-0", { modelDigest: other.modelDigest });
  });

  it("overlapping row ranges (duplicate rows)", async () => {
    const dup = await buildSegment(store, fx, { root: "idx", start: 150, end: 250, segmentId: "overlap", shard: "bad" });
    await rejects([...good, dup], "SEGMENT_ROWS_OVERLAP", "bad", undefined);
  });

  it("missing rows against the plan", async () => {
    const e = await rejects(good.filter((d) => d.segmentId !== "seg-2"), "SEGMENT_ROWS_MISSING", undefined, { rowIdRanges: PLAN.rowIdRanges });
    expect(e.message).toContain("[400, 600)");
  });

  it("rows outside the plan", async () => rejects(good, "SEGMENT_ROWS_OUTSIDE_PLAN", "shard-3", { rowIdRanges: [["0", "700"]] }));

  it("rows != sum of range lengths", async () => {
    await rejects(good.map((d, i) => (i === 1 ? { ...d, rowIdRanges: [["200", "399"]] as [string, string][] } : d)), "SEGMENT_ROW_COUNT_MISMATCH", "shard-1", undefined);
  });

  it("the set's rows != the plan's totalRows", async () => rejects(good, "SEGMENT_ROW_COUNT_MISMATCH", undefined, { totalRows: 801 }));

  it("duplicate segmentId", async () => rejects(good.map((d, i) => (i === 2 ? { ...d, segmentId: "seg-0" } : d)), "SEGMENT_DUPLICATE_ID", "shard-2"));

  it("duplicate path (an input published twice)", async () => {
    await rejects([...good, { ...good[3]!, segmentId: "again", shard: "bad" }], "SEGMENT_DUPLICATE_PATH", "bad", undefined);
  });

  it("empty segment", async () => rejects([...good, { ...good[0]!, segmentId: "empty", shard: "bad", path: "idx/segments/empty.ivf", rows: 0, rowIdRanges: [] }], "SEGMENT_EMPTY", "bad", undefined));

  it("describeSegment refuses an empty segment file and ranges that do not match the rows", async () => {
    await expect(describeSegment(store, good[0]!.path, { segmentId: "x", shard: "s9", rowIdRanges: [["0", "199"]], inputVersion: "v" })).rejects.toMatchObject({ code: "SEGMENT_ROW_COUNT_MISMATCH", shard: "s9" });
    await expect(describeSegment(store, good[0]!.path, { segmentId: "x", shard: "s9", rowIdRanges: [["0", "150"], ["100", "250"]], inputVersion: "v" })).rejects.toMatchObject({ code: "SEGMENT_ROWS_OVERLAP" });
    await expect(describeSegment(store, good[0]!.path, { segmentId: "Bad Id", shard: "s9", rowIdRanges: [["0", "200"]], inputVersion: "v" })).rejects.toMatchObject({ code: "SEGMENT_BAD_DESCRIPTOR" });
    // touching ranges are merged into the canonical form
    const d = await describeSegment(store, good[0]!.path, { segmentId: "x", shard: "s9", rowIdRanges: [[100n, 200n], [0n, 100n]], inputVersion: "v" });
    expect(d.rowIdRanges).toEqual([["0", "200"]]);
    expect(d).toMatchObject({ rows: 200, indexIdentity: good[0]!.indexIdentity, modelDigest: good[0]!.modelDigest, bytes: good[0]!.bytes });
  });

  it("different input version", async () => rejects(good.map((d, i) => (i === 3 ? { ...d, inputVersion: "input.npy#size=1;mtime=2" } : d)), "SEGMENT_INPUT_VERSION_MISMATCH", "shard-3"));
  it("input version other than the plan's", async () => rejects(good, "SEGMENT_INPUT_VERSION_MISMATCH", "shard-0", { inputVersion: "etag-123" }));

  it("a descriptor whose file was replaced (identity mismatch)", async () => {
    const d = await buildSegment(store, fx, { root: "idx", start: 800, end: 900, segmentId: "replaced", shard: "bad" });
    // the file at that path is replaced by another complete segment file
    await buildSegment(store, fx, { root: "idx", start: 800, end: 899, segmentId: "replaced", shard: "bad", path: d.path }).catch(() => undefined);
    const e = await rejects([...good, d], "SEGMENT_IDENTITY_MISMATCH", "bad", PLAN900);
    expect(e.problems.map((p) => p.code)).toContain("SEGMENT_DESCRIPTOR_MISMATCH"); // 99 rows, not 100
  });

  it("a descriptor with a wrong size or model digest", async () => {
    await rejects(good.map((d, i) => (i === 1 ? { ...d, bytes: d.bytes + 8 } : d)), "SEGMENT_DESCRIPTOR_MISMATCH", "shard-1");
    await rejects(good.map((d, i) => (i === 1 ? { ...d, modelDigest: "ab".repeat(32) } : d)), "SEGMENT_DESCRIPTOR_MISMATCH", "shard-1");
  });

  it("a corrupt segment file (QuiverFormatError wrapped with the shard)", async () => {
    const d = await buildSegment(store, fx, { root: "idx", start: 800, end: 900, segmentId: "corrupt", shard: "bad" });
    const bytes = await store.get(d.path);
    bytes[40] = bytes[40]! ^ 0xff; // inside the checksummed header
    await store.put(d.path, bytes);
    const e = await rejects([...good, d], "SEGMENT_UNREADABLE", "bad", PLAN900);
    expect(e.cause).toBeInstanceOf(QuiverFormatError);
    expect(e.problems[0]!.causeCode).toBe((e.cause as QuiverFormatError).code);
    expect(e.message).toContain((e.cause as QuiverFormatError).code);
  });

  it("a missing segment file", async () => {
    const e = await rejects([...good, { ...good[0]!, segmentId: "gone", shard: "bad", path: "idx/segments/gone.ivf", rowIdRanges: [["800", "1000"]] }], "SEGMENT_UNREADABLE", "bad", undefined);
    expect(e.problems[0]!.causeCode).toBe("NOT_FOUND");
  });

  it("malformed descriptors are problems, not crashes", async () => {
    const problems = await checkSegments(store, [...good, { ...good[0]!, segmentId: "x", rowIdRanges: [["5", "1"]] }, { nonsense: true } as unknown as SegmentDescriptor, { ...good[0]!, segmentId: "y", rowIdRanges: [["900", "950"], ["960", "955"]] }]);
    expect(new Set(problems.map((p) => p.code))).toEqual(new Set(["SEGMENT_BAD_DESCRIPTOR"]));
    expect(problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([expect.stringContaining("segments[4]: rowIdRanges[0] is empty or reversed"), expect.stringContaining("segments[5]: unknown field"), expect.stringContaining("segments[6]: rowIdRanges[1] is empty or reversed")]),
    );
    expect(problems.filter((p) => p.message.startsWith("segments[4]"))[0]!.shard).toBe("shard-0");
  });

  it("checkSegments lists every problem of a set with several bad shards", async () => {
    const problems = await checkSegments(store, good.map((d, i) => (i === 1 ? { ...d, inputVersion: "other" } : i === 2 ? { ...d, segmentId: "seg-0" } : d)));
    expect(problems.map((p) => [p.code, p.shard])).toEqual([
      ["SEGMENT_DUPLICATE_ID", "shard-2"],
      ["SEGMENT_INPUT_VERSION_MISMATCH", "shard-1"],
    ]);
  });
});
