/**
 * S3ObjectStore against a real s3rver started by the test (no mocks): the store conformance suite,
 * pagination, multipart uploads, conditional create (fallback mode: s3rver ignores If-None-Match),
 * and IO accounting through IoStatsStore.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runObjectStoreConformance } from "@quiver/conformance";
import { IoStatsStore, QuiverStoreError } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";
import { type S3rverHandle, startS3rver } from "./s3rver-server.js";

let server: S3rverHandle | undefined;
beforeAll(async () => {
  server = await startS3rver();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

let seq = 0;
/** A store under a fresh key prefix of the one bucket, so tests never see each other's objects. */
function freshStore(extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  if (server === undefined) throw new Error("s3rver did not start");
  // s3rver does not enforce If-None-Match: use the stated fallback there.
  return new S3ObjectStore({ bucket: server.bucket, prefix: `t${seq++}/`, client: server.client(), conditionalCreate: "check-then-put", ...extra });
}

// s3rver ignores If-None-Match, so these runs use the check-then-put fallback, which is not atomic.
const nonAtomicCreateReason = "s3rver does not enforce If-None-Match; the check-then-put fallback used here is not atomic";
await runObjectStoreConformance("S3ObjectStore (real s3rver)", async () => ({ store: freshStore() }), { nonAtomicCreateReason });
await runObjectStoreConformance("S3ObjectStore (real s3rver, 2-key list pages)", async () => ({ store: freshStore({ listPageSize: 2 }) }), { nonAtomicCreateReason });

describe("S3ObjectStore specifics (real s3rver)", () => {
  it("pages through ListObjectsV2 (continuation tokens) and counts one list per call at the store layer", async () => {
    const store = freshStore({ listPageSize: 3 });
    const names = Array.from({ length: 11 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    for (const n of names) await store.put(n, Uint8Array.of(1));
    const io = new IoStatsStore(store);
    expect((await io.list("p/")).map((m) => m.path)).toEqual(names);
    expect(io.snapshot().total.lists).toBe(1);
  });

  it("uploads a large object in parts (multipart) and reads it back exactly, also by ranges", async () => {
    const store = freshStore({ multipartThresholdBytes: 5 * 1024 * 1024, partSizeBytes: 5 * 1024 * 1024, partConcurrency: 2 });
    const big = new Uint8Array(12 * 1024 * 1024 + 123);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    await store.put("big/object", big);
    expect((await store.head("big/object")).size).toBe(big.length);
    const back = await store.get("big/object");
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true);
    const [a, b] = await store.getRanges("big/object", [
      { offset: 5 * 1024 * 1024 - 10, length: 20 },
      { offset: big.length - 7, length: 7 },
    ]);
    expect(Array.from(a!)).toEqual(Array.from(big.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 10)));
    expect(Array.from(b!)).toEqual(Array.from(big.subarray(big.length - 7)));
  });

  it("conditional create: the first ifAbsent put wins, the second is ALREADY_EXISTS and changes nothing", async () => {
    const store = freshStore();
    await store.put("commit/manifest", Uint8Array.of(1), { ifAbsent: true });
    let err: unknown;
    try {
      await store.put("commit/manifest", Uint8Array.of(2), { ifAbsent: true });
    } catch (e) {
      err = e;
    }
    expect(err instanceof QuiverStoreError && err.code === "ALREADY_EXISTS").toBe(true);
    expect(Array.from(await store.get("commit/manifest"))).toEqual([1]);
  });

  it("counts one read request per coalesced range request through IoStatsStore", async () => {
    const store = new IoStatsStore(freshStore());
    await store.put("r", new Uint8Array(100_000).fill(3));
    store.reset();
    await store.getRanges("r", [
      { offset: 0, length: 10 },
      { offset: 50, length: 10 },
      { offset: 90_000, length: 10 },
    ], { coalesceGap: 1000 });
    expect(store.snapshot().total).toMatchObject({ readRequests: 2, bytesRead: 70 });
  });
});
