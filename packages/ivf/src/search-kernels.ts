/**
 * The scan's own instance of the SIMD kernels (one per thread), laid out for search: a region
 * that keeps partitions' PQ codes resident between scans (so a cached partition is copied into
 * kernel memory once, not once per query or batch), and above it the usual stack-like arena for
 * per-scan tables and outputs. The table builders (search-pq.ts) keep using the shared instance.
 */
import { nearestCentroids, normalize, normalizeRows } from "./compute/internal/vector-math.js";
import { WasmKernels, kernelModuleBytes, paddedDim } from "./compute/internal/wasm-kernels.js";
import type { DistanceType } from "./quantizer.js";

/** Most bytes of kernel memory per thread that keep partition codes resident (16 MiB = 1M rows at PQ16). */
export const RESIDENT_CODE_BYTES = 32 * 1024 * 1024;

/**
 * Bytes the resident region starts with: it doubles on demand up to its cap, so a process that
 * scans little never grows kernel memory by the whole cap (growing WebAssembly memory by 32 MiB at
 * once made V8 run external-memory GCs inside the first query of a new process).
 */
export const RESIDENT_INITIAL_BYTES = 1024 * 1024;

/** The search exports used here beyond the typed core set of wasm-kernels.ts. */
interface SearchExports {
  adc_select(codes: number, n: number, m: number, stride: number, table: number, bias: number, threshold: number, outIdx: number, outDist: number): number;
  /** `adc_select` for m a multiple of 8, stride m (blocks of 8 sub-spaces unrolled; same output). */
  adc_select_m8(codes: number, n: number, m: number, table: number, bias: number, threshold: number, outIdx: number, outDist: number): number;
  /** `adc_select` for m = 16, stride 16 (fully unrolled; same output). */
  adc_select_m16(codes: number, n: number, table: number, bias: number, threshold: number, outIdx: number, outDist: number): number;
  /** out[i] = a[i] + b[i] for len floats, len a multiple of 4. */
  f32_add(a: number, b: number, out: number, len: number): void;
}

/** The kernel module compiled once per thread (every ScanKernels instance shares it). */
let compiled: object | undefined;
function kernelModule(): object {
  const WA = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly;
  compiled ??= new WA.Module(kernelModuleBytes());
  return compiled;
}

const align16 = (x: number): number => (x + 15) & ~15;

/**
 * One thread's scan kernels with the resident-codes region: the region sits at a fixed offset
 * below the arena and grows (doubling, up to its cap) by moving the arena's start up, which is
 * possible only while no arena allocation is live; growing keeps every offset handed out valid
 * (the bytes stay where they are). Only a reset (the region full at its cap) makes offsets stale,
 * and it bumps the generation so a stale record is never returned.
 */
export class ScanKernels {
  readonly w: WasmKernels;
  readonly x: SearchExports;
  readonly #base: number;
  readonly #capacity: number;
  /** Bytes of the region now (it grows up to #capacity). */
  #size: number;
  #top = 0;
  /** Bytes asked for while the region could not grow (arena live): added to the next growth. */
  #shortfall = 0;
  /** Bumped when the region is reset: offsets recorded under an older generation are stale. */
  #generation = 0;
  readonly #byObject = new WeakMap<object, { generation: number; offset: number; bytes: number }>();
  readonly #byKey = new Map<string, { generation: number; offset: number; bytes: number }>();
  /** Copies of codes into the region (a test and stats hook). */
  uploads = 0;
  /** Times the region grew (a test and stats hook). */
  growths = 0;
  /** Times the region was reset, full at its cap (a test and stats hook). */
  resets = 0;

  /** `capacity`: the region's cap; `initial`: its first size (both rounded up to 16 bytes). */
  constructor(capacity = RESIDENT_CODE_BYTES, initial = RESIDENT_INITIAL_BYTES) {
    this.w = new WasmKernels(kernelModule());
    this.x = this.w.exports as unknown as SearchExports;
    this.#capacity = align16(capacity);
    this.#base = this.w.arenaStart();
    this.#size = Math.min(this.#capacity, align16(initial));
    this.w.reserveBelow(this.#size);
  }

  /** Bytes the region holds now (at most the cap). */
  get regionBytes(): number {
    return this.#size;
  }

  /**
   * Offset of `codes` (the first `bytes` bytes) in kernel memory, copied there on first use and
   * kept while the region has room: under `key` when given (a worker's mirrors are new objects
   * per task; the key names the index state and partition), else under the `owner` object.
   * Returns undefined when the codes do not fit the region at all, or do not fit now and the
   * region cannot grow because arena allocations are live (the caller copies them into the arena
   * itself; the region grows for them at the next call with the arena idle). May reset the region
   * (only when it is full at its cap), which makes offsets returned before stale: callers use an
   * offset only until their next call.
   */
  resident(owner: object, key: string | undefined, codes: Uint8Array, bytes: number): number | undefined {
    if (bytes > this.#capacity) return undefined;
    const hit = key === undefined ? this.#byObject.get(owner) : this.#byKey.get(key);
    if (hit !== undefined && hit.generation === this.#generation && hit.bytes === bytes) return hit.offset;
    // 16-byte aligned like the arena
    let offset = align16(this.#top);
    if (offset + bytes > this.#size && this.#size < this.#capacity) {
      if (!this.w.idle()) {
        // cannot move the arena now: keep what is resident, serve this one from the arena
        this.#shortfall = Math.min(this.#capacity, this.#shortfall + align16(bytes));
        return undefined;
      }
      let size = this.#size;
      const want = offset + bytes + this.#shortfall;
      while (size < want && size < this.#capacity) size = Math.max(16, size * 2);
      size = Math.min(size, this.#capacity);
      this.w.reserveBelow(size - this.#size);
      this.#size = size;
      this.#shortfall = 0;
      this.growths++;
    }
    if (offset + bytes > this.#size) {
      // full at the cap: forget everything (cheap, and a scan touches few partitions compared to the region)
      this.#generation++;
      this.#byKey.clear();
      this.resets++;
      offset = 0;
    }
    this.w.u8(this.#base + offset, bytes).set(codes.subarray(0, bytes));
    this.uploads++;
    this.#top = offset + bytes;
    const rec = { generation: this.#generation, offset: this.#base + offset, bytes };
    if (key === undefined) this.#byObject.set(owner, rec);
    else this.#byKey.set(key, rec);
    return rec.offset;
  }
}

let shared: ScanKernels | undefined;

/**
 * The region's cap and first size for this thread: the defaults, or (a test hook, so tests force
 * growth and resets on worker threads too, which inherit the environment) the two byte counts of
 * QUIVER_TEST_SCAN_REGION="<cap>,<initial>".
 */
function regionSizes(): [number, number] {
  const v = process.env.QUIVER_TEST_SCAN_REGION;
  if (v === undefined) return [RESIDENT_CODE_BYTES, RESIDENT_INITIAL_BYTES];
  const m = /^(\d{1,10}),(\d{1,10})$/.exec(v);
  if (m === null) throw new RangeError(`QUIVER_TEST_SCAN_REGION: "<cap>,<initial>" in bytes, got ${JSON.stringify(v.slice(0, 40))}`);
  return [Number(m[1]), Number(m[2])];
}

/** This thread's scan kernels (created on first use). */
export function scanKernels(): ScanKernels {
  shared ??= new ScanKernels(...regionSizes());
  return shared;
}

/** Test hook: makes `next` this thread's scan kernels and returns the previous ones (if made). */
export function swapScanKernels(next: ScanKernels): ScanKernels | undefined {
  const prev = shared;
  shared = next;
  return prev;
}

/** Centroids as the ranking kernel reads them (unit rows for cosine, rows padded to the lane width), per centroid array. */
const rankRows = new WeakMap<Float32Array, { cosine: Float32Array | undefined; plain: Float32Array | undefined }>();

function rankRowsOf(centroids: Float32Array, k: number, dim: number, cosine: boolean): Float32Array {
  let hit = rankRows.get(centroids);
  if (hit === undefined) rankRows.set(centroids, (hit = { cosine: undefined, plain: undefined }));
  const have = cosine ? hit.cosine : hit.plain;
  const pd = paddedDim(dim);
  if (have !== undefined && have.length === k * pd) return have;
  const rows = cosine ? normalizeRows(centroids.slice(0, k * dim), k, dim) : centroids.subarray(0, k * dim);
  let out = rows;
  if (pd !== dim) {
    out = new Float32Array(k * pd);
    for (let i = 0; i < k; i++) out.set(rows.subarray(i * dim, (i + 1) * dim), i * pd);
  }
  if (cosine) hit.cosine = out;
  else hit.plain = out;
  return out;
}

/** Per-thread scratch of {@link rankCentroids} (rankCentroids is synchronous, so one per thread is enough). */
let rankScores = new Float32Array(256);
let rankQuery = new Float32Array(128);
let rankBest = new Float32Array(64);

/** Probe counts up to which the nearest centroids are picked by insertion (no sort, no allocation). */
const INSERTION_PROBES = 64;

/**
 * The `nprobes` centroids nearest to `query`, closest first (ties by index): the same scores and
 * order as the quantizers' `nearestCentroids`, but the centroids stay resident in this thread's
 * scan kernel memory instead of being copied (and zero-filled first) for every query: at 256 x 768
 * that was 1.5 MiB of memory traffic per query. Up to 64 probes are picked by insertion into
 * per-thread scratch (a sort with a comparator allocated a heap number per comparison, ~30 KB per
 * query at 256 partitions); only the returned probe list is allocated.
 */
export function rankCentroids(query: Float32Array, centroids: Float32Array, k: number, dim: number, type: DistanceType, nprobes: number): Uint32Array {
  const sk = scanKernels();
  const w = sk.w;
  const pd = paddedDim(dim);
  const rows = rankRowsOf(centroids, k, dim, type === "cosine");
  const cp = sk.resident(rows, undefined, new Uint8Array(rows.buffer, rows.byteOffset, k * pd * 4), k * pd * 4);
  if (cp === undefined) return nearestCentroids(query, centroids, k, dim, type, nprobes);
  if (rankScores.length < k) rankScores = new Float32Array(Math.max(k, rankScores.length * 2));
  const scores = rankScores;
  const mark = w.mark();
  try {
    let q = query;
    if (type === "cosine") {
      if (rankQuery.length < dim) rankQuery = new Float32Array(Math.max(dim, rankQuery.length * 2));
      q = rankQuery.subarray(0, dim);
      q.set(query.subarray(0, dim));
      normalize(q);
    }
    const qp = w.alloc(pd * 4);
    w.f32(qp, dim).set(q.subarray(0, dim));
    const op = w.allocUninit(k * 4);
    if (type === "dot") w.exports.dot_batch(qp, cp, k, pd, op);
    else w.exports.l2_batch(qp, cp, k, pd, op);
    scores.set(w.f32(op, k));
  } finally {
    w.release(mark);
  }
  if (type === "dot") for (let j = 0; j < k; j++) scores[j] = -scores[j]!;
  const p = Math.max(0, Math.min(k, Math.trunc(nprobes)));
  if (p > INSERTION_PROBES) {
    const order = new Uint32Array(k);
    for (let j = 0; j < k; j++) order[j] = j;
    order.sort((a, b) => scores[a]! - scores[b]! || a - b);
    return order.slice(0, p);
  }
  return nearestByInsertion(scores, k, p);
}

/**
 * The p smallest of scores[0..k) by (score, index), closest first. NaN ranks after every number
 * (the sort's comparator left it unordered; only hostile centroids can produce one).
 */
function nearestByInsertion(scores: Float32Array, k: number, p: number): Uint32Array {
  const out = new Uint32Array(p);
  if (p === 0) return out;
  if (rankBest.length < p) rankBest = new Float32Array(Math.max(p, rankBest.length * 2));
  const best = rankBest;
  let n = 0;
  for (let j = 0; j < k; j++) {
    const raw = scores[j]!;
    const s = raw !== raw ? Number.POSITIVE_INFINITY : raw;
    // equal scores keep index order: a later index goes after them (strict comparisons)
    if (n === p && !(s < best[p - 1]!)) continue;
    let i = n < p ? n++ : p - 1;
    while (i > 0 && best[i - 1]! > s) {
      best[i] = best[i - 1]!;
      out[i] = out[i - 1]!;
      i--;
    }
    best[i] = s;
    out[i] = j;
  }
  return out;
}
