/**
 * `runObjectStoreConformance`: the ObjectStore contract (paths, ranges, coalesced multi-range
 * reads, atomic replace, sorted listing, reserved temp names, delete/copy/rename, streaming object
 * writers (`createWriter` / `openObjectWriter`), IO accounting through IoStatsStore) as vitest tests, run against every store: memory and local directory here,
 * S3 and third-party stores in their own packages. vitest is an optional peer dependency, imported
 * lazily so that importing @quiver/conformance never loads it.
 */
import { QuiverArgumentError } from "@quiver/format";
import { type ObjectStore, type StoreErrorCode, IoStatsStore, QuiverStoreError, RESERVED_TEMP_PREFIX, coalesceRanges, openObjectReader, openObjectWriter } from "@quiver/store";

/** A fresh, empty store under test, with optional hooks for store-specific checks. */
export interface ObjectStoreUnderTest {
  readonly store: ObjectStore;
  /** Leave a half-written temporary file next to `path` (as a crashed put would). */
  readonly plantTempFile?: (path: string) => Promise<void>;
  readonly cleanup?: () => Promise<void>;
}

/** Creates one fresh, empty store per test. */
export type ObjectStoreFactory = () => ObjectStoreUnderTest | Promise<ObjectStoreUnderTest>;

/** Options of {@link runObjectStoreConformance}. */
export interface ObjectStoreConformanceOptions {
  /** Per-test timeout in ms; default 60 000. */
  readonly timeoutMs?: number;
  /**
   * Set when the store's create-only put is not atomic under races (a stated fallback, e.g. an
   * S3-compatible server that ignores If-None-Match); the race case is then reported as skipped
   * with this reason. Sequential create-only semantics are checked regardless.
   */
  readonly nonAtomicCreateReason?: string;
}

/**
 * Register a `describe(name)` whose tests check an {@link ObjectStore} made by `factory` (one fresh
 * store per test). Call at the top level of a test file:
 * `await runObjectStoreConformance("MyStore", async () => ({ store: new MyStore(), cleanup }))`.
 */
export async function runObjectStoreConformance(name: string, factory: ObjectStoreFactory, options: ObjectStoreConformanceOptions = {}): Promise<void> {
  const { describe, it: vitestIt, expect } = await import("vitest");
  const raceReason = options.nonAtomicCreateReason;
  const timeout = options.timeoutMs ?? 60_000;
  const it = (title: string, fn: () => Promise<void>) => vitestIt(title, fn, timeout);

  async function withStore(fn: (u: ObjectStoreUnderTest) => Promise<void>): Promise<void> {
    const u = await factory();
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

  describe(`object store conformance: ${name}`, () => {
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

    it("reserves the temp-file prefix: put, copy and rename to such a name are INVALID_PATH", () =>
      withStore(async ({ store }) => {
        await store.put("ok", bytes(3));
        for (const p of [`${RESERVED_TEMP_PREFIX}x`, `a/${RESERVED_TEMP_PREFIX}1-abc-obj`, `${RESERVED_TEMP_PREFIX}/b`]) {
          await expectStoreError(store.put(p, bytes(1)), "INVALID_PATH");
          await expectStoreError(store.copy("ok", p), "INVALID_PATH");
          await expectStoreError(store.rename("ok", p), "INVALID_PATH");
        }
        // A name that merely contains the prefix later in a segment is an ordinary name.
        await store.put("a/x.quiver-tmp-y", bytes(2));
        expect((await store.list("")).map((m) => m.path)).toEqual(["a/x.quiver-tmp-y", "ok"]);
      }));

    it("create-only put (ifAbsent): creates when absent, ALREADY_EXISTS and no change when present", () =>
      withStore(async ({ store }) => {
        await store.put("c/m", bytes(5, 1), { ifAbsent: true });
        await expectStoreError(store.put("c/m", bytes(6, 2), { ifAbsent: true }), "ALREADY_EXISTS");
        expect(await store.get("c/m")).toEqual(bytes(5, 1));
        await store.put("c/m", bytes(7, 3)); // an ordinary put still replaces
        expect(await store.get("c/m")).toEqual(bytes(7, 3));
        await expectStoreError(store.put(`c/${RESERVED_TEMP_PREFIX}m`, bytes(1), { ifAbsent: true }), "INVALID_PATH");
      }));

    vitestIt.skipIf(raceReason !== undefined)(
      `create-only put is atomic: of 8 racing creates exactly one succeeds${raceReason === undefined ? "" : ` (skipped: ${raceReason})`}`,
      () =>
        withStore(async ({ store }) => {
          const settled = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.put("race/m", bytes(10, i), { ifAbsent: true })));
          const won = settled.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
          expect(won).toHaveLength(1);
          for (const r of settled) if (r.status === "rejected") expect((r.reason as QuiverStoreError).code).toBe("ALREADY_EXISTS");
          expect(await store.get("race/m")).toEqual(bytes(10, won[0]!));
        }),
      timeout,
    );

    it("object writer: nothing visible before commit; commit makes exactly the written bytes visible, replacing", () =>
      withStore(async ({ store }) => {
        await store.put("w/obj", bytes(3, 9));
        const w = await openObjectWriter(store, "w/obj");
        const data = bytes(300_000, 2);
        // Uneven chunks, an empty one, and a chunk reused by the caller after its write resolved.
        const scratch = new Uint8Array(100_000);
        let at = 0;
        for (const n of [1, 70_001, 0, 65_536, 70_001, 94_461]) {
          scratch.set(data.subarray(at, at + n));
          await w.write(scratch.subarray(0, n));
          scratch.fill(0xee);
          at += n;
        }
        expect(at).toBe(data.length);
        expect(w.bytesWritten).toBe(data.length);
        expect(await store.get("w/obj")).toEqual(bytes(3, 9));
        expect((await store.list("w/")).map((m) => m.path)).toEqual(["w/obj"]);
        await w.commit();
        const got = await store.get("w/obj");
        expect(got.byteLength).toBe(data.length);
        expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
        expect(await store.list("w/")).toEqual([{ path: "w/obj", size: data.length }]);
        // A new object (no previous version) and an empty one.
        const e = await openObjectWriter(store, "w/deep/empty");
        expect(await store.list("w/deep/")).toEqual([]);
        await e.commit();
        expect(await store.head("w/deep/empty")).toEqual({ path: "w/deep/empty", size: 0 });
      }));

    it("object writer: abort leaves nothing (no object, no listing, the previous version intact)", () =>
      withStore(async ({ store }) => {
        const fresh = await openObjectWriter(store, "a/new");
        await fresh.write(bytes(10_000));
        await fresh.abort();
        await expectStoreError(store.head("a/new"), "NOT_FOUND");
        await store.put("a/old", bytes(5, 5));
        const replace = await openObjectWriter(store, "a/old");
        await replace.write(bytes(20_000, 3));
        await replace.abort();
        await replace.abort(); // idempotent
        expect(await store.get("a/old")).toEqual(bytes(5, 5));
        expect(await store.list("")).toEqual([{ path: "a/old", size: 5 }]);
      }));

    it("object writer: write / commit after commit or abort is WRITER_CLOSED; abort after commit keeps the object", () =>
      withStore(async ({ store }) => {
        const w = await openObjectWriter(store, "c/1");
        await w.write(bytes(4));
        await w.commit();
        await expectStoreError(w.write(bytes(1)), "WRITER_CLOSED");
        await expectStoreError(w.commit(), "WRITER_CLOSED");
        await w.abort();
        expect(await store.get("c/1")).toEqual(bytes(4));
        const a = await openObjectWriter(store, "c/2");
        await a.abort();
        await expectStoreError(a.write(bytes(1)), "WRITER_CLOSED");
        await expectStoreError(a.commit(), "WRITER_CLOSED");
        await expectStoreError(store.head("c/2"), "NOT_FOUND");
      }));

    it("object writer: rejects bad paths (INVALID_PATH), unknown options and non-byte chunks (QuiverArgumentError)", () =>
      withStore(async ({ store }) => {
        for (const p of ["", "/abs", "a/../b", `x/${RESERVED_TEMP_PREFIX}y`]) await expectStoreError(openObjectWriter(store, p), "INVALID_PATH");
        await expect(openObjectWriter(store, "ok", { bogus: true } as never)).rejects.toMatchObject({ name: "QuiverArgumentError", code: "UNKNOWN_OPTION" });
        await expect(openObjectWriter(store, "ok", { ifAbsent: "yes" } as never)).rejects.toMatchObject({ name: "QuiverArgumentError", code: "INVALID_ARGUMENT" });
        const w = await openObjectWriter(store, "ok");
        await expect(w.write("text" as never)).rejects.toMatchObject({ name: "QuiverArgumentError", code: "INVALID_ARGUMENT" });
        await w.write(bytes(2));
        await w.commit();
        expect(await store.get("ok")).toEqual(bytes(2));
        expect((await store.list("")).map((m) => m.path)).toEqual(["ok"]);
      }));

    it("object writer with ifAbsent: creates when absent; ALREADY_EXISTS at commit, no change, when present", () =>
      withStore(async ({ store }) => {
        const first = await openObjectWriter(store, "m/manifest", { ifAbsent: true, durable: true });
        await first.write(bytes(100, 1));
        await first.commit();
        const second = await openObjectWriter(store, "m/manifest", { ifAbsent: true });
        await second.write(bytes(200, 2));
        await expectStoreError(second.commit(), "ALREADY_EXISTS");
        expect(await store.get("m/manifest")).toEqual(bytes(100, 1));
        await expectStoreError(second.write(bytes(1)), "WRITER_CLOSED");
        // The object appeared after the writer opened: still refused at commit.
        const late = await openObjectWriter(store, "m/late", { ifAbsent: true });
        await late.write(bytes(10, 3));
        await store.put("m/late", bytes(1, 4));
        await expectStoreError(late.commit(), "ALREADY_EXISTS");
        expect(await store.get("m/late")).toEqual(bytes(1, 4));
        expect((await store.list("m/")).map((m) => m.path)).toEqual(["m/late", "m/manifest"]);
      }));

    it("IoStatsStore over it counts a committed object writer as one write with all its bytes", () =>
      withStore(async ({ store: inner }) => {
        const store = new IoStatsStore(inner);
        const w = await openObjectWriter(store, "io/streamed");
        for (let i = 0; i < 5; i++) await w.write(bytes(10_000, i));
        expect(store.snapshot().total).toMatchObject({ writes: 0, bytesWritten: 50_000 });
        await w.commit();
        expect(store.snapshot().total).toMatchObject({ writes: 1, bytesWritten: 50_000, readRequests: 0, heads: 0 });
        expect(store.snapshot().perPath["io/streamed"]).toMatchObject({ writes: 1, bytesWritten: 50_000 });
        store.reset();
        const aborted = await openObjectWriter(store, "io/aborted");
        await aborted.write(bytes(7));
        await aborted.abort();
        expect(store.snapshot().total).toMatchObject({ writes: 0, bytesWritten: 7 });
        expect((await inner.head("io/streamed")).size).toBe(50_000);
        await expectStoreError(inner.head("io/aborted"), "NOT_FOUND");
      }));

    it("IoStatsStore over it counts every request: one per call, one per coalesced range request", () =>
      withStore(async ({ store: inner }) => {
        const store = new IoStatsStore(inner);
        const data = bytes(50_000);
        await store.put("io/obj", data);
        expect(store.snapshot().total).toMatchObject({ writes: 1, bytesWritten: 50_000, readRequests: 0 });
        store.reset();
        await store.get("io/obj");
        await store.getRange("io/obj", { offset: 100, length: 200 });
        await store.head("io/obj");
        const ranges = [
          { offset: 0, length: 10 },
          { offset: 20, length: 10 },
          { offset: 30_000, length: 100 },
          { offset: 5, length: 0 },
        ];
        const got = await store.getRanges("io/obj", ranges, { coalesceGap: 100 });
        expect(got.map((g) => g.byteLength)).toEqual([10, 10, 100, 0]);
        const merged = coalesceRanges(ranges, { coalesceGap: 100 }).length;
        expect(merged).toBe(2);
        await store.list("io/");
        const s = store.snapshot();
        expect(s.total).toEqual({ readRequests: 2 + merged, bytesRead: 50_000 + 200 + 30 + 100, heads: 1, lists: 1, writes: 0, bytesWritten: 0, deletes: 0 });
        expect(s.perPath["io/obj"]).toMatchObject({ readRequests: 4, heads: 1 });
        expect(s.perPath["io/"]).toMatchObject({ lists: 1 });
        store.reset();
        await store.copy("io/obj", "io/copy");
        await store.rename("io/copy", "io/moved");
        await store.delete("io/obj");
        expect(store.snapshot().total).toMatchObject({ writes: 2, deletes: 1, readRequests: 0 });
        expect(await inner.head("io/moved")).toEqual({ path: "io/moved", size: 50_000 });
      }));
  });

  describe(`object store conformance: ${name}: object readers (openObjectReader)`, () => {
    it("readRangesInto writes each range back to back into the caller's buffer, equal to getRanges, whatever the coalescing", () =>
      withStore(async ({ store }) => {
        const data = bytes(70_000, 3);
        await store.put("r/obj", data);
        const reader = await openObjectReader(store, "r/obj");
        try {
          expect(reader.size).toBe(70_000);
          expect(reader.path).toBe("r/obj");
          // adjacent (merged), out of order, overlapping, zero-length and far-apart ranges
          const ranges = [
            { offset: 100, length: 50 },
            { offset: 150, length: 30 },
            { offset: 60_000, length: 9_999 },
            { offset: 10, length: 200 },
            { offset: 40, length: 0 },
            { offset: 69_990, length: 10 },
            // 2 bytes, not 1: s3rver answers "bytes=0-0" with the whole object
            { offset: 0, length: 2 },
          ];
          const total = ranges.reduce((a, r) => a + r.length, 0);
          for (const options of [undefined, { coalesceGap: 0 }, { coalesceGap: -1 }, { coalesceGap: 100_000 }, { coalesceGap: 100_000, maxRequestBytes: 1000 }]) {
            const target = new Uint8Array(total + 5).fill(0xee);
            await reader.readRangesInto(ranges, target, options);
            const expected = await store.getRanges("r/obj", ranges, options);
            let at = 0;
            for (let i = 0; i < ranges.length; i++) {
              expect(target.subarray(at, at + ranges[i]!.length)).toEqual(expected[i]);
              at += ranges[i]!.length;
            }
            // bytes past the ranges' total are not touched
            expect([...target.subarray(total)]).toEqual([0xee, 0xee, 0xee, 0xee, 0xee]);
          }
          // a subarray target: only its own window is written
          const backing = new Uint8Array(300).fill(1);
          await reader.readRangesInto([{ offset: 1000, length: 100 }], backing.subarray(100, 200));
          expect(backing.subarray(100, 200)).toEqual(data.subarray(1000, 1100));
          expect(backing[99]).toBe(1);
          expect(backing[200]).toBe(1);
          await reader.readRangesInto([], new Uint8Array(0));
        } finally {
          await reader.close();
        }
      }));

    it("bad calls are typed errors before any read: small or non-Uint8Array target, invalid or out-of-bounds ranges, absent object", () =>
      withStore(async ({ store }) => {
        await store.put("r/obj", bytes(1000));
        const reader = await openObjectReader(store, "r/obj");
        try {
          const argError = async (p: Promise<unknown>) => {
            const e = await p.then(
              () => undefined,
              (err: unknown) => err,
            );
            expect(e).toBeInstanceOf(QuiverArgumentError);
            expect((e as QuiverArgumentError).code).toBe("INVALID_ARGUMENT");
          };
          await argError(reader.readRangesInto([{ offset: 0, length: 10 }], new Uint8Array(9)));
          await argError(reader.readRangesInto([{ offset: 0, length: 10 }], [] as unknown as Uint8Array));
          await argError(reader.readRangesInto("0-10" as unknown as [], new Uint8Array(10)));
          await expectStoreError(reader.readRangesInto([{ offset: -1, length: 10 }], new Uint8Array(10)), "INVALID_RANGE");
          await expectStoreError(reader.readRangesInto([{ offset: 0, length: 1.5 }], new Uint8Array(10)), "INVALID_RANGE");
          await expectStoreError(reader.readRangesInto([{ offset: 995, length: 10 }], new Uint8Array(10)), "RANGE_OUT_OF_BOUNDS");
          await expectStoreError(reader.readRangesInto([{ offset: 1001, length: 0 }], new Uint8Array(0)), "RANGE_OUT_OF_BOUNDS");
        } finally {
          await reader.close();
        }
        await expectStoreError(openObjectReader(store, "r/absent"), "NOT_FOUND");
        await expectStoreError(openObjectReader(store, "../r/obj"), "INVALID_PATH");
      }));

    it("close is idempotent and waits for reads in flight; a read after close is READER_CLOSED", () =>
      withStore(async ({ store }) => {
        const data = bytes(200_000, 5);
        await store.put("r/obj", data);
        const reader = await openObjectReader(store, "r/obj");
        const target = new Uint8Array(200_000);
        const inFlight = reader.readRangesInto([{ offset: 0, length: 200_000 }], target);
        await Promise.all([reader.close(), reader.close()]);
        // the read started before close either completed with the right bytes or failed with READER_CLOSED
        const outcome = await inFlight.then(
          () => "ok",
          (e: unknown) => e,
        );
        if (outcome === "ok") expect(target).toEqual(data);
        else expect((outcome as QuiverStoreError).code).toBe("READER_CLOSED");
        await expectStoreError(reader.readRangesInto([{ offset: 0, length: 1 }], new Uint8Array(1)), "READER_CLOSED");
        await reader.close();
      }));

    it("a pinned reader reads the version it opened after a replace or delete; an unpinned one reads the current object", () =>
      withStore(async ({ store }) => {
        const v1 = bytes(5000, 1);
        const v2 = bytes(5000, 2);
        await store.put("r/obj", v1);
        const reader = await openObjectReader(store, "r/obj");
        try {
          await store.put("r/obj", v2);
          const got = new Uint8Array(100);
          // a reader that fails on change is checked by the "replaced after open" case below
          if (reader.failsOnChange === true && !reader.pinned) await expectStoreError(reader.readRangesInto([{ offset: 1000, length: 100 }], got), "OBJECT_CHANGED");
          else {
            await reader.readRangesInto([{ offset: 1000, length: 100 }], got);
            expect(got).toEqual((reader.pinned ? v1 : v2).subarray(1000, 1100));
          }
          await store.delete("r/obj");
          if (reader.pinned) {
            await reader.readRangesInto([{ offset: 4900, length: 100 }], got);
            expect(got).toEqual(v1.subarray(4900, 5000));
          } else {
            await expectStoreError(reader.readRangesInto([{ offset: 0, length: 100 }], got), "NOT_FOUND");
          }
        } finally {
          await reader.close();
        }
      }));

    it("object replaced after open: a pinned reader reads the old bytes, a reader that fails on change gives OBJECT_CHANGED, never bytes of both versions", () =>
      withStore(async ({ store }) => {
        // same size, different bytes: a reader checking only the size cannot tell them apart
        const v1 = bytes(20_000, 7);
        const v2 = bytes(20_000, 8);
        await store.put("r/swap", v1);
        const reader = await openObjectReader(store, "r/swap");
        try {
          const before = new Uint8Array(100);
          await reader.readRangesInto([{ offset: 0, length: 100 }], before);
          expect(before).toEqual(v1.subarray(0, 100));
          await store.put("r/swap", v2);
          // two far-apart ranges: two requests, each after the replace
          const ranges = [
            { offset: 10, length: 50 },
            { offset: 15_000, length: 50 },
          ];
          const got = new Uint8Array(100).fill(0xee);
          const outcome = await reader.readRangesInto(ranges, got, { coalesceGap: 0 }).then(
            () => "ok",
            (e: unknown) => e,
          );
          if (reader.pinned) {
            expect(outcome).toBe("ok");
            expect(got.subarray(0, 50)).toEqual(v1.subarray(10, 60));
            expect(got.subarray(50)).toEqual(v1.subarray(15_000, 15_050));
          } else if (reader.failsOnChange === true) {
            expect(outcome).toBeInstanceOf(QuiverStoreError);
            expect((outcome as QuiverStoreError).code).toBe("OBJECT_CHANGED");
            // and it stays so: the reader does not quietly follow the new version
            await expectStoreError(reader.readRangesInto([{ offset: 0, length: 10 }], new Uint8Array(10)), "OBJECT_CHANGED");
            // a reader opened now reads the new version
            const fresh = await openObjectReader(store, "r/swap");
            try {
              const now = new Uint8Array(100);
              await fresh.readRangesInto([{ offset: 0, length: 100 }], now);
              expect(now).toEqual(v2.subarray(0, 100));
            } finally {
              await fresh.close();
            }
          } else {
            // unpinned and not change-detecting: it reads the current object (documented)
            expect(outcome).toBe("ok");
            expect(got.subarray(0, 50)).toEqual(v2.subarray(10, 60));
          }
        } finally {
          await reader.close();
        }
      }));

    it("IoStatsStore over it counts a reader's open as one head and each read as getRanges would (one request per coalesced request)", () =>
      withStore(async ({ store: inner }) => {
        const store = new IoStatsStore(inner);
        await inner.put("io/obj", bytes(50_000));
        const reader = await openObjectReader(store, "io/obj");
        try {
          expect(store.snapshot().total).toMatchObject({ heads: 1, readRequests: 0, bytesRead: 0 });
          const ranges = [
            { offset: 0, length: 10 },
            { offset: 20, length: 10 },
            { offset: 30_000, length: 100 },
            { offset: 5, length: 0 },
          ];
          await reader.readRangesInto(ranges, new Uint8Array(120), { coalesceGap: 100 });
          expect(store.snapshot().total).toMatchObject({ heads: 1, readRequests: 2, bytesRead: 30 + 100 });
          await reader.readRangesInto(ranges, new Uint8Array(120), { coalesceGap: 0 });
          expect(store.snapshot().total).toMatchObject({ heads: 1, readRequests: 5, bytesRead: 130 + 120 });
          // a rejected call is not counted
          await reader.readRangesInto([{ offset: 0, length: 10 }], new Uint8Array(1)).catch(() => undefined);
          expect(store.snapshot().total).toMatchObject({ readRequests: 5 });
        } finally {
          await reader.close();
        }
      }));
  });
}
