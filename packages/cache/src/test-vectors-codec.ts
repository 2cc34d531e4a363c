import { QuiverFormatError, getSection, jsonSection, readJsonSection, readTypedSection, typedSection } from "@quiver/format";
import { retainedBytes } from "./codec.js";
import type { CacheCodec } from "./types.js";

/** The value of {@link testVectorsCodec}: a named row-major matrix of float32 vectors. */
export interface TestVectors {
  readonly id: string;
  readonly dims: number;
  readonly data: Float32Array;
}

const META = 1;
const DATA = 2;
/** MUST-level maximum of `id` length in the test codec. */
const MAX_ID_LENGTH = 256;

/**
 * A small reference codec (type name `CacheTestVectors`, version 1) used by the cache fixtures,
 * the backend conformance suite and the benchmarks: a JSON meta section `{id, dims}` (id 1) and an
 * f32 section (id 2) decoded zero-copy.
 */
export const testVectorsCodec: CacheCodec<TestVectors> = {
  typeName: "CacheTestVectors",
  version: 1,
  minVersion: 1,
  encode(v) {
    return [jsonSection(META, { dims: v.dims, id: v.id }), typedSection(DATA, "f32", v.data)];
  },
  decode(frame) {
    const meta = readJsonSection(frame, META);
    const at = getSection(frame, META).offset;
    if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
      throw new QuiverFormatError("SCHEMA_VIOLATION", "meta is not an object", { stage: "payload", offset: at });
    }
    const m = meta as Record<string, unknown>;
    const keys = Object.keys(m).sort().join(",");
    if (keys !== "dims,id") throw new QuiverFormatError("SCHEMA_VIOLATION", `meta keys ${keys}, expected dims,id`, { stage: "payload", offset: at });
    const { id, dims } = m;
    if (typeof id !== "string" || id.length > MAX_ID_LENGTH) throw new QuiverFormatError("SCHEMA_VIOLATION", "meta.id is not a short string", { stage: "payload", offset: at });
    if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1 || dims > 65_536) {
      throw new QuiverFormatError("INVALID_VALUE", `meta.dims ${String(dims)} is not in [1, 65536]`, { stage: "payload", offset: at });
    }
    const data = readTypedSection(frame, DATA, "f32");
    if (data.length % dims !== 0) {
      throw new QuiverFormatError("INVALID_VALUE", `${data.length} floats is not a multiple of dims ${dims}`, { stage: "payload", offset: getSection(frame, DATA).offset });
    }
    return { id, dims, data };
  },
  sizeOf(v) {
    return retainedBytes([v.data]) + 2 * v.id.length + 64;
  },
};
