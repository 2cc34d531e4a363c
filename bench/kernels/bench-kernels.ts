/**
 * The bench-only kernels (bench/kernels/bench-kernels.wat: the previous assign / assign_t8 and a
 * peak estimate), instantiated on the memory of a shipped kernel instance, so they read inputs the
 * shipped module's arena placed there. Never part of @quiver/ivf: its module has only what users need.
 */
import { KERNELS_WASM_BASE64 } from "./bench-kernels.wasm.js";

/** The slice of the WebAssembly JS API used here (the repo's TS lib set has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Exports of the bench-only module. */
export interface BenchKernelExports {
  /** The previous `assign` (same contract and results as the shipped `assign`). */
  bench_assign_v0(
    x: number, xstride: number, n: number, c: number, k: number, dim: number,
    bias: number, alpha: number, outIdx: number, outScore: number, outSecond: number,
  ): void;
  /** The previous `assign_t8` (same contract and results as the shipped `assign_t8`). */
  bench_assign_t8_v0(
    xt: number, n: number, c: number, k: number, bias: number, alpha: number, outIdx: number, outScore: number,
    outSecond: number,
  ): void;
  /** Peak estimate: `iters` steps of 8 independent f32x4 mul+add chains; reads m, b0 at out, writes the sum there. */
  bench_peak_muladd(iters: number, out: number): void;
}

let compiled: object | undefined;

/** The bench-only kernels on `memory` (the `exports.memory` of a shipped kernel instance). */
export function benchKernels(memory: object): BenchKernelExports {
  compiled ??= new WA.Module(new Uint8Array(Buffer.from(KERNELS_WASM_BASE64, "base64")));
  return new WA.Instance(compiled, { kernels: { memory } }).exports as BenchKernelExports;
}
