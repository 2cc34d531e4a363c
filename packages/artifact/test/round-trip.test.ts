import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { type BucketPolicyKind, PartitionArtifactReader, PartitionArtifactWriter, validateArtifact } from "../src/index.js";
import { checkExactRoundTrip, inputBatch, partitionOfRow, pqSchema } from "./helpers.js";

const POLICIES: BucketPolicyKind[] = ["hash-modulo", "range-by-partition-id", "size-balanced-range"];

function estimates(P: number, rows: number): number[] {
  const e = new Array<number>(P).fill(0);
  for (let r = 0; r < rows; r += 7) e[partitionOfRow(r, P, 1)]! += 7;
  return e;
}

async function writeArtifact(store: MemoryObjectStore, uri: string, rows: number, P: number, policy: BucketPolicyKind, extra: { numBuckets?: number; memoryBudgetBytes?: number } = {}) {
  const w = await PartitionArtifactWriter.create({
    store,
    uri,
    numPartitions: P,
    payloadSchema: pqSchema(),
    policy,
    ...(policy === "size-balanced-range" ? { partitionSizeEstimates: estimates(P, rows) } : {}),
    ...extra,
  });
  for (let r = 0; r < rows; r += 10_000) await w.append(inputBatch(r, Math.min(10_000, rows - r), P));
  return { manifest: await w.finish(), stats: w.stats };
}

describe("PartitionArtifactWriter -> PartitionArtifactReader", () => {
  for (const policy of POLICIES) {
    it(`round-trips 200k rows exactly under ${policy} (7 buckets, many flushes, empty partitions)`, async () => {
      const store = new MemoryObjectStore();
      const { manifest, stats } = await writeArtifact(store, "a", 200_000, 300, policy, { numBuckets: 7, memoryBudgetBytes: 1 << 20 });
      expect(manifest.bucket_policy.kind).toBe(policy);
      expect(manifest.buckets).toHaveLength(7);
      expect(stats.flushes).toBeGreaterThan(7);
      const reader = await PartitionArtifactReader.open(store, "a");
      expect(reader.partitionSize(2)).toBe(0);
      await checkExactRoundTrip(reader, 200_000);
      expect(await validateArtifact(store, "a")).toEqual([]);
      // Multi-range partitions: some partition was split over several flushes.
      const maxRanges = Math.max(...Array.from({ length: 300 }, (_, p) => reader.rangesOf(p).length));
      expect(maxRanges).toBeGreaterThan(1);
    });
  }

  it("reads only the partition's ranges and reports requests and bytes", async () => {
    const store = new MemoryObjectStore();
    await writeArtifact(store, "a", 50_000, 64, "range-by-partition-id", { numBuckets: 4, memoryBudgetBytes: 256 << 10 });
    const reader = await PartitionArtifactReader.open(store, "a", { coalesce: { coalesceGap: -1 } });
    await reader.loadFooters();
    const p = 10;
    const batches = await reader.readPartitionBatches(p);
    const cost = reader.lastCost(p)!;
    expect(cost.requests).toBe(reader.rangesOf(p).length);
    expect(batches).toHaveLength(reader.rangesOf(p).length);
    // Bytes: the record batch messages only, a small fraction of the bucket file.
    const bucketBytes = reader.manifest.buckets[reader.rangesOf(p)[0]!.bucket]!.byte_size;
    expect(cost.bytes).toBeLessThan(bucketBytes / 4);
    expect(cost.bytes).toBeGreaterThan(reader.partitionSize(p) * 24);
    expect(reader.lastCost(2)).toBeUndefined();
    await reader.readPartitionBatches(2);
    expect(reader.lastCost(2)).toEqual({ requests: 0, bytes: 0 });
  });

  it("refuses an artifact with no committed manifest", async () => {
    const store = new MemoryObjectStore();
    await writeArtifact(store, "a", 1000, 8, "hash-modulo");
    await store.delete("a/manifest.json");
    await expect(PartitionArtifactReader.open(store, "a")).rejects.toMatchObject({ code: "ARTIFACT_UNCOMMITTED", stage: "manifest" });
    expect((await validateArtifact(store, "a")).map((p) => p.code)).toEqual(["ARTIFACT_UNCOMMITTED"]);
  });

  it("rejects partition ids outside [0, numPartitions)", async () => {
    const store = new MemoryObjectStore();
    const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: 4, payloadSchema: pqSchema() });
    await expect(w.append(inputBatch(0, 100, 40))).rejects.toMatchObject({ code: "INVALID_VALUE" });
  });

  it("adaptive bucket count follows the estimated payload size", async () => {
    const store = new MemoryObjectStore();
    const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: 1000, payloadSchema: pqSchema(), estimatedRows: 10_000_000, targetBucketBytes: 16 << 20 });
    // 10M rows x 24 B = 240 MB / 16 MiB -> 15 buckets.
    expect(w.numBuckets).toBe(15);
    const small = await PartitionArtifactWriter.create({ store, uri: "b", numPartitions: 1000, payloadSchema: pqSchema(), estimatedRows: 1000 });
    expect(small.numBuckets).toBe(1);
  });

  it("keeps buffered memory within the budget: the flush threshold shrinks with the bucket count", async () => {
    const store = new MemoryObjectStore();
    const budget = 8 << 20;
    for (const B of [1, 8, 64]) {
      const w = await PartitionArtifactWriter.create({ store, uri: `t${B}`, numPartitions: 1024, payloadSchema: pqSchema(), numBuckets: B, memoryBudgetBytes: budget });
      expect((B + 2) * w.flushThresholdRows * 28).toBeLessThanOrEqual(budget);
    }
  });
});
