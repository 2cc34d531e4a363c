/**
 * The trained-model file (spec/model.md): one Quiver container frame of kind 33 (`ivf-model`)
 * holding the IVF centroids and, optionally, a trained quantizer (PQ codebook, SQ bounds, RaBitQ
 * rotation), with the metric and dims. It is the hand-off point for external trainers: `build`
 * accepts it instead of training, and its own train phases commit it.
 */
import {
  QuiverFormatError,
  decodeFrame,
  encodeFrame,
  getSection,
  jsonSection,
  parseJsonBytes,
  typedSection,
  typedView,
  type SectionInput,
} from "@quiver/format";
import { type DistanceType, type QuantizerKind, type QuantizerMetadata, type TrainedQuantizer, quantizerFromMetadata } from "@quiver/ivf";

/** Container kind of a model file (spec/registry.csv). */
export const MODEL_KIND = 33;
/** Type name in the frame header of a model file. */
export const MODEL_TYPE_NAME = "ivf-model";
/** Payload layout version of kind 33 written and read here. */
export const MODEL_KIND_VERSION = 1;

/** Section ids of a model file. */
export const MODEL_SECTION = { metadata: 0, centroids: 1, quantizerArrayBase: 16 } as const;

/** MUST-level maxima of the model file. */
export const MODEL_LIMITS = { maxDim: 65_536, maxPartitions: 65_536, maxMetadataBytes: 1 << 20, maxQuantizerArrays: 16 } as const;

/** A trained model: IVF centroids and (optionally) the quantizer. */
export interface IvfTrainedModel {
  readonly dim: number;
  readonly distance: DistanceType;
  readonly numPartitions: number;
  /** numPartitions x dim, row-major (cosine: the mean of the unit member rows; their direction ranks partitions). */
  readonly centroids: Float32Array;
  /** The trained quantizer; absent in a model that holds only the IVF centroids. */
  readonly quantizer?: QuantizerMetadata;
}

const STAGE = "model";
const DISTANCES: readonly DistanceType[] = ["l2", "cosine", "dot"];
const KINDS: readonly QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
const ENCODINGS = ["f32", "u8", "u32"] as const;

function fail(code: string, message: string, offset?: number): never {
  throw new QuiverFormatError(code, message, offset === undefined ? { stage: STAGE } : { stage: STAGE, offset });
}

function encodingOf(a: Float32Array | Uint8Array | Uint32Array): (typeof ENCODINGS)[number] {
  if (a instanceof Float32Array) return "f32";
  if (a instanceof Uint32Array) return "u32";
  if (a instanceof Uint8Array) return "u8";
  return fail("INVALID_VALUE", "quantizer arrays are Float32Array, Uint8Array or Uint32Array");
}

/** Encode a model file (validated first with the reader's rules). */
export function encodeModelFile(model: IvfTrainedModel): Uint8Array {
  const { dim, numPartitions } = model;
  if (!Number.isInteger(dim) || dim < 1 || dim > MODEL_LIMITS.maxDim) fail("LIMIT_EXCEEDED", `dim ${dim}`);
  if (!Number.isInteger(numPartitions) || numPartitions < 1 || numPartitions > MODEL_LIMITS.maxPartitions) fail("LIMIT_EXCEEDED", `numPartitions ${numPartitions}`);
  if (model.centroids.length !== dim * numPartitions) fail("SCHEMA_VIOLATION", `centroids has ${model.centroids.length} values, expected ${dim * numPartitions}`);
  const q = model.quantizer;
  let quantizerJson: unknown = null;
  const arraySections: SectionInput[] = [];
  if (q !== undefined) {
    if (q.dim !== dim || q.distance !== model.distance) fail("SCHEMA_VIOLATION", "quantizer dim/distance differ from the model's");
    const trained = quantizerFromMetadata(q);
    const names = Object.keys(q.arrays).sort();
    quantizerJson = {
      kind: q.kind,
      residual: q.residual,
      codeWidth: trained.codeWidth,
      params: { ...q.params },
      arrays: names.map((name) => ({ name, encoding: encodingOf(q.arrays[name]!), length: q.arrays[name]!.length })),
    };
    names.forEach((name, i) => {
      const a = q.arrays[name]!;
      arraySections.push(a instanceof Float32Array ? typedSection(MODEL_SECTION.quantizerArrayBase + i, "f32", a) : a instanceof Uint32Array ? typedSection(MODEL_SECTION.quantizerArrayBase + i, "u32", a) : typedSection(MODEL_SECTION.quantizerArrayBase + i, "u8", a));
    });
  }
  for (let i = 0; i < model.centroids.length; i++) if (!Number.isFinite(model.centroids[i])) fail("INVALID_VALUE", `centroid value ${i} is not finite`);
  const meta = { dim, distance: model.distance, numPartitions, quantizer: quantizerJson };
  return encodeFrame({
    kind: MODEL_KIND,
    kindVersion: MODEL_KIND_VERSION,
    typeName: MODEL_TYPE_NAME,
    sections: [jsonSection(MODEL_SECTION.metadata, meta), typedSection(MODEL_SECTION.centroids, "f32", model.centroids), ...arraySections],
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function exactKeys(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail("SCHEMA_VIOLATION", `${what}: unknown field ${JSON.stringify(k.slice(0, 40))}`);
  for (const k of keys) if (!Object.hasOwn(o, k)) fail("SCHEMA_VIOLATION", `${what}: missing field ${JSON.stringify(k)}`);
}

function intIn(v: unknown, min: number, max: number, what: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail("SCHEMA_VIOLATION", `${what} is not an integer`);
  if (v < min || v > max) fail("LIMIT_EXCEEDED", `${what} = ${v}, allowed [${min}, ${max}]`);
  return v;
}

/**
 * Decode and validate a model file (hostile input): the frame (kind, type name, CRCs), the JSON
 * metadata (exact keys, limits), every section's length against it, finite centroids and the
 * quantizer's own rules. Returned arrays are views of `bytes` when it is 8-byte aligned.
 */
export function decodeModelFile(bytes: Uint8Array): IvfTrainedModel {
  const frame = decodeFrame(bytes, { kind: MODEL_KIND, typeName: MODEL_TYPE_NAME, maxKindVersion: MODEL_KIND_VERSION });
  const metaSection = getSection(frame, MODEL_SECTION.metadata, "json");
  if (metaSection.length > MODEL_LIMITS.maxMetadataBytes) fail("LIMIT_EXCEEDED", `metadata of ${metaSection.length} bytes`, metaSection.offset);
  const json = parseJsonBytes(metaSection.bytes, metaSection.offset);
  if (!isObject(json)) fail("SCHEMA_VIOLATION", "metadata is not an object", metaSection.offset);
  exactKeys(json, ["dim", "distance", "numPartitions", "quantizer"], "metadata");
  const dim = intIn(json.dim, 1, MODEL_LIMITS.maxDim, "dim");
  if (typeof json.distance !== "string" || !DISTANCES.includes(json.distance as DistanceType)) fail("SCHEMA_VIOLATION", "distance is not l2, cosine or dot");
  const distance = json.distance as DistanceType;
  const numPartitions = intIn(json.numPartitions, 1, MODEL_LIMITS.maxPartitions, "numPartitions");
  const cs = getSection(frame, MODEL_SECTION.centroids, "f32");
  if (cs.length !== numPartitions * dim * 4) fail("SCHEMA_VIOLATION", `centroids section of ${cs.length} bytes, expected ${numPartitions * dim * 4}`, cs.offset);
  const centroids = typedView(cs.bytes, "f32", cs.offset);
  for (let i = 0; i < centroids.length; i++) if (!Number.isFinite(centroids[i])) fail("INVALID_VALUE", `centroid value ${i} is not finite`, cs.offset + i * 4);
  const expectedIds = new Set<number>([MODEL_SECTION.metadata, MODEL_SECTION.centroids]);
  let quantizer: QuantizerMetadata | undefined;
  if (json.quantizer !== null) {
    const q = json.quantizer;
    if (!isObject(q)) fail("SCHEMA_VIOLATION", "quantizer is neither null nor an object");
    exactKeys(q, ["kind", "residual", "codeWidth", "params", "arrays"], "quantizer");
    if (typeof q.kind !== "string" || !KINDS.includes(q.kind as QuantizerKind)) fail("SCHEMA_VIOLATION", "quantizer.kind is not flat, sq, pq or rabitq");
    if (typeof q.residual !== "boolean") fail("SCHEMA_VIOLATION", "quantizer.residual is not a boolean");
    const codeWidth = intIn(q.codeWidth, 1, dim * 4, "quantizer.codeWidth");
    if (!isObject(q.params)) fail("SCHEMA_VIOLATION", "quantizer.params is not an object");
    const params: Record<string, number | boolean | string> = Object.create(null);
    for (const [k, v] of Object.entries(q.params)) {
      if (typeof v !== "number" && typeof v !== "boolean" && (typeof v !== "string" || v.length > 256)) fail("SCHEMA_VIOLATION", `quantizer.params.${k.slice(0, 40)} is not a number, boolean or short string`);
      params[k] = v;
    }
    if (!Array.isArray(q.arrays)) fail("SCHEMA_VIOLATION", "quantizer.arrays is not an array");
    if (q.arrays.length > MODEL_LIMITS.maxQuantizerArrays) fail("LIMIT_EXCEEDED", `${q.arrays.length} quantizer arrays`);
    const arrays: Record<string, Float32Array | Uint8Array | Uint32Array> = Object.create(null);
    let prev = "";
    q.arrays.forEach((a: unknown, i: number) => {
      if (!isObject(a)) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}] is not an object`);
      exactKeys(a, ["name", "encoding", "length"], `quantizer.arrays[${i}]`);
      if (typeof a.name !== "string" || a.name.length === 0 || a.name.length > 64) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}].name`);
      if (i > 0 && !(a.name > prev)) fail("SCHEMA_VIOLATION", `quantizer.arrays names are not strictly ascending at ${i}`);
      prev = a.name;
      if (typeof a.encoding !== "string" || !(ENCODINGS as readonly string[]).includes(a.encoding)) fail("SCHEMA_VIOLATION", `quantizer.arrays[${i}].encoding`);
      const enc = a.encoding as (typeof ENCODINGS)[number];
      const length = intIn(a.length, 0, 2 ** 31, `quantizer.arrays[${i}].length`);
      const id = MODEL_SECTION.quantizerArrayBase + i;
      expectedIds.add(id);
      const s = getSection(frame, id, enc);
      const elem = enc === "u8" ? 1 : 4;
      if (s.length !== length * elem) fail("SCHEMA_VIOLATION", `quantizer array ${a.name} section of ${s.length} bytes, metadata says ${length} values`, s.offset);
      arrays[a.name] = typedView(s.bytes, enc, s.offset);
    });
    quantizer = { kind: q.kind as QuantizerKind, dim, distance, residual: q.residual, params, arrays };
    let trained: TrainedQuantizer;
    try {
      trained = quantizerFromMetadata(quantizer);
    } catch (e) {
      if (e instanceof QuiverFormatError) throw e;
      return fail("BAD_QUANTIZER_METADATA", e instanceof Error ? e.message : String(e));
    }
    if (trained.codeWidth !== codeWidth) fail("SCHEMA_VIOLATION", `quantizer.codeWidth ${codeWidth}, the quantizer encodes ${trained.codeWidth} bytes per row`);
  }
  for (const s of frame.sections) if (!expectedIds.has(s.id)) fail("SCHEMA_VIOLATION", `unexpected section ${s.id}`, s.offset);
  return quantizer === undefined ? { dim, distance, numPartitions, centroids } : { dim, distance, numPartitions, centroids, quantizer };
}
