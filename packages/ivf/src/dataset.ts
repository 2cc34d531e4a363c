/**
 * Seeded synthetic data for tests, benchmarks and the main job: a mixture of isotropic Gaussians
 * (spec/ivf.md#synthetic-dataset), exact k-nearest-neighbour ground truth and recall.
 */
import type { DistanceType } from "./quantizer.js";
import { mulberry32 } from "./compute/internal/rng.js";

/** Parameters of {@link gaussianMixture}. */
export interface GaussianMixtureOptions {
  readonly n: number;
  readonly dim: number;
  /** Number of mixture components (default 64). */
  readonly clusters?: number;
  readonly seed: number;
  /** Cluster centres are uniform in [-centerScale, centerScale]^dim (default 1). */
  readonly centerScale?: number;
  /** Standard deviation of every coordinate around its centre (default 0.5: clusters overlap enough that nprobes matters). */
  readonly sigma?: number;
  /** Seed of the cluster centres (default `seed`); queries share the data's centres through it. */
  readonly centerSeed?: number;
}


/**
 * n x dim row-major vectors: row i picks component `floor(u * clusters)` and adds N(0, sigma^2)
 * noise (Box-Muller) to every coordinate of its centre. Deterministic for a given seed.
 */
export function gaussianMixture(o: GaussianMixtureOptions): Float32Array {
  const clusters = o.clusters ?? 64;
  const scale = o.centerScale ?? 1;
  const sigma = o.sigma ?? 0.5;
  const cr = mulberry32(o.centerSeed ?? o.seed);
  const centres = new Float32Array(clusters * o.dim);
  for (let i = 0; i < centres.length; i++) centres[i] = (cr() * 2 - 1) * scale;
  const r = mulberry32(o.seed ^ 0x9e3779b9);
  const out = new Float32Array(o.n * o.dim);
  for (let i = 0; i < o.n; i++) {
    const c = Math.min(clusters - 1, Math.floor(r() * clusters)) * o.dim;
    const row = i * o.dim;
    for (let j = 0; j < o.dim; j += 2) {
      const u1 = r() || 1e-12;
      const u2 = r();
      const m = sigma * Math.sqrt(-2 * Math.log(u1));
      out[row + j] = centres[c + j]! + m * Math.cos(2 * Math.PI * u2);
      if (j + 1 < o.dim) out[row + j + 1] = centres[c + j + 1]! + m * Math.sin(2 * Math.PI * u2);
    }
  }
  return out;
}

/** Exact distance of `a` (at offset ao) and `b` (at bo) over dim values: l2 squared, cosine 1-cos, dot negated. */
export function exactDistanceAt(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number, type: DistanceType): number {
  if (type === "l2") {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const d = a[ao + j]! - b[bo + j]!;
      s += d * d;
    }
    return s;
  }
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let j = 0; j < dim; j++) {
    const x = a[ao + j]!;
    const y = b[bo + j]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  if (type === "dot") return -dot;
  const denom = Math.sqrt(na) * Math.sqrt(nb);
  return denom === 0 ? 1 : 1 - dot / denom;
}

/**
 * Exact k nearest rows of each query (ties by row index), as q x k row indexes. O(q * n * dim);
 * the ground truth of recall.
 */
export function bruteForceKnn(vectors: Float32Array, n: number, dim: number, queries: Float32Array, q: number, k: number, type: DistanceType): Int32Array {
  const out = new Int32Array(q * k).fill(-1);
  const best = new Float64Array(k);
  const bestId = new Int32Array(k);
  for (let qi = 0; qi < q; qi++) {
    let size = 0;
    for (let i = 0; i < n; i++) {
      const d = exactDistanceAt(queries, qi * dim, vectors, i * dim, dim, type);
      if (size === k && d >= best[k - 1]!) continue;
      // Insertion into a sorted array of k: k is small (10) so this beats a heap.
      let at = size < k ? size++ : k - 1;
      while (at > 0 && best[at - 1]! > d) {
        best[at] = best[at - 1]!;
        bestId[at] = bestId[at - 1]!;
        at--;
      }
      best[at] = d;
      bestId[at] = i;
    }
    for (let j = 0; j < size; j++) out[qi * k + j] = bestId[j]!;
  }
  return out;
}

/** Mean fraction of the true top-k found in each result list (row ids as numbers or bigints). */
export function recallAtK(results: readonly (readonly (number | bigint)[])[], truth: Int32Array, k: number): number {
  let hit = 0;
  let total = 0;
  results.forEach((res, qi) => {
    const want = new Set<number>();
    for (let j = 0; j < k; j++) {
      const t = truth[qi * k + j]!;
      if (t >= 0) want.add(t);
    }
    for (const id of res.slice(0, k)) if (want.has(Number(id))) hit++;
    total += want.size;
  });
  return total === 0 ? 1 : hit / total;
}
