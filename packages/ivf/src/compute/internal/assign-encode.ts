/** Assign + encode of a row range: shared by the worker threads and the single-thread path. */
import type { DistanceType, TrainedQuantizer } from "../../quantizer.js";
import { assignNearest, pqEncodeRows, squaredNorms } from "./vector-math.js";
import { assignNearestPruned, prunedAssignApplies, prunedIndexFor } from "./assign-pruned.js";
import type { PrunedIndex } from "./assign-pruned.js";
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

/** The pruned assignment's search structure per job (see assignEncodeRange). */
const prunedIndexes = new WeakMap<AssignEncodeJob, PrunedIndex>();

/** Assigns rows [start, end) to partitions and encodes them into the job's shared outputs. */
export function assignEncodeRange(job: AssignEncodeJob, start: number, end: number, scratch: AssignEncodeScratch): void {
  const { dim, quantizer } = job;
  const meta = quantizer.metadata;
  const count = end - start;
  const rows = job.vectors.subarray(start * dim, end * dim);
  const parts = scratch.parts.subarray(0, count);
  if (prunedAssignApplies(job.k, dim, job.distance)) {
    // a job's centroids do not change while it runs: look the search structure up once per job
    // (per call it hashed and compared all k * dim floats: ~1.5% of a worker's time at 1M x 1024)
    let ix = prunedIndexes.get(job);
    if (ix === undefined) {
      ix = prunedIndexFor(job.centroids, job.k, dim, job.distance);
      prunedIndexes.set(job, ix);
    }
    assignNearestPruned(rows, count, dim, job.centroids, job.k, job.distance, parts, ix);
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
