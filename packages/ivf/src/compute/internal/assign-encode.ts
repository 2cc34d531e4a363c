/** Assign + encode of a row range: shared by the worker threads and the single-thread path. */
import type { DistanceType, TrainedQuantizer } from "../../quantizer.js";
import { assignNearest, pqEncodeRows, squaredNorms } from "./vector-math.js";
import { assignNearestScreened, buildScreenIndex, screenedAssignApplies } from "./assign-screened.js";
import type { ScreenIndex } from "./assign-screened.js";
import { prepareRows } from "./quantizers.js";

/** Rows per claimed chunk: large enough to amortise kernel calls, small enough to balance two threads. */
export const ASSIGN_ENCODE_CHUNK_ROWS = 4096;

/** What every participant of an assign+encode job reads. */
export interface AssignEncodeJob {
  readonly vectors: Float32Array;
  readonly n: number;
  readonly dim: number;
  readonly centroids: Float32Array;
  readonly k: number;
  readonly distance: DistanceType;
  readonly quantizer: TrainedQuantizer;
  readonly partitions: Uint32Array;
  readonly codes: Uint8Array;
}

/** Per-thread scratch so chunks allocate nothing per row. */
export interface AssignEncodeScratch {
  readonly prepared: Float32Array;
  readonly parts: Uint32Array;
}

/** Scratch buffers for one thread. */
export function createScratch(dim: number): AssignEncodeScratch {
  return { prepared: new Float32Array(ASSIGN_ENCODE_CHUNK_ROWS * dim), parts: new Uint32Array(ASSIGN_ENCODE_CHUNK_ROWS) };
}

/**
 * The screened assignment's structure per centroid array and thread, with a copy of the
 * centroids it was built from: a worker makes a job object per chunk but passes the same
 * centroid array, so the structure (PCA, head widths, the choice between them) is built once
 * per task and thread; a changed array content rebuilds it (never a stale screen).
 */
const screens = new WeakMap<Float32Array, { raw: Float32Array; ix: ScreenIndex }>();

/** The screen of `job`'s centroids, built on first use per centroid array and thread. */
function screenFor(job: AssignEncodeJob): ScreenIndex {
  const c = job.centroids.subarray(0, job.k * job.dim);
  const hit = screens.get(job.centroids);
  if (hit !== undefined && hit.ix.k === job.k && hit.ix.dim === job.dim && hit.ix.type === job.distance && sameBits(hit.raw, c)) return hit.ix;
  const ix = buildScreenIndex(c, job.k, job.dim, job.distance);
  screens.set(job.centroids, { raw: c.slice(), ix });
  return ix;
}

/** Whether two float arrays hold the same bits (a NaN equals itself). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** Assigns rows [start, end) to partitions and encodes them into the job's shared outputs. */
export function assignEncodeRange(job: AssignEncodeJob, start: number, end: number, scratch: AssignEncodeScratch): void {
  const { dim, quantizer } = job;
  const meta = quantizer.metadata;
  const count = end - start;
  const rows = job.vectors.subarray(start * dim, end * dim);
  const parts = scratch.parts.subarray(0, count);
  if (screenedAssignApplies(job.k, dim)) {
    // exact: the same partitions as the full scan, so every thread count gives the same index
    const ix = screenFor(job);
    assignNearestScreened(rows, count, ix, parts);
  }
  else assignNearest(rows, count, dim, job.centroids, job.k, job.distance, parts);
  job.partitions.set(parts, start);
  const prepared = prepareRows(rows, count, dim, meta.distance, meta.residual, job.centroids, parts, scratch.prepared.subarray(0, count * dim));
  const codes = job.codes.subarray(start * quantizer.codeWidth, end * quantizer.codeWidth);
  const pq = pqShape(quantizer);
  if (pq !== undefined) pqEncodeRows(prepared, count, dim, pq.m, pq.codebook, pq.bias, codes);
  else quantizer.encode(prepared, count, codes);
}

/** A PQ quantizer's codebook and its codeword norms, computed once per codebook. */
const pqShapes = new WeakMap<Float32Array, { m: number; codebook: Float32Array; bias: Float32Array }>();

/**
 * The fused PQ encode's inputs when `quantizer` is 8-bit PQ with a well-formed codebook (else
 * undefined: its own encode runs). The bias is computed as the quantizer computes it, so the
 * codes are the same.
 */
function pqShape(quantizer: TrainedQuantizer): { m: number; codebook: Float32Array; bias: Float32Array } | undefined {
  const meta = quantizer.metadata;
  if (meta.kind !== "pq") return undefined;
  const m = meta.params.numSubVectors;
  const nbits = meta.params.nbits ?? 8;
  const codebook = meta.arrays.codebook;
  if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || meta.dim % m !== 0 || nbits !== 8 || quantizer.codeWidth !== m) return undefined;
  if (!(codebook instanceof Float32Array) || codebook.length !== m * 256 * (meta.dim / m)) return undefined;
  let shape = pqShapes.get(codebook);
  if (shape === undefined) {
    shape = { m, codebook, bias: squaredNorms(codebook, m * 256, meta.dim / m) };
    pqShapes.set(codebook, shape);
  }
  return shape;
}
