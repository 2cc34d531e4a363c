import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { type BucketPolicyKind, PartitionArtifactReader, PartitionArtifactWriter } from "../src/index.js";
import { checkExactRoundTrip, inputBatch, partitionOfRow, pqSchema } from "./helpers.js";

// The "done when": 1M rows round-trip exactly under each policy. ~3-5 s per policy on the
// 2-core box, so it runs in the normal suite; QUIVER_SOAK=1 raises it to 4M rows.
const ROWS = process.env.QUIVER_SOAK === "1" ? 4_000_000 : 1_000_000;
const P = 1024;

describe(`${ROWS} rows, ${P} partitions`, () => {
  for (const policy of ["hash-modulo", "range-by-partition-id", "size-balanced-range"] as BucketPolicyKind[]) {
    it(`round-trips exactly under ${policy}`, async () => {
      const store = new MemoryObjectStore();
      const est = new Array<number>(P).fill(0);
      for (let r = 0; r < ROWS; r += 101) est[partitionOfRow(r, P, 1)]! += 101;
      const w = await PartitionArtifactWriter.create({
        store,
        uri: "m",
        numPartitions: P,
        payloadSchema: pqSchema(),
        policy,
        numBuckets: 5,
        memoryBudgetBytes: 8 << 20,
        ...(policy === "size-balanced-range" ? { partitionSizeEstimates: est } : {}),
      });
      for (let r = 0; r < ROWS; r += 65_536) await w.append(inputBatch(r, Math.min(65_536, ROWS - r), P));
      const m = await w.finish();
      expect(m.total_rows).toBe(ROWS);
      expect(w.stats.flushes).toBeGreaterThan(5);
      await checkExactRoundTrip(await PartitionArtifactReader.open(store, "m"), ROWS);
    });
  }
});
