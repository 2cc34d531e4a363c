/**
 * Validation of quantizer metadata coming from an index file or a cache entry (hostile input):
 * every bad field raises QuiverFormatError BAD_QUANTIZER_METADATA at stage "quantizer-metadata".
 */
import { QuiverFormatError } from "@quiver/format";
import type { QuantizerMetadata, TrainedQuantizer } from "../../quantizer.js";
import { buildQuantizer, PQ_CENTROIDS } from "./quantizers.js";

/** Largest vector dimension accepted (MUST-level maximum). */
export const MAX_VECTOR_DIM = 65536;
/** Largest RaBitQ dimension (its rotation is dim^2 floats). */
export const MAX_RABITQ_DIM = 4096;

const STAGE = "quantizer-metadata";

function fail(message: string): never {
  throw new QuiverFormatError("BAD_QUANTIZER_METADATA", message, { stage: STAGE });
}

const ALLOWED: Readonly<Record<string, { params: readonly string[]; arrays: readonly string[] }>> = {
  flat: { params: [], arrays: [] },
  sq: { params: ["bits"], arrays: ["lower", "upper"] },
  pq: { params: ["numSubVectors", "nbits"], arrays: ["codebook"] },
  rabitq: { params: ["bits", "seed"], arrays: ["rotation"] },
};

function finiteF32(meta: QuantizerMetadata, name: string, length: number): Float32Array {
  const a = meta.arrays[name];
  if (!(a instanceof Float32Array)) fail(`array "${name}" must be a Float32Array`);
  if (a.length !== length) fail(`array "${name}" has ${a.length} floats, expected ${length}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) fail(`array "${name}"[${i}] is not finite`);
  return a;
}

/** Checks `meta` against the layout rules; returns it unchanged. */
export function validateQuantizerMetadata(meta: QuantizerMetadata): QuantizerMetadata {
  if (typeof meta !== "object" || meta === null) fail("metadata is not an object");
  const allowed = Object.hasOwn(ALLOWED, meta.kind) ? ALLOWED[meta.kind] : undefined;
  if (allowed === undefined) fail(`unknown quantizer kind ${JSON.stringify(meta.kind)}`);
  const dim = meta.dim;
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_VECTOR_DIM) fail(`dim ${dim} outside 1..${MAX_VECTOR_DIM}`);
  if (meta.distance !== "l2" && meta.distance !== "cosine" && meta.distance !== "dot") fail(`unknown distance ${JSON.stringify(meta.distance)}`);
  if (typeof meta.residual !== "boolean") fail("residual must be a boolean");
  if (typeof meta.params !== "object" || meta.params === null) fail("params must be an object");
  if (typeof meta.arrays !== "object" || meta.arrays === null) fail("arrays must be an object");
  for (const key of Object.keys(meta.params)) if (!allowed.params.includes(key)) fail(`unknown param "${key}" for ${meta.kind}`);
  for (const key of Object.keys(meta.arrays)) if (!allowed.arrays.includes(key)) fail(`unknown array "${key}" for ${meta.kind}`);
  switch (meta.kind) {
    case "flat":
      break;
    case "sq": {
      if (meta.params.bits !== 8) fail("sq bits must be 8");
      const lower = finiteF32(meta, "lower", dim);
      const upper = finiteF32(meta, "upper", dim);
      for (let t = 0; t < dim; t++) if (!(lower[t]! <= upper[t]!)) fail(`sq bounds inverted in dimension ${t}`);
      break;
    }
    case "pq": {
      const m = meta.params.numSubVectors;
      if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || m > dim || dim % m !== 0) fail(`numSubVectors ${String(m)} must divide dim ${dim}`);
      if (meta.params.nbits !== 8) fail("pq nbits must be 8");
      finiteF32(meta, "codebook", PQ_CENTROIDS * dim);
      break;
    }
    case "rabitq": {
      if (dim > MAX_RABITQ_DIM) fail(`rabitq dim ${dim} above ${MAX_RABITQ_DIM}`);
      if (meta.params.bits !== 1) fail("rabitq bits must be 1");
      if (meta.params.seed !== undefined && typeof meta.params.seed !== "number") fail("rabitq seed must be a number");
      if (meta.residual !== true) fail("rabitq encodes residuals");
      finiteF32(meta, "rotation", dim * dim);
      break;
    }
  }
  return meta;
}

/** Validates metadata and builds the live quantizer; metadata arrays are used in place (zero-copy). */
export function quantizerFromMetadata(meta: QuantizerMetadata): TrainedQuantizer {
  return buildQuantizer(validateQuantizerMetadata(meta));
}
