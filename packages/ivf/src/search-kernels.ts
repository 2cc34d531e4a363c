/**
 * The scan's own instance of the SIMD kernels (one per thread), laid out for search: a region
 * that keeps partitions' PQ codes resident between scans (so a cached partition is copied into
 * kernel memory once, not once per query or batch), and above it the usual stack-like arena for
 * per-scan tables and outputs. The table builders (search-pq.ts) keep using the shared instance.
 */
import { WasmKernels } from "./compute/internal/wasm-kernels.js";

/** Bytes of kernel memory per thread that keep partition codes resident (16 MiB = 1M rows at PQ16). */
export const RESIDENT_CODE_BYTES = 32 * 1024 * 1024;

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

/** One thread's scan kernels with the resident-codes region. */
export class ScanKernels {
  readonly w: WasmKernels;
  readonly x: SearchExports;
  readonly #base: number;
  readonly #capacity: number;
  #top = 0;
  /** Bumped when the region is reset: offsets recorded under an older generation are stale. */
  #generation = 0;
  readonly #byObject = new WeakMap<object, { generation: number; offset: number; bytes: number }>();
  readonly #byKey = new Map<string, { generation: number; offset: number; bytes: number }>();
  /** Copies of codes into the region (a test and stats hook). */
  uploads = 0;

  constructor(capacity = RESIDENT_CODE_BYTES) {
    this.w = new WasmKernels();
    this.x = this.w.exports as unknown as SearchExports;
    this.#capacity = capacity;
    // Reserved up front, below the arena; pages never written stay untouched by the OS.
    this.#base = this.w.allocUninit(capacity);
  }

  /**
   * Offset of `codes` (the first `bytes` bytes) in kernel memory, copied there on first use and
   * kept while the region has room: under `key` when given (a worker's mirrors are new objects
   * per task; the key names the index state and partition), else under the `owner` object.
   * Returns undefined when the codes do not fit the region at all (the caller copies them into
   * the arena itself). Must be called with no arena allocation live (it may reset the region).
   */
  resident(owner: object, key: string | undefined, codes: Uint8Array, bytes: number): number | undefined {
    if (bytes > this.#capacity) return undefined;
    const hit = key === undefined ? this.#byObject.get(owner) : this.#byKey.get(key);
    if (hit !== undefined && hit.generation === this.#generation && hit.bytes === bytes) return hit.offset;
    // 16-byte aligned like the arena
    let offset = (this.#top + 15) & ~15;
    if (offset + bytes > this.#capacity) {
      // full: forget everything (cheap, and a scan touches few partitions compared to the region)
      this.#generation++;
      this.#byKey.clear();
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

/** This thread's scan kernels (created on first use). */
export function scanKernels(): ScanKernels {
  shared ??= new ScanKernels();
  return shared;
}
