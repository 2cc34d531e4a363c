/**
 * Distances and nearest-centroid search over row-major Float32Arrays, on the SIMD kernels.
 * Cosine is "normalise, then L2"; dot is the negated inner product, so smaller is closer for all.
 */
import type { DistanceType } from "../../quantizer.js";
import { kernels, paddedDim } from "./wasm-kernels.js";
import type { WasmKernels } from "./wasm-kernels.js";

/** Rows per kernel call: bounds the arena (copy-in) size independent of n. */
const ASSIGN_BLOCK_ROWS = 8192;

/** L2-normalises `v` in place (a zero vector stays zero); returns `v`. */
export function normalize(v: Float32Array): Float32Array {
  return normalizeRows(v, 1, v.length);
}

/** L2-normalises each of `n` rows of `dim` floats in place; returns `data`. */
export function normalizeRows(data: Float32Array, n: number, dim: number): Float32Array {
  for (let i = 0; i < n; i++) {
    const base = i * dim;
    let s = 0;
    for (let t = 0; t < dim; t++) {
      const x = data[base + t] as number;
      s += x * x;
    }
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let t = 0; t < dim; t++) data[base + t] = (data[base + t] as number) * inv;
    }
  }
  return data;
}

/** Distance between `a` and `b` (first `dim` floats) under `type`. */
export function distance(a: Float32Array, b: Float32Array, dim: number, type: DistanceType): number {
  return distanceFrom(a, b, 0, dim, type);
}

/** `distance` of `a` and the `dim` floats of `b` from offset `bo` (refine reads rows in place). */
export function distanceFrom(a: Float32Array, b: Float32Array, bo: number, dim: number, type: DistanceType): number {
  if (type === "cosine") {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let t = 0; t < dim; t++) {
      const x = a[t] as number;
      const y = b[bo + t] as number;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    // L2 between the normalised vectors = 2 - 2 cos; a zero vector counts as normalised to zero.
    const na = aa > 0 ? Math.sqrt(aa) : 1;
    const nb = bb > 0 ? Math.sqrt(bb) : 1;
    return aa / (na * na) + bb / (nb * nb) - (2 * ab) / (na * nb);
  }
  let s = 0;
  if (type === "dot") {
    for (let t = 0; t < dim; t++) s += (a[t] as number) * (b[bo + t] as number);
    return -s;
  }
  for (let t = 0; t < dim; t++) {
    const d = (a[t] as number) - (b[bo + t] as number);
    s += d * d;
  }
  return s;
}

/** Squared L2 norms of `n` rows. */
export function squaredNorms(data: Float32Array, n: number, dim: number, out = new Float32Array(n)): Float32Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let t = 0; t < dim; t++) {
      const x = data[base + t] as number;
      s += x * x;
    }
    out[i] = s;
  }
  return out;
}

/** out[i] = squared L2 (or inner product when `inner`) of `q` against `n` rows of `x`, via SIMD. */
export function batchKernel(q: Float32Array, x: Float32Array, n: number, dim: number, out: Float32Array, inner: boolean): void {
  const w = kernels();
  const mark = w.mark();
  try {
    const pd = paddedDim(dim);
    const qp = w.putRows(q, 1, dim, pd);
    const block = Math.max(1, Math.min(n, ASSIGN_BLOCK_ROWS));
    const xp = w.alloc(block * pd * 4);
    const op = w.alloc(block * 4);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      copyRowsPadded(w.f32(xp, count * pd), x, start, count, dim, dim, 0, pd);
      if (inner) w.exports.dot_batch(qp, xp, count, pd, op);
      else w.exports.l2_batch(qp, xp, count, pd, op);
      out.set(w.f32(op, count), start);
    }
  } finally {
    w.release(mark);
  }
}

/** Copies `count` rows starting at row `start` (stride `stride` floats, `offset` into the row, `dim` long) to `dst` with row pitch `pitch`. */
export function copyRowsPadded(
  dst: Float32Array, src: Float32Array, start: number, count: number,
  dim: number, stride: number, offset: number, pitch: number,
): void {
  if (pitch === dim && stride === dim && offset === 0) {
    dst.set(src.subarray(start * dim, (start + count) * dim));
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = (start + i) * stride + offset;
    const d = i * pitch;
    for (let t = 0; t < dim; t++) dst[d + t] = src[s + t] as number;
  }
}

/**
 * Low-level GEMM-style assignment: for each row, argmin_j bias[j] + alpha * (x . c_j). Rows are
 * `dim` floats at `offset` within rows of `stride` floats (so PQ sub-spaces need no copy by the
 * caller). Writes the index, the score when `outScore` is given and the runner-up score (a lower
 * bound for every other centroid; Infinity when k = 1) when `outSecond` is given.
 */
export function assignScored(
  x: Float32Array, n: number, dim: number, stride: number, offset: number,
  centroids: Float32Array, k: number, bias: Float32Array, alpha: number,
  outIdx: Uint32Array, outScore?: Float32Array, outSecond?: Float32Array,
): void {
  if (k < 1) throw new RangeError("assignment needs at least one centroid");
  const w = kernels();
  const mark = w.mark();
  try {
    if (dim <= 8) {
      assignNarrow(w, x, n, dim, stride, offset, centroids, k, bias, alpha, outIdx, outScore, outSecond);
      return;
    }
    const pd = paddedDim(dim);
    const kEven = k + (k & 1);
    // an odd k duplicates the last centroid: equal scores never win a strict less-than
    const cp = w.alloc(kEven * pd * 4);
    const cv = w.f32(cp, kEven * pd);
    copyRowsPadded(cv, centroids, 0, k, dim, dim, 0, pd);
    const bp = w.alloc(kEven * 4);
    const bv = w.f32(bp, kEven);
    bv.set(bias.subarray(0, k));
    if (kEven !== k) {
      cv.copyWithin(k * pd, (k - 1) * pd, k * pd);
      bv[k] = bv[k - 1] as number;
    }
    const block = Math.min(ASSIGN_BLOCK_ROWS, (n + 3) & ~3);
    const xp = w.alloc(Math.max(4, block) * pd * 4);
    const ip = w.alloc(Math.max(4, block) * 4);
    const sp = w.alloc(Math.max(4, block) * 4);
    const s2p = w.alloc(Math.max(4, block) * 4);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      const count4 = (count + 3) & ~3;
      const xv = w.f32(xp, count4 * pd);
      copyRowsPadded(xv, x, start, count, dim, stride, offset, pd);
      if (count4 !== count) xv.fill(0, count * pd);
      // without a runner-up request the kernel skips its bookkeeping (same winners and scores)
      if (outSecond === undefined) w.exports.assign_idx(xp, pd * 4, count4, cp, kEven, pd, bp, alpha, ip, sp);
      else w.exports.assign(xp, pd * 4, count4, cp, kEven, pd, bp, alpha, ip, sp, s2p);
      outIdx.set(w.u32(ip, count), start);
      if (outScore !== undefined) outScore.set(w.f32(sp, count), start);
      if (outSecond !== undefined) outSecond.set(w.f32(s2p, count), start);
    }
  } finally {
    w.release(mark);
  }
}

/** `assignScored` for rows of at most 8 floats: zero-padded to 8, transposed into 4-row blocks. */
function assignNarrow(
  w: WasmKernels, x: Float32Array, n: number, dim: number, stride: number, offset: number,
  centroids: Float32Array, k: number, bias: Float32Array, alpha: number,
  outIdx: Uint32Array, outScore: Float32Array | undefined, outSecond: Float32Array | undefined,
): void {
  const cp = w.alloc(k * 32);
  copyRowsPadded(w.f32(cp, k * 8), centroids, 0, k, dim, dim, 0, 8);
  const bp = w.alloc(k * 4);
  w.f32(bp, k).set(bias.subarray(0, k));
  // the runner-up may use pmin / pmax when no score can be NaN or -0 (see fastRunnerUpBound)
  const bound = outSecond === undefined ? -1 : fastRunnerUpBound(centroids, k * dim, bias, k, alpha, dim);
  const block = Math.min(ASSIGN_BLOCK_ROWS, (n + 3) & ~3);
  const xp = w.alloc(Math.max(4, block) * 32);
  const ip = w.alloc(Math.max(4, block) * 4);
  const sp = w.alloc(Math.max(4, block) * 4);
  const s2p = w.alloc(Math.max(4, block) * 4);
  for (let start = 0; start < n; start += block) {
    const count = Math.min(block, n - start);
    const count4 = (count + 3) & ~3;
    const xt = w.f32(xp, count4 * 8);
    xt.fill(0);
    let maxX = 0;
    for (let i = 0; i < count; i++) {
      // row i goes to lane i % 4 of block i / 4; dimension t at float 4 * t of the block
      const dst = (i >> 2) * 32 + (i & 3);
      const src = (start + i) * stride + offset;
      for (let t = 0; t < dim; t++) {
        const v = x[src + t] as number;
        xt[dst + 4 * t] = v;
        const a = Math.abs(v);
        if (!(a <= maxX)) maxX = a; // a NaN sticks and fails the bound below
      }
    }
    if (outSecond === undefined) w.exports.assign_t8_idx(xp, count4, cp, k, bp, alpha, ip, sp);
    else if (maxX <= bound) w.exports.assign_t8_fast(xp, count4, cp, k, bp, alpha, ip, sp, s2p);
    else w.exports.assign_t8(xp, count4, cp, k, bp, alpha, ip, sp, s2p);
    outIdx.set(w.u32(ip, count), start);
    if (outScore !== undefined) outScore.set(w.f32(sp, count), start);
    if (outSecond !== undefined) outSecond.set(w.f32(s2p, count), start);
  }
}

/**
 * The largest |x| for which `assign_t8_fast` gives `assign_t8`'s output (-1: never). Its pmin /
 * pmax differ from the exact min / max only on NaN and on a +0 / -0 pair. With every centroid
 * value and bias finite, no bias -0, and 2 * |alpha| * 8 * max|x| * max|c| + max|bias| <= 1e38,
 * each of the <= 8 products, partial sums (at most 8 terms, rounding growth far below 2x) and
 * scores is finite, so no score is NaN; and a score bias + alpha * dot is -0 only when the bias
 * is -0 (round to nearest: a sum is -0 only of two -0 terms), so none is -0.
 */
function fastRunnerUpBound(c: Float32Array, len: number, bias: Float32Array, k: number, alpha: number, dim: number): number {
  if (dim > 8 || !Number.isFinite(alpha)) return -1;
  let maxC = 0;
  for (let i = 0; i < len; i++) {
    const a = Math.abs(c[i] as number);
    if (!(a <= maxC)) maxC = a;
  }
  let maxB = 0;
  for (let j = 0; j < k; j++) {
    const b = bias[j] as number;
    if (Object.is(b, -0)) return -1;
    const a = Math.abs(b);
    if (!(a <= maxB)) maxB = a;
  }
  if (!Number.isFinite(maxC) || !Number.isFinite(maxB) || maxB > 1e38) return -1;
  if (maxC === 0 || alpha === 0) return Number.MAX_VALUE;
  return (1e38 - maxB) / (16 * Math.abs(alpha) * maxC);
}

/** Codewords per PQ sub-space (8-bit codes). */
const PQ_CODEWORDS = 256;

/**
 * PQ codes of `n` prepared rows (row-major, `dim` floats): for each of the `m` sub-spaces the
 * nearest of 256 codewords by L2 (`codebook` laid out [s][j][dim / m], `bias` its squared norms),
 * code of row i, sub-space s at out[i * m + s]. The same kernels on the same values as
 * `assignScored` per sub-space (so the same codes), with each block of rows copied into kernel
 * memory once for all sub-spaces and narrow sub-spaces transposed in wasm instead of in JS.
 */
export function pqEncodeRows(
  rows: Float32Array, n: number, dim: number, m: number, codebook: Float32Array, bias: Float32Array, out: Uint8Array,
): void {
  const dsub = dim / m;
  const K = PQ_CODEWORDS;
  const narrow = dsub <= 8;
  if (!narrow && dsub % 4 !== 0) {
    // wide sub-spaces need a padded copy per sub-space: the general path does that
    const idx = new Uint32Array(n);
    for (let s = 0; s < m; s++) {
      assignScored(rows, n, dsub, dim, s * dsub, codebook.subarray(s * K * dsub, (s + 1) * K * dsub), K, bias.subarray(s * K, (s + 1) * K), -2, idx);
      for (let i = 0; i < n; i++) out[i * m + s] = idx[i] as number;
    }
    return;
  }
  const w = kernels();
  const mark = w.mark();
  try {
    const pitch = narrow ? 8 : dsub;
    const cp = w.alloc(m * K * pitch * 4);
    if (narrow) copyRowsPadded(w.f32(cp, m * K * 8), codebook, 0, m * K, dsub, dsub, 0, 8);
    else w.f32(cp, m * K * dsub).set(codebook.subarray(0, m * K * dsub));
    const bp = w.alloc(m * K * 4);
    w.f32(bp, m * K).set(bias.subarray(0, m * K));
    const block = Math.max(4, Math.min(ASSIGN_BLOCK_ROWS, (n + 3) & ~3));
    const xp = w.alloc(block * dim * 4);
    const tp = narrow ? w.alloc(block * 32) : 0;
    const ip = w.alloc(block * 4);
    const sp = w.alloc(block * 4);
    for (let start = 0; start < n; start += block) {
      const count = Math.min(block, n - start);
      const count4 = (count + 3) & ~3;
      const xv = w.f32(xp, count4 * dim);
      xv.set(rows.subarray(start * dim, (start + count) * dim));
      // padding rows of the last block: readable zeros (their results are dropped)
      if (count4 !== count) xv.fill(0, count * dim);
      for (let s = 0; s < m; s++) {
        if (narrow) {
          w.exports.transpose_t8(xp + s * dsub * 4, dim * 4, count4, dsub, tp);
          w.exports.assign_t8_idx(tp, count4, cp + s * K * 32, K, bp + s * K * 4, -2, ip, sp);
        } else {
          w.exports.assign_idx(xp + s * dsub * 4, dim * 4, count4, cp + s * K * dsub * 4, K, dsub, bp + s * K * 4, -2, ip, sp);
        }
        const idx = w.u32(ip, count);
        let o = start * m + s;
        for (let i = 0; i < count; i++, o += m) out[o] = idx[i] as number;
      }
    }
  } finally {
    w.release(mark);
  }
}

/** Bias and alpha making `assignScored` rank centroids by `type` (cosine expects unit centroids). */
export function assignmentTerms(centroids: Float32Array, k: number, dim: number, type: DistanceType): { bias: Float32Array; alpha: number } {
  if (type === "l2") return { bias: squaredNorms(centroids, k, dim), alpha: -2 };
  return { bias: new Float32Array(k), alpha: -1 };
}

/** Index of the nearest of `k` centroids for each of `n` rows, by `type`. */
export function assignNearest(
  data: Float32Array, n: number, dim: number, centroids: Float32Array, k: number,
  type: DistanceType, out: Uint32Array = new Uint32Array(n),
): Uint32Array {
  const c = type === "cosine" ? unitCentroids(centroids, k, dim) : centroids;
  // cosine: argmin over unit centroids of -x.c; the row's own norm does not change the winner
  const { bias, alpha } = assignmentTerms(c, k, dim, type);
  assignScored(data, n, dim, dim, 0, c, k, bias, alpha, out);
  return out;
}

// per-query search calls nearestCentroids with the same centroid array every time
const unitCache = new WeakMap<Float32Array, Float32Array>();

/** Normalised copy of `k` centroids, cached per centroid array (callers do not mutate it). */
function unitCentroids(centroids: Float32Array, k: number, dim: number): Float32Array {
  const hit = unitCache.get(centroids);
  if (hit !== undefined && hit.length === k * dim) return hit;
  const unit = normalizeRows(centroids.slice(0, k * dim), k, dim);
  unitCache.set(centroids, unit);
  return unit;
}

/** The `nprobes` centroids nearest to `query`, closest first (ties by index). */
export function nearestCentroids(
  query: Float32Array, centroids: Float32Array, k: number, dim: number, type: DistanceType, nprobes: number,
): Uint32Array {
  const scores = new Float32Array(k);
  const q = type === "cosine" ? normalize(query.slice(0, dim)) : query;
  const c = type === "cosine" ? unitCentroids(centroids, k, dim) : centroids;
  batchKernel(q, c, k, dim, scores, type === "dot");
  if (type === "dot") for (let j = 0; j < k; j++) scores[j] = -(scores[j] as number);
  const p = Math.max(0, Math.min(k, Math.trunc(nprobes)));
  const order = new Uint32Array(k);
  for (let j = 0; j < k; j++) order[j] = j;
  order.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  return order.slice(0, p);
}
