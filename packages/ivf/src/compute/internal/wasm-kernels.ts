/**
 * Thin owner of one instance of the SIMD kernel module per thread: a bump allocator over its
 * memory and typed wrappers of its exports. Callers copy inputs in, call, and read
 * outputs through fresh views (memory growth detaches old views).
 */
import { KERNELS_WASM_BASE64 } from "./kernels.wasm.js";

/** The slice of the WebAssembly JS API used here (the repo's TS lib set has no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface KernelExports {
  readonly memory: WasmMemory;
  l2_batch(q: number, x: number, n: number, dim: number, out: number): void;
  dot_batch(q: number, x: number, n: number, dim: number, out: number): void;
  assign(
    x: number, xstride: number, n: number, c: number, k: number, dim: number,
    bias: number, alpha: number, outIdx: number, outScore: number, outSecond: number,
  ): void;
  assign_t8(
    xt: number, n: number, c: number, k: number, bias: number, alpha: number, outIdx: number, outScore: number,
    outSecond: number,
  ): void;
  /** `assign` without the runner-up score (same winners and scores). */
  assign_idx(
    x: number, xstride: number, n: number, c: number, k: number, dim: number,
    bias: number, alpha: number, outIdx: number, outScore: number,
  ): void;
  /** `assign_t8` without the runner-up score (same winners and scores). */
  assign_t8_idx(xt: number, n: number, c: number, k: number, bias: number, alpha: number, outIdx: number, outScore: number): void;
  /** `assign_t8` with pmin / pmax for the runner-up: equal output when no score is NaN or -0 (caller-checked). */
  assign_t8_fast(
    xt: number, n: number, c: number, k: number, bias: number, alpha: number, outIdx: number, outScore: number,
    outSecond: number,
  ): void;
  /** Strided rows of dsub <= 8 floats into the 4-row transposed blocks `assign_t8` reads. */
  transpose_t8(x: number, xstride: number, n: number, dsub: number, out: number): void;
  pq_table(q: number, cbt: number, m: number, dsub: number, bias: number, alpha: number, out: number): void;
  adc(codes: number, n: number, m: number, stride: number, table: number, out: number): void;
  /** `adc` + max(0, sum + bias), writing only rows with distance <= threshold (index, distance); returns their count. */
  adc_select(codes: number, n: number, m: number, stride: number, table: number, bias: number, threshold: number, outIdx: number, outDist: number): number;
}

const PAGE = 65536;
/** First byte used (offset 0 stays unused so no valid pointer is 0). */
const RESIDENT_START = 16;
// wasm32 addresses are u32; stay below 4 GiB minus a page so offsets never wrap.
const MAX_BYTES = 4 * 1024 * 1024 * 1024 - PAGE;

/** Bytes of the kernel module. */
export function kernelModuleBytes(): Uint8Array {
  return new Uint8Array(Buffer.from(KERNELS_WASM_BASE64, "base64"));
}

/** One instance of the SIMD kernels with a stack-like arena. */
export class WasmKernels {
  readonly exports: KernelExports;
  /** Start of the stack-like arena; below it (from RESIDENT_START) sits the resident block. */
  private base = RESIDENT_START;
  private top = RESIDENT_START;
  private residentOwner: object | undefined;
  /** Set once reserveBelow moved the arena's start for a caller's block. */
  private reservedBelow = false;

  constructor(module?: object) {
    const mod = module ?? new WA.Module(kernelModuleBytes());
    this.exports = new WA.Instance(mod, {}).exports as KernelExports;
  }

  /**
   * Keeps `data` resident below the arena for `owner` (e.g. a PQ codebook used by every scorer of
   * that quantizer) and returns its offset; re-uploads only when another owner took the slot.
   * Must not be called while arena allocations are live.
   */
  resident(owner: object, data: Float32Array): number {
    if (this.residentOwner === owner) return RESIDENT_START;
    if (this.reservedBelow) throw new Error("reserveBelow and resident cannot share an instance");
    if (this.top !== this.base) throw new Error("resident data can only change between kernel calls");
    this.residentOwner = undefined;
    this.base = RESIDENT_START;
    this.top = RESIDENT_START;
    const ptr = this.alloc(data.byteLength);
    this.f32(ptr, data.length).set(data);
    this.base = this.top;
    this.residentOwner = owner;
    return ptr;
  }

  /** Whether no arena allocation is live (the arena is back at its start). */
  idle(): boolean {
    return this.top === this.base;
  }

  /** Start of the arena: bytes below it (from offset 16) are a caller's block (see {@link reserveBelow}). */
  arenaStart(): number {
    return this.base;
  }

  /**
   * Moves the arena's start up by `bytes` (a multiple of 16), growing memory as needed, so the
   * bytes below it stay a caller's block (ScanKernels' resident codes, grown on demand) that the
   * arena never hands out. Only while no arena allocation is live, as {@link resident} (whose
   * block it would overlap) must not be used on the same instance.
   */
  reserveBelow(bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes % 16 !== 0) throw new RangeError(`reserveBelow: a non-negative multiple of 16, got ${bytes}`);
    if (this.top !== this.base) throw new Error("the arena's start can only move while no arena allocation is live");
    if (this.residentOwner !== undefined) throw new Error("reserveBelow and resident cannot share an instance");
    this.allocUninit(bytes);
    this.base = this.top;
    this.reservedBelow = true;
  }

  /** Current arena position, to pass to {@link release}. */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated after `mark` (a mark taken before {@link reserveBelow} moved the start frees down to the new start only). */
  release(mark: number): void {
    this.top = Math.max(mark, this.base);
  }

  /** Allocates `bytes` (16-byte aligned, zero-filled), growing memory as needed; returns the offset. */
  alloc(bytes: number): number {
    const start = (this.top + 15) & ~15;
    const end = start + bytes;
    if (!Number.isSafeInteger(end) || end > MAX_BYTES) throw new RangeError(`kernel arena exhausted (${end} bytes)`);
    const mem = this.exports.memory;
    if (end > mem.buffer.byteLength) mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
    new Uint8Array(mem.buffer, start, bytes).fill(0);
    this.top = end;
    return start;
  }

  /**
   * Like {@link alloc} without the zero fill, for buffers the caller overwrites completely before
   * any kernel reads them (the scan's copies of codes and tables).
   */
  allocUninit(bytes: number): number {
    const start = (this.top + 15) & ~15;
    const end = start + bytes;
    if (!Number.isSafeInteger(end) || end > MAX_BYTES) throw new RangeError(`kernel arena exhausted (${end} bytes)`);
    const mem = this.exports.memory;
    if (end > mem.buffer.byteLength) mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
    this.top = end;
    return start;
  }

  /** f32 view of `len` floats at `ptr`. */
  f32(ptr: number, len: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, ptr, len);
  }

  /** u32 view of `len` values at `ptr`. */
  u32(ptr: number, len: number): Uint32Array {
    return new Uint32Array(this.exports.memory.buffer, ptr, len);
  }

  /** u8 view of `len` bytes at `ptr`. */
  u8(ptr: number, len: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, len);
  }

  /** Copies `n` rows of `dim` floats into the arena with rows padded to `padDim` floats; returns the offset. */
  putRows(src: Float32Array, n: number, dim: number, padDim: number, extraRows = 0): number {
    const ptr = this.alloc((n + extraRows) * padDim * 4);
    const dst = this.f32(ptr, (n + extraRows) * padDim);
    if (padDim === dim) dst.set(src.subarray(0, n * dim));
    else for (let i = 0; i < n; i++) dst.set(src.subarray(i * dim, i * dim + dim), i * padDim);
    return ptr;
  }
}

let shared: WasmKernels | undefined;

/** The per-thread kernel instance (created on first use). */
export function kernels(): WasmKernels {
  shared ??= new WasmKernels();
  return shared;
}

/** Rounds `dim` up to the kernels' lane multiple (4). */
export function paddedDim(dim: number): number {
  return (dim + 3) & ~3;
}

/**
 * Calls `row(j, d2, bits)` for each of the k centroids with its squared l2 distances to all k
 * (differences squared on the SIMD kernel: no cancellation), as f32 values and their bit patterns;
 * both views are valid only during the call.
 */
export function centroidDistanceRows(c: Float32Array, k: number, dim: number, row: (j: number, d2: Float32Array, bits: Uint32Array) => void): void {
  const w = kernels();
  const mark = w.mark();
  try {
    const pd = paddedDim(dim);
    const cp = w.putRows(c, k, dim, pd);
    const op = w.alloc(k * 4);
    for (let j = 0; j < k; j++) {
      w.exports.l2_batch(cp + j * pd * 4, cp, k, pd, op);
      row(j, w.f32(op, k), w.u32(op, k));
    }
  } finally {
    w.release(mark);
  }
}
