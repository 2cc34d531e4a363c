/**
 * The scoring loop of search, shared by the one-thread path and the search workers: score each
 * probed partition for the queries that probe it and offer the rows that can enter a query's top
 * candidates. Top-k selection by (distance, row id) does not depend on the order candidates are
 * offered in, so any split of the partitions over threads, merged, gives the same result.
 */
import { adcScan } from "./compute/internal/adc.js";
import type { PartitionScorer, TrainedQuantizer } from "./quantizer.js";
import { scanKernels } from "./search-kernels.js";
import type { PqSearchTables } from "./search-pq.js";
import type { TopKCandidates } from "./top-k.js";

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
}

/** Distances of the largest partition scanned so far on this thread (reused: no allocation per partition). */
let scratch = new Float32Array(4096);

/** Scores `job` into `tops` (one per query); candidate tags are (probe slot, row index). */
export function scanPartitions(job: ScanJob, tops: readonly TopKCandidates[]): void {
  if (job.pqTables !== undefined) return scanPq(job, job.pqTables, tops);
  const { quantizer, centroids, dim, queries, parts, entries, users, allow, prefilter } = job;
  // Codes of a non-residual quantizer do not depend on the partition, so neither does the
  // scorer: prepare it (e.g. SQ's dim x 256 table) once per query instead of once per probe.
  const shared: (PartitionScorer | undefined)[] | undefined = quantizer.metadata.residual ? undefined : new Array(queries.length);
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j]!;
    const entry = entries[j]!;
    const n = entry.rows;
    if (n === 0) continue;
    if (scratch.length < n) scratch = new Float32Array(Math.max(n, scratch.length * 2));
    const out = scratch;
    const ids = entry.rowIds;
    const list = users[j]!;
    for (let u = 0; u < list.length; u += 2) {
      const qi = list[u]!;
      const slot = list[u + 1]!;
      const top = tops[qi]!;
      let scorer: PartitionScorer;
      if (shared !== undefined) scorer = shared[qi] ??= quantizer.scorer(queries[qi]!, centroids.subarray(0, dim));
      else scorer = quantizer.scorer(queries[qi]!, centroids.subarray(p * dim, (p + 1) * dim));
      scorer.score(entry.codes, n, out);
      // The threshold only changes when a candidate is offered: keep it in a local (most rows fail it).
      let threshold = top.threshold();
      for (let i = 0; i < n; i++) {
        const d = out[i]!;
        // NaN fails this comparison, so a NaN distance never becomes a result.
        if (!(d <= threshold)) continue;
        const id = ids[i]!;
        if (allow !== undefined && !allow.has(id)) continue;
        if (prefilter !== undefined && !prefilter.has(id)) continue;
        top.offer(d, id, slot, i);
        threshold = top.threshold();
      }
    }
  }
}

/** Rows up to which a partition is scanned by `adc_select` from kernel memory (larger ones: {@link adcScan} in blocks). */
const RESIDENT_SCAN_ROWS = 1 << 16;

/** Bytes of query terms kept in kernel memory for a whole scan; a bigger batch copies each query's terms per probe. */
const RESIDENT_QUERY_TERM_BYTES = 16 * 1024 * 1024;

/**
 * {@link scanPartitions} for residual PQ: query terms once per query, partition terms once per
 * partition. Codes stay resident in this thread's scan kernel memory between scans (copied in
 * once per cached partition), the query terms of the scan are placed there once, and a probe's
 * table is one SIMD add of the two terms; distances are read in place (no copies per query).
 */
function scanPq(job: ScanJob, pq: PqSearchTables, tops: readonly TopKCandidates[]): void {
  const { queries, parts, entries, users, allow, prefilter } = job;
  const m = pq.m;
  const size = m * 256;
  // Every table is computed before any scan-kernel memory is used (they run on the shared
  // instance, kept apart so its resident codebook and arena are not disturbed).
  const prepared: (Float32Array | undefined)[] = new Array(queries.length);
  const terms: (Float32Array | undefined)[] = new Array(queries.length);
  const partTerms: (Float32Array | undefined)[] = new Array(parts.length);
  let used = 0;
  for (let j = 0; j < parts.length; j++) {
    if (entries[j]!.rows === 0) continue;
    partTerms[j] = pq.partitionTerms(parts[j]!);
    const list = users[j]!;
    for (let u = 0; u < list.length; u += 2) {
      const qi = list[u]!;
      if (prepared[qi] !== undefined) continue;
      prepared[qi] = pq.prepareQuery(queries[qi]!);
      terms[qi] = pq.queryTerms(prepared[qi]);
      used++;
    }
  }
  if (used === 0) return;
  const sk = scanKernels();
  const w = sk.w;
  const x = sk.x;
  // codes first: making them resident may reset the region, which needs an empty arena
  const codeAt: (number | undefined)[] = new Array(parts.length);
  for (let j = 0; j < parts.length; j++) {
    const entry = entries[j]!;
    const n = entry.rows;
    if (n === 0 || n > RESIDENT_SCAN_ROWS) continue;
    codeAt[j] = sk.resident(entry, job.codeKey === undefined ? undefined : `${job.codeKey}:${parts[j]!}`, entry.codes, n * m);
  }
  const outer = w.mark();
  try {
    const residentTerms = used * size * 4 <= RESIDENT_QUERY_TERM_BYTES;
    const qOffset = new Int32Array(queries.length);
    if (residentTerms) {
      const qp = w.allocUninit(used * size * 4);
      let at = 0;
      for (let qi = 0; qi < queries.length; qi++) {
        const t = terms[qi];
        if (t === undefined) continue;
        qOffset[qi] = qp + at * size * 4;
        w.f32(qOffset[qi]!, size).set(t);
        at++;
      }
    }
    const qtp = residentTerms ? 0 : w.allocUninit(size * 4);
    const ptp = w.allocUninit(size * 4);
    const tp = w.allocUninit(size * 4);
    for (let j = 0; j < parts.length; j++) {
      const p = parts[j]!;
      const entry = entries[j]!;
      const n = entry.rows;
      if (n === 0) continue;
      const ids = entry.rowIds;
      const list = users[j]!;
      w.f32(ptp, size).set(partTerms[j]!);
      const mark = w.mark();
      try {
        const small = n <= RESIDENT_SCAN_ROWS;
        let cp = codeAt[j];
        if (small && cp === undefined) {
          cp = w.allocUninit(n * m);
          w.u8(cp, n * m).set(entry.codes.subarray(0, n * m));
        }
        const ip = w.allocUninit((small ? n : 0) * 4);
        const dp = w.allocUninit((small ? n : 0) * 4);
        for (let u = 0; u < list.length; u += 2) {
          const qi = list[u]!;
          const slot = list[u + 1]!;
          const top = tops[qi]!;
          const q = prepared[qi]!;
          let qp = qOffset[qi]!;
          if (!residentTerms) {
            w.f32(qtp, size).set(terms[qi]!);
            qp = qtp;
          }
          x.f32_add(qp, ptp, tp, size);
          const qq = pq.residualNorm(q, p);
          let threshold = top.threshold();
          if (small) {
            // the kernel finishes each distance and drops the rows above the current threshold
            const count = m === 16 ? x.adc_select_m16(cp!, n, tp, qq, threshold, ip, dp) : m % 8 === 0 ? x.adc_select_m8(cp!, n, m, tp, qq, threshold, ip, dp) : x.adc_select(cp!, n, m, m, tp, qq, threshold, ip, dp);
            const rows = w.u32(ip, count);
            const dist = w.f32(dp, count);
            for (let c = 0; c < count; c++) {
              const d = dist[c]!;
              if (!(d <= threshold)) continue;
              const i = rows[c]!;
              const id = ids[i]!;
              if (allow !== undefined && !allow.has(id)) continue;
              if (prefilter !== undefined && !prefilter.has(id)) continue;
              top.offer(d, id, slot, i);
              threshold = top.threshold();
            }
            continue;
          }
          const out = scratchOf(n);
          adcScan(entry.codes, n, m, m, w.f32(tp, size).slice(), out);
          for (let i = 0; i < n; i++) {
            // the expanded form can dip below 0 by rounding: clamp, as the quantizer's scorer does
            const v = out[i]! + qq;
            const d = v > 0 ? Math.fround(v) : 0;
            if (!(d <= threshold)) continue;
            const id = ids[i]!;
            if (allow !== undefined && !allow.has(id)) continue;
            if (prefilter !== undefined && !prefilter.has(id)) continue;
            top.offer(d, id, slot, i);
            threshold = top.threshold();
          }
        }
      } finally {
        w.release(mark);
      }
    }
  } finally {
    w.release(outer);
  }
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
