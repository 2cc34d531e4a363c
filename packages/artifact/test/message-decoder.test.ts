/**
 * The ordered read's range decoder remembers checked message heads (PayloadMessageDecoder): a
 * message whose head, body length and row count equal a checked one's only gets its column views
 * cut. It must never accept what the full check rejects: every single-byte change of a remembered
 * message's head (and every changed body length or row count) gives exactly what the full check
 * gives, the same error code or the same columns.
 */
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, PartitionArtifactWriter, fileBlocks } from "../src/index.js";
import { PayloadMessageDecoder, decodePayloadColumns, payloadLayout } from "../src/internal/columns.js";
import { inputBatch, pqSchema } from "./helpers.js";

function outcome(f: () => Uint8Array[]): string {
  try {
    return `ok ${f().map((c) => Buffer.from(c).toString("hex")).join("|")}`;
  } catch (e) {
    return `error ${(e as { code?: string }).code ?? String(e)}`;
  }
}

describe("PayloadMessageDecoder (memo of checked message heads)", () => {
  it("agrees with the full check on every one-byte change of a remembered head, and on changed lengths and row counts", async () => {
    const store = new MemoryObjectStore();
    const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: 4, payloadSchema: pqSchema(), numBuckets: 1, memoryBudgetBytes: 64 << 10 });
    for (let r = 0; r < 8000; r += 1000) await w.append(inputBatch(r, 1000, 4));
    await w.finish();
    const reader = await PartitionArtifactReader.open(store, "a");
    const file = await store.get(`a/${reader.manifest.buckets[0]!.path}`);
    const blocks = fileBlocks(file);
    const layout = payloadLayout(reader.payloadSchema);
    const msgOf = (k: number): Uint8Array => file.slice(blocks[k]!.offset, blocks[k]!.offset + blocks[k]!.metaDataLength + blocks[k]!.bodyLength);
    const metaLen = blocks[0]!.metaDataLength;
    const good = msgOf(0);
    // the first range of partition 0 is record batch 0 here (one bucket, partition 0 first)
    expect(reader.rangesOf(0)[0]).toMatchObject({ bucket: 0, rowOffset: 0 });
    const rows = reader.rangesOf(0)[0]!.rowCount;
    const full = (m: Uint8Array, n: number, len = metaLen) => outcome(() => decodePayloadColumns(m, len, layout, n, "t", false).columns);
    const memo = (d: PayloadMessageDecoder, m: Uint8Array, n: number, len = metaLen) => outcome(() => d.columns(m, len, n, () => "t"));
    const decoder = new PayloadMessageDecoder(layout);
    expect(memo(decoder, good, rows)).toBe(full(good, rows));
    expect(memo(decoder, good, rows)).toMatch(/^ok /); // remembered now
    let rejected = 0;
    for (let i = 0; i < metaLen; i++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = good.slice();
        bad[i] = bad[i]! ^ flip;
        const want = full(bad, rows);
        if (want.startsWith("error")) rejected++;
        expect(memo(decoder, bad, rows), `byte ${i} ^ ${flip}`).toBe(want);
        // and the good message is still decoded from the memo afterwards
        expect(memo(decoder, good, rows)).toBe(full(good, rows));
      }
    }
    expect(rejected).toBeGreaterThan(metaLen); // the changes really were caught by the checks
    // other row counts, a shorter or longer body, a different metadata length: the full check's answer
    for (const n of [rows - 1, rows + 1, 0]) expect(memo(decoder, good, n)).toBe(full(good, n));
    for (const m of [good.subarray(0, good.byteLength - 8), Uint8Array.from([...good, 0, 0, 0, 0, 0, 0, 0, 0])]) expect(memo(decoder, m, rows)).toBe(full(m, rows));
    expect(memo(decoder, good, rows, metaLen - 8)).toBe(full(good, rows, metaLen - 8));
    expect(full(good, rows - 1)).toMatch(/^error/);
  });
});
