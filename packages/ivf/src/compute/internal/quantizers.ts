/**
 * The four quantizers (Flat, SQ, PQ, RaBitQ): training, encoding and per-partition scorers.
 * `buildQuantizer` trusts its metadata (callers validate first, see metadata-validation.ts);
 * it keeps metadata arrays as given, so views over a cached buffer stay zero-copy.
 *
 * Input to `encode` is "prepared" rows: L2-normalised when the distance is cosine, then minus
 * the row's IVF centroid when `metadata.residual` (see `prepareRows`).
 */
import type { DistanceType, PartitionScorer, QuantizerKind, QuantizerMetadata, TrainedQuantizer } from "../../quantizer.js";
import { adcScan } from "./adc.js";
import { createRng } from "./rng.js";
import { PQ_TRAIN_TOLERANCE, pickDistinctRows, runKMeans } from "./kmeans.js";
import { assignNearest, assignScored, batchKernel, copyRowsPadded, normalizeRows, squaredNorms } from "./vector-math.js";
import { kernels, paddedDim } from "./wasm-kernels.js";

import { QuiverArgumentError, checkInteger } from "@quiver/format";
import {
  MAX_PARTITIONS,
  MAX_RABITQ_DIMENSION,
  PARALLEL_OPTION_NAMES,
  checkDistance,
  checkKnownOptions,
  checkOptionalBoolean,
  checkOptionalNumber,
  checkParallelOptions,
  checkQuantizerKind,
  checkShape,
  checkVectors,
} from "./arguments.js";

/** Codewords per PQ sub-space (8-bit codes). */
export const PQ_CENTROIDS = 256;

/** Options for quantizer training. */
export interface QuantizerTrainOptions {
  readonly distance: DistanceType;
  /** PRNG seed for sampling, k-means and the RaBitQ rotation (default 42). */
  readonly seed?: number;
  /** PQ sub-vectors (default dim/16, else dim/8, else 1). */
  readonly numSubVectors?: number;
  /** PQ bits per code; only 8 is implemented. */
  readonly nbits?: number;
  /** PQ k-means iteration cap (default 50). */
  readonly maxIters?: number;
  /** PQ k-means relative loss tolerance (default 1e-3, PQ_TRAIN_TOLERANCE). */
  readonly tolerance?: number;
  /**
   * PQ sub-space k-means converges on a seeded subsample first, then refines on all training
   * rows from its codewords (default true; see PQ_WARM_ROWS_PER_CODEWORD). false trains on all
   * rows from a random start (the earlier behaviour, kept for comparison).
   */
  readonly warmStart?: boolean;
  /** PQ training rows (default 65,536 = 256 * 2^nbits); larger inputs are sampled. */
  readonly sampleSize?: number;
  /** Encode residuals against IVF centroids. Default: PQ with l2/cosine and RaBitQ always. */
  readonly residual?: boolean;
  /** IVF centroids (numPartitions * dim), needed when residual. */
  readonly ivfCentroids?: Float32Array;
  /** Number of IVF centroids in `ivfCentroids`. */
  readonly numPartitions?: number;
}

/** Default PQ sub-vector count: dim/16, else dim/8, else 1 (the modelled system's rule). */
export function defaultNumSubVectors(dim: number): number {
  if (dim % 16 === 0) return dim / 16;
  if (dim % 8 === 0) return dim / 8;
  return 1;
}

/** Whether rows of this kind/distance are encoded as residuals by default. */
export function defaultResidual(kind: QuantizerKind, distance: DistanceType): boolean {
  if (kind === "pq") return distance !== "dot";
  return kind === "rabitq";
}

/**
 * Prepared copy of `n` rows for encoding: normalised for cosine, minus their IVF centroid
 * (`partitions[i]`) when residual. Writes into `out` when given.
 */
export function prepareRows(
  vectors: Float32Array, n: number, dim: number, distance: DistanceType, residual: boolean,
  ivfCentroids: Float32Array | undefined, partitions: Uint32Array | undefined, out: Float32Array = new Float32Array(n * dim),
): Float32Array {
  if (residual && (ivfCentroids === undefined || partitions === undefined)) throw new RangeError("residual encoding needs IVF centroids and assignments");
  if (residual && distance !== "cosine") {
    // one pass (the same f32 values as copying first and subtracting in place)
    for (let i = 0; i < n; i++) {
      const cb = (partitions![i] as number) * dim;
      const b = i * dim;
      for (let t = 0; t < dim; t++) out[b + t] = (vectors[b + t] as number) - (ivfCentroids![cb + t] as number);
    }
    return out;
  }
  out.set(vectors.subarray(0, n * dim));
  if (distance === "cosine") normalizeRows(out, n, dim);
  if (residual) {
    if (ivfCentroids === undefined || partitions === undefined) throw new RangeError("residual encoding needs IVF centroids and assignments");
    for (let i = 0; i < n; i++) {
      const cb = (partitions[i] as number) * dim;
      const b = i * dim;
      for (let t = 0; t < dim; t++) out[b + t] = (out[b + t] as number) - (ivfCentroids[cb + t] as number);
    }
  }
  return out;
}

/** The query as the scorer needs it: normalised for cosine, minus `centroid` when residual (into `out` when given: a scorer's reused scratch). */
function prepareQuery(query: Float32Array, centroid: Float32Array, dim: number, distance: DistanceType, residual: boolean, out?: Float32Array): Float32Array {
  let q: Float32Array;
  if (out === undefined) q = query.slice(0, dim);
  else {
    q = out;
    q.set(query.subarray(0, dim));
  }
  if (distance === "cosine") normalizeRows(q, 1, dim);
  if (residual) for (let t = 0; t < dim; t++) q[t] = (q[t] as number) - (centroid[t] as number);
  return q;
}

const QUANTIZER_TRAIN_OPTIONS = [
  "distance", "seed", "numSubVectors", "nbits", "maxIters", "tolerance", "warmStart", "sampleSize", "residual", "ivfCentroids", "numPartitions", ...PARALLEL_OPTION_NAMES,
] as const;

/**
 * Validate quantizer training arguments before any work (QuiverArgumentError): the kind (no
 * silent default), the shape and limits (RaBitQ dim <= 4,096 before anything else), options
 * (known names, types, PQ sub-vectors dividing dim, 8 bits), IVF centroids when residual, then
 * every sample value finite.
 */
export function checkQuantizerTraining(kind: unknown, sample: unknown, n: unknown, dim: unknown, opts: unknown): void {
  const k = checkQuantizerKind("kind", kind);
  const shape = checkShape(n, dim, k === "sq" || k === "pq" ? 1 : 0);
  if (k === "rabitq" && shape.dim > MAX_RABITQ_DIMENSION) {
    throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "dim", expected: `at most ${MAX_RABITQ_DIMENSION} for rabitq (its rotation is dim^2 floats)`, given: shape.dim, hint: "use pq or sq above 4096 dimensions" });
  }
  const o = checkKnownOptions(opts, QUANTIZER_TRAIN_OPTIONS);
  checkDistance("options.distance", o.distance);
  checkOptionalNumber("options.seed", o.seed);
  if (o.numSubVectors !== undefined) {
    const m = checkInteger("options.numSubVectors", o.numSubVectors, 1, shape.dim);
    if (shape.dim % m !== 0) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.numSubVectors", expected: `a divisor of dim ${shape.dim}`, given: m });
  }
  if (o.nbits !== undefined && o.nbits !== 8) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.nbits", expected: "8 (the only PQ code size implemented)", given: o.nbits });
  if (o.maxIters !== undefined) checkInteger("options.maxIters", o.maxIters, 1, 10_000);
  checkOptionalNumber("options.tolerance", o.tolerance);
  checkOptionalBoolean("options.warmStart", o.warmStart);
  if (o.sampleSize !== undefined) checkInteger("options.sampleSize", o.sampleSize, 1, Number.MAX_SAFE_INTEGER);
  checkOptionalBoolean("options.residual", o.residual);
  if (k === "rabitq" && o.residual === false) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.residual", expected: "true or unset: rabitq always encodes residuals", given: false });
  checkParallelOptions(o);
  const residual = k === "rabitq" ? false /* its rotation is trained without the sample */ : ((o.residual as boolean | undefined) ?? defaultResidual(k, o.distance as DistanceType));
  if (residual || o.ivfCentroids !== undefined || o.numPartitions !== undefined) {
    const parts = checkInteger("options.numPartitions", o.numPartitions, 1, MAX_PARTITIONS);
    checkVectors("options.ivfCentroids", o.ivfCentroids, parts, shape.dim);
  }
  checkVectors("sample", sample, k === "flat" || k === "rabitq" ? 0 : shape.n, shape.dim);
}

/** Trains a quantizer of `kind` on `n` sample rows (raw vectors; preparation happens here). */
export function trainQuantizer(
  kind: QuantizerKind, sample: Float32Array, n: number, dim: number, opts: QuantizerTrainOptions,
): TrainedQuantizer {
  checkQuantizerTraining(kind, sample, n, dim, opts);
  const distance = opts.distance;
  const seed = opts.seed ?? 42;
  const residual = opts.residual ?? defaultResidual(kind, distance);
  if (kind === "flat") {
    return buildQuantizer({ kind, dim, distance, residual, params: {}, arrays: {} });
  }
  if (kind === "rabitq") {
    return buildQuantizer({ kind, dim, distance, residual: true, params: { bits: 1, seed }, arrays: { rotation: randomRotation(dim, seed) } });
  }
  const { prepared, rows } = prepareTrainingSample(kind, sample, n, dim, opts);
  if (kind === "sq") {
    const lower = new Float32Array(dim).fill(Infinity);
    const upper = new Float32Array(dim).fill(-Infinity);
    for (let i = 0; i < rows; i++) {
      for (let t = 0; t < dim; t++) {
        const v = prepared[i * dim + t] as number;
        if (v < (lower[t] as number)) lower[t] = v;
        if (v > (upper[t] as number)) upper[t] = v;
      }
    }
    for (let t = 0; t < dim; t++) if (!(lower[t]! <= upper[t]!)) lower[t] = upper[t] = 0;
    return buildQuantizer({ kind, dim, distance, residual, params: { bits: 8 }, arrays: { lower, upper } });
  }
  const plan = planPqTraining(prepared, rows, dim, opts);
  for (let s = 0; s < plan.m; s++) trainPqSubspace(plan, s);
  return pqFromPlan(plan);
}

/** Everything needed to train the PQ sub-spaces independently (also on worker threads). */
export interface PqTrainingPlan {
  readonly prepared: Float32Array;
  readonly rows: number;
  readonly dim: number;
  readonly m: number;
  readonly dsub: number;
  readonly distance: DistanceType;
  readonly residual: boolean;
  readonly seed: number;
  readonly maxIters: number;
  readonly tolerance: number;
  readonly warmStart: boolean;
  /** m * 256 * dsub, filled by trainPqSubspace. */
  readonly codebook: Float32Array;
}

/** Checks PQ parameters and lays out the training job over already prepared sample rows. */
export function planPqTraining(
  prepared: Float32Array, rows: number, dim: number, opts: QuantizerTrainOptions,
  alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b),
): PqTrainingPlan {
  const nbits = opts.nbits ?? 8;
  if (nbits !== 8) throw new RangeError(`PQ nbits ${nbits} is not supported (8 only)`);
  const m = opts.numSubVectors ?? defaultNumSubVectors(dim);
  if (!Number.isInteger(m) || m < 1 || dim % m !== 0) throw new RangeError(`numSubVectors ${m} must divide dim ${dim}`);
  const dsub = dim / m;
  return {
    prepared, rows, dim, m, dsub, distance: opts.distance,
    residual: opts.residual ?? defaultResidual("pq", opts.distance), seed: opts.seed ?? 42,
    maxIters: opts.maxIters ?? 50, tolerance: opts.tolerance ?? PQ_TRAIN_TOLERANCE, warmStart: opts.warmStart ?? true,
    codebook: new Float32Array(alloc(m * PQ_CENTROIDS * dsub * 4)),
  };
}

/**
 * Rows per codeword of the warm-start subsample (at least; it is also at least 1/8 of the
 * training rows). Measured on the residual sub-spaces of 100k x 128 cosine, clustered with
 * unequal sizes (65,536 x 16, 256 codewords, 3 sub-spaces, one thread): all rows from a random
 * start 2,828 ms CPU to total loss 0.04082 (56 iterations); warm start on 8,192 rows then all
 * rows at PQ_REFINE_TOLERANCE 1,552 ms to 0.04114 (+0.8 %); 100 iterations at 1e-5 reach 0.04032.
 */
export const PQ_WARM_ROWS_PER_CODEWORD = 32;
/** Relative loss tolerance of the refinement on all rows after a warm start (or the plan's, if looser). */
export const PQ_REFINE_TOLERANCE = 3e-3;

/**
 * Trains sub-space `s` of a plan (k-means with 256 codewords, seed + s) into its codebook: on a
 * seeded subsample first when warm-starting, then on all rows from those codewords.
 */
export function trainPqSubspace(plan: PqTrainingPlan, s: number): void {
  const { prepared, rows, dim, dsub, codebook } = plan;
  const sub = new Float32Array(rows * dsub);
  for (let i = 0; i < rows; i++) {
    const b = i * dim + s * dsub;
    for (let t = 0; t < dsub; t++) sub[i * dsub + t] = prepared[b + t] as number;
  }
  const k = Math.min(PQ_CENTROIDS, rows);
  // random init here: on 65,536 x 8 sub-vectors, k = 256 it reached the same loss as k-means++
  // (2.487 vs 2.490) in 0.88 s instead of 0.99 s; k-means++'s 256 serial seeding passes dominate
  const opts = { maxIters: plan.maxIters, tolerance: plan.tolerance, seed: plan.seed + s, distance: "l2", init: "random" } as const;
  const warmRows = Math.max(PQ_WARM_ROWS_PER_CODEWORD * k, Math.floor(rows / 8));
  let centroids: Float32Array;
  if (plan.warmStart && 2 * warmRows <= rows) {
    // most Lloyd iterations run on the subsample (1/8 of the cost each); the few on all rows
    // correct its sampling error
    const small = pickDistinctRows(sub, rows, dsub, warmRows, createRng((plan.seed + s) ^ 0x7761726d));
    const first = runKMeans(small, warmRows, dsub, k, opts);
    centroids = runKMeans(sub, rows, dsub, k, { ...opts, tolerance: Math.max(plan.tolerance, PQ_REFINE_TOLERANCE) }, undefined, true, first.centroids).centroids;
  } else {
    centroids = runKMeans(sub, rows, dsub, k, opts).centroids;
  }
  const base = s * PQ_CENTROIDS * dsub;
  codebook.set(centroids, base);
  // fewer rows than codewords: repeat the last codeword (a duplicate is never chosen)
  for (let j = k; j < PQ_CENTROIDS; j++) codebook.copyWithin(base + j * dsub, base + (k - 1) * dsub, base + k * dsub);
}

/** The trained quantizer of a plan whose sub-spaces are all trained. */
export function pqFromPlan(plan: PqTrainingPlan): TrainedQuantizer {
  const codebook = plan.codebook.buffer instanceof ArrayBuffer ? plan.codebook : plan.codebook.slice();
  return buildQuantizer({
    kind: "pq", dim: plan.dim, distance: plan.distance, residual: plan.residual,
    params: { numSubVectors: plan.m, nbits: 8 }, arrays: { codebook },
  });
}

/** Raw sample rows prepared for quantizer training: PQ-sampled, normalised for cosine, residuals when needed. */
export function prepareTrainingSample(
  kind: QuantizerKind, sample: Float32Array, n: number, dim: number, opts: QuantizerTrainOptions,
): { prepared: Float32Array; rows: number; residual: boolean } {
  checkQuantizerTraining(kind, sample, n, dim, opts);
  const residual = opts.residual ?? defaultResidual(kind, opts.distance);
  const seed = opts.seed ?? 42;
  const rows = kind === "pq" ? Math.min(n, opts.sampleSize ?? 256 * PQ_CENTROIDS) : n;
  const picked = rows < n ? sampleRows(sample, n, dim, rows, seed) : sample.subarray(0, n * dim);
  let partitions: Uint32Array | undefined;
  if (residual) {
    const k = opts.numPartitions ?? 0;
    if (opts.ivfCentroids === undefined || k < 1) throw new RangeError("residual quantizer training needs ivfCentroids and numPartitions");
    const normalised = opts.distance === "cosine" ? normalizeRows(picked.slice(), rows, dim) : picked;
    partitions = assignNearest(normalised, rows, dim, opts.ivfCentroids, k, opts.distance);
  }
  return { prepared: prepareRows(picked, rows, dim, opts.distance, residual, opts.ivfCentroids, partitions), rows, residual };
}

/** `rows` distinct rows drawn uniformly with a seeded partial shuffle. */
export function sampleRows(data: Float32Array, n: number, dim: number, rows: number, seed: number): Float32Array {
  return pickDistinctRows(data, n, dim, rows, createRng(seed ^ 0x5a5a5a5a));
}

/** A seeded random orthogonal dim x dim matrix (Gaussian rows, modified Gram-Schmidt in f64). */
export function randomRotation(dim: number, seed: number): Float32Array {
  const rng = createRng(seed ^ 0x2b1e5a);
  const m = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (;;) {
      const b = i * dim;
      for (let t = 0; t < dim; t++) m[b + t] = rng.nextGaussian();
      for (let p = 0; p < i; p++) {
        let d = 0;
        for (let t = 0; t < dim; t++) d += (m[b + t] as number) * (m[p * dim + t] as number);
        for (let t = 0; t < dim; t++) m[b + t] = (m[b + t] as number) - d * (m[p * dim + t] as number);
      }
      let s = 0;
      for (let t = 0; t < dim; t++) s += (m[b + t] as number) ** 2;
      if (s > 1e-12) {
        const inv = 1 / Math.sqrt(s);
        for (let t = 0; t < dim; t++) m[b + t] = (m[b + t] as number) * inv;
        break;
      }
    }
  }
  return Float32Array.from(m);
}

/** sum of a[t] * b[t] over t < dim, in index order. */
function dotOf(a: Float32Array, b: Float32Array, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += (a[t] as number) * (b[t] as number);
  return s;
}

/** sum of v[t] over t < dim, in index order. */
function sumOf(v: Float32Array, dim: number): number {
  let s = 0;
  for (let t = 0; t < dim; t++) s += v[t] as number;
  return s;
}

function sumSquares(v: Float32Array): number {
  let s = 0;
  for (let t = 0; t < v.length; t++) s += (v[t] as number) ** 2;
  return s;
}

/** out[i] = max(0, out[i] + c): the expanded-form distance can dip below 0 by rounding. */
function addClamped(out: Float32Array, n: number, c: number): void {
  for (let i = 0; i < n; i++) {
    const v = (out[i] as number) + c;
    out[i] = v > 0 ? v : 0;
  }
}

/** Builds the live quantizer for already-validated metadata (no copies of its arrays). */
export function buildQuantizer(meta: QuantizerMetadata): TrainedQuantizer {
  switch (meta.kind) {
    case "flat":
      return new FlatQuantizer(meta);
    case "sq":
      return new ScalarQuantizer(meta);
    case "pq":
      return new ProductQuantizer(meta);
    case "rabitq":
      return new RaBitQuantizer(meta);
  }
}

function f32Array(meta: QuantizerMetadata, name: string): Float32Array {
  const a = meta.arrays[name];
  if (!(a instanceof Float32Array)) throw new RangeError(`quantizer metadata lacks Float32Array "${name}"`);
  return a;
}

/** f32 view of raw little-endian floats in `bytes`; copies only when the offset is unaligned. */
function floatView(bytes: Uint8Array, count: number): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, count);
  return new Float32Array(bytes.slice(0, count * 4).buffer);
}

/** Raw f32 rows. */
class FlatQuantizer implements TrainedQuantizer {
  readonly codeWidth: number;
  constructor(readonly metadata: QuantizerMetadata) {
    this.codeWidth = metadata.dim * 4;
  }
  encode(vectors: Float32Array, n: number, out: Uint8Array): void {
    out.set(new Uint8Array(vectors.buffer, vectors.byteOffset, n * this.codeWidth));
  }
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer {
    const { dim, distance, residual } = this.metadata;
    const q = prepareQuery(query, centroid, dim, distance, residual);
    const inner = distance === "dot";
    return {
      score(codes: Uint8Array, n: number, out: Float32Array): void {
        batchKernel(q, floatView(codes, n * dim), n, dim, out, inner);
        if (inner) for (let i = 0; i < n; i++) out[i] = -(out[i] as number);
      },
    };
  }
}

/** Free tables a quantizer keeps for its next scorers (a batch holds one per query; more are left to the GC). */
const MAX_FREE_TABLES = 4;

/**
 * Scoring tables of one quantizer, handed to its scorers and given back by `release` (the scan
 * releases each scorer once it is done with it), so a warm search allocates no table per query
 * or probe. A quantizer object lives on one thread, so its pool does too.
 */
class TablePool {
  readonly #free: Float32Array[] = [];
  constructor(readonly length: number) {}
  /** A table of `length` floats; its contents are whatever the last user left (callers overwrite every entry they read). */
  take(): Float32Array {
    return this.#free.pop() ?? new Float32Array(this.length);
  }
  give(table: Float32Array): void {
    if (this.#free.length < MAX_FREE_TABLES) this.#free.push(table);
  }
}

/** A DataView over the whole buffer of `codes`, remembered for the last buffer seen (one per partition scan was garbage per probe). */
class ViewOfBuffer {
  #buffer: ArrayBufferLike | undefined;
  #view: DataView | undefined;
  of(codes: Uint8Array): DataView {
    if (this.#buffer !== codes.buffer) {
      this.#buffer = codes.buffer;
      this.#view = new DataView(codes.buffer);
    }
    return this.#view!;
  }
}

/** 8-bit scalar quantization with per-dimension [lower, upper] bounds. */
class ScalarQuantizer implements TrainedQuantizer {
  readonly codeWidth: number;
  private readonly lower: Float32Array;
  private readonly step: Float32Array;
  private readonly inv: Float32Array;
  constructor(readonly metadata: QuantizerMetadata) {
    const dim = metadata.dim;
    this.codeWidth = dim;
    this.lower = f32Array(metadata, "lower");
    const upper = f32Array(metadata, "upper");
    this.step = new Float32Array(dim);
    this.inv = new Float32Array(dim);
    for (let t = 0; t < dim; t++) {
      const range = (upper[t] as number) - (this.lower[t] as number);
      this.step[t] = range / 255;
      this.inv[t] = range > 0 ? 255 / range : 0;
    }
  }
  encode(vectors: Float32Array, n: number, out: Uint8Array): void {
    const dim = this.metadata.dim;
    const lower = this.lower;
    const inv = this.inv;
    for (let i = 0; i < n; i++) {
      const b = i * dim;
      for (let t = 0; t < dim; t++) {
        const c = Math.round(((vectors[b + t] as number) - (lower[t] as number)) * (inv[t] as number));
        out[b + t] = c < 0 ? 0 : c > 255 ? 255 : c; // NaN stores 0 (Uint8Array assignment)
      }
    }
  }
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer {
    const { dim, distance, residual } = this.metadata;
    const q = prepareQuery(query, centroid, dim, distance, residual, (this.queryScratch ??= new Float32Array(dim)));
    // per-dimension tables turn scoring into the same byte-lookup scan as PQ; they are built by
    // the PQ table kernel with one-float "codewords" (the 256 decoded values of each dimension).
    // The table comes from the pool and is overwritten whole below.
    const pool = (this.tables ??= new TablePool(dim * 256));
    let table: Float32Array | undefined = pool.take();
    const w = kernels();
    const block = w.resident(this.residentToken, this.tableInputs());
    const mark = w.mark();
    try {
      const qp = w.alloc(dim * 4);
      w.f32(qp, dim).set(q);
      const op = w.alloc(dim * 256 * 4);
      const isDot = distance === "dot";
      w.exports.pq_table(qp, block, dim, 1, block + dim * 256 * 4, isDot ? -1 : -2, op);
      table.set(w.f32(op, dim * 256));
    } finally {
      w.release(mark);
    }
    // (v - q)² = v² - 2vq + q²: the tables hold the first two terms, ||q||² is added per row
    const qq = distance === "dot" ? 0 : sumSquares(q);
    return {
      score(codes: Uint8Array, n: number, out: Float32Array): void {
        if (table === undefined) throw new RangeError("score after release");
        adcScan(codes, n, dim, dim, table, out);
        if (distance !== "dot") addClamped(out, n, qq);
      },
      release(): void {
        if (table !== undefined) pool.give(table);
        table = undefined;
      },
    };
  }

  private readonly residentToken = {};
  private tableBlock: Float32Array | undefined;
  /** Scratch of {@link scorer}: the prepared query (used while the scorer is made only) and the scorers' tables. */
  private queryScratch: Float32Array | undefined;
  private tables: TablePool | undefined;

  /** [decoded value of (t, c) | its square (0 for dot)], t-major: the pq_table inputs with dsub = 1. */
  private tableInputs(): Float32Array {
    if (this.tableBlock !== undefined) return this.tableBlock;
    const dim = this.metadata.dim;
    const block = new Float32Array(dim * 256 * 2);
    const isDot = this.metadata.distance === "dot";
    for (let t = 0; t < dim; t++) {
      for (let c = 0; c < 256; c++) {
        const v = this.decode(t, c);
        block[t * 256 + c] = v;
        block[dim * 256 + t * 256 + c] = isDot ? 0 : v * v;
      }
    }
    this.tableBlock = block;
    return block;
  }

  /** Decoded value of code `c` in dimension `t` (used by tests). */
  decode(t: number, c: number): number {
    return Math.fround((this.lower[t] as number) + c * (this.step[t] as number));
  }
}

/** Product quantization: m sub-spaces, 256 codewords each, scored by ADC tables. */
class ProductQuantizer implements TrainedQuantizer {
  readonly codeWidth: number;
  private readonly m: number;
  private readonly dsub: number;
  private readonly codebook: Float32Array;
  private readonly bias: Float32Array;
  constructor(readonly metadata: QuantizerMetadata) {
    this.m = metadata.params.numSubVectors as number;
    this.dsub = metadata.dim / this.m;
    this.codeWidth = this.m;
    this.codebook = f32Array(metadata, "codebook");
    this.bias = squaredNorms(this.codebook, this.m * PQ_CENTROIDS, this.dsub);
  }
  encode(vectors: Float32Array, n: number, out: Uint8Array): void {
    const { m, dsub } = this;
    const dim = this.metadata.dim;
    const idx = new Uint32Array(n);
    const span = PQ_CENTROIDS * dsub;
    for (let s = 0; s < m; s++) {
      // nearest codeword by L2 (reconstruction error) whatever the index distance
      assignScored(vectors, n, dsub, dim, s * dsub, this.codebook.subarray(s * span, s * span + span), PQ_CENTROIDS,
        this.bias.subarray(s * PQ_CENTROIDS, s * PQ_CENTROIDS + PQ_CENTROIDS), -2, idx);
      for (let i = 0; i < n; i++) out[i * m + s] = idx[i] as number;
    }
  }
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer {
    const { dim, distance, residual } = this.metadata;
    const { m, dsub } = this;
    const q = prepareQuery(query, centroid, dim, distance, residual);
    const table = new Float32Array(m * PQ_CENTROIDS);
    const w = kernels();
    // the transposed codebook stays resident in kernel memory across this quantizer's scorers
    const cbt = w.resident(this.residentToken, this.tableInputs());
    const mark = w.mark();
    try {
      const qp = w.alloc(dim * 4);
      w.f32(qp, dim).set(q);
      const op = w.alloc(m * PQ_CENTROIDS * 4);
      const isDot = distance === "dot";
      w.exports.pq_table(qp, cbt, m, dsub, cbt + m * PQ_CENTROIDS * dsub * 4, isDot ? -1 : -2, op);
      table.set(w.f32(op, m * PQ_CENTROIDS));
    } finally {
      w.release(mark);
    }
    // ||q_s - y||² = ||y||² - 2 q_s.y + ||q_s||²: the tables hold the first two terms and the
    // sum of the last over sub-spaces, ||q||², is added once per row
    const qq = distance === "dot" ? 0 : sumSquares(q);
    return {
      score(codes: Uint8Array, n: number, out: Float32Array): void {
        adcScan(codes, n, m, m, table, out);
        if (distance !== "dot") addClamped(out, n, qq);
      },
    };
  }

  private readonly residentToken = {};
  private tableBlock: Float32Array | undefined;

  /** [codebook transposed in groups of 4 codewords | bias per codeword] for the pq_table kernel. */
  private tableInputs(): Float32Array {
    if (this.tableBlock !== undefined) return this.tableBlock;
    const { m, dsub } = this;
    const cb = this.codebook;
    const block = new Float32Array(m * PQ_CENTROIDS * (dsub + 1));
    for (let s = 0; s < m; s++) {
      for (let j = 0; j < PQ_CENTROIDS; j++) {
        const g = (s * 64 + (j >> 2)) * dsub;
        for (let d = 0; d < dsub; d++) block[(g + d) * 4 + (j & 3)] = cb[(s * PQ_CENTROIDS + j) * dsub + d] as number;
      }
    }
    if (this.metadata.distance !== "dot") block.set(this.bias, m * PQ_CENTROIDS * dsub);
    this.tableBlock = block;
    return block;
  }
}

/**
 * RaBitQ: the residual r is rotated (o' = P r / |r|), stored as sign bits (dimension 8j+t is bit t
 * of byte j) plus two little-endian f32 factors: |r| and <x̄, o'> with x̄ = sign / sqrt(D).
 * The estimator <o, q> ≈ <x̄, P q> / <x̄, o'> is unbiased over the random rotation.
 */
class RaBitQuantizer implements TrainedQuantizer {
  readonly codeWidth: number;
  private readonly bytes: number;
  private readonly rotation: Float32Array;
  constructor(readonly metadata: QuantizerMetadata) {
    this.bytes = Math.ceil(metadata.dim / 8);
    this.codeWidth = this.bytes + 8;
    this.rotation = f32Array(metadata, "rotation");
  }
  private readonly residentToken = {};
  private paddedRotation: Float32Array | undefined;

  /** Scratch of {@link scorer}: the prepared and the rotated query (used while the scorer is made only), the scorers' tables, the codes' view. */
  private queryScratch: Float32Array | undefined;
  private rotatedScratch: Float32Array | undefined;
  private tables: TablePool | undefined;
  private readonly codesView = new ViewOfBuffer();

  /** P v (dim floats) on the SIMD kernel into `out` (a new array without it), with P resident in kernel memory across scorers. */
  private rotate(v: Float32Array, out?: Float32Array): Float32Array {
    const dim = this.metadata.dim;
    const pd = paddedDim(dim);
    if (this.paddedRotation === undefined) {
      const padded = new Float32Array(dim * pd);
      copyRowsPadded(padded, this.rotation, 0, dim, dim, dim, 0, pd);
      this.paddedRotation = padded;
    }
    const w = kernels();
    const pp = w.resident(this.residentToken, this.paddedRotation);
    const mark = w.mark();
    try {
      const vp = w.alloc(pd * 4);
      w.f32(vp, dim).set(v.subarray(0, dim));
      const op = w.alloc(dim * 4);
      w.exports.dot_batch(vp, pp, dim, pd, op);
      if (out === undefined) return w.f32(op, dim).slice();
      out.set(w.f32(op, dim));
      return out;
    } finally {
      w.release(mark);
    }
  }

  encode(vectors: Float32Array, n: number, out: Uint8Array): void {
    const dim = this.metadata.dim;
    const cw = this.codeWidth;
    const nb = this.bytes;
    const sqrtD = Math.sqrt(dim);
    const w = kernels();
    const mark = w.mark();
    try {
      const pd = paddedDim(dim);
      const pp = w.putRows(this.rotation, dim, dim, pd);
      const rp = w.alloc(pd * 4);
      const op = w.alloc(dim * 4);
      const rv = w.f32(rp, pd);
      const ov = w.f32(op, dim);
      const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
      for (let i = 0; i < n; i++) {
        const b = i * dim;
        let norm2 = 0;
        for (let t = 0; t < dim; t++) {
          const v = vectors[b + t] as number;
          rv[t] = v;
          norm2 += v * v;
        }
        w.exports.dot_batch(rp, pp, dim, pd, op);
        const norm = Math.sqrt(norm2);
        const cb = i * cw;
        out.fill(0, cb, cb + nb);
        let abs = 0;
        for (let t = 0; t < dim; t++) {
          const v = ov[t] as number;
          if (v > 0) out[cb + (t >> 3)] = (out[cb + (t >> 3)] as number) | (1 << (t & 7));
          abs += Math.abs(v);
        }
        // <x̄, o'> with o' unit: sum |o'_t| / sqrt(D); a zero residual stores 1 to keep the divisor sane
        const ip = norm > 0 ? abs / (norm * sqrtD) : 1;
        dv.setFloat32(cb + nb, norm, true);
        dv.setFloat32(cb + nb + 4, ip, true);
      }
    } finally {
      w.release(mark);
    }
  }
  scorer(query: Float32Array, centroid: Float32Array): PartitionScorer {
    const { dim, distance } = this.metadata;
    const nb = this.bytes;
    const cw = this.codeWidth;
    const sqrtD = Math.sqrt(dim);
    const isDot = distance === "dot";
    const q = prepareQuery(query, centroid, dim, distance, !isDot, (this.queryScratch ??= new Float32Array(dim)));
    // the sums the scorer's closure keeps are computed by functions and kept as constants: a
    // captured variable summed in a loop boxed a heap number per step (~5 KB per scorer)
    const cdot = isDot ? dotOf(q, centroid, dim) : 0;
    const qn2 = sumSquares(q);
    const rq = this.rotate(q, (this.rotatedScratch ??= new Float32Array(dim)));
    const sumAll = sumOf(rq, dim);
    // table[j][v] = sum of rotated query coordinates 8j+t whose bit t is set in v (a pooled
    // table: every entry is written, entry 0 of each byte included)
    const pool = (this.tables ??= new TablePool(nb * 256));
    let table: Float32Array | undefined = pool.take();
    for (let j = 0; j < nb; j++) {
      table[j * 256] = 0;
      for (let v = 1; v < 256; v++) {
        const low = 31 - Math.clz32(v & -v);
        const d = j * 8 + low;
        table[j * 256 + v] = (table[j * 256 + (v & (v - 1))] as number) + (d < dim ? (rq[d] as number) : 0);
      }
    }
    const codesView = this.codesView;
    return {
      score(codes: Uint8Array, n: number, out: Float32Array): void {
        if (table === undefined) throw new RangeError("score after release");
        if (codes.byteLength < n * cw) throw new RangeError(`codes has ${codes.byteLength} bytes for ${n} rows of ${cw}`);
        adcScan(codes, n, nb, cw, table, out);
        const dv = codesView.of(codes);
        const base = codes.byteOffset + nb;
        for (let i = 0; i < n; i++) {
          const norm = dv.getFloat32(base + i * cw, true);
          const ip = dv.getFloat32(base + i * cw + 4, true);
          const xq = (2 * (out[i] as number) - sumAll) / sqrtD;
          const est = ip > 0 ? xq / ip : 0;
          out[i] = isDot ? -(cdot + norm * est) : norm * norm + qn2 - 2 * norm * est;
        }
      },
      release(): void {
        if (table !== undefined) pool.give(table);
        table = undefined;
      },
    };
  }
}
