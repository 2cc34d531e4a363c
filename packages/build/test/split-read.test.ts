// The finalize read the pipeline uses: partitionsInOrder / sequentialSource with splitPartitions
// (packages/artifact), checked here against readPartition on an artifact with one huge partition.
import { PartitionArtifactReader, PartitionArtifactWriter, payloadSchemaOf } from "@quiver/artifact";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import type { RecordBatch } from "apache-arrow";
import { describe, expect, it } from "vitest";

const P = 6;
const ROWS = 30_000;
const CW = 24;

/** Row r's partition: 0 for most rows (one partition far larger than the read window). */
const partitionOf = (r: number): number => (r % 10 < 7 ? 0 : 1 + (r % P === 0 ? 1 : r % (P - 1)));

async function writeSkewed(store: MemoryObjectStore): Promise<void> {
  const w = await PartitionArtifactWriter.create({
    store, uri: "a", numPartitions: P, numBuckets: 2, memoryBudgetBytes: 32 << 10,
    payloadSchema: payloadSchemaOf([{ name: "row_id", type: "uint64" }, { name: "code", type: `fixed_size_list<uint8>[${CW}]` }]),
  });
  for (let start = 0; start < ROWS; start += 5000) {
    const ids = new BigUint64Array(5000);
    const codes = new Uint8Array(5000 * CW);
    const parts = new Uint32Array(5000);
    for (let i = 0; i < 5000; i++) {
      ids[i] = BigInt(start + i);
      codes.fill((start + i) & 255, i * CW, (i + 1) * CW);
      parts[i] = partitionOf(start + i);
    }
    await w.appendRows(parts, [new Uint8Array(ids.buffer), codes]);
  }
  await w.finish();
}

/** The rows of some batches as "id:firstCodeByte" strings, in order. */
function rowsOf(batches: readonly RecordBatch[]): string[] {
  const out: string[] = [];
  for (const b of batches) {
    const ids = b.getChild("row_id")!.toArray() as BigUint64Array;
    const codes = b.getChild("code")!;
    for (let i = 0; i < b.numRows; i++) out.push(`${ids[i]}:${(codes.get(i) as { get(j: number): number }).get(0)}`);
  }
  return out;
}

describe("split ordered read (splitPartitions)", () => {
  it("yields a large partition as consecutive pieces within the window bound, the same rows as readPartition", async () => {
    const mem = new MemoryObjectStore();
    await writeSkewed(mem);
    const stats = new IoStatsStore(mem);
    const reader = await PartitionArtifactReader.open(stats, "a");
    const want: string[][] = [];
    for (let p = 0; p < P; p++) want.push(rowsOf(await reader.readPartitionBatches(p)));
    const largest = reader.partitionSize(0) * (8 + CW);
    const maxBufferedBytes = 64 * 1024;
    expect(largest).toBeGreaterThan(8 * maxBufferedBytes);

    const read = reader.partitionsInOrder({ order: "partition", maxBufferedBytes, splitPartitions: true });
    const got: string[][] = Array.from({ length: P }, () => []);
    const order: number[] = [];
    for await (const piece of read) {
      order.push(piece.partition);
      expect(piece.batches.reduce((s, b) => s + b.numRows, 0)).toBe(piece.rows);
      got[piece.partition]!.push(...rowsOf(piece.batches));
    }
    expect(got).toEqual(want);
    // partition order kept; partition 0 came in several consecutive pieces
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(order.filter((p) => p === 0).length).toBeGreaterThan(4);
    expect(read.cost.peakBufferedBytes).toBeLessThanOrEqual(maxBufferedBytes);
    expect(read.cost.peakPieceBytes).toBeLessThanOrEqual(maxBufferedBytes / 2 + 16);

    // without the split, the whole partition is one entry and the window grows past the bound
    const whole = reader.partitionsInOrder({ order: "partition", maxBufferedBytes });
    for await (const _ of whole) void _;
    expect(whole.cost.peakPieceBytes).toBeGreaterThanOrEqual(largest);
  });

  it("the sequential source reads every piece of a partition as its rows", async () => {
    const mem = new MemoryObjectStore();
    await writeSkewed(mem);
    const reader = await PartitionArtifactReader.open(mem, "a");
    const source = reader.sequentialSource({ maxBufferedBytes: 32 * 1024, splitPartitions: true });
    for (let p = 0; p < P; p++) {
      const batches: RecordBatch[] = [];
      for await (const b of source.readPartition(p)) batches.push(b);
      expect(rowsOf(batches)).toEqual(rowsOf(await reader.readPartitionBatches(p)));
    }
    expect(source.cost.peakBufferedBytes).toBeLessThanOrEqual(32 * 1024);
  });

  it("rejects a non-boolean splitPartitions", async () => {
    const mem = new MemoryObjectStore();
    await writeSkewed(mem);
    const reader = await PartitionArtifactReader.open(mem, "a");
    expect(() => reader.partitionsInOrder({ splitPartitions: 1 as never })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as unknown as Error);
  });
});
