/**
 * Cache conformance operations (spec/cache.md):
 * - `decode-cache-entry`: fixture bytes -> `{ typeName, version, value }` of the reference test codec
 *   `CacheTestVectors` (value: `{ id, dims, data }`, data as the lowercase hex of its little-endian
 *   f32 bytes); a rejected entry throws the codec's QuiverFormatError.
 */
import { decodeCacheEntry, testVectorsCodec } from "@quiver/cache";
import { bytesToHex } from "../canonical-json.js";
import type { OperationFn } from "../operation.js";

/** Conformance operations of the cache area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "decode-cache-entry": async (fixture) => {
    if (fixture.bin === undefined) throw new Error("decode-cache-entry needs a single-file fixture (.bin)");
    const d = decodeCacheEntry(testVectorsCodec, fixture.bin);
    const data = d.value.data;
    return {
      typeName: testVectorsCodec.typeName,
      version: d.version,
      value: { data: bytesToHex(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), dims: d.value.dims, id: d.value.id },
    };
  },
};
