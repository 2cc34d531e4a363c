/**
 * Lloyd's k-means on the SIMD assignment kernel. Deterministic for a given seed: the only
 * randomness is the seeded initialisation, and updates run in row order in f64.
 */
import type { DistanceType } from "../../quantizer.js";
import { createRng } from "./rng.js";
import type { Rng } from "./rng.js";
import { assignScored, assignmentTerms, normalizeRows, squaredNorms } from "./vector-math.js";
import { centroidDistanceRows, kernels, paddedDim } from "./wasm-kernels.js";
import type { WasmKernels } from "./wasm-kernels.js";

/** Options for k-means. */
export interface KMeansOptions {
  /** Iteration cap (default 50, the modelled system's default). */
  readonly maxIters?: number;
  /** Stop when the relative loss change falls below this (default 1e-4). */
  readonly tolerance?: number;
  /** PRNG seed (default 42). */
  readonly seed?: number;
  /** l2 (default), cosine (unit rows and centroids, spherical) or dot (max inner product). */
  readonly distance?: DistanceType;
  /**
   * "kmeans++" (default: its seeding costs about one assignment pass and avoids most empty
   * clusters and slow starts on clustered data) or "random" (k distinct sample rows, the
   * modelled system's default).
   */
  readonly init?: "random" | "kmeans++";
  /**
   * Cosine only: return each centroid as the mean of its (unit) member rows, i.e. the spherical
   * centroid scaled by that mean's length, instead of the unit vector. Assignment is unchanged
   * (ranking normalises centroids); residuals against the mean are smaller (see ivf-model.ts).
   */
  readonly cosineMeans?: boolean;
}

/** Result of k-means training. */
export interface KMeansResult {
  /** k * dim centroids, row-major. */
  readonly centroids: Float32Array;
  /** Lloyd iterations run. */
  readonly iterations: number;
  /** Mean distance of rows to their centroid at the last assignment (L2 squared, or -dot). */
  readonly loss: number;
  /** True when the tolerance was reached before the cap. */
  readonly converged: boolean;
}

const DEFAULT_SEED = 42;

/**
 * Default relative-loss tolerance of PQ codebook training. The modelled system stops at 1e-4;
 * measured on a residual sub-space of the bench data (65,536 x 8, 256 codewords) 1e-4 took 47
 * iterations to loss 1.1500 and 1e-3 took 16 to 1.1600 (+0.9%) at under half the CPU time, and
 * recall did not move (3,000 x 32 search test: 0.29 either way). IVF training keeps 1e-4: there
 * the looser stop halved the iterations but cost recall (that test: 0.29 -> 0.24). The iteration
 * cap still applies; `trainKMeans` itself keeps 1e-4.
 */
export const PQ_TRAIN_TOLERANCE = 1e-3;

/**
 * Assignment step of k-means: for each row listed in `active[0..count)` (all `n` rows in order
 * when `active` is undefined), the centroid minimising bias[j] + alpha * (x . c_j), its score
 * and the runner-up score, written at the row's position in that list. The default runs on this
 * thread; the parallel trainer spreads it over workers, which read the listed rows themselves
 * (no n * dim gather copy).
 */
export interface RowAssigner {
  /** n-entry list runKMeans fills with the rows that need assignment (shared memory for workers). */
  readonly activeList: Uint32Array;
  assign(
    active: Uint32Array | undefined, count: number, centroids: Float32Array, bias: Float32Array, alpha: number,
    outIdx: Uint32Array, outScore: Float32Array, outSecond: Float32Array,
  ): void;
}

/** Rows gathered per kernel call when only some rows need assignment. */
export const GATHER_CHUNK_ROWS = 4096;

/**
 * Assigns the listed rows [start, end) of `active` (rows of `x`), gathering them `chunk` rows
 * at a time into `scratch` (chunk * dim floats); outputs go to positions [start, end).
 */
export function assignListed(
  x: Float32Array, dim: number, active: Uint32Array, start: number, end: number, scratch: Float32Array,
  centroids: Float32Array, k: number, bias: Float32Array, alpha: number,
  outIdx: Uint32Array, outScore: Float32Array, outSecond: Float32Array,
): void {
  const chunk = Math.floor(scratch.length / dim);
  for (let r0 = start; r0 < end; r0 += chunk) {
    const r1 = Math.min(end, r0 + chunk);
    for (let r = r0; r < r1; r++) {
      const xb = (active[r] as number) * dim;
      scratch.set(x.subarray(xb, xb + dim), (r - r0) * dim);
    }
    assignScored(scratch, r1 - r0, dim, dim, 0, centroids, k, bias, alpha,
      outIdx.subarray(r0, r1), outScore.subarray(r0, r1), outSecond.subarray(r0, r1));
  }
}

/** Trains k centroids on `n` rows of `dim` floats. Throws RangeError when n < k or k < 1. */
export function trainKMeans(data: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions = {}): KMeansResult {
  checkKMeansShape(data, n, dim, k);
  return trainPrepared(kmeansRows(data, n, dim, opts.distance ?? "l2"), n, dim, k, opts);
}

/** k-means on this thread over prepared rows (see kmeansRows): flat, or hierarchical above HIERARCHICAL_MIN_K. */
export function trainPrepared(x: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions): KMeansResult {
  if (!useHierarchical(k, opts)) return runKMeans(x, n, dim, k, opts);
  const plan = planHierarchical(x, n, dim, k, opts);
  for (let g = 0; g < plan.groups; g++) solveGroup(plan, g);
  return refineHierarchical(k, opts, plan);
}

/**
 * The steps of hierarchical k-means that are passes over rows, pluggable so the parallel trainer
 * can spread them over workers; every implementation gives the same per-row results, so the
 * model does not depend on which one ran.
 */
export interface HierarchicalSteps {
  /** The top level's k-means over its subsample (`sample`, rows * dim). */
  topKMeans(sample: Float32Array, rows: number, dim: number, groups: number, opts: KMeansOptions): KMeansResult;
  /** Nearest of the `groups` top centres for each of the n rows of `x`: index and score (bias + alpha * x.c). */
  assignRows(x: Float32Array, n: number, dim: number, top: Float32Array, groups: number, bias: Float32Array, alpha: number, group: Uint32Array, score: Float32Array): void;
}

/** The steps on this thread. */
export const SERIAL_STEPS: HierarchicalSteps = {
  topKMeans: (sample, rows, dim, groups, opts) => runKMeans(sample, rows, dim, groups, opts),
  assignRows: (x, n, dim, top, groups, bias, alpha, group, score) => assignScored(x, n, dim, dim, 0, top, groups, bias, alpha, group, score),
};

/** Throws RangeError unless k >= 1, n >= k and data holds n * dim floats. */
export function checkKMeansShape(data: Float32Array, n: number, dim: number, k: number): void {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (!Number.isInteger(n) || n < k) throw new RangeError(`k-means needs at least k=${k} rows, got ${n}`);
  if (data.length < n * dim) throw new RangeError(`data holds ${data.length} floats, need ${n * dim}`);
}

/** The rows k-means works on: a normalised copy (into `out` when given) for cosine, else `data`. */
export function kmeansRows(data: Float32Array, n: number, dim: number, type: DistanceType, out?: Float32Array): Float32Array {
  if (type !== "cosine") return data;
  const copy = out ?? new Float32Array(n * dim);
  copy.set(data.subarray(0, n * dim));
  return normalizeRows(copy, n, dim);
}

/**
 * Lloyd iterations over prepared rows (see kmeansRows), with a pluggable assignment step.
 *
 * For l2 and cosine at BOUNDS_MIN_K centroids or more, Hamerly's bounds skip most of the work after the first iterations: each row
 * keeps an upper bound on the distance to its centroid (made exact each iteration at the cost of
 * one distance) and a lower bound on every other centroid (the kernel's runner-up, minus how far
 * centroids moved since). A row whose distance is below both that lower bound and half the gap
 * from its centroid to the nearest other centroid keeps its centroid without a full scan. The
 * skipped rows provably keep the same winner, up to f32 rounding (guarded by a margin).
 */
export function runKMeans(
  x: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions, assigner?: RowAssigner, useBounds = true,
  initial?: Float32Array,
): KMeansResult {
  const maxIters = opts.maxIters ?? 50;
  const tolerance = opts.tolerance ?? 1e-4;
  const type = opts.distance ?? "l2";
  const rng = createRng(opts.seed ?? DEFAULT_SEED);
  let scratch: Float32Array | undefined;
  const step: RowAssigner = assigner ?? {
    activeList: new Uint32Array(n),
    assign: (list, count, c, bias, alpha, outIdx, outScore, outSecond) => {
      if (list === undefined) return assignScored(x, count, dim, dim, 0, c, k, bias, alpha, outIdx, outScore, outSecond);
      scratch ??= new Float32Array(Math.min(n, GATHER_CHUNK_ROWS) * dim);
      assignListed(x, dim, list, 0, count, scratch, c, k, bias, alpha, outIdx, outScore, outSecond);
    },
  };

  const centroids = initial !== undefined ? initial.slice(0, k * dim)
    : opts.init === "random" ? pickDistinctRows(x, n, dim, k, rng) : initPlusPlus(x, n, dim, k, rng);
  if (type === "cosine") normalizeRows(centroids, k, dim);
  const bounded = type !== "dot" && useBounds && k >= BOUNDS_MIN_K;
  const rowNorms = type !== "dot" ? squaredNorms(x, n, dim) : undefined;
  const assignment = new Uint32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const exact = new Float64Array(bounded ? n : 0);
  const active = step.activeList;
  const idx = new Uint32Array(n);
  const best = new Float32Array(n);
  const second = new Float32Array(n);
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  const previous = new Float32Array(k * dim);
  const moved = new Float64Array(k);
  const halfGap = new Float64Array(k);
  const meanNorms = type === "cosine" && opts.cosineMeans === true ? new Float64Array(k).fill(1) : undefined;

  let prevLoss = Infinity;
  let loss = Infinity;
  let iterations = 0;
  let converged = false;
  let first = true;
  let lastActive = 0; // rows the last bounds check left active (0: try them on iteration 2)
  while (iterations < maxIters) {
    const { bias, alpha } = assignmentTerms(centroids, k, dim, type === "dot" ? "dot" : "l2");
    let total = 0;
    let count = 0;
    // when the bounds pruned little last time, their bookkeeping (an exact distance per row and
    // a gather copy) costs more than it saves: run plain full passes, re-trying every 4th one
    const tryBounds = bounded && !first && (lastActive < 0.7 * n || iterations % 4 === 0);
    if (!tryBounds) {
      for (let i = 0; i < n; i++) active[i] = i;
      count = n;
    } else {
      halfGaps(centroids, k, dim, halfGap);
      let maxMove = 0;
      let maxAt = -1;
      let nextMove = 0;
      for (let j = 0; j < k; j++) {
        const m = moved[j] as number;
        if (m > maxMove) {
          nextMove = maxMove;
          maxMove = m;
          maxAt = j;
        } else if (m > nextMove) nextMove = m;
      }
      let maxCn2 = 0;
      for (let j = 0; j < k; j++) maxCn2 = Math.max(maxCn2, bias[j] as number);
      distancesToAssigned(x, n, dim, centroids, k, assignment, exact);
      for (let i = 0; i < n; i++) {
        const a = assignment[i] as number;
        const d2 = exact[i] as number;
        const u = Math.sqrt(d2);
        const l = (lower[i] as number) - (a === maxAt ? nextMove : maxMove);
        lower[i] = l;
        upper[i] = u;
        const bound = Math.max(l, halfGap[a] as number);
        // margin in squared terms: the kernel's expanded-form scores carry f32 cancellation error
        if (u <= bound && bound * bound - d2 >= 1e-6 * ((rowNorms![i] as number) + maxCn2)) {
          total += d2;
          continue;
        }
        active[count++] = i;
      }
    }
    if (count > 0) step.assign(count < n ? active : undefined, count, centroids, bias, alpha, idx, best, second);
    if (tryBounds) lastActive = count;
    for (let r = 0; r < count; r++) {
      const i = active[r] as number;
      assignment[i] = idx[r] as number;
      if (rowNorms === undefined) {
        total += best[r] as number;
      } else {
        const xn = rowNorms[i] as number;
        const d2 = Math.max(0, (best[r] as number) + xn);
        total += d2;
        upper[i] = Math.sqrt(d2);
        lower[i] = Math.sqrt(Math.max(0, (second[r] as number) + xn));
      }
    }
    iterations++;
    first = false;
    loss = total / n;
    previous.set(centroids);
    updateCentroids(x, n, dim, k, assignment, centroids, sums, counts);
    if (meanNorms !== undefined) memberMeanNorms(centroids, counts, k, dim, meanNorms);
    const repaired = repairEmpty(centroids, counts, k, dim, rng);
    if (type === "cosine") normalizeRows(centroids, k, dim);
    for (let j = 0; j < k; j++) {
      let m2 = 0;
      for (let t = 0; t < dim; t++) {
        const d = (centroids[j * dim + t] as number) - (previous[j * dim + t] as number);
        m2 += d * d;
      }
      moved[j] = Math.sqrt(m2);
    }
    if (lloydConverged(loss, prevLoss, repaired, tolerance)) {
      converged = true;
      break;
    }
    prevLoss = loss;
  }
  if (meanNorms !== undefined) scaleRows(centroids, k, dim, meanNorms);
  return { centroids, iterations, loss, converged };
}

/**
 * Fewest centroids at which runKMeans keeps Hamerly bounds. Their cost per row (the exact
 * distance to its centroid and a gather copy of the rows left active) is about 1/k of a full
 * scan's plus a fixed part, so at few centroids they cost more than they save: measured on the
 * hierarchical leaves (about 16 centroids each, 262,144 x 128 rows in all, k = 1,024, one
 * thread) they skipped 28% of the rows, and the whole training took 5.2 CPU seconds with them in
 * the leaves against 4.6 without (the same model: skipping never changes a winner).
 */
export const BOUNDS_MIN_K = 32;

/**
 * Lloyd's stop rule: zero loss, or a relative loss change within `tolerance` in an iteration that
 * repaired no empty cluster (one that moved centroids for repair has not converged, whatever its
 * loss did).
 */
function lloydConverged(loss: number, prevLoss: number, repaired: number, tolerance: number): boolean {
  return loss === 0 || (repaired === 0 && Math.abs(prevLoss - loss) <= tolerance * Math.max(Math.abs(loss), Number.MIN_VALUE));
}

/** Row j of `rows` times `scale[j]`. */
function scaleRows(rows: Float32Array, k: number, dim: number, scale: Float64Array): void {
  for (let j = 0; j < k; j++) for (let t = 0; t < dim; t++) rows[j * dim + t] = (rows[j * dim + t] as number) * (scale[j] as number);
}

/** out[j] = length of centroid j (a member mean) when its cluster has rows and the length is usable; else 1. */
function memberMeanNorms(centroids: Float32Array, counts: Float64Array, k: number, dim: number, out: Float64Array): void {
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let t = 0; t < dim; t++) s += (centroids[j * dim + t] as number) ** 2;
    const len = Math.sqrt(s);
    // an empty cluster (repaired next) or a mean too short to normalise stably keeps unit length
    out[j] = (counts[j] as number) > 0 && len > 1e-6 && len <= 1 ? len : 1;
  }
}

/** half[j] = half the distance from centroid j to its nearest other centroid (Infinity when k = 1). */
function halfGaps(c: Float32Array, k: number, dim: number, half: Float64Array): void {
  half.fill(Infinity);
  for (let j = 0; j < k; j++) {
    for (let l = j + 1; l < k; l++) {
      let d2 = 0;
      for (let t = 0; t < dim; t++) {
        const d = (c[j * dim + t] as number) - (c[l * dim + t] as number);
        d2 += d * d;
      }
      const h = Math.sqrt(d2) / 2;
      if (h < (half[j] as number)) half[j] = h;
      if (h < (half[l] as number)) half[l] = h;
    }
  }
}

/** k distinct rows chosen uniformly (partial Fisher-Yates); random init, the ++ subsample and training samples. */
export function pickDistinctRows(x: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const c = new Float32Array(k * dim);
  for (let j = 0; j < k; j++) {
    const r = j + rng.nextInt(n - j);
    const pick = idx[r] as number;
    idx[r] = idx[j] as number;
    idx[j] = pick;
    c.set(x.subarray(pick * dim, pick * dim + dim), j * dim);
  }
  return c;
}

/**
 * k-means++ seeding: each next centroid drawn with probability proportional to D(x)^2. The rows
 * stay resident in kernel memory for all k distance passes (copying them per pass cost more
 * than the passes themselves at 65,536 x 128). Large inputs seed on a subsample.
 */
function initPlusPlus(x: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  // seeding on a 32-rows-per-centroid subsample: k serial passes over it instead of over all n
  if (n > PLUS_PLUS_ROWS_PER_CENTROID * k) {
    const rows = PLUS_PLUS_ROWS_PER_CENTROID * k;
    return seedPlusPlus(pickDistinctRows(x, n, dim, rows, rng), rows, dim, k, rng);
  }
  return seedPlusPlus(x, n, dim, k, rng);
}

/** Rows per centroid the k-means++ seeding looks at (a seeded uniform subsample when n is larger). */
const PLUS_PLUS_ROWS_PER_CENTROID = 32;

function seedPlusPlus(x: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const c = new Float32Array(k * dim);
  const minD = new Float32Array(n).fill(Infinity);
  const w = kernels();
  const mark = w.mark();
  try {
    const pd = paddedDim(dim);
    const xp = w.putRows(x, n, dim, pd);
    const qp = w.alloc(pd * 4);
    const op = w.alloc(n * 4);
    const mem = w.f32(0, (op >> 2) + n); // no allocation below, so this view stays valid
    const dist = w.f32(op, n);
    let pick = rng.nextInt(n);
    for (let j = 0; j < k; j++) {
      c.set(x.subarray(pick * dim, pick * dim + dim), j * dim);
      if (j === k - 1) break;
      mem.copyWithin(qp >> 2, (xp >> 2) + pick * pd, (xp >> 2) + pick * pd + pd);
      w.exports.l2_batch(qp, xp, n, pd, op);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(minD[i] as number, Math.max(0, dist[i] as number));
        minD[i] = v;
        total += v;
      }
      if (!(total > 0)) {
        // every row coincides with a chosen centroid: take any row (repair splits later)
        pick = rng.nextInt(n);
        continue;
      }
      let target = rng.next() * total;
      pick = n - 1;
      for (let i = 0; i < n; i++) {
        target -= minD[i] as number;
        if (target < 0) {
          pick = i;
          break;
        }
      }
    }
  } finally {
    w.release(mark);
  }
  return c;
}

/** The ivffast kernels of vector.wat (typed here: the shared KernelExports interface does not list them). */
interface KMeansKernelExports {
  km_accumulate(x: number, n: number, dim: number, assign: number, sums: number, counts: number): void;
  km_dist_assigned(x: number, n: number, dim: number, c: number, assign: number, out: number): void;
}
const kmExports = (w: WasmKernels): KMeansKernelExports => w.exports as unknown as KMeansKernelExports;

/** Rows copied into kernel memory per call of the k-means row kernels (bounds the arena to ~4 MiB at 128-d). */
const KM_BLOCK_ROWS = 8192;

/**
 * Centroid = mean of its rows (f64 sums, on the SIMD kernel: the same additions in row order as
 * a scalar loop); empty clusters keep their old value until repaired.
 */
function updateCentroids(
  x: Float32Array, n: number, dim: number, k: number, assignment: Uint32Array,
  centroids: Float32Array, sums: Float64Array, counts: Float64Array,
): void {
  accumulateRows(x, n, dim, k, assignment, sums, counts);
  for (let j = 0; j < k; j++) {
    const cnt = counts[j] as number;
    if (cnt === 0) continue;
    const inv = 1 / cnt;
    const b = j * dim;
    for (let t = 0; t < dim; t++) centroids[b + t] = (sums[b + t] as number) * inv;
  }
}

/** sums (k * dim) and counts (k) of the rows of x by assignment, in f64 and row order. */
export function accumulateRows(x: Float32Array, n: number, dim: number, k: number, assignment: Uint32Array, sums: Float64Array, counts: Float64Array): void {
  const w = kernels();
  const mark = w.mark();
  try {
    const sp = w.alloc(k * dim * 8);
    const cp = w.alloc(k * 8);
    const block = Math.min(n, KM_BLOCK_ROWS);
    const xp = w.allocUninit(Math.max(1, block) * dim * 4);
    const ap = w.allocUninit(Math.max(1, block) * 4);
    const e = kmExports(w);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      w.f32(xp, count * dim).set(x.subarray(start * dim, (start + count) * dim));
      w.u32(ap, count).set(assignment.subarray(start, start + count));
      e.km_accumulate(xp, count, dim, ap, sp, cp);
    }
    sums.set(new Float64Array(w.exports.memory.buffer, sp, k * dim));
    counts.set(new Float64Array(w.exports.memory.buffer, cp, k));
  } finally {
    w.release(mark);
  }
}

/** out[i] = squared l2 distance (f64) of row i of x to centroid assignment[i] of c (k * dim), for n rows. */
export function distancesToAssigned(x: Float32Array, n: number, dim: number, c: Float32Array, k: number, assignment: Uint32Array, out: Float64Array): void {
  const w = kernels();
  const mark = w.mark();
  try {
    const cp = w.allocUninit(k * dim * 4);
    w.f32(cp, k * dim).set(c.subarray(0, k * dim));
    const block = Math.min(n, KM_BLOCK_ROWS);
    const xp = w.allocUninit(Math.max(1, block) * dim * 4);
    const ap = w.allocUninit(Math.max(1, block) * 4);
    const op = w.allocUninit(Math.max(1, block) * 8);
    const e = kmExports(w);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      w.f32(xp, count * dim).set(x.subarray(start * dim, (start + count) * dim));
      w.u32(ap, count).set(assignment.subarray(start, start + count));
      e.km_dist_assigned(xp, count, dim, cp, ap, op);
      out.set(new Float64Array(w.exports.memory.buffer, op, count), start);
    }
  } finally {
    w.release(mark);
  }
}

/**
 * Empty-cluster repair: each empty cluster takes half of the currently largest one, by
 * moving both centroids a small symmetric step apart (the next assignment splits the rows).
 */
export function repairEmpty(centroids: Float32Array, counts: Float64Array, k: number, dim: number, rng: Rng): number {
  const EPS = 1 / 1024;
  let repaired = 0;
  for (let j = 0; j < k; j++) {
    if ((counts[j] as number) > 0) continue;
    let largest = 0;
    for (let l = 1; l < k; l++) if ((counts[l] as number) > (counts[largest] as number)) largest = l;
    if ((counts[largest] as number) < 2) break;
    const eb = j * dim;
    const lb = largest * dim;
    for (let t = 0; t < dim; t++) {
      const v = centroids[lb + t] as number;
      const step = (Math.abs(v) + 1e-6) * EPS * (rng.next() < 0.5 ? 1 : -1);
      centroids[eb + t] = v + step;
      centroids[lb + t] = v - step;
    }
    const half = Math.floor((counts[largest] as number) / 2);
    counts[j] = half;
    counts[largest] = (counts[largest] as number) - half;
    repaired++;
  }
  return repaired;
}

/**
 * Above this many centroids k-means is hierarchical, as in the modelled system (which switches
 * above 256): a flat Lloyd step over k centroids costs n * k distances, so at k = 1,024 on the
 * 262,144-row IVF sample each iteration was ~34 G multiply-adds.
 */
export const HIERARCHICAL_MIN_K = 256;
/** Target centroids per top-level group: the leaf k-means each work with about this many. */
const HIERARCHICAL_LEAF_K = 16;
/** Top-level groups at most (so the top level itself stays flat). */
const HIERARCHICAL_MAX_GROUPS = 256;
/** Rows per group the top level trains on (a seeded subsample; all rows are then assigned to it). */
const HIERARCHICAL_TOP_ROWS_PER_GROUP = 256;
/**
 * Lloyd iterations of the full k after the leaves, from their centroids: they move rows across
 * the top-level boundaries the leaves could not. The rows of a top-level group are scored only
 * against the union of the REFINE_NEIGHBOURS nearest centroids of each of the group's own
 * centroids (recomputed each iteration): rows move to nearby centroids, in their group or across
 * its boundary, which is what the refinement is for, at a fraction of a full-k pass. Measured on
 * the build bench's data (262,144 x 128, k = 1,024, one thread): 3 full-k iterations cost ~7 of
 * 12-14 CPU seconds of training; these cost ~1 and leave the SSE 1.6% (unequal clusters) and
 * 4.7% (equal mixture) above the full-k refinement's (32 neighbours or 6 iterations: ~4.5%).
 */
export const HIERARCHICAL_REFINE_ITERS = 3;
/** Nearest centroids (itself included) of each centroid whose union a group's rows are scored against in the refinement. */
export const REFINE_NEIGHBOURS = 16;

/** nbr[j * M ..] = the M centroids nearest centroid j (j first; ties by index), by squared l2 on the SIMD kernel. */
function nearestCentroidLists(c: Float32Array, k: number, dim: number, M: number, nbr: Uint32Array): void {
  const keys = new Float64Array(M);
  centroidDistanceRows(c, k, dim, (j, d2, bits) => {
    // (f32 bits of the non-negative distance, index) keys, exact in f64 for k <= 65,536: a
    // total order, so the lists are deterministic; j itself sorts first
    // the M - 1 smallest keys of the others, by insertion into a sorted list (k * M at worst, about k typically)
    let have = 0;
    for (let l = 0; l < k; l++) {
      // a coincident centroid adds no reach (rows tie with j): duplicates must not crowd out real neighbours
      if (l === j || !((d2[l] as number) > 0)) continue;
      const key = (bits[l] as number) * 65536 + l;
      if (have === M - 1 && key >= (keys[have - 1] as number)) continue;
      let at = have < M - 1 ? have++ : have - 1;
      while (at > 0 && (keys[at - 1] as number) > key) {
        keys[at] = keys[at - 1] as number;
        at--;
      }
      keys[at] = key;
    }
    nbr[j * M] = j;
    for (let r = 1; r < M; r++) nbr[j * M + r] = r - 1 < have ? (keys[r - 1] as number) % 65536 : j;
  });
}

/** Whether k-means with these options runs hierarchically (k above HIERARCHICAL_MIN_K). */
export function useHierarchical(k: number, opts: KMeansOptions): boolean {
  void opts;
  return k > HIERARCHICAL_MIN_K;
}

/**
 * Leaf jobs of hierarchical k-means: the rows sorted by top-level group (`rows`, n * dim, group
 * g at rows [rowStart[g], rowStart[g + 1])), the centroids each group gets (k_g, at centroid
 * offset centroidStart[g]) and the output `centroids` (k * dim) the leaves fill. Each leaf is an
 * independent seeded k-means, so any thread may solve any group with the same result.
 */
export interface HierarchicalPlan {
  readonly rows: Float32Array;
  readonly dim: number;
  readonly groups: number;
  readonly rowStart: Uint32Array;
  readonly centroidStart: Uint32Array;
  readonly centroids: Float32Array;
  /** The top level's groups * dim centres (unit rows for cosine). */
  readonly top: Float32Array;
  /** Group numbers, most work first (claim order that balances threads). */
  readonly order: Uint32Array;
  readonly distance: DistanceType;
  readonly seed: number;
  readonly maxIters: number;
  readonly tolerance: number;
  /** Set when the task is a refinement pass instead of the leaves (workers get the plan with it). */
  readonly refine?: RefinePass;
}

/**
 * Shared state of one refinement pass over a plan's group-sorted rows: the current k centroids,
 * each centroid's M nearest (nbr), the rows' assignment going in (read) and coming out (written
 * per group: `next`, with each row's score). Groups are independent given these.
 */
export interface RefinePass {
  readonly k: number;
  readonly centroids: Float32Array;
  readonly nbr: Uint32Array;
  readonly M: number;
  /** The pass number (the first adds no current centroids: rows have none yet). */
  readonly iteration: number;
  readonly assignment: Uint32Array;
  readonly next: Uint32Array;
  readonly score: Float32Array;
}

/**
 * Top level of hierarchical k-means: G = ceil(k / 16) (at most 256) centroids trained on a
 * seeded subsample, every row assigned to its nearest, then k split over the groups in
 * proportion to their row counts (largest remainder, ties to the lower group; at most one
 * centroid per row). `alloc` makes the buffers (shared memory for worker threads).
 */
export function planHierarchical(
  x: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions,
  alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b), steps: HierarchicalSteps = SERIAL_STEPS,
): HierarchicalPlan {
  const type = opts.distance ?? "l2";
  const seed = opts.seed ?? DEFAULT_SEED;
  const groups = Math.min(HIERARCHICAL_MAX_GROUPS, Math.ceil(k / HIERARCHICAL_LEAF_K));
  const rng = createRng(seed ^ 0x68696572);
  const topRows = Math.min(n, groups * HIERARCHICAL_TOP_ROWS_PER_GROUP);
  const topSample = topRows < n ? pickDistinctRows(x, n, dim, topRows, rng) : x;
  // unit top-level centres for cosine (rows are grouped by direction; only the stored leaves are means)
  const top = steps.topKMeans(topSample, topRows, dim, groups, { ...opts, cosineMeans: false, seed: seed + 7919, maxIters: opts.maxIters ?? 50 });
  const { bias, alpha } = assignmentTerms(top.centroids, groups, dim, type === "dot" ? "dot" : "l2");
  const group = new Uint32Array(n);
  const score = new Float32Array(n);
  steps.assignRows(x, n, dim, top.centroids, groups, bias, alpha, group, score);
  const counts = new Float64Array(groups);
  const sse = new Float64Array(groups);
  const norms = type === "dot" ? undefined : squaredNorms(x, n, dim);
  for (let i = 0; i < n; i++) {
    const g = group[i] as number;
    counts[g]! += 1;
    sse[g]! += norms === undefined ? 0 : Math.max(0, (score[i] as number) + (norms[i] as number));
  }
  // centroids go where they cut the most error: in proportion to sqrt(n_g * SSE_g) = n_g * rms
  // distance (k-means' high-dimensional allocation), not to n_g alone; measured at 262,144 x 128,
  // k = 1,024 on the bench's unequal clusters the leaves' loss was 147.5 with counts alone
  const weight = new Float64Array(groups);
  for (let g = 0; g < groups; g++) weight[g] = norms === undefined ? (counts[g] as number) : Math.sqrt((counts[g] as number) * (sse[g] as number));
  const kg = splitProportionally(weight, counts, k);
  const rowStart = new Uint32Array(alloc((groups + 1) * 4));
  const centroidStart = new Uint32Array(alloc((groups + 1) * 4));
  for (let g = 0; g < groups; g++) {
    rowStart[g + 1] = (rowStart[g] as number) + (counts[g] as number);
    centroidStart[g + 1] = (centroidStart[g] as number) + (kg[g] as number);
  }
  const rows = new Float32Array(alloc(n * dim * 4));
  const fill = rowStart.slice(0, groups);
  for (let i = 0; i < n; i++) {
    const g = group[i] as number;
    const at = fill[g]!;
    fill[g] = at + 1;
    rows.set(x.subarray(i * dim, i * dim + dim), at * dim);
  }
  const order = Uint32Array.from({ length: groups }, (_, g) => g);
  const work = (g: number): number => (counts[g] as number) * (kg[g] as number);
  order.sort((a, b) => work(b) - work(a) || a - b);
  return {
    rows, dim, groups, rowStart, centroidStart, centroids: new Float32Array(alloc(k * dim * 4)), top: top.centroids, order, distance: type, seed,
    maxIters: opts.maxIters ?? 50, tolerance: opts.tolerance ?? 1e-4,
  };
}

/**
 * k split over groups in proportion to `weight` (largest remainder; ties to the lower group),
 * never more than a group's row count; needs sum(counts) >= k.
 */
export function splitProportionally(weight: Float64Array, counts: Float64Array, k: number): Uint32Array {
  const g = counts.length;
  const out = new Uint32Array(g);
  let left = k;
  // repeat: a group capped at its row count hands the rest of its share back to the others
  for (let round = 0; left > 0 && round <= g; round++) {
    const open: number[] = [];
    let total = 0;
    for (let j = 0; j < g; j++) {
      if ((out[j] as number) >= (counts[j] as number)) continue;
      open.push(j);
      total += weight[j] as number;
    }
    if (open.length === 0) break;
    const share = new Float64Array(g);
    let given = 0;
    for (const j of open) {
      const free = (counts[j] as number) - (out[j] as number);
      // zero total weight (every row on its top centroid): split by free rows instead
      const exact = total > 0 ? (left * (weight[j] as number)) / total : left / open.length;
      const whole = Math.min(free, Math.floor(exact));
      share[j] = exact - whole;
      out[j] = (out[j] as number) + whole;
      given += whole;
    }
    let rest = left - given;
    const byRemainder = open.filter((j) => (out[j] as number) < (counts[j] as number));
    byRemainder.sort((a, b) => (share[b] as number) - (share[a] as number) || a - b);
    for (const j of byRemainder) {
      if (rest === 0) break;
      out[j] = (out[j] as number) + 1;
      rest--;
    }
    left = rest;
  }
  return out;
}

/**
 * Work item `g` of a hierarchical plan: the leaf k-means of group `g` (seeded by the group
 * number) into the plan's centroids, or, when the plan carries a refinement pass, that pass's
 * assignment of group g's rows.
 */
export function solveGroup(plan: HierarchicalPlan, g: number): void {
  if (plan.refine !== undefined) {
    refineGroup(plan, plan.refine, g);
    return;
  }
  const r0 = plan.rowStart[g] as number;
  const r1 = plan.rowStart[g + 1] as number;
  const c0 = plan.centroidStart[g] as number;
  const kg = (plan.centroidStart[g + 1] as number) - c0;
  if (kg === 0) return;
  const { dim } = plan;
  const rows = plan.rows.slice(r0 * dim, r1 * dim);
  const km = runKMeans(rows, r1 - r0, dim, kg, { distance: plan.distance, seed: plan.seed + 1 + g, maxIters: plan.maxIters, tolerance: plan.tolerance });
  plan.centroids.set(km.centroids, c0 * dim);
}

/**
 * Last step of hierarchical k-means: a few Lloyd iterations of the full k from the leaves'
 * centroids, each row scored against its group's candidate centroids (see
 * HIERARCHICAL_REFINE_ITERS), on this thread. The parallel trainer runs the passes of
 * refinePasses over workers instead; the loss is summed and the centroids updated in row order
 * either way, so any thread count gives the same model.
 */
export function refineHierarchical(
  k: number, opts: KMeansOptions, plan: HierarchicalPlan, alloc: (bytes: number) => ArrayBufferLike = (b) => new ArrayBuffer(b),
): KMeansResult {
  const passes = refinePasses(k, opts, plan, alloc);
  for (let step = passes.next(); ; step = passes.next()) {
    if (step.done === true) return step.value;
    for (let g = 0; g < plan.groups; g++) refineGroup(plan, step.value, g);
  }
}

/**
 * The refinement as a generator: it yields each pass for the caller to run refineGroup over
 * every group (on any threads, synchronously or not), then sums the loss and updates the
 * centroids; it returns the result.
 */
export function* refinePasses(
  k: number, opts: KMeansOptions, plan: HierarchicalPlan, alloc: (bytes: number) => ArrayBufferLike,
): Generator<RefinePass, KMeansResult, void> {
  const { dim, groups, rowStart } = plan;
  const x = plan.rows;
  const n = rowStart[groups] as number;
  const type = plan.distance;
  const maxIters = Math.min(opts.maxIters ?? 50, HIERARCHICAL_REFINE_ITERS);
  const tolerance = opts.tolerance ?? 1e-4;
  const rng = createRng(plan.seed ^ 0x72656669);
  const centroids = new Float32Array(alloc(k * dim * 4));
  centroids.set(plan.centroids.subarray(0, k * dim));
  if (type === "cosine") normalizeRows(centroids, k, dim);
  const norms = type === "dot" ? undefined : squaredNorms(x, n, dim);
  let assignment = new Uint32Array(alloc(n * 4));
  let next = new Uint32Array(alloc(n * 4));
  const score = new Float32Array(alloc(n * 4));
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  const M = Math.min(k, REFINE_NEIGHBOURS);
  const nbr = new Uint32Array(alloc(k * M * 4));
  // cosine with cosineMeans: the stored centroids are their members' means, as in runKMeans
  const meanNorms = type === "cosine" && opts.cosineMeans === true ? new Float64Array(k).fill(1) : undefined;
  let prevLoss = Infinity;
  let loss = Infinity;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIters) {
    let total = 0;
    nearestCentroidLists(centroids, k, dim, M, nbr);
    yield { k, centroids, nbr, M, iteration: iterations, assignment, next, score };
    [assignment, next] = [next, assignment];
    for (let i = 0; i < n; i++) total += norms === undefined ? (score[i] as number) : Math.max(0, (score[i] as number) + (norms[i] as number));
    iterations++;
    loss = total / n;
    updateCentroids(x, n, dim, k, assignment, centroids, sums, counts);
    if (meanNorms !== undefined) memberMeanNorms(centroids, counts, k, dim, meanNorms);
    const repaired = repairEmpty(centroids, counts, k, dim, rng);
    if (type === "cosine") normalizeRows(centroids, k, dim);
    if (lloydConverged(loss, prevLoss, repaired, tolerance)) {
      converged = true;
      break;
    }
    prevLoss = loss;
  }
  if (meanNorms !== undefined) scaleRows(centroids, k, dim, meanNorms);
  return { centroids: centroids.slice(), iterations, loss, converged };
}

/**
 * One refinement pass over group `g`'s rows: each scored against the union of the M nearest
 * centroids of each of the group's own centroids (and, after the first pass, every row's current
 * centroid, so that no row loses the centroid it has: the loss of a step cannot rise but by
 * empty-cluster repair); the winner into `pass.next`, its score into `pass.score`.
 */
export function refineGroup(plan: HierarchicalPlan, pass: RefinePass, g: number): void {
  const { dim, rowStart, centroidStart } = plan;
  const { k, centroids, nbr, M, assignment, next, score } = pass;
  const x = plan.rows;
  const type = plan.distance;
  const r0 = rowStart[g] as number;
  const r1 = rowStart[g + 1] as number;
  if (r0 === r1) return;
  // candidates, ascending; marked in a per-call list (k bytes: small beside the scoring)
  const mark = new Uint8Array(k);
  const candIds = new Uint32Array(k);
  let c = 0;
  for (let j = centroidStart[g] as number; j < (centroidStart[g + 1] as number); j++) {
    for (let r = 0; r < M; r++) {
      const l = nbr[j * M + r] as number;
      if (mark[l] === 1) continue;
      mark[l] = 1;
      candIds[c++] = l;
    }
  }
  if (pass.iteration > 0) {
    for (let i = r0; i < r1; i++) {
      const l = assignment[i] as number;
      if (mark[l] === 1) continue;
      mark[l] = 1;
      candIds[c++] = l;
    }
  }
  const out = next.subarray(r0, r1);
  const rows = x.subarray(r0 * dim, r1 * dim);
  if (c === 0) {
    // no centroid near this group (every candidate group got none): score against all k
    const { bias, alpha } = assignmentTerms(centroids, k, dim, type === "dot" ? "dot" : "l2");
    assignScored(rows, r1 - r0, dim, dim, 0, centroids, k, bias, alpha, out, score.subarray(r0, r1));
    return;
  }
  candIds.subarray(0, c).sort();
  const cand = new Float32Array(c * dim);
  for (let r = 0; r < c; r++) {
    const l = candIds[r] as number;
    cand.set(centroids.subarray(l * dim, l * dim + dim), r * dim);
  }
  const { bias, alpha } = assignmentTerms(cand, c, dim, type === "dot" ? "dot" : "l2");
  assignScored(rows, r1 - r0, dim, dim, 0, cand, c, bias, alpha, out, score.subarray(r0, r1));
  for (let i = 0; i < r1 - r0; i++) out[i] = candIds[out[i] as number] as number;
}
