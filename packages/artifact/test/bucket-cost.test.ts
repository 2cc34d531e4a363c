import { describe, expect, it } from "vitest";
import { DEFAULT_BUCKET_COST_MODEL, adaptiveBucketCount, estimateBucketCost, planBucketPolicy } from "../src/index.js";

const budget = 24 << 20;
const input = (rows: number, P: number) => ({ kind: "hash-modulo" as const, numPartitions: P, rowBytes: 24, estimatedRows: rows, memoryBudgetBytes: budget });

describe("adaptive bucket count from the read cost model (spec/artifact.md#bucket-cost-model)", () => {
  it("the writer's flush rule and the range count: more buckets, smaller buffers, more flushes per bucket row", () => {
    const one = estimateBucketCost(4_000_000, 24, 8192, 1, budget);
    const many = estimateBucketCost(4_000_000, 24, 8192, 64, budget);
    expect(one.flushThresholdRows).toBe(Math.floor(budget / (3 * 28)));
    expect(many.flushThresholdRows).toBe(Math.floor(budget / (66 * 28)));
    expect(one.flushesPerBucket).toBe(Math.ceil(4_000_000 / one.flushThresholdRows));
    // One bucket: every flush holds nearly every partition, so ranges ~ flushes x partitions.
    expect(one.ranges).toBeGreaterThan(0.99 * one.flushesPerBucket * 8192);
    expect(many.ranges).toBeLessThan(one.ranges);
    expect(many.requests).toBeGreaterThan(one.requests);
  });

  it("picks 16 buckets at 100k, 250k, 1M and 4M rows (8,192 partitions, 24 MiB): the bench's measured best at each size", () => {
    // before the calibration (C = 16, 0.03 ms per range, no dependent footer round) 250k got 1
    // bucket, measured 1.28x slower than 16
    expect([100_000, 250_000, 1_000_000, 4_000_000].map((n) => adaptiveBucketCount(input(n, 8192)))).toEqual([16, 16, 16, 16]);
  });

  it("one bucket whose footer exceeds the 64 KiB probe costs a dependent request round", () => {
    // 8,192 ranges x 24 B footer blocks = 192 KiB: probe, then the footer
    const one = estimateBucketCost(250_000, 24, 8192, 1, budget, { ...DEFAULT_BUCKET_COST_MODEL, perRangeMs: 0 });
    const fits = estimateBucketCost(250_000, 24, 1024, 1, budget, { ...DEFAULT_BUCKET_COST_MODEL, perRangeMs: 0 });
    expect(one.ms - fits.ms).toBe(DEFAULT_BUCKET_COST_MODEL.latencyMs);
  });

  it("picks the candidate with the least predicted cost, keeping fewer buckets unless more are >5% cheaper", () => {
    for (const [rows, P] of [[1000, 1000], [250_000, 8192], [1_000_000, 1024], [1_000_000, 32_768], [4_000_000, 8192], [10_000_000, 1024]] as const) {
      const pick = adaptiveBucketCount(input(rows, P));
      // The rule's grid: the bounds (1, min(256, P)) and 16, 64 (spec/artifact.md#writer).
      const cands = [...new Set([1, 16, 64, Math.min(256, P)])].filter((b) => b <= P);
      const cost = (b: number) => estimateBucketCost(rows, 24, P, b, budget).ms;
      expect(cands).toContain(pick);
      // No smaller candidate is within 5% of the pick's cost... and no candidate is >5% cheaper than it.
      for (const b of cands) expect(cost(b)).toBeGreaterThanOrEqual(cost(pick) * 0.95 - 1e-9);
    }
  });

  it("one bucket for a small artifact, several where one bucket would mean many ranges per partition", () => {
    expect(adaptiveBucketCount(input(250_000, 1024))).toBe(1);
    expect(adaptiveBucketCount(input(4_000_000, 8192))).toBeGreaterThan(1);
    expect(adaptiveBucketCount(input(1_000_000, 32_768))).toBeGreaterThan(1);
    // A slower store (more latency per request) pushes the pick towards fewer buckets.
    const slow = adaptiveBucketCount({ ...input(4_000_000, 8192), costModel: { latencyMs: 200 } });
    expect(slow).toBeLessThanOrEqual(adaptiveBucketCount(input(4_000_000, 8192)));
    expect(DEFAULT_BUCKET_COST_MODEL.latencyMs).toBe(20);
  });

  it("without an estimate the minimum; targetBucketBytes keeps the size rule; bounds hold", () => {
    expect(adaptiveBucketCount({ kind: "hash-modulo", numPartitions: 100, rowBytes: 24 })).toBe(1);
    expect(adaptiveBucketCount({ ...input(10_000_000, 1000), targetBucketBytes: 16 << 20 })).toBe(15);
    expect(adaptiveBucketCount({ ...input(4_000_000, 8192), maxBuckets: 2 })).toBeLessThanOrEqual(2);
    expect(adaptiveBucketCount({ ...input(4_000_000, 3), minBuckets: 1 })).toBeLessThanOrEqual(3);
    expect(planBucketPolicy(input(4_000_000, 8192)).num_buckets).toBe(adaptiveBucketCount(input(4_000_000, 8192)));
  });
});
