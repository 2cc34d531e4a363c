// Format 2's compact ranges table (spec/artifact.md#compact-ranges-table): encode -> decode is the
// identity, every hostile table is a typed error, and format-1 artifacts stay readable.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QuiverFormatError, crc32 } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import {
  type ArtifactManifest,
  COMPACT_RANGES_HEADER_BYTES,
  PartitionArtifactReader,
  PartitionArtifactWriter,
  compactRangesSize,
  decodeCompactRanges,
  decodeRangesTable,
  encodeCompactRanges,
  validateArtifact,
} from "../src/index.js";
import { indexCompactRanges } from "../src/internal/ranges-table.js";
import { ProblemList } from "../src/internal/problems.js";
import { checkExactRoundTrip, inputBatch, pqSchema } from "./helpers.js";

/** Random valid ranges: B buckets (hash-modulo over P), each a run of ranges tiling it. */
const rangesInput = fc
  .record({ P: fc.integer({ min: 1, max: 70_000 }), B: fc.integer({ min: 1, max: 6 }), runs: fc.array(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 70_000 })), { maxLength: 12 }), { minLength: 6, maxLength: 6 }) })
  .filter(({ P, B }) => B <= P)
  .map(({ P, B, runs }) => {
    const partition: number[] = [];
    const bucket: number[] = [];
    const rowOffset: number[] = [];
    const rowCount: number[] = [];
    const crc: number[] = [];
    const bucketRows: number[] = [];
    for (let b = 0; b < B; b++) {
      let end = 0;
      // Partitions of bucket b under hash-modulo: b, b + B, ...
      const q = Math.floor((P - 1 - b) / B) + 1;
      for (const [k, c] of runs[b]!) {
        partition.push(b + (k % q) * B);
        bucket.push(b);
        rowOffset.push(end);
        rowCount.push(c);
        crc.push((k * 2654435761) >>> 0);
        end += c;
      }
      bucketRows.push(end);
    }
    const u = (a: number[]) => Uint32Array.from(a);
    return { P, B, bucketRows, cols: { partition: u(partition), bucket: u(bucket), rowOffset: u(rowOffset), rowCount: u(rowCount), crc32: u(crc) } };
  });

function manifestFor(P: number, bucketRows: number[], bytes: Uint8Array, numRanges: number): ArtifactManifest {
  return {
    format: "quiver-partition-artifact", version: 2, artifact_id: "0".repeat(32), num_partitions: P, payload_schema: [{ name: "row_id", type: "uint64" }],
    bucket_policy: { kind: "hash-modulo", num_buckets: bucketRows.length },
    buckets: bucketRows.map((r, b) => ({ path: `b${b}`, num_rows: r, byte_size: 1, crc32: 0 })),
    ranges: { path: "r", num_ranges: numRanges, byte_size: bytes.byteLength, crc32: crc32(bytes) }, total_rows: bucketRows.reduce((a, b) => a + b, 0),
  };
}

function typedOnly(e: unknown): string {
  if (!(e instanceof QuiverFormatError)) throw e;
  return e.code;
}

describe("compact ranges table (format 2)", () => {
  it("encode -> decode -> index is the identity on random valid ranges", () => {
    fc.assert(
      fc.property(rangesInput, ({ P, bucketRows, cols }) => {
        const bytes = encodeCompactRanges(cols, bucketRows.length, P);
        const n = cols.partition.length;
        expect(bytes.byteLength).toBe(compactRangesSize(bucketRows.length, n, bytes[16]!, bytes[17]!));
        const back = decodeRangesTable(bytes);
        const problems = new ProblemList();
        const ix = indexCompactRanges(decodeCompactRanges(bytes), manifestFor(P, bucketRows, bytes, n), problems);
        expect(problems.items).toEqual([]);
        // Plain loops: cheap enough per case for 10,000 cases.
        const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => x === b[i]);
        for (const k of ["partition", "bucket", "rowOffset", "rowCount", "crc32"] as const) {
          if (!same(back[k], cols[k]) || !same(ix![k], cols[k])) expect.fail(`column ${k} differs after the round trip`);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it("any single byte mutation (manifest re-sealed) is a typed error or leaves a table that still obeys every rule", () => {
    fc.assert(
      fc.property(rangesInput, fc.nat(), fc.integer({ min: 1, max: 255 }), ({ P, bucketRows, cols }, at, x) => {
        const good = encodeCompactRanges(cols, bucketRows.length, P);
        const bytes = good.slice();
        bytes[at % bytes.byteLength]! ^= x;
        // Re-sealed: the manifest's size and CRC vouch for the mutated table.
        const m = manifestFor(P, bucketRows, bytes, cols.partition.length);
        const problems = new ProblemList();
        let ix;
        try {
          ix = indexCompactRanges(decodeCompactRanges(bytes), m, problems);
        } catch (e) {
          typedOnly(e);
          return;
        }
        if (ix === undefined) {
          expect(problems.items.length).toBeGreaterThan(0);
          return;
        }
        // Accepted: then it is a valid table for this manifest (a changed crc32 or a partition moved
        // within its bucket is a different valid table; the range CRC catches the former on read).
        for (let b = 0, i = 0; b < bucketRows.length; b++) {
          let end = 0;
          for (; i < ix.bucketStart[b + 1]!; i++) {
            expect(ix.partition[i]! < P && ix.partition[i]! % bucketRows.length === b && ix.rowCount[i]! >= 1 && ix.rowOffset[i] === end).toBe(true);
            end += ix.rowCount[i]!;
          }
          expect(end).toBe(bucketRows[b]);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it("hostile headers: counts that overflow, lengths beyond the table, widths, magic, padding", () => {
    const cols = { partition: Uint32Array.of(0, 2, 1), bucket: Uint32Array.of(0, 0, 1), rowOffset: Uint32Array.of(0, 3, 0), rowCount: Uint32Array.of(3, 4, 5), crc32: Uint32Array.of(1, 2, 3) };
    const good = encodeCompactRanges(cols, 2, 3);
    const m = manifestFor(3, [7, 5], good, 3);
    const code = (edit: (b: Uint8Array, v: DataView) => Uint8Array | void, manifest = m): string => {
      const b = good.slice();
      const out = edit(b, new DataView(b.buffer)) ?? b;
      const problems = new ProblemList();
      try {
        if (indexCompactRanges(decodeCompactRanges(out), manifest, problems) !== undefined) return "accepted";
      } catch (e) {
        return typedOnly(e);
      }
      return problems.items.map((p) => p.code).join("+");
    };
    expect(code(() => {})).toBe("accepted");
    // Bucket counts 0xffffffff + 4 = 3 modulo 2^32.
    expect(code((_, v) => (v.setUint32(24, 0xffffffff, true), v.setUint32(28, 4, true)))).toBe("ARTIFACT_RANGE_COUNT_MISMATCH");
    expect(code((_, v) => v.setUint32(24, 1, true))).toBe("ARTIFACT_RANGE_COUNT_MISMATCH");
    // A header claiming 2^32 - 1 ranges: rejected from the header alone, before any allocation.
    expect(code((_, v) => v.setUint32(12, 0xffffffff, true))).toBe("ARTIFACT_RANGES_LENGTH_MISMATCH");
    expect(code((_, v) => v.setUint32(8, 0xffffffff, true))).toBe("ARTIFACT_RANGES_LENGTH_MISMATCH");
    expect(code((b) => b.subarray(0, b.byteLength - 4))).toBe("ARTIFACT_RANGES_LENGTH_MISMATCH");
    expect(code((b) => b.subarray(0, COMPACT_RANGES_HEADER_BYTES - 1))).toBe("ARTIFACT_RANGES_LENGTH_MISMATCH");
    expect(code((b) => Uint8Array.of(...b, 0, 0, 0, 0))).toBe("ARTIFACT_RANGES_LENGTH_MISMATCH");
    expect(code((b) => void (b[16] = 3))).toBe("ARTIFACT_RANGES_BAD_HEADER");
    expect(code((b) => void (b[17] = 0))).toBe("ARTIFACT_RANGES_BAD_HEADER");
    expect(code((b) => void (b[0] = 0x41))).toBe("ARTIFACT_RANGES_BAD_HEADER");
    expect(code((b) => void (b[23] = 1))).toBe("ARTIFACT_RANGES_BAD_HEADER");
    // 3 one-byte partitions, then one padding byte.
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12 + 3] = 1))).toBe("ARTIFACT_RANGES_BAD_HEADER");
    expect(code(() => {}, { ...m, buckets: [m.buckets[0]!, m.buckets[1]!, { path: "b2", num_rows: 0, byte_size: 1, crc32: 0 }], bucket_policy: { kind: "hash-modulo", num_buckets: 3 } })).toBe("ARTIFACT_RANGES_BAD_HEADER");
    expect(code(() => {}, { ...m, ranges: { ...m.ranges, num_ranges: 4 } })).toBe("ARTIFACT_ROW_COUNT_MISMATCH");
    // Row counts (1 byte each, after 3 partitions + 1 padding byte): a bucket's sum past its rows, or short of them.
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12 + 4 + 2] = 255))).toBe("ARTIFACT_RANGE_PAST_END");
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12 + 4] = 2))).toBe("ARTIFACT_RANGE_GAP");
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12 + 4] = 0))).toBe("ARTIFACT_EMPTY_RANGE+ARTIFACT_RANGE_GAP");
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12] = 3))).toBe("ARTIFACT_PARTITION_OUT_OF_RANGE");
    expect(code((b) => void (b[COMPACT_RANGES_HEADER_BYTES + 8 + 12] = 1))).toBe("ARTIFACT_POLICY_VIOLATION");
  });

  it("the writer writes format 2 by default and format 1 when asked; both read and validate to the same rows (revision-4 artifacts stay readable)", async () => {
    const store = new MemoryObjectStore();
    const readers: PartitionArtifactReader[] = [];
    for (const formatVersion of [undefined, 1, 2] as const) {
      const uri = `a${formatVersion ?? "default"}`;
      const w = await PartitionArtifactWriter.create({ store, uri, numPartitions: 50, payloadSchema: pqSchema(), numBuckets: 3, memoryBudgetBytes: 4096, ...(formatVersion === undefined ? {} : { formatVersion }) });
      for (let r = 0; r < 3000; r += 500) await w.append(inputBatch(r, 500, 50));
      const m = await w.finish();
      expect(m.version).toBe(formatVersion ?? 2);
      expect(m.ranges.path.endsWith(m.version === 1 ? "ranges.arrow" : "ranges.bin")).toBe(true);
      expect(await validateArtifact(store, uri)).toEqual([]);
      const reader = await PartitionArtifactReader.open(store, uri);
      await checkExactRoundTrip(reader, 3000);
      readers.push(reader);
    }
    for (let p = 0; p < 50; p++) expect(readers[1]!.rangesOf(p)).toEqual(readers[0]!.rangesOf(p));
    // Same ranges; format 2 spends 4 + 1 + 2 bytes per range here, format 1 20 plus IPC framing.
    expect(readers[0]!.manifest.ranges.byte_size).toBeLessThan(readers[1]!.manifest.ranges.byte_size / 2);
    await expect(PartitionArtifactWriter.create({ store, uri: "x", numPartitions: 5, payloadSchema: pqSchema(), formatVersion: 3 as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "formatVersion" });
  });
});

describe("error code registry", () => {
  it("ARTIFACT_ERROR_CODES are rows of spec/error-codes.csv (area artifact) and every artifact row is in it", async () => {
    const { readFileSync } = await import("node:fs");
    const { ARTIFACT_ERROR_CODES } = await import("../src/index.js");
    const rows = readFileSync(new URL("../../../spec/error-codes.csv", import.meta.url), "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
    const artifactRows = rows.filter((r) => r[1] === "artifact").map((r) => r[0]);
    expect([...ARTIFACT_ERROR_CODES].sort()).toEqual([...artifactRows].sort());
  });
});
