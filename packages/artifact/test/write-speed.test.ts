import { describe, expect, it } from "vitest";
import { crc32, crc32Combine } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, PartitionArtifactWriter, encodePayloadFile, fileBlocks, payloadSchemaOf, payloadTypeWidth } from "../src/index.js";
import { BucketAssignment } from "../src/policy.js";
import { rng } from "./helpers.js";

// The writer encodes its record batch messages itself and copies rows in 4-byte lanes (issue 10):
// its bucket files must stay the bytes apache-arrow's stream writer gives for the same batches.
// The oracle below is the writer's rule written the slow way: per bucket, rows in arrival order,
// cut every `flushThresholdRows` rows, each cut stably sorted by partition, one record batch per
// partition run, serialised by `encodePayloadFile` (apache-arrow's RecordBatchStreamWriter).

const FIELDS = [
  { name: "a", type: "uint8" },
  { name: "b", type: "uint16" },
  { name: "c", type: "fixed_size_binary[3]" },
  { name: "d", type: "uint32" },
  { name: "row_id", type: "uint64" },
  { name: "code", type: "fixed_size_list<uint8>[12]" },
  { name: "odd", type: "fixed_size_binary[130]" },
  { name: "vector", type: "fixed_size_list<float32>[150]" },
];

describe("artifact writer: bytes equal apache-arrow's for interleaved partitions", () => {
  it("crc32Combine(crc(A), crc(B), |B|) is crc(A ‖ B)", () => {
    const r = rng(5);
    for (const [la, lb] of [[0, 0], [0, 7], [9, 0], [1, 1], [100, 1000], [4096, 65_537]] as const) {
      const a = Uint8Array.from({ length: la }, () => Math.floor(r() * 256));
      const b = Uint8Array.from({ length: lb }, () => Math.floor(r() * 256));
      const ab = new Uint8Array(la + lb);
      ab.set(a);
      ab.set(b, la);
      expect(crc32Combine(crc32(a), crc32(b), lb)).toBe(crc32(ab));
    }
  });

  for (const [numBuckets, P, budget] of [[3, 37, 200_000], [1, 5, 60_000], [4, 300, 1 << 20]] as const) {
    it(`${numBuckets} bucket(s), ${P} partitions, widths 1..600 bytes, aligned and unaligned inputs`, async () => {
      const schema = payloadSchemaOf(FIELDS);
      const widths = schema.fields.map((f) => payloadTypeWidth(f.type));
      const store = new MemoryObjectStore();
      const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: P, payloadSchema: schema, numBuckets, memoryBudgetBytes: budget });
      const T = w.flushThresholdRows;
      const r = rng(numBuckets * 1000 + P);
      const allParts: number[] = [];
      const chunks: Uint8Array[][] = widths.map(() => []);
      let call = 0;
      for (const n of [1, 700, 3, 1500, 250, 2200]) {
        // runs of one partition now and then, as well as scattered rows
        const parts = new Uint32Array(n);
        for (let i = 0; i < n; i++) parts[i] = i > 0 && r() < 0.3 ? parts[i - 1]! : Math.floor(r() * r() * P);
        // odd calls pass columns at an odd byte offset (the byte-copy path), even ones aligned (the lane path)
        const shift = call++ % 2;
        const cols = widths.map((wd) => {
          const buf = new Uint8Array(n * wd + shift);
          for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(r() * 256);
          return buf.subarray(shift);
        });
        await w.appendRows(parts, cols);
        allParts.push(...parts);
        cols.forEach((col, c) => chunks[c]!.push(col.slice()));
      }
      const allCols = chunks.map((cs) => Buffer.concat(cs));
      expect(T).toBeLessThan(allParts.length / numBuckets);
      const m = await w.finish();
      const assign = new BucketAssignment(m.bucket_policy, P);
      let checkedBatches = 0;
      for (let b = 0; b < m.buckets.length; b++) {
        const rows = allParts.flatMap((p, i) => (assign.bucketOf[p] === b ? [i] : []));
        const sorted: number[] = [];
        const batchRows: number[] = [];
        for (let s = 0; s < rows.length; s += T) {
          const cut = rows.slice(s, s + T).sort((x, y) => allParts[x]! - allParts[y]! || x - y);
          sorted.push(...cut);
          for (let i = 0; i < cut.length; i++) {
            if (i === 0 || allParts[cut[i]!] !== allParts[cut[i - 1]!]) batchRows.push(0);
            batchRows[batchRows.length - 1]!++;
          }
        }
        const columns = widths.map((wd, c) => {
          const out = new Uint8Array(sorted.length * wd);
          sorted.forEach((row, k) => out.set(allCols[c]!.subarray(row * wd, (row + 1) * wd), k * wd));
          return out;
        });
        const expected = await encodePayloadFile(schema, columns, batchRows);
        const actual = await store.get(`a/${m.buckets[b]!.path}`);
        expect(actual.byteLength).toBe(expected.byteLength);
        expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
        expect(m.buckets[b]!.crc32).toBe(crc32(expected));
        checkedBatches += fileBlocks(expected).length;
      }
      expect(checkedBatches).toBe(m.ranges.num_ranges);
      // every range's CRC-32 is checked by the reader against the message bytes
      const reader = await PartitionArtifactReader.open(store, "a");
      let rowsRead = 0;
      for await (const e of reader.partitionsInOrder()) rowsRead += e.rows;
      expect(rowsRead).toBe(allParts.length);
    });
  }
});
