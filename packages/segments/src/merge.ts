/**
 * Physical merge of small segments (spec/segments.md#merge). Segments share one model, so a
 * merged segment is made by copying, partition by partition, each input's row ids, codes and raw
 * vectors: nothing is decoded or re-quantized (re-encoding codes that are already quantized is
 * the corruption the modelled system's users hit). The merged files are written to a fresh
 * staging directory, then one new manifest version replaces the inputs; the old files stay until gc.
 */
import { randomBytes } from "node:crypto";
import type { PartitionSource } from "@quiver/artifact";
import { QuiverArgumentError, checkInteger, checkOptions } from "@quiver/format";
import { IvfVectorIndex, type IvfIndexState, ivfPayloadBatch, ivfPayloadSchema, readIvfIndexState, writeIvfIndex } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import type { RecordBatch, Schema } from "apache-arrow";
import { type SegmentDescriptor, descriptorRanges, segmentModelDigest, unreadable } from "./descriptor.js";
import { QuiverSegmentError } from "./errors.js";
import { checkRoot } from "./layout.js";
import { readSegmentManifest } from "./manifest.js";
import { publishSegments } from "./publish.js";
import { canonicalize, rangeStrings } from "./ranges.js";
import { beginStaging } from "./staging.js";

/** The partitions of several segments as one source: partition p is segment 0's rows of p, then segment 1's, ... */
class ConcatenatedPartitions implements PartitionSource {
  readonly numPartitions: number;
  readonly payloadSchema: Schema;
  readonly #parts: readonly IvfVectorIndex[];
  readonly #raw: boolean;

  constructor(parts: readonly IvfVectorIndex[]) {
    const m = parts[0]!.state.metadata;
    this.numPartitions = m.numPartitions;
    this.#parts = parts;
    this.#raw = m.rawVectors;
    this.payloadSchema = ivfPayloadSchema(m.quantizer.codeWidth, this.#raw ? m.dim : undefined);
  }

  partitionSize(p: number): number {
    return this.#parts.reduce((n, s) => n + s.state.partitions[p]!.rows, 0);
  }

  async *readPartition(p: number): AsyncIterable<RecordBatch> {
    for (const s of this.#parts) {
      if (s.state.partitions[p]!.rows === 0) continue;
      // Each read is CRC-checked against the segment's section table.
      const entry = await s.readPartition(p);
      const vectors = this.#raw ? (await s.readPartitionVectors(p)).vectors : undefined;
      yield ivfPayloadBatch(this.payloadSchema, entry.rowIds, entry.codes, entry.codeWidth, vectors, vectors === undefined ? undefined : s.dim);
    }
  }
}

function firstRow(d: SegmentDescriptor): bigint {
  return descriptorRanges(d)[0]![0];
}

/**
 * Physically merge small segments (up to targetSegmentBytes) into new segments re-encoded under
 * the SAME model (codes + ids + raw vectors copied partition by partition, never re-quantized),
 * then publish a new version; old segment files stay until gc. Segments are taken in row-id
 * order and grouped greedily: a run of segments each smaller than the target whose sizes add up
 * to at most the target becomes one segment. `merged` is the number of input segments replaced
 * (0: nothing to merge, no new version).
 */
export async function mergeSegments(store: ObjectStore, root: string, options: { targetSegmentBytes: number; expectedVersion?: number; now?: number }): Promise<{ version: number; merged: number }> {
  const r = checkRoot(root);
  if (options === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options", expected: "{ targetSegmentBytes }", given: options });
  checkOptions("options", options, ["targetSegmentBytes", "expectedVersion", "now"]);
  const target = checkInteger("options.targetSegmentBytes", options.targetSegmentBytes, 1, Number.MAX_SAFE_INTEGER);
  const expected = options.expectedVersion === undefined ? undefined : checkInteger("options.expectedVersion", options.expectedVersion, 1, Number.MAX_SAFE_INTEGER);
  const now = checkInteger("options.now", options.now ?? Date.now(), 0, 253_402_300_799_999);
  const base = await readSegmentManifest(store, r, expected === undefined ? {} : { version: expected });
  const ordered = [...base.segments].sort((a, b) => (firstRow(a) < firstRow(b) ? -1 : firstRow(a) > firstRow(b) ? 1 : 0));
  const groups: SegmentDescriptor[][] = [];
  let current: SegmentDescriptor[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (current.length > 0) groups.push(current);
    current = [];
    bytes = 0;
  };
  for (const s of ordered) {
    if (s.bytes >= target) {
      flush();
      groups.push([s]);
      continue;
    }
    if (bytes + s.bytes > target) flush();
    current.push(s);
    bytes += s.bytes;
  }
  flush();
  const nonEmpty = groups.filter((g) => g.length > 0);
  if (!nonEmpty.some((g) => g.length > 1)) return { version: base.version, merged: 0 };
  const dir = await beginStaging(store, r, { jobId: `merge-v${base.version}-${randomBytes(6).toString("hex")}`, attempt: 0, now });
  const usedIds = new Set(base.segments.map((s) => s.segmentId));
  const out: SegmentDescriptor[] = [];
  let merged = 0;
  for (const [gi, group] of nonEmpty.entries()) {
    if (group.length === 1) {
      out.push(group[0]!);
      continue;
    }
    const parts: IvfVectorIndex[] = [];
    for (const s of group) {
      let state: IvfIndexState;
      try {
        state = await readIvfIndexState(store, s.path, s.bytes);
      } catch (e) {
        throw unreadable(e, s.shard, s.segmentId, s.path);
      }
      if (state.metadata.identity !== s.indexIdentity || segmentModelDigest(state) !== base.modelDigest) {
        throw new QuiverSegmentError([{ code: "SEGMENT_IDENTITY_MISMATCH", shard: s.shard, segmentId: s.segmentId, message: `${s.path} is not the file the manifest recorded` }], { stage: "merge" });
      }
      parts.push(new IvfVectorIndex(store, state));
    }
    let segmentId = `merged-v${base.version + 1}-${gi}`;
    while (usedIds.has(segmentId)) segmentId = `${segmentId}x`;
    usedIds.add(segmentId);
    const path = `${dir}/${segmentId}.ivf`;
    const s0 = parts[0]!.state;
    const written = await writeIvfIndex(store, path, {
      dim: s0.metadata.dim,
      distance: s0.metadata.distance,
      centroids: s0.centroids,
      quantizer: s0.quantizer,
      codeWidth: s0.metadata.quantizer.codeWidth,
      source: new ConcatenatedPartitions(parts),
    });
    const ranges = canonicalize(group.flatMap((s) => descriptorRanges(s)));
    if (ranges === undefined) throw new QuiverSegmentError([{ code: "SEGMENT_ROWS_OVERLAP", message: "merged segments overlap" }], { stage: "merge" });
    const shards = group.map((s) => s.shard);
    const shard = `merge of ${shards.length} segments (${shards[0]} .. ${shards[shards.length - 1]})`.slice(0, 256);
    out.push({
      segmentId,
      shard,
      path,
      rows: written.numRows,
      rowIdRanges: rangeStrings(ranges),
      modelDigest: base.modelDigest,
      inputVersion: group[0]!.inputVersion,
      indexIdentity: written.identity,
      bytes: written.fileSize,
    });
    merged += group.length;
  }
  const published = await publishSegments(store, r, out, { expectedVersion: base.version, now });
  return { version: published.version, merged };
}
