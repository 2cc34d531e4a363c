#!/usr/bin/env node
// A partition artifact writer that knows only spec/artifact.md: apache-arrow for the IPC files,
// JSON for the manifest and Node's zlib.crc32. It imports nothing from the Quiver repository, so a
// reader that accepts its output is reading the spec, not sharing code with the writer.
//
// usage: node spec-only-writer.mjs <out-dir> [rows=5000] [partitions=37] [buckets=3] [max-run=50] [code-width=16] [seed=1] [format=2]
// format 2 writes the compact ranges table (spec/artifact.md#compact-ranges-table), format 1 the Arrow IPC one.
// Row r goes to partition partitionOfRow(r) and carries code bytes codeByte(r, j) (formulas below),
// so a consumer can check every row. Runs longer than max-run rows are split into several ranges.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { Field, FixedSizeList, RecordBatch, RecordBatchFileReader, Schema, Struct, Table, Uint32, Uint64, Uint8, makeData, tableToIPC } from "apache-arrow";

const [out, rowsArg, partsArg, bucketsArg, runArg, widthArg, seedArg, formatArg] = process.argv.slice(2);
if (out === undefined) throw new Error("usage: spec-only-writer.mjs <out-dir> [rows] [partitions] [buckets] [max-run] [code-width] [seed]");
const ROWS = Number(rowsArg ?? 5000);
const P = Number(partsArg ?? 37);
const B = Number(bucketsArg ?? 3);
const MAX_RUN = Number(runArg ?? 50);
const M = Number(widthArg ?? 16);
const SEED = Number(seedArg ?? 1);
const FORMAT = Number(formatArg ?? 2);
if (FORMAT !== 1 && FORMAT !== 2) throw new Error("format is 1 or 2");

function codeByte(rowId, j) {
  return ((Math.imul(rowId + 1, 2654435761) >>> (j % 24)) & 0xff) ^ j;
}
function partitionOfRow(rowId) {
  const u = (Math.imul(rowId ^ SEED, 2246822519) >>> 0) / 4294967296;
  let p = Math.floor(u * u * P);
  if (P >= 3 && p % 3 === 2) p -= 1;
  return p;
}

// CRC-32/ISO-HDLC (zlib): node:zlib's crc32 returns it as an unsigned 32-bit number.

const codeType = new FixedSizeList(M, new Field("item", new Uint8(), false));
const schema = new Schema([new Field("row_id", new Uint64(), false), new Field("code", codeType, false)]);
function batchOfRows(rowIds) {
  const n = rowIds.length;
  const codes = new Uint8Array(n * M);
  rowIds.forEach((r, i) => {
    for (let j = 0; j < M; j++) codes[i * M + j] = codeByte(r, j);
  });
  const children = [
    makeData({ type: new Uint64(), length: n, nullCount: 0, data: BigUint64Array.from(rowIds, BigInt) }),
    makeData({ type: codeType, length: n, nullCount: 0, child: makeData({ type: new Uint8(), length: n * M, nullCount: 0, data: codes }) }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

// Group rows by partition (the hand-off's input is already partitioned; here we compute it).
const byPartition = Array.from({ length: P }, () => []);
for (let r = 0; r < ROWS; r++) byPartition[partitionOfRow(r)].push(r);

mkdirSync(join(out, "buckets"), { recursive: true });
const ranges = [];
const buckets = [];
for (let b = 0; b < B; b++) {
  // hash-modulo: bucket b holds partitions b, b+B, b+2B, ...; one record batch per range.
  const batches = [];
  let rowsInBucket = 0;
  for (let p = b; p < P; p += B) {
    const rows = byPartition[p];
    for (let s = 0; s < rows.length; s += MAX_RUN) {
      const chunk = rows.slice(s, s + MAX_RUN);
      batches.push(batchOfRows(chunk));
      ranges.push([p, b, rowsInBucket, chunk.length]);
      rowsInBucket += chunk.length;
    }
  }
  const bytes = tableToIPC(batches.length > 0 ? new Table(batches) : new Table(schema), "file");
  // Range crc32 = CRC-32 of record batch k's message bytes, located by footer block k:
  // [offset, offset + metaDataLength + bodyLength).
  const footer = RecordBatchFileReader.from(bytes).open().footer;
  if (footer.numRecordBatches !== batches.length) throw new Error(`bucket ${b}: ${footer.numRecordBatches} blocks for ${batches.length} batches`);
  const firstRange = ranges.length - batches.length;
  for (let k = 0; k < batches.length; k++) {
    const blk = footer.getRecordBatch(k);
    const start = Number(blk.offset);
    ranges[firstRange + k].push(crc32(bytes.subarray(start, start + blk.metaDataLength + Number(blk.bodyLength))));
  }
  const path = `buckets/bucket-${String(b).padStart(5, "0")}.arrow`;
  writeFileSync(join(out, path), bytes);
  buckets.push({ path, num_rows: rowsInBucket, byte_size: bytes.byteLength, crc32: crc32(bytes) });
}

// Ranges table, in (bucket, row_offset) order.
ranges.sort((x, y) => x[1] - y[1] || x[2] - y[2]);
let rangesBytes;
let rangesPath;
if (FORMAT === 1) {
  // Format 1: an Arrow IPC file of five uint32 columns.
  const col = (k) => makeData({ type: new Uint32(), length: ranges.length, nullCount: 0, data: Uint32Array.from(ranges, (r) => r[k]) });
  const rangesSchema = new Schema(["partition", "bucket", "row_offset", "row_count", "crc32"].map((n) => new Field(n, new Uint32(), false)));
  const rangesBatch = new RecordBatch(rangesSchema, makeData({ type: new Struct(rangesSchema.fields), length: ranges.length, nullCount: 0, children: [0, 1, 2, 3, 4].map(col) }));
  rangesBytes = tableToIPC(new Table([rangesBatch]), "file");
  rangesPath = "ranges.arrow";
} else {
  // Format 2, the byte table of the compact ranges table: magic QVRANGE2, u32 B, u32 R, u8
  // partition width, u8 row_count width, 6 reserved zero bytes, u32 range count per bucket, u32
  // crc32 per range, then the partition and row_count columns, each zero-padded to 4 bytes.
  // bucket and row_offset are implied by the order. Widths: the narrowest for partitions, and
  // (allowed, not the narrowest) 4 bytes for row counts.
  const R = ranges.length;
  const pw = P <= 0x100 ? 1 : P <= 0x10000 ? 2 : 4;
  const cw = 4;
  const pad4 = (n) => Math.ceil(n / 4) * 4;
  rangesBytes = new Uint8Array(24 + 4 * B + 4 * R + pad4(pw * R) + pad4(cw * R));
  const v = new DataView(rangesBytes.buffer);
  rangesBytes.set(Buffer.from("QVRANGE2", "latin1"), 0);
  v.setUint32(8, B, true);
  v.setUint32(12, R, true);
  v.setUint8(16, pw);
  v.setUint8(17, cw);
  let at = 24;
  for (let b = 0; b < B; b++, at += 4) v.setUint32(at, ranges.filter((r) => r[1] === b).length, true);
  for (const r of ranges) (v.setUint32(at, r[4], true), (at += 4));
  const put = (x, w) => {
    if (w === 1) v.setUint8(at, x);
    else if (w === 2) v.setUint16(at, x, true);
    else v.setUint32(at, x, true);
    at += w;
  };
  for (const r of ranges) put(r[0], pw);
  at = pad4(at);
  for (const r of ranges) put(r[3], cw);
  rangesPath = "ranges.bin";
}
writeFileSync(join(out, rangesPath), rangesBytes);

const manifest = {
  format: "quiver-partition-artifact",
  version: FORMAT,
  // Any 128-bit random id; a rewrite at the same location gets a new one (spec/artifact.md#identity).
  artifact_id: randomBytes(16).toString("hex"),
  num_partitions: P,
  payload_schema: [
    { name: "row_id", type: "uint64" },
    { name: "code", type: `fixed_size_list<uint8>[${M}]` },
  ],
  bucket_policy: { kind: "hash-modulo", num_buckets: B },
  buckets,
  ranges: { path: rangesPath, num_ranges: ranges.length, byte_size: rangesBytes.byteLength, crc32: crc32(rangesBytes) },
  total_rows: ROWS,
};
// Commit: the manifest last, atomically (temp file + rename).
writeFileSync(join(out, ".manifest.json.tmp"), JSON.stringify(manifest));
renameSync(join(out, ".manifest.json.tmp"), join(out, "manifest.json"));
process.stdout.write(JSON.stringify({ rows: ROWS, partitions: P, buckets: B, ranges: ranges.length }) + "\n");
