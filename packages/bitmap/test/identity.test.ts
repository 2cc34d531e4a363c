/**
 * Index identity (issue 8 "Index identity", issue 9): a Bitmap or LabelList index rebuilt in place
 * under a persistent cache is never answered from the old build's cache entries. The identity is
 * part of every cache key; an open without it reads the index file; an open naming an identity the
 * file does not have is IDENTITY_MISMATCH; an open naming the current identity after a prewarm
 * makes no store request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, cacheKey } from "@quiver/cache";
import { QuiverArgumentError, QuiverFormatError } from "@quiver/format";
import { IoStatsStore, LocalDirectoryStore, type ObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silent } from "../../btree/test/backends.js";
import {
  type BitmapIndex,
  type ScalarFilter,
  bitmapIndexStateCodec,
  buildBitmapIndex,
  buildLabelListIndex,
  labelListIndexStateCodec,
  openBitmapIndex,
  openLabelListIndex,
} from "../src/index.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-bitmap-identity-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const rowIdsOf = (n: number) => Array.from({ length: n }, (_, i) => BigInt(i));
const cases = [
  {
    kind: "bitmap" as const,
    build: (store: ObjectStore, dir: string, n: number, mod: number) =>
      buildBitmapIndex(store, dir, [{ rowIds: rowIdsOf(n), values: rowIdsOf(n).map((i) => Number(i % BigInt(mod))) }], { valueType: "int32" }),
    open: openBitmapIndex,
    codec: bitmapIndexStateCodec,
    probe: { op: "eq", value: 3 } as ScalarFilter,
  },
  {
    kind: "label-list" as const,
    build: (store: ObjectStore, dir: string, n: number, mod: number) =>
      buildLabelListIndex(store, dir, [{ rowIds: rowIdsOf(n), values: rowIdsOf(n).map((i) => [Number(i % BigInt(mod))]) }], { valueType: "int32" }),
    open: openLabelListIndex,
    codec: labelListIndexStateCodec,
    probe: { op: "contains", value: 3 } as ScalarFilter,
  },
];

describe.each(cases)("$kind index identity", ({ kind, build, open, codec, probe }) => {
  it("a rebuild at the same path is never answered from the old build's cache entries", async () => {
    const store = new LocalDirectoryStore(join(root, `store-${kind}`));
    const cacheDir = join(root, `cache-${kind}`);
    const disk = () => new IndexCache(new DiskCacheBackend({ directory: cacheDir, logger: silent }));
    const dir = "t/col";
    const old = await build(store, dir, 3000, 10);
    const first: BitmapIndex = await open(store, dir, { cache: disk() });
    expect(first.identity).toBe(old.indexId);
    await first.prewarm();
    expect((await first.query(probe)).size()).toBe(300);

    const fresh = await build(store, dir, 3500, 5);
    expect(fresh.indexId).not.toBe(old.indexId);

    // Without an identity: one GET of the index file, the new rows.
    const io = new IoStatsStore(store);
    const reopened = await open(io, dir, { cache: disk() });
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, heads: 0 });
    expect(reopened.identity).toBe(fresh.indexId);
    expect(reopened.allRows.size()).toBe(3500);
    expect((await reopened.query(probe)).size()).toBe(700);

    // Asking for the old identity on a cold open is a typed error.
    await expect(open(store, dir, { identity: old.indexId })).rejects.toMatchObject({ name: "QuiverFormatError", code: "IDENTITY_MISMATCH", stage: "identity" });
    // Only the old state cached: the first value read (the old data file is gone) reports the mismatch.
    const stateOnly = IndexCache.inMemory();
    await stateOnly.insert(cacheKey(`${dir}/${kind}/${old.indexId}/state`, codec), first.state);
    const oldOpen = await open(store, dir, { cache: stateOnly, identity: old.indexId });
    const failure = await oldOpen.query(probe).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(QuiverFormatError);
    expect(failure).toMatchObject({ code: "IDENTITY_MISMATCH" });

    // Prewarm the new build; a new cache object over the same directory with the new identity: zero IO.
    await reopened.prewarm();
    const io2 = new IoStatsStore(store);
    const warm = await open(io2, dir, { cache: disk(), identity: fresh.indexId });
    expect((await warm.query(probe)).size()).toBe(700);
    expect(io2.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
  });

  it("a malformed identity is an argument error", async () => {
    await expect(open(new LocalDirectoryStore(join(root, "none")), "x", { identity: "nope" })).rejects.toBeInstanceOf(QuiverArgumentError);
  });
});
