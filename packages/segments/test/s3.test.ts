/**
 * Segments over a real S3-compatible server (s3rver, started on a loopback port by the test):
 * describe + validate + publish + open + search + gc, with request counts taken at the store
 * layer and list pagination exercised (2 keys per page). s3rver ignores `If-None-Match: *`, so
 * the store runs in "check-then-put" mode here and the racing-create guarantee is not tested
 * against it (the memory and local-directory tests cover it); the stale-version conflict is.
 */
import { openVectorIndex } from "@quiver/ivf";
import { IoStatsStore } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type S3rverHandle, startS3rver } from "../../store-s3/test/s3rver-server.js";
import { beginStaging, gcSegments, openSegmentedIndex, publishSegments, readSegmentManifest, validateSegments } from "../src/index.js";
import { buildSegment, buildSplit, queries, trainSingle } from "./helpers.js";

let server: S3rverHandle | undefined;
let store: S3ObjectStore;
beforeAll(async () => {
  server = await startS3rver();
  store = new S3ObjectStore({ bucket: server.bucket, prefix: "segments-test/", client: server.client(), conditionalCreate: "check-then-put", listPageSize: 2 });
}, 60_000);
afterAll(async () => server?.stop());

it("publishes, validates with one read per segment, searches like the single index and gc's staging leftovers over S3", async () => {
  const fx = await trainSingle(store, { n: 900, quantizer: "pq" });
  const segs = await buildSplit(store, fx, "idx", [300, 600]);
  const io = new IoStatsStore(store);
  await validateSegments(io, segs, { rowIdRanges: [["0", "900"]], totalRows: 900 });
  expect(io.snapshot().total).toMatchObject({ readRequests: 3, heads: 0, lists: 0 });
  const { version } = await publishSegments(store, "idx", segs, { expectedVersion: 0, now: Date.UTC(2026, 0, 1) });
  expect(version).toBe(1);
  await expect(publishSegments(store, "idx", segs, { expectedVersion: 0 })).rejects.toMatchObject({ code: "SEGMENT_VERSION_CONFLICT" });
  expect((await readSegmentManifest(store, "idx")).segments).toEqual(segs);
  io.reset();
  const index = await openSegmentedIndex(io, "idx", { version: 1 });
  // a pinned open: one manifest get and one ranged read per segment, no list
  expect(io.snapshot().total).toMatchObject({ readRequests: 4, lists: 0, heads: 0 });
  const single = await openVectorIndex(store, fx.singlePath);
  for (const q of queries(fx, 5)) expect(await index.search(q, { k: 8, nprobes: 3 })).toEqual(await single.search(q, { k: 8, nprobes: 3 }));

  const t0 = Date.UTC(2026, 0, 2);
  const dir = await beginStaging(store, "idx", { jobId: "killed", attempt: 1, now: t0 });
  await buildSegment(store, fx, { root: "idx", start: 0, end: 100, segmentId: "orphan", shard: "killed", path: `${dir}/orphan.ivf` });
  expect((await gcSegments(store, "idx", { now: t0 + 1000 })).deleted).toEqual([]);
  const r = await gcSegments(store, "idx", { now: t0 + 25 * 3600_000 });
  expect(r.deleted).toEqual([`${dir}/orphan.ivf`, `${dir}/_lease.json`]);
  expect(await store.list(`${dir}/`)).toEqual([]);
  expect((await index.search(queries(fx, 1)[0]!, { k: 3 })).length).toBe(3);
});
