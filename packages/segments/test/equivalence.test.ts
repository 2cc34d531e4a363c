/**
 * Search over segments sharing one model answers exactly like one index over the same rows
 * (ids and distances, ties by ascending id), with and without refine, for single and batched
 * queries; and so does the physically merged index.
 */
import { openVectorIndex } from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { mergeSegments, openSegmentedIndex, publishSegments, readSegmentManifest } from "../src/index.js";
import { buildSplit, queries, trainSingle } from "./helpers.js";

describe.each([
  ["pq", "l2"],
  ["sq", "l2"],
  ["flat", "l2"],
  ["pq", "cosine"],
  ["sq", "dot"],
] as const)("%s/%s segments", (quantizer, distanceType) => {
  it("merged top-k over 4 segments equals the single index (k, nprobes, refine, batch, prefilter)", async () => {
    const store = new MemoryObjectStore();
    const fx = await trainSingle(store, { n: 1200, quantizer, distanceType });
    const single = await openVectorIndex(store, fx.singlePath);
    const segs = await buildSplit(store, fx, "idx", [250, 600, 1000]);
    const { version } = await publishSegments(store, "idx", segs, { expectedVersion: 0, plan: { rowIdRanges: [["0", "1200"]], totalRows: 1200 } });
    expect(version).toBe(1);
    const index = await openSegmentedIndex(store, "idx");
    expect(index.manifest.segments.map((s) => s.rows)).toEqual([250, 350, 400, 200]);
    const qs = queries(fx, 12);
    const even = { has: (id: bigint) => id % 2n === 0n };
    for (const opts of [{ k: 10, nprobes: 2 }, { k: 25, nprobes: 8 }, { limit: 5, nprobes: 3, refineFactor: 4 }, { k: 7, nprobes: 4, prefilter: even }, { k: 3, nprobes: 1, allowList: [1, 2, 3, 500, 700, 1100, 1199] }]) {
      for (const q of qs) expect(await index.search(q, opts)).toEqual(await single.search(q, opts));
      expect(await index.searchBatch(qs, opts)).toEqual(await single.searchBatch(qs, opts));
    }
  });
});

it("mergeSegments gives one segment whose search equals the single index, and old versions still answer", async () => {
  const store = new MemoryObjectStore();
  const fx = await trainSingle(store, { n: 1000, quantizer: "pq" });
  const single = await openVectorIndex(store, fx.singlePath);
  const segs = await buildSplit(store, fx, "idx", [300, 500, 800]);
  await publishSegments(store, "idx", segs);
  const before = await openSegmentedIndex(store, "idx");
  const r = await mergeSegments(store, "idx", { targetSegmentBytes: 1 << 30, expectedVersion: 1 });
  expect(r).toEqual({ version: 2, merged: 4 });
  const m = await readSegmentManifest(store, "idx");
  expect(m.segments).toHaveLength(1);
  expect(m.segments[0]!.rowIdRanges).toEqual([["0", "1000"]]);
  expect(m.segments[0]!.path.startsWith("idx/_staging/merge-v1-")).toBe(true);
  const merged = await openSegmentedIndex(store, "idx");
  expect(merged.version).toBe(2);
  // The merged file holds the same rows in the same partitions as the single-process file.
  const mergedIvf = await openVectorIndex(store, m.segments[0]!.path);
  expect(mergedIvf.identity).toBe(single.identity);
  for (const q of queries(fx, 10)) {
    for (const opts of [{ k: 10, nprobes: 3 }, { k: 5, nprobes: 8, refineFactor: 3 }]) {
      const want = await single.search(q, opts);
      expect(await merged.search(q, opts)).toEqual(want);
      expect(await before.search(q, opts)).toEqual(want);
    }
  }
  // Nothing left to merge: no new version.
  expect(await mergeSegments(store, "idx", { targetSegmentBytes: 1 << 30 })).toEqual({ version: 2, merged: 0 });
});

it("mergeSegments merges only runs of small segments up to the target size", async () => {
  const store = new MemoryObjectStore();
  const fx = await trainSingle(store, { n: 1000, quantizer: "sq" });
  const segs = await buildSplit(store, fx, "idx", [100, 200, 300, 900]);
  await publishSegments(store, "idx", segs);
  const small = segs[0]!.bytes;
  // The three 100-row segments fit twice their size only two at a time; the 600-row one is above the target.
  const r = await mergeSegments(store, "idx", { targetSegmentBytes: Math.floor(small * 2.2) });
  expect(r.merged).toBe(2);
  const m = await readSegmentManifest(store, "idx");
  expect(m.segments.map((s) => s.rowIdRanges)).toEqual([[["0", "200"]], [["200", "300"]], [["300", "900"]], [["900", "1000"]]]);
});

it("a threaded batch over segments equals one thread; close() closes every segment's pool and later searches still answer", async () => {
  const store = new MemoryObjectStore();
  const fx = await trainSingle(store, { n: 1000, quantizer: "pq" });
  await publishSegments(store, "idx", await buildSplit(store, fx, "idx", [500]));
  const index = await openSegmentedIndex(store, "idx");
  const qs = queries(fx, 16);
  const oneThread = await index.searchBatch(qs, { k: 10, nprobes: 4, threads: 1 });
  expect(await index.searchBatch(qs, { k: 10, nprobes: 4, threads: 2 })).toEqual(oneThread);
  await index.close!();
  expect(await index.searchBatch(qs, { k: 10, nprobes: 4, threads: 2 })).toEqual(oneThread);
  await index.close!();
});
