/**
 * The ObjectStore contract as one vitest suite, run against every store and wrapper. A new store
 * passes this suite before anything else uses it.
 */
import { describe, expect, it } from "vitest";
import { type ObjectStore, type StoreErrorCode, QuiverStoreError } from "@quiver/store";

/** How the suite gets a fresh, empty store, and optional hooks for store-specific checks. */
export interface ObjectStoreUnderTest {
  readonly store: ObjectStore;
  /** Leave a half-written temporary file next to `path` (as a crashed put would). */
  readonly plantTempFile?: (path: string) => Promise<void>;
  readonly cleanup?: () => Promise<void>;
}

/** Run the ObjectStore contract against stores made by `make` (one fresh store per test). */
export function describeObjectStoreContract(name: string, make: () => Promise<ObjectStoreUnderTest>): void {
  async function withStore(fn: (u: ObjectStoreUnderTest) => Promise<void>): Promise<void> {
    const u = await make();
    try {
      await fn(u);
    } finally {
      await u.cleanup?.();
    }
  }

  async function expectStoreError(p: Promise<unknown>, code: StoreErrorCode): Promise<void> {
    let err: unknown;
    try {
      await p;
    } catch (e) {
      err = e;
    }
    expect(err, `expected ${code}`).toBeInstanceOf(QuiverStoreError);
    expect((err as QuiverStoreError).code).toBe(code);
  }

  const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

  describe(`ObjectStore contract: ${name}`, () => {
    it("put then get returns the same bytes in a fresh buffer at byteOffset 0", () =>
      withStore(async ({ store }) => {
        const data = bytes(1000);
        await store.put("a/b/c.bin", data);
        const got = await store.get("a/b/c.bin");
        expect(got).toEqual(data);
        expect(got.byteOffset).toBe(0);
        // Owned by the caller: neither side's later writes leak into the other.
        got[0] = 99;
        data[1] = 99;
        expect((await store.get("a/b/c.bin"))[0]).toBe(1);
        expect((await store.get("a/b/c.bin"))[1]).toBe(8);
        expect(await store.head("a/b/c.bin")).toEqual({ path: "a/b/c.bin", size: 1000 });
      }));

    it("put replaces; empty objects are objects", () =>
      withStore(async ({ store }) => {
        await store.put("x", bytes(10));
        await store.put("x", bytes(3, 5));
        expect(await store.get("x")).toEqual(bytes(3, 5));
        await store.put("empty", new Uint8Array(0));
        expect((await store.get("empty")).byteLength).toBe(0);
        expect((await store.head("empty")).size).toBe(0);
      }));

    it("getRange returns exactly the range, at byteOffset 0; RANGE_OUT_OF_BOUNDS / INVALID_RANGE otherwise", () =>
      withStore(async ({ store }) => {
        const data = bytes(100);
        await store.put("r", data);
        const r = await store.getRange("r", { offset: 10, length: 20 });
        expect(r).toEqual(data.subarray(10, 30));
        expect(r.byteOffset).toBe(0);
        expect((await store.getRange("r", { offset: 100, length: 0 })).byteLength).toBe(0);
        expect(await store.getRange("r", { offset: 0, length: 100 })).toEqual(data);
        await expectStoreError(store.getRange("r", { offset: 90, length: 11 }), "RANGE_OUT_OF_BOUNDS");
        await expectStoreError(store.getRange("r", { offset: 101, length: 0 }), "RANGE_OUT_OF_BOUNDS");
        await expectStoreError(store.getRange("r", { offset: Number.MAX_SAFE_INTEGER, length: 1 }), "RANGE_OUT_OF_BOUNDS");
        await expectStoreError(store.getRange("r", { offset: -1, length: 1 }), "INVALID_RANGE");
        await expectStoreError(store.getRange("r", { offset: 0, length: 1.5 }), "INVALID_RANGE");
        await expectStoreError(store.getRange("r", { offset: 2 ** 60, length: 1 }), "INVALID_RANGE");
        await expectStoreError(store.getRange("missing", { offset: 0, length: 1 }), "NOT_FOUND");
      }));

    it("getRanges returns every range in input order (overlapping, duplicate, empty, far apart)", () =>
      withStore(async ({ store }) => {
        const data = bytes(5000);
        await store.put("m", data);
        const ranges = [
          { offset: 4000, length: 100 },
          { offset: 0, length: 10 },
          { offset: 5, length: 10 },
          { offset: 5, length: 10 },
          { offset: 2000, length: 0 },
          { offset: 4999, length: 1 },
        ];
        for (const options of [{}, { coalesceGap: -1 }, { coalesceGap: 0 }, { coalesceGap: 10_000, maxRequestBytes: 50 }]) {
          const got = await store.getRanges("m", ranges, options);
          expect(got.map((g) => Array.from(g))).toEqual(ranges.map((r) => Array.from(data.subarray(r.offset, r.offset + r.length))));
          for (const g of got) expect(g.byteOffset).toBe(0);
        }
        expect(await store.getRanges("m", [])).toEqual([]);
        await expectStoreError(store.getRanges("m", [{ offset: 0, length: 1 }, { offset: 4990, length: 11 }]), "RANGE_OUT_OF_BOUNDS");
        await expectStoreError(store.getRanges("m", [{ offset: -5, length: 1 }]), "INVALID_RANGE");
        await expectStoreError(store.getRanges("missing", [{ offset: 0, length: 1 }]), "NOT_FOUND");
      }));

    it("get / head of a missing object or of a directory-like prefix is NOT_FOUND", () =>
      withStore(async ({ store }) => {
        await expectStoreError(store.get("nope"), "NOT_FOUND");
        await expectStoreError(store.head("nope"), "NOT_FOUND");
        await store.put("dir/obj", bytes(1));
        await expectStoreError(store.get("dir"), "NOT_FOUND");
        await expectStoreError(store.head("dir"), "NOT_FOUND");
      }));

    it("list(prefix) is sorted, matches by string prefix, and never shows temporary files", () =>
      withStore(async ({ store, plantTempFile }) => {
        for (const p of ["b/2", "a/1", "a/10/x", "a/1x", "c", "a/0", "ab"]) await store.put(p, bytes(p.length));
        await plantTempFile?.("a/1");
        expect((await store.list("")).map((m) => m.path)).toEqual(["a/0", "a/1", "a/10/x", "a/1x", "ab", "b/2", "c"]);
        expect((await store.list("a/")).map((m) => m.path)).toEqual(["a/0", "a/1", "a/10/x", "a/1x"]);
        expect((await store.list("a/1")).map((m) => m.path)).toEqual(["a/1", "a/10/x", "a/1x"]);
        expect((await store.list("a")).map((m) => m.path)).toEqual(["a/0", "a/1", "a/10/x", "a/1x", "ab"]);
        expect(await store.list("a/10/x")).toEqual([{ path: "a/10/x", size: 6 }]);
        expect(await store.list("zzz")).toEqual([]);
        expect(await store.list("q/r/")).toEqual([]);
      }));

    it("delete removes; deleting a missing object or a directory-like prefix is not an error", () =>
      withStore(async ({ store }) => {
        await store.put("d/1", bytes(4));
        await store.put("d/2", bytes(4));
        await store.delete("d/1");
        await expectStoreError(store.get("d/1"), "NOT_FOUND");
        await store.delete("d/1");
        await store.delete("never");
        await store.delete("d");
        expect((await store.list("d/")).map((m) => m.path)).toEqual(["d/2"]);
      }));

    it("copy makes an independent object; copy of a missing object is NOT_FOUND", () =>
      withStore(async ({ store }) => {
        await store.put("src", bytes(64, 3));
        await store.copy("src", "deep/dst");
        expect(await store.get("deep/dst")).toEqual(bytes(64, 3));
        await store.put("src", bytes(8, 9));
        expect(await store.get("deep/dst")).toEqual(bytes(64, 3));
        await store.copy("src", "deep/dst");
        expect(await store.get("deep/dst")).toEqual(bytes(8, 9));
        await expectStoreError(store.copy("missing", "x"), "NOT_FOUND");
        await expectStoreError(store.get("x"), "NOT_FOUND");
      }));

    it("rename moves (replacing the target); rename of a missing object is NOT_FOUND", () =>
      withStore(async ({ store }) => {
        await store.put("old", bytes(32, 4));
        await store.put("new/place", bytes(2));
        await store.rename("old", "new/place");
        expect(await store.get("new/place")).toEqual(bytes(32, 4));
        await expectStoreError(store.get("old"), "NOT_FOUND");
        await expectStoreError(store.rename("old", "other"), "NOT_FOUND");
        await expectStoreError(store.head("other"), "NOT_FOUND");
        await store.rename("new/place", "new/place");
        expect(await store.get("new/place")).toEqual(bytes(32, 4));
        expect((await store.list("")).map((m) => m.path)).toEqual(["new/place"]);
      }));

    it("rejects invalid paths and prefixes with INVALID_PATH", () =>
      withStore(async ({ store }) => {
        const bad = ["", "/abs", "a//b", "a/./b", "a/../b", "..", ".", "a/", "nul\0byte"];
        for (const p of bad) {
          await expectStoreError(store.get(p), "INVALID_PATH");
          await expectStoreError(store.getRange(p, { offset: 0, length: 0 }), "INVALID_PATH");
          await expectStoreError(store.head(p), "INVALID_PATH");
          await expectStoreError(store.put(p, bytes(1)), "INVALID_PATH");
          await expectStoreError(store.delete(p), "INVALID_PATH");
          await expectStoreError(store.copy(p, "ok"), "INVALID_PATH");
          await expectStoreError(store.rename(p, "ok"), "INVALID_PATH");
        }
        await store.put("ok", bytes(1));
        await expectStoreError(store.copy("ok", "../escape"), "INVALID_PATH");
        await expectStoreError(store.rename("ok", "/abs"), "INVALID_PATH");
        for (const prefix of ["../", "/", "/a", "a/../", "..//x", "a//b"]) await expectStoreError(store.list(prefix), "INVALID_PATH");
        expect(await store.list("a/..x")).toEqual([]);
      }));

    it("concurrent puts of different objects all land", () =>
      withStore(async ({ store }) => {
        await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`p/${String(i).padStart(2, "0")}`, bytes(i + 1, i))));
        const listed = await store.list("p/");
        expect(listed.map((m) => m.size)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      }));
  });
}
