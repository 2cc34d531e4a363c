import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { XXH3_IMPLEMENTATION, crc32, decodeFrame, encodeFrame, isQuiverFormatError, xxh3_64 } from "@quiver/format";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("section checksum algorithms (spec/container.md#checksums)", () => {
  it("CRC-32 and XXH3-64 give the spec's test vectors", () => {
    expect(crc32(ascii("123456789"))).toBe(0xcbf43926);
    expect(xxh3_64(new Uint8Array(0))).toBe(0x2d06800538d394c2n);
    expect(xxh3_64(ascii("123456789"))).toBe(0x72dcb18b67a17dffn);
    expect(xxh3_64(ascii('{"dims":8,"id":""}'))).toBe(0x7a5863b9e3dce4c3n);
  });

  // Inputs up to XXH3_KERNEL_MAX_BYTES go to format's own kernel in both processes (compared with
  // hash-wasm and the addon directly in xxh3-kernel.test.ts); the long inputs here reach hash-wasm.
  it("the WebAssembly fallback (hash-wasm, used where xxhash-addon's binary does not load) gives the native values over every length class", () => {
    const child = fileURLToPath(new URL("./xxh3-child.ts", import.meta.url));
    const run = (env: Record<string, string>) =>
      JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--conditions=quiver-source", child], { encoding: "utf8", env: { ...process.env, ...env }, cwd: fileURLToPath(new URL("../../..", import.meta.url)) })) as { implementation: string; hashWasmLoaded: boolean; hashes: string[] };
    const wasm = run({ QUIVER_XXH3: "wasm" });
    const here = run({});
    expect(wasm.implementation).toBe("wasm");
    expect(here.implementation).toBe(XXH3_IMPLEMENTATION);
    expect(here.hashes).toHaveLength(309);
    expect(wasm.hashes).toEqual(here.hashes);
    // and both are the spec's XXH3-64: the empty input's test vector
    expect(wasm.hashes[0]).toBe("2d06800538d394c2");
    // hash-wasm is imported only when it is the implementation (its import cost every process
    // tens of milliseconds while the native hasher did the work)
    expect(wasm.hashWasmLoaded).toBe(true);
    expect(here.hashWasmLoaded).toBe(XXH3_IMPLEMENTATION === "wasm");
  }, 60_000);

  it("XXH3-64 of a view equals XXH3-64 of a copy at every offset and length class", () => {
    const buf = Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff);
    for (const len of [0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 4000]) {
      for (const off of [0, 1, 7, 64]) {
        const view = buf.subarray(off, off + len);
        expect(xxh3_64(view), `${off}+${len}`).toBe(xxh3_64(view.slice()));
      }
    }
  });

  it("an XXH3-64 frame stores each section's hash little-endian at entry offset 24 and re-encodes byte-exactly", () => {
    const bytes = encodeFrame({ kind: 16, kindVersion: 1, typeName: "t", sectionChecksum: "xxh3-64", sections: [{ id: 1, encoding: "raw", bytes: ascii("123456789") }] });
    const table = 72; // align(64 + 1, 8)
    expect(Array.from(bytes.subarray(table + 24, table + 32))).toEqual([0xff, 0x7d, 0xa1, 0x67, 0x8b, 0xb1, 0xdc, 0x72]);
    const f = decodeFrame(bytes);
    expect(f.sectionChecksum).toBe("xxh3-64");
    const again = encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, versionMinor: f.versionMinor, sectionChecksum: f.sectionChecksum, sections: f.sections });
    expect(again).toEqual(bytes);
  });

  it("the writer refuses XXH3-64 on a kind other than 16", () => {
    let err: unknown;
    try {
      encodeFrame({ kind: 1, kindVersion: 1, sectionChecksum: "xxh3-64", sections: [] });
    } catch (e) {
      err = e;
    }
    expect(isQuiverFormatError(err) && err.code).toBe("CHECKSUM_ALGORITHM_NOT_ALLOWED");
  });
});
