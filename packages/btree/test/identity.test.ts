/**
 * Index identity (issue 8 "Index identity", issue 9): a BTree rebuilt in place under a persistent
 * cache is never answered from the old build's cache entries. The identity is part of every cache
 * key; an open without it reads the index file; an open naming an identity the file does not have
 * is IDENTITY_MISMATCH; an open naming the current identity after a prewarm makes no store request.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, cacheKey } from "@quiver/cache";
import { QuiverArgumentError, QuiverFormatError } from "@quiver/format";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { btreeIndexStateCodec, buildBTreeIndex, openBTreeIndex } from "../src/index.js";
import { silent } from "./backends.js";

const DIR = "t/price";
// The documented key of a state (spec/btree.md "Cached state").
const stateKeyOf = (dir: string, identity: string) => cacheKey(`${dir}/btree/${identity}/state`, btreeIndexStateCodec);
const column = (n: number, mul: number) => {
  const rowIds = Array.from({ length: n }, (_, i) => BigInt(i));
  return [{ rowIds, values: rowIds.map((id) => Number(id % 100n) * mul) }];
};

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-btree-identity-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("BTree index identity", () => {
  it("a rebuild at the same path is never answered from the old build's cache entries", async () => {
    const store = new LocalDirectoryStore(join(root, "store"));
    const cacheDir = join(root, "cache");
    const disk = () => new IndexCache(new DiskCacheBackend({ directory: cacheDir, logger: silent }));
    const old = await buildBTreeIndex(store, DIR, column(3000, 1), { valueType: "int32", pageSize: 256 });
    const first = await openBTreeIndex(store, DIR, { cache: disk() });
    expect(first.identity).toBe(old.indexId);
    await first.prewarm();
    expect((await first.query({ op: "eq", value: 7 })).size()).toBe(30);

    const fresh = await buildBTreeIndex(store, DIR, column(3500, 2), { valueType: "int32", pageSize: 256 });
    expect(fresh.indexId).not.toBe(old.indexId);

    // Without an identity: one GET of the index file, the new rows.
    const io = new IoStatsStore(store);
    const reopened = await openBTreeIndex(io, DIR, { cache: disk() });
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, heads: 0 });
    expect(reopened.identity).toBe(fresh.indexId);
    expect(reopened.allRows.size()).toBe(3500);
    expect((await reopened.query({ op: "eq", value: 14 })).size()).toBe(35);
    expect((await reopened.query({ op: "eq", value: 7 })).size()).toBe(0);

    // Asking for the old identity on a cold open: the file has another one, a typed error.
    const stale = openBTreeIndex(new IoStatsStore(store), DIR, { identity: old.indexId });
    await expect(stale).rejects.toBeInstanceOf(QuiverFormatError);
    await expect(stale).rejects.toMatchObject({ code: "IDENTITY_MISMATCH", stage: "identity" });
    // Where only the old state is cached, the first page read (its data file is gone) finds the
    // rebuilt index file and reports the mismatch instead of a missing object.
    const stateOnly = IndexCache.inMemory();
    await stateOnly.insert(stateKeyOf(DIR, old.indexId), first.state);
    const oldOpen = await openBTreeIndex(store, DIR, { cache: stateOnly, identity: old.indexId });
    expect(oldOpen.identity).toBe(old.indexId);
    await expect(oldOpen.query({ op: "eq", value: 7 })).rejects.toMatchObject({ code: "IDENTITY_MISMATCH", stage: "identity" });

    // Prewarm the new build, then a new cache object over the same directory with the new identity: zero IO.
    await reopened.prewarm();
    const io2 = new IoStatsStore(store);
    const warm = await openBTreeIndex(io2, DIR, { cache: disk(), identity: fresh.indexId });
    expect((await warm.query({ op: "range", lower: 10, upper: 20 })).size()).toBe(5 * 35);
    expect(warm.allRows.size()).toBe(3500);
    expect(io2.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
  });

  it("an identity without a cache is checked against the file; a malformed one is an argument error", async () => {
    const store = new LocalDirectoryStore(join(root, "store2"));
    const built = await buildBTreeIndex(store, "x", column(10, 1), { valueType: "int32" });
    expect((await openBTreeIndex(store, "x", { identity: built.indexId })).identity).toBe(built.indexId);
    await expect(openBTreeIndex(store, "x", { identity: "0".repeat(32) })).rejects.toMatchObject({ code: "IDENTITY_MISMATCH" });
    await expect(openBTreeIndex(store, "x", { identity: "XYZ" })).rejects.toBeInstanceOf(QuiverArgumentError);
  });
});
