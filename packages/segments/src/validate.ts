/**
 * Validation of a segment set before it is published (spec/segments.md#validation). Reads only
 * each segment's header and metadata sections (one ranged read per segment when the metadata
 * fits the first 64 KiB), never a row id: row coverage is decided from the ranges each shard
 * recorded at build time.
 */
import { QuiverArgumentError, checkOptions, describeValue } from "@quiver/format";
import { type IvfIndexState, readIvfIndexState } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { type SegmentDescriptor, descriptorProblems, isDigest, segmentModelDigest, unreadable } from "./descriptor.js";
import { QuiverSegmentError, type SegmentProblem } from "./errors.js";
import { MAX_MANIFEST_RANGES } from "./manifest.js";
import { type BigRange, canonicalize, rangeListProblem, toBigRanges } from "./ranges.js";
import { type SegmentPlan, majority, setProblems } from "./set-rules.js";

/** Segment files read at once during validation. */
const READ_CONCURRENCY = 16;
const PLAN_FIELDS = ["rowIdRanges", "totalRows", "modelDigest", "inputVersion"] as const;

function checkStore(store: unknown): asserts store is ObjectStore {
  const s = store as Partial<ObjectStore> | null;
  if (typeof s !== "object" || s === null || typeof s.getRange !== "function" || typeof s.get !== "function") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore", given: store });
  }
}

/** Validate a plan argument; returns its canonical row set (undefined when it has none). */
export function checkPlan(plan: unknown): BigRange[] | undefined {
  if (plan === undefined) return undefined;
  checkOptions("plan", plan, PLAN_FIELDS);
  const p = plan as SegmentPlan;
  if (p.totalRows !== undefined && (typeof p.totalRows !== "number" || !Number.isSafeInteger(p.totalRows) || p.totalRows < 0)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "plan.totalRows", expected: "a non-negative integer", given: p.totalRows });
  }
  if (p.modelDigest !== undefined && !isDigest(p.modelDigest)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "plan.modelDigest", expected: "64 lowercase hex digits", given: p.modelDigest });
  if (p.inputVersion !== undefined && (typeof p.inputVersion !== "string" || p.inputVersion.length === 0)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "plan.inputVersion", expected: "a non-empty string", given: p.inputVersion });
  }
  if (p.rowIdRanges === undefined) return undefined;
  const problem = rangeListProblem(p.rowIdRanges, Number.MAX_SAFE_INTEGER);
  if (problem !== undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "plan.rowIdRanges", expected: "half-open [start, end) uint64 ranges (decimal strings or bigints)", given: p.rowIdRanges, hint: problem });
  const ranges = canonicalize(toBigRanges(p.rowIdRanges as readonly (readonly [unknown, unknown])[]));
  if (ranges === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "plan.rowIdRanges", expected: "non-overlapping ranges", given: p.rowIdRanges });
  return ranges;
}

/** The file facts compared across segments. */
interface FileFacts {
  readonly state: IvfIndexState;
  readonly digest: string;
}

/** Read one segment's state: with the recorded size first (one read), without it when that size is wrong. */
async function readFacts(store: ObjectStore, d: SegmentDescriptor, out: SegmentProblem[]): Promise<FileFacts | undefined> {
  const who = { shard: d.shard, segmentId: d.segmentId };
  let state: IvfIndexState;
  try {
    state = await readIvfIndexState(store, d.path, d.bytes);
  } catch (first) {
    const code = (first as { code?: unknown }).code;
    try {
      if (code !== "BAD_FRAME_LENGTH" && code !== "TRUNCATED" && code !== "TRAILING_BYTES") throw first;
      state = await readIvfIndexState(store, d.path);
    } catch (e) {
      const wrapped = unreadable(e, d.shard, d.segmentId, d.path);
      if (!(wrapped instanceof QuiverSegmentError)) throw wrapped;
      out.push(...wrapped.problems);
      return undefined;
    }
  }
  const m = state.metadata;
  const digest = segmentModelDigest(state);
  if (m.identity !== d.indexIdentity) {
    out.push({ ...who, code: "SEGMENT_IDENTITY_MISMATCH", message: `${describeValue(d.path)} has identity ${m.identity.slice(0, 16)}..., the descriptor records ${d.indexIdentity.slice(0, 16)}... (the file was replaced or modified)` });
  } else if (state.fileSize !== d.bytes) {
    out.push({ ...who, code: "SEGMENT_DESCRIPTOR_MISMATCH", message: `${describeValue(d.path)} has ${state.fileSize} bytes, the descriptor records ${d.bytes}` });
  }
  if (m.numRows !== d.rows) out.push({ ...who, code: "SEGMENT_DESCRIPTOR_MISMATCH", message: `${describeValue(d.path)} has ${m.numRows} rows, the descriptor records ${d.rows}` });
  if (digest !== d.modelDigest) out.push({ ...who, code: "SEGMENT_DESCRIPTOR_MISMATCH", message: `the descriptor's modelDigest is not the model digest of ${describeValue(d.path)}` });
  return { state, digest };
}

/** Quantizer facts that must be equal across segments (kind, residual, code width, parameters, raw-vector layout, partition count). */
function quantizerShape(s: IvfIndexState): string {
  const q = s.metadata.quantizer;
  const params = Object.keys(q.params).sort().map((k) => [k, q.params[k]]);
  return JSON.stringify([q.kind, q.residual, q.codeWidth, params, q.arrays.map((a) => [a.name, a.encoding, a.length]), s.metadata.rawVectors, s.metadata.numPartitions]);
}

/** Like {@link validateSegments} but returns every problem instead of throwing at the first. */
export async function checkSegments(store: ObjectStore, segments: readonly SegmentDescriptor[], plan?: SegmentPlan): Promise<SegmentProblem[]> {
  checkStore(store);
  if (!Array.isArray(segments)) throw new QuiverArgumentError(segments === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "segments", expected: "an array of segment descriptors", given: segments });
  if (segments.length === 0) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "segments", expected: "at least one segment", given: segments });
  if (segments.length > 100_000) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "segments", expected: "at most 100,000 segments", given: segments.length });
  let ranges = 0;
  for (const d of segments) ranges += Array.isArray((d as Partial<SegmentDescriptor> | null)?.rowIdRanges) ? d.rowIdRanges.length : 0;
  if (ranges > MAX_MANIFEST_RANGES) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "segments[].rowIdRanges", expected: `at most ${MAX_MANIFEST_RANGES} row-id ranges in all`, given: ranges });
  const planRanges = checkPlan(plan);
  const own: SegmentProblem[][] = segments.map((d, i) => descriptorProblems(d, i));
  const ok = segments.filter((_, i) => own[i]!.length === 0);
  // File checks only for descriptors that are themselves well-formed.
  const fileProblems: SegmentProblem[][] = segments.map(() => []);
  const facts: (FileFacts | undefined)[] = new Array(segments.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < segments.length) {
      const i = next++;
      if (own[i]!.length === 0) facts[i] = await readFacts(store, segments[i]!, fileProblems[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, segments.length) }, worker));
  // Cross-segment file rules, against the plan's model or else the majority (so the odd one out is blamed).
  const readable = facts.map((f, i) => ({ f, i })).filter((x): x is { f: FileFacts; i: number } => x.f !== undefined);
  if (readable.length > 0) {
    const wantDigest = plan?.modelDigest ?? majority(readable.map((x) => x.f.digest));
    const ref = (readable.find((x) => x.f.digest === wantDigest) ?? readable[0]!).f.state;
    const refShape = quantizerShape(ref);
    for (const { f, i } of readable) {
      const d = segments[i]!;
      const who = { shard: d.shard, segmentId: d.segmentId };
      const m = f.state.metadata;
      const list = fileProblems[i]!;
      if (m.dim !== ref.metadata.dim) list.push({ ...who, code: "SEGMENT_DIM_MISMATCH", message: `dim ${m.dim}, the other segments ${ref.metadata.dim}` });
      else if (m.distance !== ref.metadata.distance) list.push({ ...who, code: "SEGMENT_METRIC_MISMATCH", message: `distance ${m.distance}, the other segments ${ref.metadata.distance}` });
      else if (quantizerShape(f.state) !== refShape) {
        list.push({ ...who, code: "SEGMENT_QUANTIZER_MISMATCH", message: `quantizer ${m.quantizer.kind} ${JSON.stringify(m.quantizer.params)} (code width ${m.quantizer.codeWidth}, raw vectors ${m.rawVectors}, ${m.numPartitions} partitions) differs from the other segments' ${ref.metadata.quantizer.kind} ${JSON.stringify(ref.metadata.quantizer.params)} (code width ${ref.metadata.quantizer.codeWidth}, raw vectors ${ref.metadata.rawVectors}, ${ref.metadata.numPartitions} partitions)` });
      } else if (f.digest !== wantDigest) list.push({ ...who, code: "SEGMENT_MODEL_MISMATCH", message: `centroids or quantizer arrays differ from ${plan?.modelDigest === undefined ? "the other segments'" : "the plan's model"} (model digests differ)` });
    }
  }
  const perSegment = segments.flatMap((_, i) => [...own[i]!, ...fileProblems[i]!]);
  // A model mismatch already reported from the file is not reported again from the descriptor.
  const blamed = new Set(perSegment.filter((p) => p.code !== "SEGMENT_BAD_DESCRIPTOR").map((p) => `${p.segmentId}`));
  const set = setProblems(ok, plan, planRanges).filter((p) => !(p.code === "SEGMENT_MODEL_MISMATCH" && blamed.has(`${p.segmentId}`)));
  return [...perSegment, ...set];
}

/**
 * Every rule of spec/segments.md#validation over a segment set: each descriptor well-formed and
 * agreeing with its file (identity, size, rows, model digest); the same dims, metric, quantizer
 * and model digest everywhere; unique segment ids and paths; no empty segment; one input
 * version; disjoint rows, and (with a plan) exactly the planned rows. Throws a QuiverSegmentError
 * whose code and shard are the first problem's and which lists them all. Reads only segment
 * headers/metadata (never every row id).
 */
export async function validateSegments(store: ObjectStore, segments: readonly SegmentDescriptor[], plan?: SegmentPlan): Promise<void> {
  const problems = await checkSegments(store, segments, plan);
  if (problems.length > 0) throw new QuiverSegmentError(problems);
}
