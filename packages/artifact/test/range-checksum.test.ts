import { RecordBatchFileReader, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { QuiverFormatError, crc32 } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { type ArtifactManifest, PartitionArtifactReader, PartitionArtifactWriter, decodeRangesTable, validateArtifact } from "../src/index.js";
import { checkExactRoundTrip, inputBatch, pqSchema } from "./helpers.js";

const P = 20;
const ROWS = 5000;

async function writeArtifact(): Promise<{ store: MemoryObjectStore; manifest: ArtifactManifest }> {
  const store = new MemoryObjectStore();
  const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: P, payloadSchema: pqSchema(), numBuckets: 3, memoryBudgetBytes: 16 * 1024 });
  for (let r = 0; r < ROWS; r += 1000) await w.append(inputBatch(r, 1000, P));
  return { store, manifest: await w.finish() };
}

/** Message bytes [offset, offset + metaDataLength + bodyLength) of each record batch, located by apache-arrow's footer decoding. */
function messages(file: Uint8Array): { start: number; meta: number; end: number }[] {
  const footer = RecordBatchFileReader.from(file).open().footer!;
  return Array.from({ length: footer.numRecordBatches }, (_, k) => {
    const blk = footer.getRecordBatch(k)!;
    const start = Number(blk.offset);
    return { start, meta: blk.metaDataLength, end: start + blk.metaDataLength + Number(blk.bodyLength) };
  });
}

describe("per-range CRC-32 (spec/artifact.md#ranges-table)", () => {
  it("the writer's crc32 column is the CRC-32 of each range's record batch message", async () => {
    const { store, manifest } = await writeArtifact();
    const ranges = decodeRangesTable(await store.get(`a/${manifest.ranges.path}`));
    expect(ranges.crc32).toHaveLength(manifest.ranges.num_ranges);
    for (let b = 0; b < manifest.buckets.length; b++) {
      const file = await store.get(`a/${manifest.buckets[b]!.path}`);
      const msgs = messages(file);
      const mine = Array.from({ length: ranges.bucket.length }, (_, i) => i).filter((i) => ranges.bucket[i] === b);
      expect(mine).toHaveLength(msgs.length);
      mine.forEach((i, k) => expect(ranges.crc32[i]).toBe(crc32(file.subarray(msgs[k]!.start, msgs[k]!.end))));
    }
  });

  it("a flipped payload byte fails readPartition of its partition, other partitions still read, and the validator names the range", async () => {
    const { store, manifest } = await writeArtifact();
    const ranges = decodeRangesTable(await store.get(`a/${manifest.ranges.path}`));
    // Victim: the second range of bucket 1 (record batch 1 of that bucket).
    const firstOfBucket = ranges.bucket.indexOf(1);
    const victim = firstOfBucket + 1;
    expect(ranges.bucket[victim]).toBe(1);
    const p = ranges.partition[victim]!;
    const path = `a/${manifest.buckets[1]!.path}`;
    const file = await store.get(path);
    const msg = messages(file)[1]!;
    // Body = row_id values (rows × 8 bytes, already 8-aligned), then the codes: flip the first code byte.
    const at = msg.start + msg.meta + ranges.rowCount[victim]! * 8;
    const bad = file.slice();
    bad[at] = bad[at]! ^ 0x10;
    // Without the range check this is silent wrong data: apache-arrow decodes the flipped code.
    const firstCode = (bytes: Uint8Array): number => (tableFromIPC(bytes).batches[1]!.getChild("code")!.get(0)!.toArray() as Uint8Array)[0]!;
    expect(firstCode(bad)).toBe(firstCode(file) ^ 0x10);
    await store.put(path, bad);
    // Re-seal the whole-file CRC so only the per-range CRC can catch the flip.
    const sealed = { ...manifest, buckets: manifest.buckets.map((b, i) => (i === 1 ? { ...b, crc32: crc32(bad) } : b)) };
    await store.put("a/manifest.json", new TextEncoder().encode(JSON.stringify(sealed)));

    const reader = await PartitionArtifactReader.open(store, "a");
    const err = await reader.readPartitionBatches(p).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(QuiverFormatError);
    expect((err as QuiverFormatError).code).toBe("ARTIFACT_RANGE_CHECKSUM_MISMATCH");
    expect((err as QuiverFormatError).stage).toBe("bucket");
    let otherRows = 0;
    for (let q = 0; q < P; q++) {
      if (q === p) continue;
      for (const b of await reader.readPartitionBatches(q)) otherRows += b.numRows;
    }
    expect(otherRows).toBe(ROWS - reader.partitionSize(p));

    const problems = await validateArtifact(store, "a");
    expect(problems).toHaveLength(1);
    expect(problems[0]!.code).toBe("ARTIFACT_RANGE_CHECKSUM_MISMATCH");
    expect(problems[0]!.stage).toBe("bucket");
    expect(problems[0]!.message).toContain(`range ${victim} (partition ${p}, bucket 1, row ${ranges.rowOffset[victim]})`);
  });

  it("an intact artifact reads exactly and validates clean with range checks on", async () => {
    const { store } = await writeArtifact();
    await checkExactRoundTrip(await PartitionArtifactReader.open(store, "a"), ROWS);
    expect(await validateArtifact(store, "a")).toEqual([]);
  });

  it("a ranges table without the crc32 column (the earlier 4-column draft) is rejected", async () => {
    const { store, manifest } = await writeArtifact();
    const { Field, RecordBatch, Schema, Struct, Table, Uint32, makeData, tableToIPC } = await import("apache-arrow");
    const r = decodeRangesTable(await store.get(`a/${manifest.ranges.path}`));
    const schema = new Schema(["partition", "bucket", "row_offset", "row_count"].map((n) => new Field(n, new Uint32(), false)));
    const cols = [r.partition, r.bucket, r.rowOffset, r.rowCount].map((data) => makeData({ type: new Uint32(), length: data.length, nullCount: 0, data }));
    const bytes = tableToIPC(new Table([new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: r.partition.length, nullCount: 0, children: cols }))]), "file");
    expect(() => decodeRangesTable(bytes)).toThrow(expect.objectContaining({ code: "BAD_ARROW_IPC", stage: "ranges" }) as unknown as Error);
  });
});
