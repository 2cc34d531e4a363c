import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { TwoFileShuffleSource, TwoFileShuffleWriter } from "../src/index.js";
import { checkExactRoundTrip, inputBatch, pqSchema } from "./helpers.js";

describe("two-file shuffle baseline", () => {
  it("round-trips exactly and costs one range per column per flush group", async () => {
    const store = new MemoryObjectStore();
    const P = 50;
    const w = await TwoFileShuffleWriter.create({ store, uri: "s", numPartitions: P, payloadSchema: pqSchema(), flushGroupBytes: 28 * 7000 });
    for (let r = 0; r < 30_000; r += 4096) await w.append(inputBatch(r, Math.min(4096, 30_000 - r), P));
    await w.finish();
    expect(w.groups).toBe(5);
    const src = await TwoFileShuffleSource.open(store, "s", { numPartitions: P, payloadSchema: pqSchema(), coalesce: { coalesceGap: -1 } });
    await checkExactRoundTrip(src, 30_000);
    await src.readPartitionBatches(0);
    // Partition 0 is large: present in every group, two columns each.
    expect(src.lastCost(0)!.requests).toBe(2 * 5);
  });
});
