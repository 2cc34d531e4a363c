/**
 * The artifact's range reads over an S3-compatible store: a real s3rver started by the test,
 * requests counted by IoStatsStore around S3ObjectStore (no mocks). A partition read costs
 * exactly the ranged GETs the reader reports (one per range with coalescing off, one per
 * coalesced request otherwise) and no HEAD; the round trip is exact; a flipped byte in a bucket
 * object is caught by the range CRC. s3rver caveats: suffix ranges (`bytes=-N`) return wrong bytes
 * and If-None-Match is not enforced. The S3 store never sends suffix ranges (footers are read
 * with explicit ranges), and the stores here use the check-then-put fallback for the manifest's
 * create-only commit, so neither caveat is relied on.
 */
import { IoStatsStore } from "@quiver/store";
import { RecordBatchFileReader } from "apache-arrow";
import { S3ObjectStore } from "@quiver/store-s3";
import { describe, expect, it } from "vitest";
import { useS3rver } from "../../store-s3/test/use-s3rver.js";
import { PartitionArtifactReader, PartitionArtifactWriter, decodeRangesTable, validateArtifact } from "../src/index.js";
import { checkExactRoundTrip, inputBatch, pqSchema } from "./helpers.js";

const s3rver = useS3rver();

let seq = 0;
function s3(): S3ObjectStore {
  return new S3ObjectStore({ bucket: s3rver().bucket, prefix: `art${seq++}/`, client: s3rver().client(), conditionalCreate: "check-then-put" });
}

async function writeArtifact(store: S3ObjectStore, rows: number, P: number): Promise<void> {
  const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: P, payloadSchema: pqSchema(), policy: "range-by-partition-id", numBuckets: 4, memoryBudgetBytes: 256 << 10 });
  for (let r = 0; r < rows; r += 10_000) await w.append(inputBatch(r, Math.min(10_000, rows - r), P));
  await w.finish();
}

describe("PartitionArtifactReader over S3 (real s3rver)", () => {
  it("a partition read makes exactly the reported ranged GETs and no HEAD; the round trip is exact", async () => {
    const store = s3();
    await writeArtifact(store, 50_000, 64);
    expect(await validateArtifact(store, "a")).toEqual([]);

    const io = new IoStatsStore(store);
    const reader = await PartitionArtifactReader.open(io, "a", { coalesce: { coalesceGap: -1 } });
    await reader.loadFooters();
    io.reset();
    const multi = [...Array(64).keys()].filter((p) => reader.rangesOf(p).length > 1);
    expect(multi.length).toBeGreaterThan(0);
    for (const p of multi.slice(0, 5)) {
      io.reset();
      const batches = await reader.readPartitionBatches(p);
      const cost = reader.lastCost(p)!;
      const got = io.snapshot().total;
      expect(cost.requests).toBe(reader.rangesOf(p).length);
      expect(batches).toHaveLength(reader.rangesOf(p).length);
      expect(got).toMatchObject({ readRequests: cost.requests, bytesRead: cost.bytes, heads: 0, lists: 0, writes: 0 });
    }
    // An empty partition costs nothing.
    const empty = [...Array(64).keys()].find((p) => reader.partitionSize(p) === 0)!;
    io.reset();
    await reader.readPartitionBatches(empty);
    expect(io.snapshot().total.readRequests).toBe(0);
    await checkExactRoundTrip(reader, 50_000);
  }, 120_000);

  it("with the default coalescing a partition's ranges are fetched in as few GETs as the rule allows", async () => {
    const store = s3();
    await writeArtifact(store, 30_000, 32);
    const io = new IoStatsStore(store);
    const reader = await PartitionArtifactReader.open(io, "a");
    await reader.loadFooters();
    let ranges = 0;
    let requests = 0;
    for (let p = 0; p < 32; p++) {
      io.reset();
      await reader.readPartitionBatches(p);
      const cost = reader.lastCost(p)!;
      expect(io.snapshot().total).toMatchObject({ readRequests: cost.requests, bytesRead: cost.bytes, heads: 0 });
      ranges += reader.rangesOf(p).length;
      requests += cost.requests;
    }
    // Every non-empty partition lies in one bucket with its ranges well within the 1 MiB gap.
    const nonEmpty = [...Array(32).keys()].filter((p) => reader.partitionSize(p) > 0).length;
    expect(requests).toBe(nonEmpty);
    expect(ranges).toBeGreaterThan(requests);
  }, 120_000);

  it("a flipped byte in a bucket object on S3 is ARTIFACT_RANGE_CHECKSUM_MISMATCH for the partition that reads it; others still read", async () => {
    const store = s3();
    await writeArtifact(store, 20_000, 16);
    const reader = await PartitionArtifactReader.open(store, "a");
    const ranges = decodeRangesTable(await store.get(`a/${reader.manifest.ranges.path}`));
    const victim = ranges.bucket.indexOf(1); // the first range (record batch 0) of bucket 1
    const p = ranges.partition[victim]!;
    const path = `a/${reader.manifest.buckets[1]!.path}`;
    const file = await store.get(path);
    const footer = RecordBatchFileReader.from(file).open().footer!;
    const blk = footer.getRecordBatch(0)!;
    // Body = row ids (rows x 8 bytes), then the codes: flip the first code byte.
    const at = Number(blk.offset) + blk.metaDataLength + ranges.rowCount[victim]! * 8;
    file[at] = file[at]! ^ 0x10;
    await store.put(path, file);
    const fresh = await PartitionArtifactReader.open(store, "a");
    await expect(fresh.readPartitionBatches(p)).rejects.toMatchObject({ code: "ARTIFACT_RANGE_CHECKSUM_MISMATCH" });
    const other = [...Array(16).keys()].find((q) => q !== p && fresh.partitionSize(q) > 0 && fresh.rangesOf(q).every((r) => r.bucket !== 1))!;
    expect((await fresh.readPartitionBatches(other)).reduce((n, b) => n + b.numRows, 0)).toBe(fresh.partitionSize(other));
  }, 120_000);
});
