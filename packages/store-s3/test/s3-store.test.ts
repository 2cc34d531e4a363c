/**
 * S3ObjectStore against a real s3rver started by the test (no mocks): pagination, multipart uploads, conditional create (fallback mode: s3rver ignores If-None-Match),
 * and IO accounting through IoStatsStore.
 */
import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { IoStatsStore, QuiverStoreError, isStoreError, openObjectReader, openObjectWriter } from "@quiver/store";
import { S3ObjectStore, S3ObjectWriter } from "@quiver/store-s3";
import { countingClient as countingClientOf } from "./s3rver-server.js";
import { useS3rver } from "./use-s3rver.js";

const s3rver = useS3rver();

let seq = 0;
/** A store under a fresh key prefix of the one bucket, so tests never see each other's objects. */
function freshStore(extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  const server = s3rver();
  // s3rver does not enforce If-None-Match: use the stated fallback there.
  return new S3ObjectStore({ bucket: server.bucket, prefix: `t${seq++}/`, client: server.client(), conditionalCreate: "check-then-put", ...extra });
}

// The store conformance suite runs against this store in packages/conformance/test/object-store-s3.conformance.test.ts.

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

  it("an object reader keeps the ETag of its open: every ranged GET sends If-Match with it; a replace after open is OBJECT_CHANGED, a delete NOT_FOUND", async () => {
    const server = s3rver();
    const client = server.client();
    // the If-Match header of each real GetObject request, as sent (SDK middleware, no mock)
    const ifMatch: (string | undefined)[] = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName === "GetObjectCommand") {
          ifMatch.push((args.request as { headers: Record<string, string> }).headers["if-match"]);
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "quiverRecordIfMatch" },
    );
    const store = new S3ObjectStore({ bucket: server.bucket, prefix: `t${seq++}/`, client, conditionalCreate: "check-then-put" });
    const v1 = Uint8Array.from({ length: 10_000 }, (_, i) => i & 0xff);
    const v2 = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 3) & 0xff);
    await store.put("pin/obj", v1);
    const etag = (await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: store.keyOf("pin/obj") }))).ETag;
    const reader = await openObjectReader(store, "pin/obj");
    try {
      expect({ pinned: reader.pinned, failsOnChange: reader.failsOnChange, size: reader.size }).toEqual({ pinned: false, failsOnChange: true, size: 10_000 });
      const got = new Uint8Array(200);
      await reader.readRangesInto([{ offset: 0, length: 100 }, { offset: 9000, length: 100 }], got, { coalesceGap: 0 });
      expect(got).toEqual(Uint8Array.from([...v1.subarray(0, 100), ...v1.subarray(9000, 9100)]));
      expect(ifMatch).toEqual([etag, etag]);
      // same size, other bytes: s3rver ignores If-Match, so this is caught by the response's ETag
      await store.put("pin/obj", v2);
      const err = await reader.readRangesInto([{ offset: 0, length: 100 }], got).then(() => undefined, (e: unknown) => e);
      expect(isStoreError(err, "OBJECT_CHANGED")).toBe(true);
      expect(ifMatch.at(-1)).toBe(etag);
      await store.delete("pin/obj");
      await expect(reader.readRangesInto([{ offset: 0, length: 100 }], got)).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));
    } finally {
      await reader.close();
    }
    await expect(reader.readRangesInto([{ offset: 0, length: 1 }], new Uint8Array(1))).rejects.toSatisfy((e) => isStoreError(e, "READER_CLOSED"));
  });

  it("where the server enforces If-Match (as S3 does), a replace after open is its 412, reported as OBJECT_CHANGED", async () => {
    const server = s3rver();
    const store = new S3ObjectStore({ bucket: server.strictBucket, prefix: `t${seq++}/`, client: server.client(), conditionalCreate: "check-then-put" });
    await store.put("pin/obj", Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff));
    const reader = await openObjectReader(store, "pin/obj");
    try {
      const got = new Uint8Array(100);
      await reader.readRangesInto([{ offset: 10, length: 100 }], got);
      expect(got[0]).toBe(10);
      await store.put("pin/obj", Uint8Array.from({ length: 5000 }, (_, i) => (i + 1) & 0xff));
      const err = await reader.readRangesInto([{ offset: 10, length: 100 }], got).then(() => undefined, (e: unknown) => e);
      expect(isStoreError(err, "OBJECT_CHANGED")).toBe(true);
      // the server's 412, not the response-ETag check
      expect(((err as QuiverStoreError).cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(412);
      expect(got[0]).toBe(10);
    } finally {
      await reader.close();
    }
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

const countingClient = () => countingClientOf(s3rver());

/** Deterministic chunk i of a streamed test object. */
function chunkBytes(i: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (i + 1) * 2654435761;
  for (let j = 0; j < n; j += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[j] = x & 0xff;
    out[j + 1] = (x >>> 8) & 0xff;
  }
  return out;
}

describe("S3ObjectStore streaming writer (real s3rver)", () => {
  const MiB = 1024 * 1024;

  it("streams 64 MiB as a multipart upload in bounded memory: peak buffered <= (concurrency + 1) x part size", async () => {
    const { client, counts } = countingClient();
    const store = freshStore({ client, multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 });
    const w = await store.createWriter("stream/64m");
    expect(w).toBeInstanceOf(S3ObjectWriter);
    const hash = createHash("sha256");
    const sizes = [1 * MiB, 3 * MiB + 17, 777, 2 * MiB - 1];
    let total = 0;
    for (let i = 0; total < 64 * MiB; i++) {
      const n = Math.min(sizes[i % sizes.length]!, 64 * MiB - total);
      const c = chunkBytes(i, n);
      hash.update(c);
      await w.write(c);
      total += n;
    }
    expect(await store.list("stream/")).toEqual([]); // nothing visible before the commit
    await w.commit();
    const parts = Math.ceil((64 * MiB) / (5 * MiB));
    expect(w.partsUploaded).toBe(parts);
    expect(w.peakBufferedBytes).toBeLessThanOrEqual(3 * 5 * MiB);
    expect(w.peakBufferedBytes).toBeGreaterThanOrEqual(5 * MiB); // it really measured the part buffers
    expect(w.bufferedBytes).toBe(0);
    expect(counts).toMatchObject({ CreateMultipartUploadCommand: 1, UploadPartCommand: parts, CompleteMultipartUploadCommand: 1 });
    expect(counts["PutObjectCommand"]).toBeUndefined();
    const back = await store.get("stream/64m");
    expect(back.byteLength).toBe(64 * MiB);
    expect(createHash("sha256").update(back).digest("hex")).toBe(hash.digest("hex"));
  }, 120_000);

  it("below the threshold a writer commits with one PutObject and holds only what was written", async () => {
    const { client, counts } = countingClient();
    const store = freshStore({ client });
    const w = await store.createWriter("small/obj");
    for (let i = 0; i < 10; i++) await w.write(chunkBytes(i, 1000));
    expect(w.peakBufferedBytes).toBeLessThan(1 * MiB);
    await w.commit();
    expect(counts).toEqual({ PutObjectCommand: 1 });
    expect((await store.head("small/obj")).size).toBe(10_000);
  });

  it("a put of a large buffer goes through the same part loop (multipart, parts are views)", async () => {
    const { client, counts } = countingClient();
    const store = freshStore({ client, multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 3 });
    const big = chunkBytes(9, 11 * MiB + 5);
    await store.put("big/put", big);
    expect(counts).toMatchObject({ CreateMultipartUploadCommand: 1, UploadPartCommand: 3, CompleteMultipartUploadCommand: 1 });
    expect(Buffer.from(await store.get("big/put")).equals(Buffer.from(big))).toBe(true);
  }, 60_000);

  it("abort after parts were uploaded sends AbortMultipartUpload and leaves no object; ifAbsent is checked at commit", async () => {
    const { client, counts } = countingClient();
    const store = freshStore({ client, multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 });
    const w = await openObjectWriter(store, "ab/obj");
    await w.write(chunkBytes(1, 11 * MiB));
    expect(counts["UploadPartCommand"]).toBe(2);
    await w.abort();
    expect(counts["AbortMultipartUploadCommand"]).toBe(1);
    await expect(store.head("ab/obj")).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));
    // Create-only through the writer (check-then-put here: s3rver ignores If-None-Match).
    await store.put("ab/manifest", Uint8Array.of(1));
    const c = await store.createWriter("ab/manifest", { ifAbsent: true });
    await c.write(chunkBytes(2, 6 * MiB));
    await expect(c.commit()).rejects.toSatisfy((e) => isStoreError(e, "ALREADY_EXISTS"));
    expect(counts["AbortMultipartUploadCommand"]).toBe(2);
    expect(Array.from(await store.get("ab/manifest"))).toEqual([1]);
    await expect(c.write(Uint8Array.of(1))).rejects.toSatisfy((e) => isStoreError(e, "WRITER_CLOSED"));
  }, 60_000);
});
