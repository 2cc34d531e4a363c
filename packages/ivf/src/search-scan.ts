/**
 * The scoring loop of search, shared by the one-thread path and the search workers: score each
 * probed partition for the queries that probe it and offer the rows that can enter a query's top
 * candidates. Top-k selection by (distance, row id) does not depend on the order candidates are
 * offered in, so any split of the partitions over threads, merged, gives the same result.
 */
import { adcScan } from "./compute/internal/adc.js";
import type { PartitionScorer, TrainedQuantizer } from "./quantizer.js";
import type { WasmKernels } from "./compute/internal/wasm-kernels.js";
import { scanKernels } from "./search-kernels.js";
import type { PqSearchTables } from "./search-pq.js";
import { type TopKCandidates, idHalves } from "./top-k.js";

/** The row ids and codes of one partition (a cache entry, or its shared-memory mirror). */
export interface ScanPartition {
  readonly rows: number;
  readonly rowIds: BigUint64Array;
  readonly codes: Uint8Array;
}

/** The minimal row-id set the scan accepts as a filter. */
export interface ScanFilter {
  has(rowId: bigint): boolean;
}

/** One scan: partitions `parts[j]` with entries `entries[j]`, scored for the (query, probe slot) pairs `users[j]`. */
export interface ScanJob {
  readonly quantizer: TrainedQuantizer;
  /** IVF centroids, numPartitions x dim. */
  readonly centroids: Float32Array;
  readonly dim: number;
  readonly queries: readonly Float32Array[];
  readonly parts: ArrayLike<number>;
  readonly entries: readonly ScanPartition[];
  /** Per partition: query index and probe slot, alternating. */
  readonly users: readonly ArrayLike<number>[];
  readonly allow?: ScanFilter | undefined;
  readonly prefilter?: ScanFilter | undefined;
  /** Residual PQ tables of this thread (then the quantizer's scorer is not used). */
  readonly pqTables?: PqSearchTables | undefined;
  /**
   * Names the index state when entries are per-task mirrors (a worker): resident codes are then
   * kept under (codeKey, partition) instead of the entry object.
   */
  readonly codeKey?: string | undefined;
  /**
   * Residual PQ query terms shared by the threads of one scan (nq x m x 256 floats and a state
   * per query: 0 not computed, 1 being computed, 2 ready), so a query's terms are computed once
   * per scan, not once per thread (at 768 dimensions they cost about as much as its scan).
   */
  readonly sharedTerms?: { readonly terms: Float32Array; readonly state: Int32Array } | undefined;
}

/** Distances of the largest partition scanned so far on this thread (reused: no allocation per partition). */
let scratch = new Float32Array(4096);

/** Scores `job` into `tops` (one per query); candidate tags are (probe slot, row index). */
export function scanPartitions(job: ScanJob, tops: readonly TopKCandidates[]): void {
  const scanner = new PartitionScanner(job, tops);
  try {
    for (let j = 0; j < job.parts.length; j++) scanner.scan(j, 0, job.entries[j]!.rows);
  } finally {
    scanner.dispose();
  }
}

/** Rows up to which a partition is scanned by `adc_select` from kernel memory (larger ones: {@link adcScan} in blocks). */
const RESIDENT_SCAN_ROWS = 1 << 16;

/** Bytes of query terms kept in kernel memory for a whole scan; a bigger batch copies each query's terms per probe. */
const RESIDENT_QUERY_TERM_BYTES = 16 * 1024 * 1024;

/**
 * Scores pieces of a job: rows [start, end) of partition j for the users `from..to` of that
 * partition (pairs in `job.users[j]`), in any order and any split, into `tops`; candidate tags
 * are (probe slot, row index in the partition), so any split gives the same candidates. Per-query
 * state (a scorer, residual PQ query terms) is made on the first piece that needs it. For
 * residual PQ the codes stay resident in this thread's scan kernel memory between scans (copied
 * in once per cached partition), the query terms live there for the whole scan, and a probe's
 * table is one SIMD add of the two terms; distances are read in place (no copies per query).
 * {@link dispose} gives the kernel memory back.
 */
export class PartitionScanner {
  readonly #job: ScanJob;
  readonly #tops: readonly TopKCandidates[];
  readonly #pq: PqSearchTables | undefined;
  /** Non-residual quantizers: one scorer per query (codes do not depend on the partition). */
  readonly #shared: (PartitionScorer | undefined)[] | undefined;
  readonly #codeWidth: number;
  // residual PQ state
  readonly #prepared: (Float32Array | undefined)[] = [];
  /** Kernel offset of each query's terms (0: not placed yet). */
  #qOffset: Int32Array | undefined;
  #residentTerms = false;
  #outer = -1;
  #qtp = 0;
  #ptp = 0;
  #tp = 0;
  #termsBase = 0;
  #termsUsed = 0;

  constructor(job: ScanJob, tops: readonly TopKCandidates[]) {
    this.#job = job;
    this.#tops = tops;
    this.#pq = job.pqTables;
    this.#shared = job.pqTables === undefined && !job.quantizer.metadata.residual ? new Array(job.queries.length) : undefined;
    this.#codeWidth = job.quantizer.codeWidth;
  }

  /** Scores rows [start, end) of partition `j` for its users with indexes [from, to) (pairs; default all). */
  scan(j: number, start: number, end: number, from = 0, to = this.#job.users[j]!.length >> 1): void {
    if (end <= start || to <= from) return;
    if (this.#pq !== undefined) this.#scanPq(this.#pq, j, start, end, from, to);
    else this.#scanScorer(j, start, end, from, to);
  }

  #scanScorer(j: number, start: number, end: number, from: number, to: number): void {
    const { quantizer, centroids, dim, queries, parts, entries, users, allow, prefilter } = this.#job;
    const p = parts[j]!;
    const entry = entries[j]!;
    const n = end - start;
    const out = scratchOf(n);
    const ids = entry.rowIds;
    const list = users[j]!;
    const codes = entry.codes.subarray(start * this.#codeWidth, end * this.#codeWidth);
    const ids32 = idHalves(ids);
    const filtered = allow !== undefined || prefilter !== undefined;
    for (let u = 2 * from; u < 2 * to; u += 2) {
      const qi = list[u]!;
      const slot = list[u + 1]!;
      const top = this.#tops[qi]!;
      if (this.#shared !== undefined) (this.#shared[qi] ??= quantizer.scorer(queries[qi]!, centroids.subarray(0, dim))).score(codes, n, out);
      else {
        // a residual scorer serves this (query, partition) only: its table goes back at once
        const scorer: PartitionScorer = quantizer.scorer(queries[qi]!, centroids.subarray(p * dim, (p + 1) * dim));
        try {
          scorer.score(codes, n, out);
        } finally {
          scorer.release?.();
        }
      }
      // The threshold only changes when a candidate is offered: keep it in a local (most rows fail it).
      let threshold = top.threshold();
      for (let i = 0; i < n; i++) {
        const d = out[i]!;
        // NaN fails this comparison, so a NaN distance never becomes a result.
        if (!(d <= threshold)) continue;
        if (filtered) {
          const id = ids[start + i]!;
          if (allow !== undefined && !allow.has(id)) continue;
          if (prefilter !== undefined && !prefilter.has(id)) continue;
        }
        top.offerAt(d, ids32, start + i, slot, start + i);
        threshold = top.threshold();
      }
    }
  }

  /** Kernel offset of query qi's terms for this scan (computed and placed on first use). */
  #termsOf(pq: PqSearchTables, qi: number): number {
    const w = scanKernels().w;
    const size = pq.m * 256;
    let at = this.#qOffset![qi]!;
    if (at !== 0) return at;
    const q = (this.#prepared[qi] = pq.prepareQuery(this.#job.queries[qi]!));
    let t: Float32Array;
    const shared = this.#job.sharedTerms;
    if (shared === undefined) t = pq.queryTerms(q);
    else if (Atomics.load(shared.state, qi) === 2) t = shared.terms.subarray(qi * size, (qi + 1) * size);
    else {
      t = pq.queryTerms(q);
      // the first thread to finish them publishes them (one being computed elsewhere: computed here too)
      if (Atomics.compareExchange(shared.state, qi, 0, 1) === 0) {
        shared.terms.set(t, qi * size);
        Atomics.store(shared.state, qi, 2);
      }
    }
    if (this.#residentTerms) {
      at = this.#termsBase + this.#termsUsed++ * size * 4;
      memoryViews(w).f32.set(t, at >> 2);
      this.#qOffset![qi] = at;
      return at;
    }
    memoryViews(w).f32.set(t, this.#qtp >> 2);
    return this.#qtp;
  }

  #scanPq(pq: PqSearchTables, j: number, start: number, end: number, from: number, to: number): void {
    const { parts, entries, users, allow, prefilter, codeKey } = this.#job;
    const m = pq.m;
    const size = m * 256;
    const sk = scanKernels();
    const w = sk.w;
    const x = sk.x;
    const p = parts[j]!;
    const entry = entries[j]!;
    const rows = entry.rows;
    const partTerms = pq.partitionTerms(p);
    // the whole partition made resident (before any arena allocation of this piece: it may reset
    // the region, which only invalidates offsets of earlier pieces, never used again)
    const small = rows <= RESIDENT_SCAN_ROWS;
    const resident = small ? sk.resident(entry, codeKey === undefined ? undefined : `${codeKey}:${p}`, entry.codes, rows * m) : undefined;
    if (this.#outer < 0) {
      this.#outer = w.mark();
      const nq = this.#job.queries.length;
      this.#qOffset = new Int32Array(nq);
      this.#residentTerms = nq * size * 4 <= RESIDENT_QUERY_TERM_BYTES;
      if (this.#residentTerms) this.#termsBase = w.allocUninit(nq * size * 4);
      this.#qtp = this.#residentTerms ? 0 : w.allocUninit(size * 4);
      this.#ptp = w.allocUninit(size * 4);
      this.#tp = w.allocUninit(size * 4);
    }
    const ptp = this.#ptp;
    const tp = this.#tp;
    memoryViews(w).f32.set(partTerms, ptp >> 2);
    const ids = entry.rowIds;
    const ids32 = idHalves(ids);
    const filtered = allow !== undefined || prefilter !== undefined;
    const list = users[j]!;
    const n = end - start;
    const mark = w.mark();
    try {
      let cp = resident === undefined ? undefined : resident + start * m;
      if (small && cp === undefined) {
        cp = w.allocUninit(n * m);
        w.u8(cp, n * m).set(entry.codes.subarray(start * m, end * m));
      }
      const ip = w.allocUninit((small ? n : 0) * 4);
      const dp = w.allocUninit((small ? n : 0) * 4);
      // whole-memory views (no allocation grows the memory below: they stay valid for this piece)
      const { f32: mf32, u32: mu32 } = memoryViews(w);
      const ip4 = ip >> 2;
      const dp4 = dp >> 2;
      for (let u = 2 * from; u < 2 * to; u += 2) {
        const qi = list[u]!;
        const slot = list[u + 1]!;
        const top = this.#tops[qi]!;
        const qp = this.#termsOf(pq, qi);
        const q = this.#prepared[qi]!;
        x.f32_add(qp, ptp, tp, size);
        const qq = pq.residualNorm(q, p);
        let threshold = top.threshold();
        if (small) {
          // the kernel finishes each distance and drops the rows above the current threshold
          const count = m === 16 ? x.adc_select_m16(cp!, n, tp, qq, threshold, ip, dp) : m % 8 === 0 ? x.adc_select_m8(cp!, n, m, tp, qq, threshold, ip, dp) : x.adc_select(cp!, n, m, m, tp, qq, threshold, ip, dp);
          for (let c = 0; c < count; c++) {
            const d = mf32[dp4 + c]!;
            if (!(d <= threshold)) continue;
            const i = start + mu32[ip4 + c]!;
            if (filtered) {
              const id = ids[i]!;
              if (allow !== undefined && !allow.has(id)) continue;
              if (prefilter !== undefined && !prefilter.has(id)) continue;
            }
            top.offerAt(d, ids32, i, slot, i);
            threshold = top.threshold();
          }
          continue;
        }
        const out = scratchOf(n);
        adcScan(entry.codes.subarray(start * m, end * m), n, m, m, w.f32(tp, size).slice(), out);
        for (let r = 0; r < n; r++) {
          // the expanded form can dip below 0 by rounding: clamp, as the quantizer's scorer does
          const v = out[r]! + qq;
          const d = v > 0 ? Math.fround(v) : 0;
          if (!(d <= threshold)) continue;
          const i = start + r;
          if (filtered) {
            const id = ids[i]!;
            if (allow !== undefined && !allow.has(id)) continue;
            if (prefilter !== undefined && !prefilter.has(id)) continue;
          }
          top.offerAt(d, ids32, i, slot, i);
          threshold = top.threshold();
        }
      }
    } finally {
      w.release(mark);
    }
  }

  /** Gives back the kernel memory of the scan (the resident codes stay). */
  dispose(): void {
    if (this.#outer >= 0) scanKernels().w.release(this.#outer);
    this.#outer = -1;
    // the per-query scorers of a non-residual quantizer give their tables back (the next scan reuses them)
    const shared = this.#shared;
    if (shared !== undefined) {
      for (let i = 0; i < shared.length; i++) {
        shared[i]?.release?.();
        shared[i] = undefined;
      }
    }
  }
}

/** Views of a kernel instance's whole memory, made again only when the memory grew (a view per read made garbage per probe). */
const views = new WeakMap<WasmKernels, { buffer: ArrayBuffer; f32: Float32Array; u32: Uint32Array }>();

function memoryViews(w: WasmKernels): { f32: Float32Array; u32: Uint32Array } {
  const buffer = w.exports.memory.buffer;
  let v = views.get(w);
  if (v === undefined || v.buffer !== buffer) views.set(w, (v = { buffer, f32: new Float32Array(buffer), u32: new Uint32Array(buffer) }));
  return v;
}

function scratchOf(n: number): Float32Array {
  if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Per-query candidates of a scan, packed for a message: query q's first `sizes[q]` of `capacity` slots. */
export interface PackedCandidates {
  readonly capacity: number;
  readonly sizes: Int32Array;
  readonly distances: Float64Array;
  readonly rowIds: BigUint64Array;
  readonly tagA: Int32Array;
  readonly tagB: Int32Array;
}

/** Packs the kept candidates of `tops` (all of one capacity). */
export function packCandidates(tops: readonly TopKCandidates[], capacity: number): PackedCandidates {
  const Q = tops.length;
  const out: PackedCandidates = {
    capacity,
    sizes: new Int32Array(Q),
    distances: new Float64Array(Q * capacity),
    rowIds: new BigUint64Array(Q * capacity),
    tagA: new Int32Array(Q * capacity),
    tagB: new Int32Array(Q * capacity),
  };
  for (let q = 0; q < Q; q++) {
    const t = tops[q]!;
    const at = q * capacity;
    out.sizes[q] = t.size;
    out.distances.set(t.distances.subarray(0, t.size), at);
    out.rowIds.set(t.rowIds.subarray(0, t.size), at);
    out.tagA.set(t.tagA.subarray(0, t.size), at);
    out.tagB.set(t.tagB.subarray(0, t.size), at);
  }
  return out;
}

/** Offers packed candidates (from another thread's share of the partitions) into `tops`. */
export function mergeCandidates(tops: readonly TopKCandidates[], packed: PackedCandidates): void {
  const { capacity, sizes, distances, rowIds, tagA, tagB } = packed;
  for (let q = 0; q < tops.length; q++) {
    const top = tops[q]!;
    const at = q * capacity;
    const size = Math.min(sizes[q]!, capacity);
    for (let c = at; c < at + size; c++) {
      const d = distances[c]!;
      if (d <= top.threshold()) top.offer(d, rowIds[c]!, tagA[c]!, tagB[c]!);
    }
  }
}
