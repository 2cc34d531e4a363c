// Cache-entry section checksums (spec/cache.md#entry-frame, spec/container.md#checksums): entries
// are written with XXH3-64, entries written with CRC-32 (before container 1.1) self-heal to misses,
// and decoding verifies every byte of a large entry.
import { describe, expect, it } from "vitest";
import {
  type CacheCodec,
  DiskCacheBackend,
  IndexCache,
  type TestVectors,
  cacheKey,
  decodeCacheEntry,
  encodeCacheEntry,
  testVectorsCodec,
} from "@quiver/cache";
import { decodeFrame, isQuiverFormatError, xxh3_64 } from "@quiver/format";
import { recordingLogger, tempDir, vectors } from "./helpers.js";

/** The test-vectors codec as it wrote entries before container 1.1. */
const crc32Codec: CacheCodec<TestVectors> = { ...testVectorsCodec, sectionChecksum: "crc32" };

function errorOf(f: () => unknown): { code: string; stage: string } | undefined {
  try {
    f();
  } catch (e) {
    expect(isQuiverFormatError(e), String(e)).toBe(true);
    const err = e as { code: string; stage: string };
    return { code: err.code, stage: err.stage };
  }
  return undefined;
}

describe("cache-entry section checksums", () => {
  it("encodeCacheEntry writes section_checksum 1 (XXH3-64), container minor 1, and each section's XXH3-64", () => {
    const v = vectors("a", 3, 4);
    const bytes = encodeCacheEntry(testVectorsCodec, v);
    expect(bytes[11]).toBe(1);
    const f = decodeFrame(bytes);
    expect(f.sectionChecksum).toBe("xxh3-64");
    expect(f.versionMinor).toBe(1);
    for (const s of f.sections) expect(s.xxh3).toBe(xxh3_64(s.bytes));
    expect(Array.from(decodeCacheEntry(testVectorsCodec, bytes).value.data)).toEqual(Array.from(v.data));
  });

  it("an entry with CRC-32 sections (before container 1.1) is WRONG_SECTION_CHECKSUM, before any section is hashed", () => {
    const old = encodeCacheEntry(crc32Codec, vectors("old", 2, 4));
    expect(old[11]).toBe(0);
    expect(decodeCacheEntry(crc32Codec, old).value.id).toBe("old");
    expect(errorOf(() => decodeCacheEntry(testVectorsCodec, old))).toEqual({ code: "WRONG_SECTION_CHECKSUM", stage: "header" });
    // A corrupted section does not change the answer: the algorithm is checked first.
    const bad = old.slice();
    bad[bad.length - 1]! ^= 1;
    expect(errorOf(() => decodeCacheEntry(testVectorsCodec, bad))).toEqual({ code: "WRONG_SECTION_CHECKSUM", stage: "header" });
  });

  it("old entries self-heal on a disk cache: one counted miss that deletes and rewrites the entry, then hits", async () => {
    const t = await tempDir();
    try {
      const v = vectors("heal", 4, 8, 7);
      const before = await DiskCacheBackend.open({ directory: t.dir });
      await new IndexCache(before).insert(cacheKey("k", crc32Codec), v);
      await before.close();

      const logger = recordingLogger();
      const disk = await DiskCacheBackend.open({ directory: t.dir, logger });
      const cache = new IndexCache(disk);
      let loads = 0;
      const loader = async (): Promise<TestVectors> => {
        loads++;
        return v;
      };
      const got = await cache.getOrInsert(cacheKey("k", testVectorsCodec), loader);
      expect(got.id).toBe("heal");
      expect(loads).toBe(1);
      expect(disk.counters.corruptDeleted).toBe(1);
      await disk.close();

      const after = await DiskCacheBackend.open({ directory: t.dir });
      const again = new IndexCache(after);
      const hit = await again.getOrInsert(cacheKey("k", testVectorsCodec), loader);
      expect(Array.from(hit.data)).toEqual(Array.from(v.data));
      expect(loads).toBe(1);
      expect(again.stats().hits).toBe(1);
      await after.close();
    } finally {
      await t.cleanup();
    }
  });

  it("a 64 MiB entry is verified to its last byte: flipping the last or a middle byte is CHECKSUM_MISMATCH", () => {
    const data = new Float32Array((64 * 1024 * 1024) / 4);
    for (let i = 0; i < data.length; i += 4099) data[i] = i;
    const bytes = encodeCacheEntry(testVectorsCodec, { id: "big", dims: 16, data });
    expect(decodeCacheEntry(testVectorsCodec, bytes.slice()).value.data.length).toBe(data.length);
    for (const at of [bytes.length - 1, bytes.length - 1 - 32 * 1024 * 1024]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x40;
      expect(errorOf(() => decodeCacheEntry(testVectorsCodec, bad)), `byte ${at}`).toEqual({ code: "CHECKSUM_MISMATCH", stage: "checksum" });
    }
  });

  it("hostile section_checksum bytes are typed errors", () => {
    const bytes = encodeCacheEntry(testVectorsCodec, vectors("h", 1, 4));
    for (const value of [2, 7, 255]) {
      const bad = bytes.slice();
      bad[11] = value;
      // The header CRC does not match either, but section_checksum is checked before it.
      expect(errorOf(() => decodeCacheEntry(testVectorsCodec, bad))).toEqual({ code: "UNKNOWN_CHECKSUM_ALGORITHM", stage: "header" });
    }
  });
});
