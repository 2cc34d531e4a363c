/**
 * Validation of quantizer metadata coming from an index file or a cache entry (hostile input):
 * every bad field raises QuiverFormatError BAD_QUANTIZER_METADATA at stage "quantizer-metadata".
 */
import { QuiverFormatError, describeValue } from "@quiver/format";
import type { QuantizerMetadata, TrainedQuantizer } from "../../quantizer.js";
import { buildQuantizer, PQ_CENTROIDS } from "./quantizers.js";

/** Largest vector dimension accepted (MUST-level maximum). */
export const MAX_VECTOR_DIM = 65536;
/** Largest RaBitQ dimension (its rotation is dim^2 floats). */
export const MAX_RABITQ_DIM = 4096;

const STAGE = "quantizer-metadata";
/** Tolerance of the RaBitQ rotation's orthogonality check (spec/ivf.md#quantizer-metadata). */
export const ROTATION_TOLERANCE = 1e-3;
/** Walsh probe vectors of the orthogonality check: v_k[t] = -1 when bit k of t is set, else +1. */
const ROTATION_PROBES = 8;

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
  if (!(a instanceof Float32Array)) fail(`array "${name}" must be a Float32Array, got ${describeValue(a)}`);
  if (a.length !== length) fail(`array "${name}" has ${a.length} floats, expected ${length}`);
  // Builtin scans first (a JS loop runs interpreted on the first open of a process): the loop only finds the first bad value.
  if (a.includes(Number.NaN) || a.includes(Number.POSITIVE_INFINITY) || a.includes(Number.NEGATIVE_INFINITY)) {
    for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) fail(`array "${name}"[${i}] is not finite`);
  }
  return a;
}

/** Checks `meta` against the layout rules; returns it unchanged. */
export function validateQuantizerMetadata(meta: QuantizerMetadata): QuantizerMetadata {
  if (typeof meta !== "object" || meta === null) fail(`metadata is not an object: ${describeValue(meta)}`);
  const allowed = typeof meta.kind === "string" && Object.hasOwn(ALLOWED, meta.kind) ? ALLOWED[meta.kind] : undefined;
  if (allowed === undefined) fail(`unknown quantizer kind ${describeValue(meta.kind)}`);
  const dim = meta.dim;
  if (!Number.isInteger(dim) || dim < 1 || dim > MAX_VECTOR_DIM) fail(`dim ${describeValue(dim)} outside 1..${MAX_VECTOR_DIM}`);
  if (meta.distance !== "l2" && meta.distance !== "cosine" && meta.distance !== "dot") fail(`unknown distance ${describeValue(meta.distance)}`);
  if (typeof meta.residual !== "boolean") fail("residual must be a boolean");
  if (typeof meta.params !== "object" || meta.params === null) fail("params must be an object");
  if (typeof meta.arrays !== "object" || meta.arrays === null) fail("arrays must be an object");
  for (const key of Object.keys(meta.params)) if (!allowed.params.includes(key)) fail(`unknown param ${describeValue(key)} for ${meta.kind}`);
  for (const key of Object.keys(meta.arrays)) if (!allowed.arrays.includes(key)) fail(`unknown array ${describeValue(key)} for ${meta.kind}`);
  switch (meta.kind) {
    case "flat":
      break;
    case "sq": {
      if (meta.params.bits !== 8) fail(`sq bits must be 8, got ${describeValue(meta.params.bits)}`);
      const lower = finiteF32(meta, "lower", dim);
      const upper = finiteF32(meta, "upper", dim);
      for (let t = 0; t < dim; t++) if (!(lower[t]! <= upper[t]!)) fail(`sq bounds inverted in dimension ${t}`);
      break;
    }
    case "pq": {
      const m = meta.params.numSubVectors;
      if (typeof m !== "number" || !Number.isInteger(m) || m < 1 || m > dim || dim % m !== 0) fail(`numSubVectors ${describeValue(m)} must divide dim ${dim}`);
      if (meta.params.nbits !== 8) fail(`pq nbits must be 8, got ${describeValue(meta.params.nbits)}`);
      finiteF32(meta, "codebook", PQ_CENTROIDS * dim);
      break;
    }
    case "rabitq": {
      if (dim > MAX_RABITQ_DIM) fail(`rabitq dim ${dim} above ${MAX_RABITQ_DIM}`);
      if (meta.params.bits !== 1) fail(`rabitq bits must be 1, got ${describeValue(meta.params.bits)}`);
      if (meta.params.seed !== undefined && !Number.isFinite(meta.params.seed)) fail(`rabitq seed must be a finite number, got ${describeValue(meta.params.seed)}`);
      if (meta.residual !== true) fail("rabitq encodes residuals");
      checkOrthogonal(finiteF32(meta, "rotation", dim * dim), dim);
      break;
    }
  }
  return meta;
}

/**
 * The rotation check of spec/ivf.md (O(D^2), so affordable at every open): every row and every
 * column has squared norm within ROTATION_TOLERANCE of 1, and R preserves the squared norm of the
 * eight Walsh probe vectors within ROTATION_TOLERANCE (relative).
 */
function checkOrthogonal(r: Float32Array, dim: number): void {
  const colNorm = new Float64Array(dim);
  const probeOut = new Float64Array(ROTATION_PROBES * dim);
  for (let i = 0; i < dim; i++) {
    let rowNorm = 0;
    const base = i * dim;
    for (let t = 0; t < dim; t++) {
      const v = r[base + t]!;
      rowNorm += v * v;
      colNorm[t]! += v * v;
      for (let k = 0; k < ROTATION_PROBES; k++) probeOut[k * dim + i]! += (t >> k) & 1 ? -v : v;
    }
    if (Math.abs(rowNorm - 1) > ROTATION_TOLERANCE) fail(`rabitq rotation is not orthogonal: row ${i} has squared norm ${rowNorm}`);
  }
  for (let t = 0; t < dim; t++) if (Math.abs(colNorm[t]! - 1) > ROTATION_TOLERANCE) fail(`rabitq rotation is not orthogonal: column ${t} has squared norm ${colNorm[t]}`);
  for (let k = 0; k < ROTATION_PROBES; k++) {
    let n = 0;
    for (let i = 0; i < dim; i++) n += probeOut[k * dim + i]! ** 2;
    if (Math.abs(n / dim - 1) > ROTATION_TOLERANCE) fail(`rabitq rotation is not orthogonal: probe ${k} changes its squared norm by a factor ${n / dim}`);
  }
}

/** Bytes per code that a quantizer of this (validated) metadata produces (spec/ivf.md#quantizer-metadata). */
export function quantizerCodeWidth(meta: QuantizerMetadata): number {
  switch (meta.kind) {
    case "flat":
      return meta.dim * 4;
    case "sq":
      return meta.dim;
    case "pq":
      return meta.params.numSubVectors as number;
    case "rabitq":
      return Math.ceil(meta.dim / 8) + 8;
  }
}

/** Validates metadata and builds the live quantizer; metadata arrays are used in place (zero-copy). */
export function quantizerFromMetadata(meta: QuantizerMetadata): TrainedQuantizer {
  return buildQuantizer(validateQuantizerMetadata(meta));
}
