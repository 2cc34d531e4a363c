/**
 * Exact nearest-centroid assignment for many centroids by a lower-bound screen: the same
 * partition for every row as `assignNearest` (bit-identical scores, same tie rule), at a fraction
 * of the full scan's work on clustered data.
 *
 * Every metric ranks centroids by score_j = bias_j + alpha * (x . c_j) with alpha < 0 (l2:
 * bias ||c||^2, alpha -2; cosine: unit centroids, bias 0, alpha -1; dot: bias 0, alpha -1).
 * With mu the centroids' mean, x' = x - mu, c' = c - mu and Q the h leading principal axes of
 * the centroids (orthonormal rows), x . c = x' . c' + mu . c' + x . mu, and by Cauchy-Schwarz on
 * the part of x' and c' outside Q's span (the tail, whose norm follows from ||v||^2 - ||Qv||^2):
 *   x' . c' <= (Qx') . (Qc') + ||x'_tail|| ||c'_tail||,
 * so LB_j = B_j + A + alpha * ([Qx', tx] . [Qc', tc_j]) <= score_j, with B_j = bias_j +
 * alpha * mu . c'_j and A = alpha * x . mu. The augmented dot has h + 1 terms: one GEMM pass
 * over all centroids at ~(h + 1) / dim of the full scan's cost.
 *
 * Per row: the centroid g with the least bound is scored exactly (s_g); every centroid whose
 * bound is <= s_g + M is a candidate, and the winner is the first strict minimum of the exact
 * scores over the candidates in ascending index order. M covers every rounding in the bound
 * (projection, tail norms, the f32 GEMM, the f32 Q's distance from an orthonormal one) and in
 * the exact score, so a pruned centroid's computed score is strictly above s_g: it could not win
 * the full scan, and the winner (first of equal minima) is among the candidates. The exact
 * scores come from a kernel that sums each dot product in the full scan's order.
 *
 * Rows with a non-finite value, and centroid sets with one, take the full scan.
 */
import type { DistanceType } from "../../quantizer.js";
import { assignScored, assignmentTerms, copyRowsPadded, normalizeRows } from "./vector-math.js";
import { kernels, paddedDim } from "./wasm-kernels.js";

/**
 * The screen is used from this many centroids on. Its per-row cost has a large fixed part
 * (projection, quantization, two exact calls): measured one thread, 128-d, loaded machine, CPU
 * full scan / screened: k 256 0.49-0.67x, 384 0.59-0.70x, 512 0.73-0.85x, 768 0.96-1.30x,
 * 1,024 1.25-1.55x (equal / unequal mixtures).
 */
export const SCREENED_ASSIGN_MIN_K = 1024;
/** Rows per GEMM pass of the bound (its score block, rows x k floats, stays in cache). */
const BLOCK_ROWS = 32;
const U = 2 ** -24;

/** One head width's bound data: augmented centroids [Qc', tc, 0...] as 16-bit integers. */
export interface ScreenHead {
  /** Augmented width (a multiple of 8) and head size h = ha - 1. */
  readonly ha: number;
  readonly h: number;
  /** round(value * augScale) per augmented centroid value (kEven x ha), within +-Q_MAX. */
  readonly augQ: Int16Array;
  readonly augScale: number;
  /** Largest sum of |augQ| over one centroid. */
  readonly augL1Max: number;
}

/** Per-centroid-set screening structure (built once per thread and job). */
export interface ScreenIndex {
  readonly k: number;
  readonly dim: number;
  readonly type: DistanceType;
  /** False: the screen does not apply (tiny dim, non-finite centroids); the full scan runs. */
  readonly usable: boolean;
  /** Centroids as the full scan ranks them (unit rows for cosine), its bias and alpha. */
  readonly centroids: Float32Array;
  readonly bias: Float32Array;
  readonly alpha: number;
  /** Candidate head widths (ascending); the widest sets the projection's size hMax. */
  readonly heads: readonly ScreenHead[];
  readonly hMax: number;
  /** Q's rows (hMax rounded up to even, x padded dim) and -(Q mu) per head coordinate. */
  readonly proj: Float32Array;
  readonly projBias: Float32Array;
  /** B_j = bias_j + alpha * mu . c'_j (f32, kEven). */
  readonly augBias: Float32Array;
  readonly mu: Float64Array;
  readonly muNorm: number;
  readonly cMax: number;
  readonly cpMax: number;
  readonly biasMax: number;
  readonly augBiasMax: number;
  /** Relative rounding allowance of the bound (see assignNearestScreened's margin). */
  readonly tau: number;
  /**
   * The head in use (-1 until chosen): the first rows of a job try every width and the one with
   * the least modelled cost (bound work k * ha / 8 + 1.25 x exact scores per row * dim / 4, measured on
   * this thread's rows) is kept. Any choice gives the same partitions (the screen is exact).
   */
  chosen: number;
  readonly trialRows: number[];
  readonly trialExact: number[];
}

/** Whether `assignNearestScreened` screens for this shape (else it runs the full scan). */
export function screenedAssignApplies(k: number, dim: number): boolean {
  return k >= SCREENED_ASSIGN_MIN_K && dim >= 32;
}

/** Largest magnitude of a quantized bound value (an i32 sum of up to 256 products stays below 2^31). */
const Q_MAX = 2047;
/** Rows each head width is tried on before one is chosen. */
const TRIAL_ROWS = 256;

/**
 * Candidate augmented widths (head size h + 1) for `dim`: 2/16 .. 6/16 of it in multiples of 8
 * (the i16 kernel's step), at most 256. Measured at 1,024 x 128 (bench/assign.bench.ts): the
 * best width is data-dependent (48 on the unequal clusters, 64-80 on the equal mixture).
 */
export function screenHeadWidths(dim: number): number[] {
  const cap = Math.min(256, ((dim >> 3) << 3) - 8);
  const out = new Set<number>();
  for (const f of [2, 3, 4, 5, 6]) {
    const w = Math.max(16, Math.min(cap, Math.round((dim * f) / 64) * 8));
    if (w >= 16 && w < dim) out.add(w);
  }
  return [...out].sort((x, y) => x - y);
}

/** Builds the screen of `k` centroids (the caller's array is not kept or changed); `widths` overrides the candidate head widths. */
export function buildScreenIndex(raw: Float32Array, k: number, dim: number, type: DistanceType, widths: readonly number[] = screenHeadWidths(dim)): ScreenIndex {
  const centroids = type === "cosine" ? normalizeRows(raw.slice(0, k * dim), k, dim) : raw.slice(0, k * dim);
  const { bias, alpha } = assignmentTerms(centroids, k, dim, type);
  const pd = paddedDim(dim);
  const has = [...new Set(widths.map((w) => Math.max(16, Math.min(256, (Math.trunc(w) >> 3) << 3))))].filter((w) => w < dim).sort((x, y) => x - y);
  const kEven = k + (k & 1);
  let finite = true;
  for (let i = 0; i < centroids.length && finite; i++) finite = Number.isFinite(centroids[i] as number);
  for (let j = 0; j < k && finite; j++) finite = Number.isFinite(bias[j] as number);
  const base = { k, dim, type, centroids, bias, alpha, chosen: -1, trialRows: has.map(() => 0), trialExact: has.map(() => 0) };
  if (!finite || has.length === 0 || !(alpha < 0)) {
    return { ...base, usable: false, heads: [], hMax: 0, proj: new Float32Array(0), projBias: new Float32Array(0), augBias: new Float32Array(0), mu: new Float64Array(dim), muNorm: 0, cMax: 0, cpMax: 0, biasMax: 0, augBiasMax: 0, tau: 0 };
  }
  const hMax = (has[has.length - 1] as number) - 1;
  const hEven = hMax + (hMax & 1);
  const mu = new Float64Array(dim);
  for (let j = 0; j < k; j++) for (let d = 0; d < dim; d++) mu[d]! += centroids[j * dim + d] as number;
  for (let d = 0; d < dim; d++) mu[d]! /= k;
  const q = headAxes(centroids, k, dim, mu, hMax);
  const proj = new Float32Array(hEven * pd);
  const projBias = new Float32Array(hEven);
  for (let e = 0; e < hMax; e++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      proj[e * pd + d] = q[e * dim + d] as number;
      s += (q[e * dim + d] as number) * (mu[d] as number);
    }
    projBias[e] = -s;
  }
  // tau: relative allowance for every rounding in the bound and the exact score (generous: a
  // few hundred ulps per term; it widens the candidate set by a negligible amount)
  const tau = 64 * (pd + hMax + 17) * U;
  // head coordinates of every centroid (f64, from the f32 axes the rows are projected with)
  const coords = new Float64Array(k * hMax);
  const np2s = new Float64Array(k);
  const augBias = new Float32Array(kEven);
  let cMax = 0;
  let cpMax = 0;
  let biasMax = 0;
  let augBiasMax = 0;
  const cp = new Float64Array(dim);
  for (let j = 0; j < k; j++) {
    let n2 = 0;
    let np2 = 0;
    let mc = 0;
    for (let d = 0; d < dim; d++) {
      const v = centroids[j * dim + d] as number;
      const w = v - (mu[d] as number);
      cp[d] = w;
      n2 += v * v;
      np2 += w * w;
      mc += (mu[d] as number) * w;
    }
    for (let e = 0; e < hMax; e++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (proj[e * pd + d] as number) * (cp[d] as number);
      coords[j * hMax + e] = s;
    }
    np2s[j] = np2;
    const b = (bias[j] as number) + alpha * mc;
    augBias[j] = b;
    cMax = Math.max(cMax, Math.sqrt(n2));
    cpMax = Math.max(cpMax, Math.sqrt(np2));
    biasMax = Math.max(biasMax, Math.abs(bias[j] as number));
    augBiasMax = Math.max(augBiasMax, Math.abs(b));
  }
  if (kEven !== k) augBias[k] = augBias[k - 1] as number;
  const heads = has.map((ha) => headOf(coords, np2s, k, hMax, ha, tau));
  let muNorm = 0;
  for (let d = 0; d < dim; d++) muNorm += (mu[d] as number) ** 2;
  return { ...base, usable: true, heads, hMax, proj, projBias, augBias, mu, muNorm: Math.sqrt(muNorm), cMax, cpMax, biasMax, augBiasMax, tau };
}

/** The quantized augmented centroids of width `ha` (head h = ha - 1 of the coordinates, then an upper bound of the tail norm). */
function headOf(coords: Float64Array, np2s: Float64Array, k: number, hMax: number, ha: number, tau: number): ScreenHead {
  const h = ha - 1;
  const kEven = k + (k & 1);
  const aug = new Float64Array(kEven * ha);
  for (let j = 0; j < k; j++) {
    let head2 = 0;
    for (let e = 0; e < h; e++) {
      const v = coords[j * hMax + e] as number;
      aug[j * ha + e] = v;
      head2 += v * v;
    }
    const np2 = np2s[j] as number;
    aug[j * ha + h] = Math.sqrt(Math.max(0, np2 - head2) + tau * np2);
  }
  if (kEven !== k) aug.copyWithin(k * ha, (k - 1) * ha, k * ha);
  let augMax = 0;
  for (let i = 0; i < aug.length; i++) augMax = Math.max(augMax, Math.abs(aug[i] as number));
  const augScale = augMax > 0 ? Q_MAX / augMax : 1;
  const augQ = new Int16Array(kEven * ha);
  let augL1Max = 0;
  for (let j = 0; j < kEven; j++) {
    let l1 = 0;
    for (let e = 0; e < ha; e++) {
      const q = Math.max(-Q_MAX, Math.min(Q_MAX, Math.round((aug[j * ha + e] as number) * augScale)));
      augQ[j * ha + e] = q;
      l1 += Math.abs(q);
    }
    augL1Max = Math.max(augL1Max, l1);
  }
  return { ha, h, augQ, augScale, augL1Max };
}

/**
 * h orthonormal axes (h x dim, f32 values), the leading principal axes of the centroids for
 * dim <= 192 (Jacobi on their covariance, f64, deterministic), else the h coordinate axes of
 * largest centroid variance. Falls back to coordinate axes when the f32-rounded axes are not
 * orthonormal to 1e-6 (the bound's margin assumes that).
 */
function headAxes(c: Float32Array, k: number, dim: number, mu: Float64Array, h: number): Float32Array {
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let j = 0; j < k; j++) {
    for (let d = 0; d < dim; d++) row[d] = (c[j * dim + d] as number) - (mu[d] as number);
    for (let a = 0; a < dim; a++) {
      const va = row[a] as number;
      if (va === 0) continue;
      const o = a * dim;
      for (let b = a; b < dim; b++) cov[o + b]! += va * (row[b] as number);
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a] as number;
  const axes = new Float32Array(h * dim);
  if (dim <= 192) {
    const { vals, vecs } = jacobiEigen(cov, dim);
    const order = Array.from({ length: dim }, (_, i) => i).sort((a, b) => (vals[b] as number) - (vals[a] as number) || a - b);
    for (let e = 0; e < h; e++) {
      const col = order[e] as number;
      for (let d = 0; d < dim; d++) axes[e * dim + d] = vecs[d * dim + col] as number;
    }
    if (orthonormal(axes, h, dim, 1e-6)) return axes;
    axes.fill(0);
  }
  const order = Array.from({ length: dim }, (_, i) => i).sort((a, b) => (cov[b * dim + b] as number) - (cov[a * dim + a] as number) || a - b);
  for (let e = 0; e < h; e++) axes[e * dim + (order[e] as number)] = 1;
  return axes;
}

function orthonormal(q: Float32Array, h: number, dim: number, tol: number): boolean {
  for (let a = 0; a < h; a++) {
    for (let b = a; b < h; b++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (q[a * dim + d] as number) * (q[b * dim + d] as number);
      if (!(Math.abs(s - (a === b ? 1 : 0)) <= tol)) return false;
    }
  }
  return true;
}

/** Cyclic Jacobi eigen-decomposition of a symmetric n x n matrix (f64): eigenvalues and eigenvectors (columns). */
function jacobiEigen(m: Float64Array, n: number): { vals: Float64Array; vecs: Float64Array } {
  const a = m.slice();
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += (a[i] as number) ** 2;
  for (let sweep = 0; sweep < 30; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let r = p + 1; r < n; r++) off += (a[p * n + r] as number) ** 2;
    if (!(off > 1e-26 * scale)) break;
    for (let p = 0; p < n; p++) {
      for (let r = p + 1; r < n; r++) {
        const apr = a[p * n + r] as number;
        if (apr === 0) continue;
        const theta = ((a[r * n + r] as number) - (a[p * n + p] as number)) / (2 * apr);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let i = 0; i < n; i++) {
          const aip = a[i * n + p] as number;
          const air = a[i * n + r] as number;
          a[i * n + p] = cs * aip - sn * air;
          a[i * n + r] = sn * aip + cs * air;
        }
        for (let i = 0; i < n; i++) {
          const api = a[p * n + i] as number;
          const ari = a[r * n + i] as number;
          a[p * n + i] = cs * api - sn * ari;
          a[r * n + i] = sn * api + cs * ari;
        }
        for (let i = 0; i < n; i++) {
          const vip = v[i * n + p] as number;
          const vir = v[i * n + r] as number;
          v[i * n + p] = cs * vip - sn * vir;
          v[i * n + r] = sn * vip + cs * vir;
        }
      }
    }
  }
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = a[i * n + i] as number;
  return { vals, vecs: v };
}

/** The head of least modelled cost per row: k * ha / 8 (i16 bound, 8 values per step) + 1.25 x exact scores * pd / 4 (weights from a profile at 1,024 x 128). */
function chooseHead(ix: ScreenIndex, pd: number): number {
  let best = 0;
  let bestCost = Infinity;
  for (let i = 0; i < ix.heads.length; i++) {
    const cost = (ix.k * ix.heads[i]!.ha) / 8 + ((ix.trialExact[i] as number) / Math.max(1, ix.trialRows[i] as number)) * (pd / 4) * 1.25;
    if (cost < bestCost) {
      bestCost = cost;
      best = i;
    }
  }
  return best;
}

/** Work counters of the screen (for the bench): exact scores computed and rows screened. */
export interface ScreenStats {
  exact: number;
  rows: number;
  fullRows: number;
}

/**
 * `assignNearest` of `n` rows against the screen's centroids: the same output for every input.
 * Rows are `dim` floats each; `stats`, when given, accumulates the work done.
 */
export function assignNearestScreened(data: Float32Array, n: number, ix: ScreenIndex, out: Uint32Array = new Uint32Array(n), stats?: ScreenStats): Uint32Array {
  const { k, dim, alpha, bias } = ix;
  if (!ix.usable || n === 0) {
    if (n > 0) assignScored(data, n, dim, dim, 0, ix.centroids, k, bias, alpha, out);
    if (stats !== undefined) stats.fullRows += n;
    return out;
  }
  const { hMax, mu, tau } = ix;
  const pd = paddedDim(dim);
  const hEven = hMax + (hMax & 1);
  // heads in use this call: the chosen one, or all of them in turn until one is chosen
  const trying = ix.chosen < 0;
  const useHeads = trying ? ix.heads.map((_, i) => i) : [ix.chosen];
  const haMax = ix.heads[ix.heads.length - 1]!.ha;
  const kEven = k + (k & 1);
  const w = kernels();
  const mark = w.mark();
  const full: number[] = [];
  try {
    const cP = w.alloc(kEven * pd * 4);
    const cv = w.f32(cP, kEven * pd);
    copyRowsPadded(cv, ix.centroids, 0, k, dim, dim, 0, pd);
    if (kEven !== k) cv.copyWithin(k * pd, (k - 1) * pd, k * pd);
    const bP = w.alloc(kEven * 4);
    w.f32(bP, kEven).set(bias.subarray(0, k));
    const projP = w.alloc(hEven * pd * 4);
    w.f32(projP, hEven * pd).set(ix.proj);
    const projBP = w.alloc(hEven * 4);
    w.f32(projBP, hEven).set(ix.projBias);
    const augPs = new Map<number, number>();
    for (const hi of useHeads) {
      const hd = ix.heads[hi]!;
      const p = w.alloc(kEven * hd.ha * 2);
      new Int16Array(w.exports.memory.buffer, p, kEven * hd.ha).set(hd.augQ);
      augPs.set(hi, p);
    }
    const augBP = w.alloc(kEven * 4);
    w.f32(augBP, kEven).set(ix.augBias);
    const xP = w.alloc(BLOCK_ROWS * pd * 4);
    const hP = w.alloc(BLOCK_ROWS * hEven * 4);
    const uP = w.alloc(BLOCK_ROWS * haMax * 2);
    const rsP = w.alloc(BLOCK_ROWS * 4);
    const sP = w.alloc(BLOCK_ROWS * kEven * 4);
    const idxP = w.alloc(BLOCK_ROWS * 4);
    const scP = w.alloc(BLOCK_ROWS * 4);
    const idsP = w.alloc(kEven * 4);
    const oneP = w.alloc(16);
    // views after the last alloc (growth detaches earlier ones)
    const xv = w.f32(xP, BLOCK_ROWS * pd);
    const hv = w.f32(hP, BLOCK_ROWS * hEven);
    const uv = new Int16Array(w.exports.memory.buffer, uP, BLOCK_ROWS * haMax);
    const rsv = w.f32(rsP, BLOCK_ROWS);
    const uRow = new Float64Array(haMax);
    const qErr = new Float64Array(BLOCK_ROWS);
    const idxv = w.u32(idxP, BLOCK_ROWS);
    const ids = w.u32(idsP, kEven);
    const one = w.f32(oneP, 4);
    const nx = new Float64Array(BLOCK_ROWS);
    const nxp = new Float64Array(BLOCK_ROWS);
    const xmu = new Float64Array(BLOCK_ROWS);
    const ex = w.exports;
    const aAlpha = Math.abs(alpha);
    const gamma = (pd / 4 + 4) * U * 1.25;
    let exact = 0;
    for (let b0 = 0, block = 0; b0 < n; b0 += BLOCK_ROWS, block++) {
      const rows = Math.min(BLOCK_ROWS, n - b0);
      const hi = useHeads[block % useHeads.length] as number;
      const { ha, h, augScale, augL1Max } = ix.heads[hi]!;
      const augP = augPs.get(hi) as number;
      const exactBefore = exact;
      const rows4 = (rows + 3) & ~3;
      copyRowsPadded(xv, data, b0, rows, dim, dim, 0, pd);
      if (rows4 !== rows) xv.fill(0, rows * pd, rows4 * pd);
      for (let r = 0; r < rows; r++) {
        const o = (b0 + r) * dim;
        let s2 = 0;
        let p2 = 0;
        let m = 0;
        for (let d = 0; d < dim; d++) {
          const v = data[o + d] as number;
          const md = mu[d] as number;
          const wv = v - md;
          s2 += v * v;
          p2 += wv * wv;
          m += v * md;
        }
        nx[r] = Math.sqrt(s2);
        nxp[r] = Math.sqrt(p2);
        xmu[r] = m;
      }
      // head coordinates Q(x - mu) of the rows
      ex.screen_scores(xP, pd * 4, rows4, projP, hEven, pd, projBP, 1, idxP, scP, hP, hEven * 4);
      uv.fill(0, 0, rows4 * ha);
      rsv.fill(0, 0, rows4);
      for (let r = 0; r < rows; r++) {
        let h2 = 0;
        for (let e = 0; e < h; e++) {
          const v = hv[r * hEven + e] as number;
          uRow[e] = v;
          h2 += v * v;
        }
        const p2 = (nxp[r] as number) ** 2;
        // upper bound of the tail norm: the head's rounding and Q's distance from orthonormal
        // can make the computed head norm exceed the true one by at most the allowance
        const allowance = tau * ((nx[r] as number) + (nxp[r] as number) + ix.muNorm) ** 2;
        uRow[h] = Math.sqrt(Math.max(0, p2 - h2) + allowance);
        // quantize the row to +-Q_MAX: the integer dot differs from the real one by at most
        // (0.5 (sum |q_u| + sum |q_c|) + 0.25 ha) / (scale_u * scale_c)
        let uMax = 0;
        for (let e = 0; e <= h; e++) uMax = Math.max(uMax, Math.abs(uRow[e] as number));
        const su = uMax > 0 ? Q_MAX / uMax : 1;
        let l1 = 0;
        for (let e = 0; e <= h; e++) {
          const q = Math.max(-Q_MAX, Math.min(Q_MAX, Math.round((uRow[e] as number) * su)));
          uv[r * ha + e] = q;
          l1 += Math.abs(q);
        }
        const scale = su * augScale;
        rsv[r] = alpha / scale;
        qErr[r] = (aAlpha * (0.5 * (l1 + augL1Max) + 0.25 * ha)) / scale;
      }
      // bounds of every centroid: scores B_j + alpha * (u . aug_j), and the least per row
      ex.screen_bounds_i16(uP, rows4, augP, kEven, ha, augBP, rsP, sP, kEven * 4, idxP, scP);
      for (let r = 0; r < rows; r++) {
        const i = b0 + r;
        const nxr = nx[r] as number;
        // non-finite values, or magnitudes where an f32 product could overflow: the full scan
        if (!(nxr * (ix.cMax + ix.cpMax + ix.muNorm + 1) <= 1e36) || !Number.isFinite(nxp[r] as number) || !Number.isFinite(xmu[r] as number)) {
          full.push(i);
          continue;
        }
        const xr = xP + r * pd * 4;
        ids[0] = Math.min(idxv[r] as number, k - 1);
        ex.screen_exact(xr, cP, pd, idsP, 1, bP, alpha, oneP);
        const sg = one[0] as number;
        // margin: rounding of the exact scores (sums in f32 of pd products, bias, alpha) and
        // of the bound (projection, tail norms, the GEMM over ha terms, B_j and Q in f32)
        const e1 = gamma * aAlpha * nxr * ix.cMax + 2 * U * (ix.biasMax + aAlpha * nxr * ix.cMax);
        const e2 = tau * aAlpha * (nxr + (nxp[r] as number) + ix.muNorm) * (ix.cMax + ix.cpMax) + 4 * U * (ix.augBiasMax + aAlpha * Math.abs(xmu[r] as number));
        const thr = sg + 2 * e1 + e2 + (qErr[r] as number) * (1 + 1e-6) - alpha * (xmu[r] as number);
        const thr32 = Math.fround(thr + Math.abs(thr) * 2 ** -21);
        if (!Number.isFinite(sg) || !Number.isFinite(thr32)) {
          full.push(i);
          continue;
        }
        const m = ex.screen_select(sP + r * kEven * 4, k, thr32, idsP);
        if (m === 0) {
          full.push(i);
          continue;
        }
        exact += m + 1;
        out[i] = ex.screen_exact(xr, cP, pd, idsP, m, bP, alpha, oneP);
      }
      if (trying) {
        ix.trialRows[hi]! += rows;
        ix.trialExact[hi]! += exact - exactBefore;
      }
    }
    if (trying && ix.trialRows.every((r) => r >= TRIAL_ROWS)) ix.chosen = chooseHead(ix, pd);
    if (stats !== undefined) {
      stats.exact += exact;
      stats.rows += n - full.length;
      stats.fullRows += full.length;
    }
  } finally {
    w.release(mark);
  }
  if (full.length > 0) {
    const list = Uint32Array.from(full);
    const gathered = new Float32Array(list.length * dim);
    for (let r = 0; r < list.length; r++) {
      const i = list[r] as number;
      gathered.set(data.subarray(i * dim, i * dim + dim), r * dim);
    }
    const idx = new Uint32Array(list.length);
    assignScored(gathered, list.length, dim, dim, 0, ix.centroids, k, bias, alpha, idx);
    for (let r = 0; r < list.length; r++) out[list[r] as number] = idx[r] as number;
  }
  return out;
}
