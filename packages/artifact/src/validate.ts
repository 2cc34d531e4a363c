import { crc32 } from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";
import { FILE_TRAILER_SIZE, MAX_HEAD_EXTRA_BYTES, checkFileFrame, decodeFileFooter, fileHeadEnd, footerLength } from "./internal/arrow-file.js";
import { decodePayloadMessage, payloadLayout, recordBatchMeta } from "./internal/columns.js";
import { artifactPath } from "./internal/output.js";
import { type ArtifactProblem, ProblemList } from "./internal/problems.js";
import { type RangesIndex, indexRangesBytes } from "./internal/ranges-table.js";
import { type ArtifactManifest, RANGES_STAGE } from "./manifest.js";
import { bucketSchemaMismatch, payloadSchemaOf } from "./payload-schema.js";
import { readManifest, readRangesFile } from "./reader.js";

export type { ArtifactProblem } from "./internal/problems.js";

/**
 * Check a whole artifact and return every problem found (empty when valid), in the fixed order
 * and with the fixed continuation rules of spec/artifact.md#validation: the manifest (a problem
 * there ends validation: nothing else can be located), then the ranges table (a problem there
 * leaves the buckets checked on their own, without the batch-versus-range checks), then each
 * bucket in bucket order (a missing file, a size mismatch, an undecodable footer, a schema
 * mismatch or a batch-count mismatch ends that bucket's checks; a whole-file CRC mismatch does not;
 * each record batch is checked even when an earlier one failed). Deterministic: the same
 * artifact always gives the same problems in the same order. What a third-party backend runs on
 * its output before handing it over.
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
    const bytes = await readRangesFile(store, uri, m, problems);
    if (bytes !== undefined) index = indexRangesBytes(bytes, m, problems);
  } catch (e) {
    problems.addError(e, RANGES_STAGE);
  }
  // Record batch k of bucket b must be the range whose rank in b is k.
  const rangeOfBatch: Int32Array[] = m.buckets.map((_, b) => new Int32Array(index?.rangesPerBucket[b] ?? 0).fill(-1));
  if (index !== undefined) for (let i = 0; i < index.bucket.length; i++) rangeOfBatch[index.bucket[i]!]![i - index.bucketStart[index.bucket[i]!]!] = i;
  for (let b = 0; b < m.buckets.length; b++) {
    try {
      await checkBucket(store, uri, m, b, index, rangeOfBatch[b]!, problems);
    } catch (e) {
      problems.addError(e, "bucket");
    }
  }
  return problems.items;
}

async function checkBucket(store: ObjectStore, uri: string, m: ArtifactManifest, b: number, index: RangesIndex | undefined, rangeOfBatch: Int32Array, problems: ProblemList): Promise<void> {
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
  if (bytes.byteLength !== rec.byte_size) {
    problems.add("ARTIFACT_SIZE_MISMATCH", stage, `bucket ${rec.path} is ${bytes.byteLength} bytes, manifest says ${rec.byte_size}`);
    return;
  }
  const crc = crc32(bytes);
  if (crc !== rec.crc32) problems.add("CHECKSUM_MISMATCH", stage, `bucket ${rec.path} CRC-32 ${crc}, manifest says ${rec.crc32}`);
  const size = bytes.byteLength;
  // Every byte below goes through format's bounds-checked walker, so a CRC mismatch is no reason to stop.
  const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
  const { blocks, schema } = decodeFileFooter(bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE), size);
  const mismatch = bucketSchemaMismatch(schema, m.payload_schema);
  if (mismatch !== undefined) {
    problems.add("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", stage, `bucket ${rec.path}: ${mismatch}`);
    return;
  }
  const headEnd = fileHeadEnd(blocks, size, len);
  if (headEnd > len + MAX_HEAD_EXTRA_BYTES) {
    problems.add("BAD_ARROW_IPC", stage, `bucket ${rec.path}: the file head (${headEnd} bytes) is longer than its footer allows`);
    return;
  }
  checkFileFrame(bytes.subarray(0, headEnd), bytes.subarray(size - FILE_TRAILER_SIZE - len - 8, size - FILE_TRAILER_SIZE - len), schema);
  // A zero-row record batch is named before the batch-count rule it also breaks.
  for (let k = 0; k < blocks.length; k++) {
    const blk = blocks[k]!;
    const view = new DataView(bytes.buffer, bytes.byteOffset + blk.offset, 8);
    const metaLen = view.getInt32(4, true);
    if (view.getUint32(0, true) !== 0xffffffff || metaLen <= 0 || metaLen !== blk.metaDataLength - 8) {
      problems.add("BAD_ARROW_IPC", stage, `record batch ${k} of bucket ${rec.path}: metadata length ${metaLen} in a ${blk.metaDataLength}-byte block`);
      return;
    }
    if (recordBatchMeta(bytes.subarray(blk.offset + 8, blk.offset + 8 + metaLen)).length === 0) {
      problems.add("ARTIFACT_EMPTY_RANGE", stage, `record batch ${k} of bucket ${rec.path} has 0 rows: producers MUST NOT write zero-row record batches in bucket files (spec/artifact.md#bucket-files)`);
      return;
    }
  }
  if (index === undefined) return;
  if (blocks.length !== rangeOfBatch.length) {
    problems.add("ARTIFACT_BATCH_MISMATCH", stage, `bucket ${rec.path} has ${blocks.length} record batches, the ranges table has ${rangeOfBatch.length} ranges in it`);
    return;
  }
  const payload = payloadSchemaOf(m.payload_schema);
  const layout = payloadLayout(payload);
  for (let k = 0; k < blocks.length; k++) {
    const blk = blocks[k]!;
    const r = rangeOfBatch[k]!;
    const message = bytes.subarray(blk.offset, blk.offset + blk.metaDataLength + blk.bodyLength);
    const rangeCrc = crc32(message);
    if (rangeCrc !== index.crc32[r]) {
      problems.add("ARTIFACT_RANGE_CHECKSUM_MISMATCH", stage, `range ${r} (partition ${index.partition[r]}, bucket ${b}, row ${index.rowOffset[r]}): record batch ${k} of ${rec.path} has CRC-32 ${rangeCrc}, ranges table says ${index.crc32[r]}`);
      continue;
    }
    try {
      decodePayloadMessage(message, blk.metaDataLength, payload, layout, index.rowCount[r]!, `record batch ${k} of bucket ${rec.path}`);
    } catch (e) {
      problems.addError(e, stage);
    }
  }
}
