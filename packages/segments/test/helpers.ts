/** Shared test set-up: one model, one single-process index, and the same rows split into segments built with that model. */
import { type IvfTrainedModel, buildIndexInMemory } from "@quiver/build";
import { type QuantizerKind, gaussianMixture } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { type SegmentDescriptor, describeSegment } from "../src/index.js";

export const DIM = 16;

export interface Fixture {
  readonly vectors: Float32Array;
  readonly n: number;
  readonly model: IvfTrainedModel;
  readonly singlePath: string;
}

/** Train once over `n` rows and write the single-process index at `single.ivf`. */
export async function trainSingle(store: ObjectStore, o: { n: number; quantizer?: QuantizerKind; seed?: number; numPartitions?: number; storeRawVectors?: boolean; distanceType?: "l2" | "cosine" | "dot" }): Promise<Fixture> {
  const vectors = gaussianMixture({ n: o.n, dim: DIM, clusters: 12, seed: o.seed ?? 7 });
  const r = await buildIndexInMemory({
    store,
    path: "single.ivf",
    vectors,
    dim: DIM,
    numPartitions: o.numPartitions ?? 8,
    quantizer: o.quantizer ?? "pq",
    threads: 1,
    seed: 3,
    ...(o.storeRawVectors === undefined ? {} : { storeRawVectors: o.storeRawVectors }),
    ...(o.distanceType === undefined ? {} : { distanceType: o.distanceType }),
  });
  return { vectors, n: o.n, model: r.model, singlePath: "single.ivf" };
}

/** Build one segment over rows [start, end) of the fixture with its model; returns its descriptor. */
export async function buildSegment(
  store: ObjectStore,
  fx: { vectors: Float32Array; model: IvfTrainedModel },
  o: { root: string; start: number; end: number; segmentId: string; shard: string; inputVersion?: string; model?: IvfTrainedModel; path?: string; storeRawVectors?: boolean },
): Promise<SegmentDescriptor> {
  const path = o.path ?? `${o.root}/segments/${o.segmentId}.ivf`;
  const ids = new BigUint64Array(o.end - o.start);
  for (let i = 0; i < ids.length; i++) ids[i] = BigInt(o.start + i);
  await buildIndexInMemory({
    store,
    path,
    vectors: fx.vectors.subarray(o.start * DIM, o.end * DIM),
    dim: DIM,
    ids,
    model: o.model ?? fx.model,
    threads: 1,
    ...(o.storeRawVectors === undefined ? {} : { storeRawVectors: o.storeRawVectors }),
  });
  return describeSegment(store, path, { segmentId: o.segmentId, shard: o.shard, rowIdRanges: [[BigInt(o.start), BigInt(o.end)]], inputVersion: o.inputVersion ?? "input.npy#size=1;mtime=1" });
}

/** Split [0, n) at the given cut points into segments seg-0, seg-1, ... */
export async function buildSplit(store: ObjectStore, fx: Fixture, root: string, cuts: readonly number[], storeRawVectors?: boolean): Promise<SegmentDescriptor[]> {
  const bounds = [0, ...cuts, fx.n];
  const out: SegmentDescriptor[] = [];
  for (let i = 0; i + 1 < bounds.length; i++) {
    out.push(await buildSegment(store, fx, { root, start: bounds[i]!, end: bounds[i + 1]!, segmentId: `seg-${i}`, shard: `shard-${i}`, ...(storeRawVectors === undefined ? {} : { storeRawVectors }) }));
  }
  return out;
}

/** Query i: row i*7 of the data plus a small offset. */
export function queries(fx: Fixture, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) => {
    const row = (i * 7) % fx.n;
    const q = fx.vectors.slice(row * DIM, (row + 1) * DIM);
    for (let d = 0; d < DIM; d++) q[d] = q[d]! + 0.01 * ((i + d) % 5);
    return q;
  });
}
