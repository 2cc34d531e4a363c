/**
 * The streamed index write over a real S3-compatible server (s3rver, started by the test): the
 * index goes out as a multipart upload through the store's writer, every byte in file order
 * (two passes over the source), and is byte-identical to the in-memory encoder. s3rver caveats:
 * it does not enforce If-None-Match and returns wrong bytes for suffix ranges; nothing here relies
 * on either (the write is a plain create; reads use explicit ranges or whole objects).
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { PartitionArtifactReader } from "@quiver/artifact";
import { encodeIvfIndex, openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";
import { describe, expect, it } from "vitest";
import { type S3rverHandle, countingClient as countingClientOf } from "../../store-s3/test/s3rver-server.js";
import { useS3rver } from "../../store-s3/test/use-s3rver.js";
import { buildIndex, writeIvfIndexStreamed } from "../src/index.js";
import { FAST, smallData, tempDir } from "./helpers.js";

const s3rver = useS3rver();

type S3Client = ReturnType<S3rverHandle["client"]>;

const countingClient = () => countingClientOf(s3rver());

describe("writeIvfIndexStreamed to S3 (real s3rver)", () => {
  it("streams a > 5 MiB index as a multipart upload, byte-identical to encodeIvfIndex, with one write at the store layer", async () => {
    const DIM = 128;
    const N = 12_000; // raw vectors alone are 6.1 MB: more than one 5 MiB part
    const vectors = smallData(N, DIM);
    const { dir, cleanup } = await tempDir();
    try {
      const local = new LocalDirectoryStore(dir);
      const r = await buildIndex({ input: { vectors, dim: DIM }, store: local, path: "x.qvr", ...FAST, storeRawVectors: true, keepState: true });
      const source = await PartitionArtifactReader.open(local, "x.qvr.build/artifact");
      const input = { dim: DIM, distance: "l2" as const, centroids: r.model.centroids, quantizer: r.model.quantizer, codeWidth: r.metadata.quantizer.codeWidth, source };
      const { bytes } = await encodeIvfIndex(input);
      expect(Buffer.compare(Buffer.from(bytes), await readFile(join(dir, "x.qvr")))).toBe(0);

      const { client, counts } = countingClient();
      const MiB = 1024 * 1024;
      const s3 = new S3ObjectStore({ bucket: s3rver().bucket, prefix: "build/", client, multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, partConcurrency: 2 });
      const io = new IoStatsStore(s3);
      const progress: [number, number][] = [];
      const spillDir = join(dir, "spill");
      const w = await writeIvfIndexStreamed(io, "idx/i.qvr", input, (d, t) => progress.push([d, t]), { tempDir: spillDir });
      // one pass over the artifact (through a local spill file, removed after the upload)
      expect(w.sourcePasses).toBe(1);
      expect(await readdir(spillDir)).toEqual([]);
      expect(w.fileSize).toBe(bytes.byteLength);
      expect(progress.at(-1)).toEqual([source.numPartitions, source.numPartitions]);
      expect(io.snapshot().total).toMatchObject({ writes: 1, bytesWritten: bytes.byteLength, readRequests: 0, heads: 0 });
      const parts = Math.ceil(bytes.byteLength / (5 * MiB));
      expect(parts).toBeGreaterThan(1);
      expect(counts).toMatchObject({ CreateMultipartUploadCommand: 1, UploadPartCommand: parts, CompleteMultipartUploadCommand: 1 });
      expect(counts["PutObjectCommand"]).toBeUndefined();
      const back = await s3.get("idx/i.qvr");
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(back))).toBe(0);
      // the two-pass mode (no local file) writes the same bytes
      const two = await writeIvfIndexStreamed(s3, "idx/two.qvr", input, undefined, { mode: "two-pass" });
      expect(two.sourcePasses).toBe(2);
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(await s3.get("idx/two.qvr")))).toBe(0);
      // And it opens and answers from S3.
      const index = await openVectorIndex(s3, "idx/i.qvr");
      const hits = await index.search(vectors.subarray(7 * DIM, 8 * DIM), { k: 1, nprobes: 8, refineFactor: 10 });
      expect(hits[0]!.id).toBe(7);
    } finally {
      await cleanup();
    }
  }, 120_000);
});
