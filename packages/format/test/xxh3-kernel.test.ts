/**
 * Quiver's WebAssembly XXH3 kernel (src/kernels/xxh3.wat, used by xxh3_64 up to
 * XXH3_KERNEL_MAX_BYTES): the committed binary is reproducible from the WAT source, and the kernel
 * gives hash-wasm's (and, where it loads, xxhash-addon's) XXH3-64 at every length it takes.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { createXXHash3 } from "hash-wasm";
import { describe, expect, it } from "vitest";
import { XXH3_KERNEL_MAX_BYTES, xxh3_64 } from "@quiver/format";
import { XXH3_GENERATED_PATH, XXH3_WAT_PATH, assembleChecksumKernel, renderChecksumKernelModule } from "../scripts/build-checksum-kernel.js";
import { XXH3_WASM_BASE64, XXH3_WAT_SHA256 } from "../src/internal/xxh3-kernel.wasm.js";

describe("XXH3 kernel build", () => {
  it("re-assembling the WAT source gives exactly the committed bytes and module text", async () => {
    const wat = readFileSync(XXH3_WAT_PATH, "utf8");
    const bytes = await assembleChecksumKernel(wat);
    expect(Buffer.from(bytes).toString("base64")).toBe(XXH3_WASM_BASE64);
    expect(createHash("sha256").update(wat, "utf8").digest("hex")).toBe(XXH3_WAT_SHA256);
    expect(renderChecksumKernelModule(wat, bytes)).toBe(readFileSync(XXH3_GENERATED_PATH, "utf8"));
  });
});

function nativeHasher(): ((b: Buffer) => bigint) | undefined {
  try {
    const addon = createRequire(import.meta.url)("xxhash-addon") as { XXHash3: { hash(b: Buffer): Buffer } };
    return (b) => addon.XXHash3.hash(b).readBigUInt64BE(0);
  } catch {
    return undefined;
  }
}

describe("XXH3 kernel values", () => {
  it("equals hash-wasm (and the native addon) at every length 0..XXH3_KERNEL_MAX_BYTES, at odd offsets", async () => {
    const reference = await createXXHash3(0, 0);
    const native = nativeHasher();
    const buf = Buffer.from(Uint8Array.from({ length: XXH3_KERNEL_MAX_BYTES + 64 }, (_, i) => (i * 2654435761) >>> 23));
    let checked = 0;
    for (let len = 0; len <= XXH3_KERNEL_MAX_BYTES; len++) {
      const view = buf.subarray(len % 13, (len % 13) + len);
      const got = xxh3_64(view);
      // every length through 2 KiB (all short classes, every stripe count of the first blocks), then a spread
      if (len > 2048 && len % 61 !== 0 && len !== XXH3_KERNEL_MAX_BYTES) continue;
      expect(got, `length ${len}`).toBe(BigInt(`0x${reference.init().update(view).digest("hex")}`));
      if (native !== undefined) expect(got, `length ${len} (native)`).toBe(native(view));
      checked++;
    }
    expect(checked).toBeGreaterThan(2048);
  });

  it("a changed byte anywhere in the input changes the hash (the kernel reads every byte)", () => {
    const buf = Uint8Array.from({ length: 4100 }, (_, i) => i * 31);
    for (const len of [1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 4100]) {
      const base = xxh3_64(buf.subarray(0, len));
      for (let at = 0; at < len; at += Math.max(1, Math.floor(len / 37))) {
        const copy = buf.slice(0, len);
        copy[at] = copy[at]! ^ 0x40;
        expect(xxh3_64(copy), `length ${len}, byte ${at}`).not.toBe(base);
      }
    }
  });
});
