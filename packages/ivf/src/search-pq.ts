/**
 * Residual PQ scoring with precomputed partition terms (the IVF-PQ "precomputed tables" of the
 * modelled systems). For sub-space s, codeword y and a row r = c + y stored as the residual to its
 * partition centroid c,
 *
 *   ||q_s - c_s - y||² = ||q_s - c_s||² + (-2 q_s.y) + (||y||² + 2 c_s.y)
 *
 * The middle term depends on the query only (one m x 256 table per query, however many partitions
 * it probes), the last on the partition only (one table per partition, computed on first use and
 * kept), so a probe costs m x 256 additions instead of an m x 256 x dsub table build: at 768-d
 * that build was half of a query's time. The scan and the clamp at 0 are those of the quantizer's
 * own scorer; distances agree with it up to float rounding (the terms are summed in another order).
 */
import type { QuantizerMetadata } from "./quantizer.js";
import { normalizeRows } from "./compute/internal/vector-math.js";
import { kernels } from "./compute/internal/wasm-kernels.js";

const CODEWORDS = 256;

/** True when {@link PqSearchTables} applies: residual PQ under l2 or cosine. */
export function usesPqSearchTables(meta: QuantizerMetadata): boolean {
  return meta.kind === "pq" && meta.residual && (meta.distance === "l2" || meta.distance === "cosine");
}

/** Per-thread scoring tables of one residual PQ index. */
export class PqSearchTables {
  readonly m: number;
  readonly dsub: number;
  readonly dim: number;
  readonly #cosine: boolean;
  readonly #centroids: Float32Array;
  /** [codebook transposed in groups of 4 codewords | ||y||² per codeword | zeros]: the pq_table kernel's inputs. */
  readonly #block: Float32Array;
  readonly #owner = {};
  /** Partition terms, by partition (filled on first use). */
  readonly #partition: (Float32Array | undefined)[];

  constructor(meta: QuantizerMetadata, centroids: Float32Array, numPartitions: number) {
    const m = Number(meta.params.numSubVectors);
    const dim = meta.dim;
    this.m = m;
    this.dsub = dim / m;
    this.dim = dim;
    this.#cosine = meta.distance === "cosine";
    this.#centroids = centroids;
    this.#partition = new Array(numPartitions);
    this.#terms = new Float32Array(m * CODEWORDS);
    const cb = meta.arrays.codebook as Float32Array;
    const dsub = this.dsub;
    const block = new Float32Array(m * CODEWORDS * (dsub + 2));
    const norms = m * CODEWORDS * dsub;
    for (let s = 0; s < m; s++) {
      for (let j = 0; j < CODEWORDS; j++) {
        const g = (s * 64 + (j >> 2)) * dsub;
        let nn = 0;
        for (let d = 0; d < dsub; d++) {
          const v = cb[(s * CODEWORDS + j) * dsub + d]!;
          block[(g + d) * 4 + (j & 3)] = v;
          nn += v * v;
        }
        block[norms + s * CODEWORDS + j] = nn;
      }
    }
    this.#block = block;
  }

  /** out[s * 256 + j] = bias term + alpha * (v_s . y_sj), on the SIMD kernel. */
  #table(v: Float32Array, withNorms: boolean, alpha: number, out: Float32Array): void {
    const { m, dsub, dim } = this;
    const w = kernels();
    const cbt = w.resident(this.#owner, this.#block);
    const mark = w.mark();
    try {
      const vp = w.allocUninit(dim * 4);
      w.f32(vp, dim).set(v.subarray(0, dim));
      const op = w.allocUninit(m * CODEWORDS * 4);
      const bias = cbt + m * CODEWORDS * dsub * 4 + (withNorms ? 0 : m * CODEWORDS * 4);
      w.exports.pq_table(vp, cbt, m, dsub, bias, alpha, op);
      out.set(w.f32(op, m * CODEWORDS));
    } finally {
      w.release(mark);
    }
  }

  /** The query as scored: a copy, unit length for cosine. */
  prepareQuery(query: Float32Array): Float32Array {
    const q = query.slice(0, this.dim);
    if (this.#cosine) normalizeRows(q, 1, this.dim);
    return q;
  }

  /** Scratch of {@link queryTerms} (the caller copies the terms out before the next call). */
  readonly #terms: Float32Array;

  /**
   * The query term -2 q_s.y of a prepared query, in this object's scratch: valid until the next
   * call (the scan copies it into kernel memory at once; a fresh m x 256 array per query was
   * 16 KB of garbage at m = 16).
   */
  queryTerms(q: Float32Array): Float32Array {
    this.#table(q, false, -2, this.#terms);
    return this.#terms;
  }

  /** The partition term ||y||² + 2 c_s.y of partition p (computed once). */
  partitionTerms(p: number): Float32Array {
    let t = this.#partition[p];
    if (t === undefined) {
      t = new Float32Array(this.m * CODEWORDS);
      this.#table(this.#centroids.subarray(p * this.dim, (p + 1) * this.dim), true, 2, t);
      this.#partition[p] = t;
    }
    return t;
  }

  /** ||q - c_p||² of a prepared query. */
  residualNorm(q: Float32Array, p: number): number {
    const c = this.#centroids;
    const base = p * this.dim;
    let s = 0;
    for (let t = 0; t < this.dim; t++) {
      const d = Math.fround(q[t]! - c[base + t]!);
      s += d * d;
    }
    return s;
  }
}
