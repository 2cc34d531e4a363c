/**
 * One shard job on a worker: read only the shard's row range of the pinned input, encode it with
 * the build's committed model (`buildIndex` with `model`: no sampling, no training, so every
 * segment shares byte-identical centroids and codebook) into a private staging directory
 * `<root>/_staging/<jobId>-<attempt>/`, then commit it by renaming the segment file to
 * `<root>/segments/<segmentId>.ivf` (atomic at the target: a reader never sees a part of it).
 *
 * Idempotent: a segment id is a function of the build key and the shard index, and the build is
 * deterministic, so every attempt writes the same bytes. An attempt that finds the segment
 * committed (an earlier attempt, or a stalled attempt that finished after all) describes it and
 * returns; it never rebuilds or overwrites a committed segment. The staging directory is deleted
 * after the commit; a killed attempt's staging directory stays until `quiver gc` (older than its
 * min age) reclaims it.
 */
import { hostname } from "node:os";
import { type VectorBatch, type VectorReader, buildIndex, decodeModelFile, openVectorFileRange } from "@quiver/build";
import { IoStatsStore, type IoCounters, type ObjectStore, headIfExists, isStoreError } from "@quiver/store";
import { SEGMENT_LIMITS, type SegmentDescriptor, beginStaging, describeSegment } from "@quiver/segments";
import { QuiverDistributedError } from "./errors.js";
import { checkInputVersion } from "./input-version.js";
import { type ShardJobData, joinRoot, segmentPath } from "./plan.js";

/** Most row-id ranges one shard records (user ids that are not contiguous produce one range per gap). */
export const MAX_SHARD_ID_RANGES = SEGMENT_LIMITS.maxRangesPerSegment;

/** What a shard job returns (the merge job reads it with `getChildrenValues`). */
export interface ShardResult {
  readonly shard: string;
  readonly index: number;
  readonly descriptor: SegmentDescriptor;
  /** "built" by this attempt, or "reused" (found committed). */
  readonly status: "built" | "reused";
  readonly rows: number;
  readonly ms: number;
  /** Which attempt produced the result (1-based, BullMQ's attemptsStarted). */
  readonly attempt: number;
  /** host:pid of the worker. */
  readonly worker: string;
  /** Requests and bytes between this worker and the shared store for this shard (IoStatsStore). */
  readonly io: IoCounters;
  /** Bytes of the input rows this shard read (rows x dim x 4 as decoded; local file reads). */
  readonly inputBytes: number;
}

/** Hooks of a shard run (tests pause a worker here to kill it mid-shard). */
export interface ShardHooks {
  /** Called after the segment is written to staging, before it is committed. */
  readonly beforeCommit?: (data: ShardJobData, staging: string) => void | Promise<void>;
  /** Progress of the shard's encode (rows done of the shard's rows). */
  readonly onProgress?: (done: number, total: number) => void;
}


/** Records the user ids a reader yields, as sorted disjoint half-open ranges. */
class IdRecorder {
  private parts: BigUint64Array[] = [];
  reset(): void {
    this.parts = [];
  }
  add(ids: BigUint64Array): void {
    this.parts.push(ids.slice());
  }
  ranges(shard: string): [bigint, bigint][] {
    let n = 0;
    for (const p of this.parts) n += p.length;
    const all = new BigUint64Array(n);
    let at = 0;
    for (const p of this.parts) {
      all.set(p, at);
      at += p.length;
    }
    all.sort();
    const out: [bigint, bigint][] = [];
    for (let i = 0; i < all.length; i++) {
      const v = all[i]!;
      if (i > 0 && v === all[i - 1]!) throw new QuiverDistributedError("DIST_DUPLICATE_ID", `${shard}: id ${v} appears more than once in the shard`, { shard });
      const last = out[out.length - 1];
      if (last !== undefined && last[1] === v) last[1] = v + 1n;
      else {
        if (out.length >= MAX_SHARD_ID_RANGES) {
          throw new QuiverDistributedError("DIST_DUPLICATE_ID", `${shard}: the shard's ids form more than ${MAX_SHARD_ID_RANGES} ranges; plan more, smaller shards or use contiguous ids`, { shard });
        }
        out.push([v, v + 1n]);
      }
    }
    return out;
  }
}

function recording(reader: VectorReader, rec: IdRecorder, onRows: (n: number) => void): VectorReader {
  return {
    file: reader.file,
    format: reader.format,
    dim: reader.dim,
    numRows: reader.numRows,
    column: reader.column,
    hasIds: reader.hasIds,
    async *batches(maxRows: number): AsyncIterable<VectorBatch> {
      rec.reset();
      let done = 0;
      for await (const b of reader.batches(maxRows)) {
        if (b.ids !== undefined) rec.add(b.ids);
        done += b.rows;
        onRows(done);
        yield b;
      }
    },
    close: () => reader.close(),
  };
}

/** Run shard `data` against `store`; `attempt` makes the staging path unique per attempt. */
export async function runShard(store: ObjectStore, data: ShardJobData, jobId: string, attempt: number, hooks: ShardHooks = {}): Promise<ShardResult> {
  const t0 = performance.now();
  const io = new IoStatsStore(store);
  const rows = data.range.end - data.range.start;
  const worker = `${hostname()}:${process.pid}`;
  const finalPath = segmentPath(data.root, data.segmentId);
  const defaultRanges: [bigint, bigint][] = [[BigInt(data.range.start), BigInt(data.range.end)]];
  const info = (rowIdRanges: readonly (readonly [bigint, bigint])[]) => ({ segmentId: data.segmentId, shard: data.shard, rowIdRanges, inputVersion: data.input.version });
  const reused = async (): Promise<ShardResult> => {
    // The committed segment's descriptor is recomputed from the file (header reads only); its row
    // ranges are the plan's for implicit ids, or read back from the file's ids otherwise.
    const ranges = data.input.idColumn === undefined && data.input.idsFile === undefined ? defaultRanges : await idsOfSegment(io, finalPath, data.shard);
    const descriptor = await describeSegment(io, finalPath, info(ranges));
    return { shard: data.shard, index: data.index, descriptor, status: "reused", rows, ms: performance.now() - t0, attempt, worker, io: io.snapshot().total, inputBytes: 0 };
  };
  if ((await headIfExists(io, finalPath)) !== undefined) return reused();

  let modelBytes: Uint8Array;
  try {
    modelBytes = await io.get(data.modelPath);
  } catch (e) {
    if (isStoreError(e) && e.code === "NOT_FOUND") {
      throw new QuiverDistributedError("DIST_STORE_MISMATCH", `${data.shard}: the build's model ${data.modelPath.slice(0, 300)} is not in this worker's store (is the worker's --store the coordinator's?)`, { shard: data.shard });
    }
    throw e;
  }
  const model = decodeModelFile(modelBytes);
  await checkInputVersion(data.input.path, data.input.version, data.shard);
  // The lease (written first) dates the staging dir; gc keeps it while the lease is younger than its min age.
  const staging = await beginStaging(io, data.root, { jobId, attempt });
  const stagedPath = joinRoot(staging, "segment.ivf");
  const rec = new IdRecorder();
  const reader = await openVectorFileRange(data.input.path, data.range, {
    ...(data.input.column === undefined ? {} : { column: data.input.column }),
    ...(data.input.idColumn === undefined ? {} : { idColumn: data.input.idColumn }),
    ...(data.input.idsFile === undefined ? {} : { idsFile: data.input.idsFile }),
  });
  const built = await buildIndex({
    input: recording(reader, rec, (n) => hooks.onProgress?.(n, rows)),
    store: io,
    path: stagedPath,
    stateDir: joinRoot(staging, "state"),
    model,
    ...data.tuning,
  });
  // The rows must still be the pinned version's: a file rewritten during the read is rejected here.
  await checkInputVersion(data.input.path, data.input.version, data.shard);
  const ranges = reader.hasIds ? rec.ranges(data.shard) : defaultRanges;
  await hooks.beforeCommit?.(data, staging);
  if ((await headIfExists(io, finalPath)) !== undefined) {
    // Another attempt committed meanwhile: the same bytes by construction; its descriptor wins.
    const r = await reused();
    await deletePrefix(io, staging);
    return { ...r, status: "built" };
  }
  await io.rename(stagedPath, finalPath);
  const descriptor = await describeSegment(io, finalPath, info(ranges));
  if (descriptor.indexIdentity !== built.identity) {
    throw new QuiverDistributedError("DIST_SHARD_FAILED", `${data.shard}: the committed segment's identity is not the one this attempt wrote`, { shard: data.shard });
  }
  await deletePrefix(io, staging);
  return { shard: data.shard, index: data.index, descriptor, status: "built", rows: built.numRows, ms: performance.now() - t0, attempt, worker, io: io.snapshot().total, inputBytes: rows * model.dim * 4 };
}

async function deletePrefix(store: ObjectStore, prefix: string): Promise<void> {
  for (const m of await store.list(`${prefix}/`)) await store.delete(m.path);
}

/** Row-id ranges of a committed segment from its own ids (a resumed shard with user ids). */
async function idsOfSegment(store: ObjectStore, path: string, shard: string): Promise<[bigint, bigint][]> {
  const { openVectorIndex } = await import("@quiver/ivf");
  const index = await openVectorIndex(store, path);
  const rec = new IdRecorder();
  for (let p = 0; p < index.numPartitions; p++) {
    const part = await index.readPartition(p);
    rec.add(part.rowIds);
  }
  return rec.ranges(shard);
}
