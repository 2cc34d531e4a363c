import { crc32 } from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { FILE_TRAILER_SIZE, decodeFooterBlocks, decodeFooterSchema, footerLength } from "./internal/arrow-file.js";
import { decodePayloadMessage, payloadLayout } from "./internal/columns.js";
import { artifactPath } from "./internal/output.js";
import { type ArtifactProblem, ProblemList } from "./internal/problems.js";
import { type RangesIndex, decodeRangesTable, indexRanges } from "./internal/ranges-table.js";
import type { ArtifactManifest } from "./manifest.js";
import { payloadSchemaOf, sameFields } from "./payload-schema.js";
import { readManifest, readRangesBytes } from "./reader.js";

export type { ArtifactProblem } from "./internal/problems.js";

/**
 * Check a whole artifact and return every problem found (empty when valid): manifest schema and
 * rules, ranges table (sorted, inside buckets, no overlaps or gaps, partitions and buckets in range,
 * policy), every bucket file (present, size, CRC-32, Arrow IPC footer, payload schema, record
 * batches one per range with matching row counts and per-range CRC-32s) and row totals. What a third-party backend runs
 * on its output before handing it over.
 */
export async function validateArtifact(store: ObjectStore, uri: string): Promise<ArtifactProblem[]> {
  const problems = new ProblemList();
  let m: ArtifactManifest;
  try {
    m = await readManifest(store, uri);
  } catch (e) {
    problems.addError(e, "manifest");
    return problems.items;
  }
  let index: RangesIndex | undefined;
  try {
    const bytes = await readRangesBytes(store, uri, m);
    index = indexRanges(decodeRangesTable(bytes), m, problems);
  } catch (e) {
    problems.addError(e, "ranges");
  }
  // Record batch k of bucket b must be the range whose rank in b is k.
  const rangeOfBatch: Int32Array[] = m.buckets.map((_, b) => new Int32Array(index?.rangesPerBucket[b] ?? 0).fill(-1));
  if (index !== undefined) for (let i = 0; i < index.bucket.length; i++) rangeOfBatch[index.bucket[i]!]![index.batchIndex[i]!] = i;
  const payload = payloadSchemaOf(m.payload_schema);
  for (let b = 0; b < m.buckets.length; b++) {
    const rec = m.buckets[b]!;
    try {
      await checkBucket(store, uri, m, b, payload, index, rangeOfBatch[b]!, problems);
    } catch (e) {
      problems.addError(e, "bucket");
    }
    void rec;
  }
  return problems.items;
}

async function checkBucket(
  store: ObjectStore,
  uri: string,
  m: ArtifactManifest,
  b: number,
  payload: ReturnType<typeof payloadSchemaOf>,
  index: RangesIndex | undefined,
  rangeOfBatch: Int32Array,
  problems: ProblemList,
): Promise<void> {
  const rec = m.buckets[b]!;
  const stage = "bucket";
  let bytes: Uint8Array;
  try {
    bytes = await store.get(artifactPath(uri, rec.path));
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) {
      problems.add("ARTIFACT_MISSING_FILE", stage, `bucket file ${rec.path} is missing`);
      return;
    }
    throw e;
  }
  if (bytes.byteLength !== rec.byte_size) problems.add("ARTIFACT_SIZE_MISMATCH", stage, `bucket ${rec.path} is ${bytes.byteLength} bytes, manifest says ${rec.byte_size}`);
  const crc = crc32(bytes);
  if (crc !== rec.crc32) problems.add("CHECKSUM_MISMATCH", stage, `bucket ${rec.path} CRC-32 ${crc}, manifest says ${rec.crc32}`);
  const size = bytes.byteLength;
  const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
  const footer = bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE);
  const blocks = decodeFooterBlocks(footer, size);
  // apache-arrow's schema decoding trusts its input: only run it on bytes the manifest vouches for.
  if (crc === rec.crc32 && !sameFields(decodeFooterSchema(footer), payload)) {
    problems.add("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", stage, `bucket ${rec.path} schema differs from the manifest payload schema`);
    return;
  }
  if (index === undefined) return;
  if (blocks.length !== rangeOfBatch.length) {
    problems.add("ARTIFACT_BATCH_MISMATCH", stage, `bucket ${rec.path} has ${blocks.length} record batches, the ranges table has ${rangeOfBatch.length} ranges in it`);
    return;
  }
  const layout = payloadLayout(payload);
  let rows = 0;
  for (let k = 0; k < blocks.length; k++) {
    const blk = blocks[k]!;
    const r = rangeOfBatch[k]!;
    if (r < 0) {
      problems.add("ARTIFACT_BATCH_MISMATCH", stage, `bucket ${rec.path} record batch ${k} belongs to no range`);
      return;
    }
    rows += index.rowCount[r]!;
    const message = bytes.subarray(blk.offset, blk.offset + blk.metaDataLength + blk.bodyLength);
    const rangeCrc = crc32(message);
    if (rangeCrc !== index.crc32[r]) {
      problems.add("ARTIFACT_RANGE_CHECKSUM_MISMATCH", stage, `range ${r} (partition ${index.partition[r]}, bucket ${b}, row ${index.rowOffset[r]}): record batch ${k} of ${rec.path} has CRC-32 ${rangeCrc}, ranges table says ${index.crc32[r]}`);
      continue;
    }
    // Decodes with bounds-checked metadata parsing; throws the batch's problem (caught by the caller).
    decodePayloadMessage(message, blk.metaDataLength, payload, layout, index.rowCount[r]!);
  }
  if (rows !== rec.num_rows) problems.add("ARTIFACT_ROW_COUNT_MISMATCH", stage, `bucket ${rec.path} holds ${rows} rows, manifest says ${rec.num_rows}`);
}
