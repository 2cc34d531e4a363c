import { createRequire } from "node:module";
import { crc32 as zlibCrc32 } from "node:zlib";
import { XXH3_WASM_BASE64 } from "./internal/xxh3-kernel.wasm.js";

/**
 * CRC-32 as used by zlib, PNG and Ethernet (CRC-32/ISO-HDLC): reflected polynomial 0xEDB88320,
 * initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF. `crc32("123456789") === 0xCBF43926`.
 * `previous` continues a running checksum over concatenated inputs.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return zlibCrc32(bytes, previous) >>> 0;
}

// CRC-32 combination (the GF(2) polynomial arithmetic of zlib's crc32_combine): the CRC of a
// concatenation from the parts' CRCs, so bytes whose pieces were already checksummed are not
// run through the CRC a second time.
const CRC_POLY = 0xedb88320;
/** a(x) * b(x) modulo the CRC polynomial, bit-reflected. */
function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if ((a & m) !== 0) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = (b & 1) !== 0 ? (b >>> 1) ^ CRC_POLY : b >>> 1;
  }
  return p >>> 0;
}
/** x^(2^k) modulo the polynomial, k = 0..31. */
const X2N = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x^1
  for (let k = 0; k < 32; k++) {
    t[k] = p;
    p = multModP(p, p);
  }
  return t;
})();

/**
 * The CRC-32 of `A ‖ B` from `crcA = crc32(A)`, `crcB = crc32(B)` and B's length in bytes:
 * `crc32Combine(crc32(a), crc32(b), b.length) === crc32(concat(a, b))`. O(log length).
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let p = 0x80000000; // x^0
  let k = 3; // 8 bits per byte
  for (let n = lengthB; n > 0; n = Math.floor(n / 2), k++) if (n % 2 === 1) p = multModP(X2N[k & 31]!, p);
  return (multModP(p, crcA >>> 0) ^ (crcB >>> 0)) >>> 0;
}

/** The native XXH3 of `xxhash-addon` (an optional dependency with prebuilt binaries), when it loads. */
interface NativeXxh3 {
  readonly XXHash3: { hash(bytes: Buffer): Buffer };
}
function loadNative(): NativeXxh3 | undefined {
  try {
    return createRequire(import.meta.url)("xxhash-addon") as NativeXxh3;
  } catch {
    // no prebuilt binary for this platform and no compiler at install time: the WebAssembly path
    return undefined;
  }
}
const native = process.env.QUIVER_XXH3 === "wasm" ? undefined : loadNative();
// hash-wasm's XXH3 (seed 0, default secret) in WebAssembly: the same values, slower (it copies
// the bytes into its memory), and available everywhere. Imported and instantiated only when the
// native hasher is missing (its import alone cost every process ~25-90 ms otherwise); inputs up to
// XXH3_KERNEL_MAX_BYTES never reach it (the kernel below takes them).
const wasm = native === undefined ? await (await import("hash-wasm")).createXXHash3(0, 0) : undefined;

/** Which XXH3-64 implementation hashes inputs above {@link XXH3_KERNEL_MAX_BYTES}: "native" (xxhash-addon) or "wasm" (hash-wasm). */
export const XXH3_IMPLEMENTATION: "native" | "wasm" = native === undefined ? "wasm" : "native";

/**
 * Inputs up to this many bytes are hashed by Quiver's own WebAssembly XXH3 kernel
 * (src/kernels/xxh3.wat): a copy into its memory and one call, a fraction of a microsecond,
 * where one native call costs microseconds whatever the length (it allocates its result).
 * Above it the native hasher's wider SIMD wins; the crossover is measured in
 * bench/cache-decode.bench.ts ("hash per call" rows): near 8 KiB once V8 has optimised the
 * kernel, lower while it still runs baseline (Liftoff) code, which on a loaded machine lasts long
 * (the optimising compile runs on a background thread); 4 KiB is below both.
 */
export const XXH3_KERNEL_MAX_BYTES = 4096;
/** Where the kernel reads its input (the default secret sits below it). */
const KERNEL_INPUT = 256;
/** The slice of the WebAssembly JS API used here (the repo's TS lib set has no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: { readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number }; xxh3(at: number, length: number): bigint } };
}
const kernel = (() => {
  const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const { exports } = new WA.Instance(new WA.Module(Buffer.from(XXH3_WASM_BASE64, "base64")), {});
  const pages = Math.ceil((KERNEL_INPUT + XXH3_KERNEL_MAX_BYTES) / 65536) - exports.memory.buffer.byteLength / 65536;
  if (pages > 0) exports.memory.grow(pages);
  // The memory never grows after this, so the view stays valid.
  return { bytes: new Uint8Array(exports.memory.buffer), xxh3: exports.xxh3 };
})();

/**
 * XXH3-64 (xxHash 0.8, 64-bit XXH3, seed 0, default secret) of `bytes` as an unsigned 64-bit
 * bigint. `xxh3_64("") === 0x2d06800538d394c2n`, `xxh3_64("123456789") === 0x72dcb18b67a17dffn`.
 * Up to {@link XXH3_KERNEL_MAX_BYTES}: Quiver's WebAssembly kernel. Longer inputs: native
 * (xxhash-addon, SIMD-dispatched) and hashed in place where its prebuilt binary loads, several
 * times faster than zlib's CRC-32 (bench/cache-decode.bench.ts); elsewhere (or with
 * QUIVER_XXH3=wasm) hash-wasm's WebAssembly XXH3. All give the same values.
 */
export function xxh3_64(bytes: Uint8Array): bigint {
  const length = bytes.byteLength;
  if (length <= XXH3_KERNEL_MAX_BYTES) {
    kernel.bytes.set(bytes, KERNEL_INPUT);
    // wasm i64 results arrive as signed bigints
    return BigInt.asUintN(64, kernel.xxh3(KERNEL_INPUT, length));
  }
  if (native !== undefined) {
    // The addon returns the canonical (big-endian) 8-byte digest.
    const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return native.XXHash3.hash(view).readBigUInt64BE(0);
  }
  return BigInt(`0x${wasm!.init().update(bytes).digest("hex")}`);
}
