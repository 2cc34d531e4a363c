/**
 * Exact nearest-centroid assignment for many centroids (k > 256, l2 and cosine) that computes
 * only a few distances per row on clustered data, with the same result as `assignNearest`.
 *
 * 1. Guess: score the row against ~sqrt(k) group centres (a k-means over the centroids), then
 *    against the members of the best group; the best member is the guess g at distance b.
 * 2. Prune (Elkan's lemma): a centroid j with d(g, j) >= 2b cannot be nearer than g. Each
 *    centroid keeps its neighbours sorted by distance, so the candidates of a row are a prefix
 *    of g's list; the threshold carries a margin for the kernel's f32 rounding, so a skipped
 *    centroid's computed score is strictly above g's.
 * 3. Exact pass: rows sharing a guess are scored by the same SIMD kernel against their
 *    candidates in ascending index order. A (row, centroid) score does not depend on the other
 *    rows or centroids of the call, and the kernel keeps the first of equal minima, so the
 *    winner is bit-identical to the full scan's. Rows whose prefix would be long (data far
 *    from every centroid) are scored against all k centroids.
 */
import type { DistanceType } from "../../quantizer.js";
import { runKMeans } from "./kmeans.js";
import { assignScored, assignmentTerms, copyRowsPadded, normalizeRows, squaredNorms } from "./vector-math.js";
import { centroidDistanceRows, kernels, paddedDim } from "./wasm-kernels.js";
import type { WasmKernels } from "./wasm-kernels.js";

/** Pruned assignment is used above this many centroids (below it the full scan is cheap). */
export const PRUNED_ASSIGN_MIN_K = 256;
/** ...and up to this many (the neighbour lists cost k * PRUNED_NEIGHBOURS entries). */
export const PRUNED_ASSIGN_MAX_K = 65_536;
/** Neighbours kept per centroid; a row needing more candidates takes the full scan. */
const PRUNED_NEIGHBOURS = 128;

/** Whether `assignNearestPruned` applies (else it falls back to the full scan). */
export function prunedAssignApplies(k: number, dim: number, type: DistanceType): boolean {
  return type !== "dot" && dim > 8 && k > PRUNED_ASSIGN_MIN_K && k <= PRUNED_ASSIGN_MAX_K;
}

/** Per-centroid-set search structure (built once per thread and centroid set). */
export interface PrunedIndex {
  readonly k: number;
  readonly dim: number;
  readonly type: DistanceType;
  /** Centroids as the kernel ranks them (unit rows for cosine), and their bias / alpha. */
  readonly centroids: Float32Array;
  readonly bias: Float32Array;
  readonly alpha: number;
  readonly maxNorm2: number;
  readonly groups: number;
  readonly groupCentroids: Float32Array;
  readonly groupBias: Float32Array;
  /** Members of group g: memberIds[memberStart[g] .. memberStart[g + 1]), ascending. */
  readonly memberStart: Uint32Array;
  readonly memberIds: Uint32Array;
  /** Row j: the L nearest centroids of j (j itself first) and their distances (not squared). */
  readonly neighbours: number;
  readonly nbrIds: Uint32Array;
  readonly nbrDist: Float64Array;
  /** Calls left that take the full scan directly (after one where pruning saved too little). */
  skip: number;
  /** Consecutive attempts that saved too little (each doubles the next skip, up to a cap). */
  failures: number;
}

/** A call whose pruned work exceeds this share of the full scan's makes the next calls scan fully. */
const PRUNE_WORTH = 0.6;
/** How many calls then skip pruning before it is tried again (after the first failed attempt). */
const PRUNE_RETRY_CALLS = 15;
/**
 * Consecutive failed attempts double the skip up to PRUNE_RETRY_CALLS << this: on data where
 * pruning never pays (the equal mixture at 128-d, where each attempt's guess alone cost ~half a
 * full scan), an attempt every 16 calls wasted ~3% of the assignment, one every 64 ~1%.
 */
const PRUNE_BACKOFF_MAX_SHIFT = 2;

/** After a call whose pruning saved too little: the next calls take the full scan directly. */
function backOff(ix: PrunedIndex): void {
  // 15, 31, then 63 calls: an attempt every 16, 32, 64 calls
  ix.skip = (PRUNE_RETRY_CALLS + 1) * 2 ** Math.min(ix.failures, PRUNE_BACKOFF_MAX_SHIFT) - 1;
  ix.failures++;
}

let cached: { key: string; hash: number; index: PrunedIndex } | undefined;

/** FNV-1a over the float bits: a cheap content key (a worker sees a fresh view per job). */
function contentHash(c: Float32Array): number {
  const u = new Uint32Array(c.buffer, c.byteOffset, c.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ (u[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * The search structure for a centroid set, cached per thread by content (a hash and a full
 * comparison per call). A caller that assigns many chunks against one unchanging centroid array
 * fetches it once and passes it to `assignNearestPruned`, skipping that per-call check.
 */
export function prunedIndexFor(centroids: Float32Array, k: number, dim: number, type: DistanceType): PrunedIndex {
  return indexFor(centroids, k, dim, type);
}

function indexFor(centroids: Float32Array, k: number, dim: number, type: DistanceType): PrunedIndex {
  const c = centroids.subarray(0, k * dim);
  const hash = contentHash(c);
  const key = `${k}:${dim}:${type}`;
  if (cached !== undefined && cached.key === key && cached.hash === hash && sameFloats(cached.index, c, type)) return cached.index;
  const index = buildIndex(c, k, dim, type);
  cached = { key, hash, index };
  return index;
}

function sameFloats(index: PrunedIndex, c: Float32Array, type: DistanceType): boolean {
  if (type === "cosine") return true; // the stored copy is normalised; the hash decided
  const a = index.centroids;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], c[i])) return false;
  return true;
}

function buildIndex(raw: Float32Array, k: number, dim: number, type: DistanceType): PrunedIndex {
  const centroids = type === "cosine" ? normalizeRows(raw.slice(), k, dim) : raw.slice();
  const { bias, alpha } = assignmentTerms(centroids, k, dim, type);
  const norms = squaredNorms(centroids, k, dim);
  let maxNorm2 = 0;
  for (let j = 0; j < k; j++) maxNorm2 = Math.max(maxNorm2, norms[j] as number);
  // groups: a small seeded k-means over the centroids themselves
  const groups = Math.max(2, Math.round(Math.sqrt(k)));
  const gk = runKMeans(centroids, k, dim, groups, { seed: 17, maxIters: 20, distance: "l2" });
  const groupCentroids = gk.centroids;
  const gTerms = assignmentTerms(groupCentroids, groups, dim, "l2");
  const member = new Uint32Array(k);
  assignScored(centroids, k, dim, dim, 0, groupCentroids, groups, gTerms.bias, gTerms.alpha, member);
  const { rows: memberIds, start: memberStart } = orderBy(member, k, groups);
  // the guess is scored with the same ranking as the exact pass, so group centres for cosine
  // only steer; they need no normalisation
  const L = Math.min(k, PRUNED_NEIGHBOURS);
  const nbrIds = new Uint32Array(k * L);
  const nbrDist = new Float64Array(k * L);
  const keys = new Float64Array(k);
  const bits = new Uint32Array(1);
  centroidDistanceRows(centroids, k, dim, (j, d2, d2bits) => {
    for (let l = 0; l < k; l++) {
      // sortable key: the f32 bits of the (non-negative) squared distance, then the index
      bits[0] = (d2[l] as number) > 0 ? (d2bits[l] as number) : 0;
      keys[l] = (bits[0] as number) * 65536 + l;
    }
    keys.sort();
    for (let r = 0; r < L; r++) {
      const key = keys[r] as number;
      const l = key % 65536;
      nbrIds[j * L + r] = l;
      // the stored distance is the f32 one the list is sorted by (monotone); the prefix search
      // widens its threshold by more than that value's rounding error
      bits[0] = (key - l) / 65536;
      nbrDist[j * L + r] = Math.sqrt(new Float32Array(bits.buffer)[0] as number);
    }
    // j itself first (distance 0; a duplicate centroid also at 0 may sort before it)
    for (let r = 1; r < L; r++) {
      if ((nbrIds[j * L + r] as number) === j) {
        nbrIds[j * L + r] = nbrIds[j * L] as number;
        nbrDist[j * L + r] = nbrDist[j * L] as number;
        nbrIds[j * L] = j;
        nbrDist[j * L] = 0;
      }
    }
  });
  return {
    k, dim, type, centroids, bias, alpha, maxNorm2, groups, groupCentroids, groupBias: gTerms.bias,
    memberStart, memberIds, neighbours: L, nbrIds, nbrDist, skip: 0, failures: 0,
  };
}

/**
 * `assignNearest` for k > 256 centroids under l2 or cosine (see the module comment); other
 * shapes take the full scan. Same output as `assignNearest` for every input. `index`, when
 * given, is `prunedIndexFor` of these same centroids (the caller vouches they did not change).
 */
export function assignNearestPruned(
  data: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, type: DistanceType,
  out: Uint32Array = new Uint32Array(n), index?: PrunedIndex,
): Uint32Array {
  const ix = index !== undefined && index.k === k && index.dim === dim && index.type === type ? index : indexFor(centroids, k, dim, type);
  const { alpha, bias } = ix;
  // on data far from its centroids pruning saves little: scan fully for a while (same result)
  if (ix.skip > 0) {
    ix.skip--;
    assignScored(data, n, dim, dim, 0, ix.centroids, k, bias, alpha, out);
    return out;
  }
  let work = n * ix.groups;
  const rows = data.subarray(0, n * dim);
  // 1. guess: group centres, then the members of the best group
  const group = new Uint32Array(n);
  const gTerms = { bias: ix.groupBias, alpha: -2 };
  if (type === "cosine") {
    // rank group centres by distance to the unit row: score x/|x| instead of x
    const unit = normalizeRows(rows.slice(), n, dim);
    assignScored(unit, n, dim, dim, 0, ix.groupCentroids, ix.groups, gTerms.bias, gTerms.alpha, group);
  } else assignScored(rows, n, dim, dim, 0, ix.groupCentroids, ix.groups, gTerms.bias, gTerms.alpha, group);
  const order = orderBy(group, n, ix.groups);
  const guess = new Uint32Array(n);
  const guessScore = new Float32Array(n);
  const w = kernels();
  const mark = w.mark();
  try {
    const pd = paddedDim(dim);
    const space = new KernelSpace(w, ix, pd, n);
    for (let g = 0; g < ix.groups; g++) {
      const r0 = order.start[g] as number;
      const r1 = order.start[g + 1] as number;
      if (r0 === r1) continue;
      const m0 = ix.memberStart[g] as number;
      const m1 = ix.memberStart[g + 1] as number;
      if (m0 === m1) {
        // an empty group (no centroid nearest its centre): score these rows on every centroid
        for (let r = r0; r < r1; r++) {
          const i = order.rows[r] as number;
          guess[i] = 0;
          guessScore[i] = Infinity;
        }
        continue;
      }
      space.run(rows, order.rows, r0, r1, ix.memberIds, m0, m1, guess, guessScore);
      work += (r1 - r0) * (m1 - m0);
    }
    // 2. candidate prefix per row; rows whose prefix runs past the list go to the full scan
    const xn = squaredNorms(rows, n, dim);
    const prefix = new Uint32Array(n);
    const L = ix.neighbours;
    const u = 2 ** -23;
    // exact-pass work if every row were scored on its own prefix (the union per guess adds a little)
    let planned = work;
    for (let i = 0; i < n; i++) {
      const gi = guess[i] as number;
      const s = guessScore[i] as number;
      const xni = xn[i] as number;
      if (!Number.isFinite(s) || (type === "cosine" && !(xni > 0))) {
        prefix[i] = 0; // full scan
        continue;
      }
      // squared distance to the guess and a bound on the kernel's error in that unit
      let b2: number;
      let delta: number;
      if (type === "cosine") {
        const norm = Math.sqrt(xni);
        b2 = Math.max(0, 2 + (2 * s) / norm);
        delta = (dim + 8) * u * 8 + 1e-5;
      } else {
        b2 = Math.max(0, s + xni);
        delta = (dim + 8) * u * 2 * (xni + 2 * ix.maxNorm2) + 1e-30;
      }
      const bUp = Math.sqrt(b2 + delta);
      const threshold = bUp + Math.sqrt(bUp * bUp + 2 * delta);
      const base = gi * L;
      let p = 1;
      // the list's f32 squared distances carry up to ~dim ulps of summation error
      const widened = threshold * (1 + (dim + 8) * u) + 1e-30;
      while (p < L && (ix.nbrDist[base + p] as number) <= widened) p++;
      // a full list whose last entry is still inside the threshold may have more beyond it
      prefix[i] = p === L && L < k ? 0 : p;
      planned += prefix[i] === 0 ? k : p;
    }
    // the candidate counts are known before any exact work: when pruning would save too little
    // (the equal mixture at 128-d: most rows need most centroids), scan fully now rather than
    // after the exact pass (measured: finishing a failed attempt cost 1.1-1.5x a full scan)
    if (planned > PRUNE_WORTH * n * k) {
      backOff(ix);
      w.release(mark);
      assignScored(data, n, dim, dim, 0, ix.centroids, k, bias, alpha, out);
      return out;
    }
    // 3. exact pass: rows grouped by guess, scored on the sorted union of their prefixes
    const byGuess = orderBy(guess, n, k);
    const full: number[] = [];
    const cand = new Uint32Array(L);
    for (let g = 0; g < k; g++) {
      const r0 = byGuess.start[g] as number;
      const r1 = byGuess.start[g + 1] as number;
      if (r0 === r1) continue;
      let p = 0;
      const exact: number[] = [];
      for (let r = r0; r < r1; r++) {
        const i = byGuess.rows[r] as number;
        const pi = prefix[i] as number;
        if (pi === 0) full.push(i);
        else {
          exact.push(i);
          p = Math.max(p, pi);
        }
      }
      if (exact.length === 0) continue;
      for (let r = 0; r < p; r++) cand[r] = ix.nbrIds[g * L + r] as number;
      const cands = cand.subarray(0, p);
      cands.sort();
      if (p === 1) {
        for (const i of exact) out[i] = cands[0] as number;
        continue;
      }
      const list = Uint32Array.from(exact);
      space.run(rows, list, 0, list.length, cands, 0, p, out, guessScore);
      work += ((list.length + 3) & ~3) * p;
    }
    work += full.length * k;
    if (work > PRUNE_WORTH * n * k) backOff(ix);
    else ix.failures = 0;
    if (full.length > 0) {
      const list = Uint32Array.from(full);
      const gathered = new Float32Array(list.length * dim);
      for (let r = 0; r < list.length; r++) {
        const i = list[r] as number;
        gathered.set(rows.subarray(i * dim, i * dim + dim), r * dim);
      }
      const idx = new Uint32Array(list.length);
      w.release(mark);
      assignScored(gathered, list.length, dim, dim, 0, ix.centroids, k, bias, alpha, idx);
      for (let r = 0; r < list.length; r++) out[list[r] as number] = idx[r] as number;
    }
  } finally {
    w.release(mark);
  }
  return out;
}

/** Rows sorted by a key in [0, keys) (counting sort, stable): rows[start[key] .. start[key + 1]). */
function orderBy(key: Uint32Array, n: number, keys: number): { rows: Uint32Array; start: Uint32Array } {
  const start = new Uint32Array(keys + 1);
  for (let i = 0; i < n; i++) start[(key[i] as number) + 1]! += 1;
  for (let g = 0; g < keys; g++) start[g + 1]! += start[g] as number;
  const rows = new Uint32Array(n);
  const fill = start.slice(0, keys);
  for (let i = 0; i < n; i++) rows[fill[key[i] as number]!++] = i;
  return { rows, start };
}

/**
 * Kernel memory for one assignment: all k centroids resident (padded), and scratch for a
 * gathered subset of centroids and rows; `run` scores listed rows against listed centroids.
 */
class KernelSpace {
  private readonly cp: number;
  private readonly subC: number;
  private readonly subB: number;
  private readonly xp: number;
  private readonly ip: number;
  private readonly sp: number;
  private readonly maxRows: number;

  constructor(private readonly w: WasmKernels, private readonly ix: PrunedIndex, private readonly pd: number, n: number) {
    const { k, dim } = ix;
    this.cp = w.alloc(k * pd * 4);
    copyRowsPadded(w.f32(this.cp, k * pd), ix.centroids, 0, k, dim, dim, 0, pd);
    // a subset is at most max(group size, neighbour list) + 1 (odd padding) centroids
    let maxSub = ix.neighbours;
    for (let g = 0; g < ix.groups; g++) maxSub = Math.max(maxSub, (ix.memberStart[g + 1] as number) - (ix.memberStart[g] as number));
    this.subC = w.alloc((maxSub + 1) * pd * 4);
    this.subB = w.alloc((maxSub + 1) * 4);
    this.maxRows = Math.max(4, (Math.min(n, 4096) + 3) & ~3);
    this.xp = w.alloc(this.maxRows * pd * 4);
    this.ip = w.alloc(this.maxRows * 4);
    this.sp = w.alloc(this.maxRows * 4);
  }

  /** Scores rows list[r0..r1) of `x` against centroids ids[c0..c1) (ascending); writes global winners and scores at the rows' positions. */
  run(x: Float32Array, list: Uint32Array, r0: number, r1: number, ids: Uint32Array, c0: number, c1: number, outIdx: Uint32Array, outScore: Float32Array): void {
    const { w, pd, ix } = this;
    const dim = ix.dim;
    const count = c1 - c0;
    const kEven = count + (count & 1);
    const mem = w.f32(0, w.exports.memory.buffer.byteLength >> 2);
    const subB = w.f32(this.subB, kEven);
    for (let r = 0; r < count; r++) {
      const j = ids[c0 + r] as number;
      mem.copyWithin((this.subC >> 2) + r * pd, (this.cp >> 2) + j * pd, (this.cp >> 2) + (j + 1) * pd);
      subB[r] = ix.bias[j] as number;
    }
    if (kEven !== count) {
      // odd count: repeat the last centroid (an equal score never wins a strict less-than)
      mem.copyWithin((this.subC >> 2) + count * pd, (this.subC >> 2) + (count - 1) * pd, (this.subC >> 2) + count * pd);
      subB[count] = subB[count - 1] as number;
    }
    for (let b0 = r0; b0 < r1; b0 += this.maxRows) {
      const b1 = Math.min(r1, b0 + this.maxRows);
      const rows = b1 - b0;
      const rows4 = (rows + 3) & ~3;
      const xv = w.f32(this.xp, rows4 * pd);
      for (let r = 0; r < rows; r++) {
        const i = list[r + b0] as number;
        if (pd === dim) xv.set(x.subarray(i * dim, i * dim + dim), r * pd);
        else {
          xv.fill(0, r * pd, (r + 1) * pd);
          xv.set(x.subarray(i * dim, i * dim + dim), r * pd);
        }
      }
      if (rows4 !== rows) xv.fill(0, rows * pd, rows4 * pd);
      // winners and scores only: the kernel without runner-up bookkeeping (same values)
      w.exports.assign_idx(this.xp, pd * 4, rows4, this.subC, kEven, pd, this.subB, ix.alpha, this.ip, this.sp);
      const idx = w.u32(this.ip, rows);
      const sc = w.f32(this.sp, rows);
      for (let r = 0; r < rows; r++) {
        const i = list[r + b0] as number;
        const local = Math.min(idx[r] as number, count - 1);
        outIdx[i] = ids[c0 + local] as number;
        outScore[i] = sc[r] as number;
      }
    }
  }
}
