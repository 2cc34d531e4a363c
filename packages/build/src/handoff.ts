/**
 * The hand-off entry points for external engines: `trainModel` (sample + train, writes nothing but
 * returns the model for a model file) and `finalizeFromArtifact` (an artifact written by anyone,
 * plus a model, validated first, finalized into an index with the streamed write).
 */
import { type ArtifactProblem, type OrderedReadCost, PartitionArtifactReader, type PartitionSource, type PartitionsInOrderOptions, validateArtifact } from "@quiver/artifact";
import { QuiverArgumentError, QuiverFormatError, checkOptions } from "@quiver/format";
import { type IvfIndexWriteResult, type QuantizerMetadata, quantizerFromMetadata, trainIvfModelParallel, trainQuantizerParallel } from "@quiver/ivf";
import type { ObjectStore } from "@quiver/store";
import { type IvfTrainedModel, decodeModelFile } from "./model-file.js";
import { type OpenVectorFileOptions, openVectorFile } from "./open-input.js";
import { type BuildTuning, type ResolvedTuning, TUNING_OPTIONS, checkTuning, resolveTuning } from "./options.js";
import { memoryReader } from "./readers/memory.js";
import type { VectorReader } from "./readers/types.js";
import { reservoirSample, sampleBatchRows } from "./sample.js";
import { writeIvfIndexStreamed } from "./streamed-index.js";

/** Options of {@link trainModel}. */
export interface TrainModelOptions extends BuildTuning, OpenVectorFileOptions {
  readonly input: string | VectorReader | { readonly vectors: Float32Array; readonly dim: number };
  readonly onProgress?: (phase: "sample" | "train-ivf" | "train-quantizer", done: number, total: number | undefined) => void;
}

/** Sample the input in one pass and train the IVF centroids and the quantizer: the model file's content. */
export async function trainModel(o: TrainModelOptions): Promise<{ model: IvfTrainedModel & { quantizer: QuantizerMetadata }; options: ResolvedTuning; sampleRows: number }> {
  checkOptions("options", o, [...TUNING_OPTIONS, "input", "onProgress", "column", "idColumn", "idsFile"]);
  checkTuning(o);
  const reader =
    typeof o.input === "string" ? await openVectorFile(o.input, o) : "batches" in o.input ? o.input : memoryReader(o.input.vectors, o.input.dim);
  try {
    let numRows = reader.numRows;
    if (numRows === undefined) {
      numRows = 0;
      for await (const b of reader.batches(65_536)) numRows += b.rows;
    }
    const dim = reader.dim;
    const t = resolveTuning(o, numRows, dim);
    const threads = t.threads === undefined ? {} : { threads: t.threads };
    const size = Math.min(numRows, Math.max(t.numPartitions * t.sampleRate, t.quantizerSampleSize));
    const s = await reservoirSample(reader, size, t.seed, sampleBatchRows(dim), (seen) => o.onProgress?.("sample", seen, numRows), numRows);
    o.onProgress?.("train-ivf", 0, 1);
    const ivf = await trainIvfModelParallel(s.vectors, s.rows, dim, { numPartitions: t.numPartitions, distance: t.distanceType, seed: t.seed, sampleRate: t.sampleRate, maxIters: t.ivfMaxIterations, ...threads });
    o.onProgress?.("train-quantizer", 0, 1);
    const q = await trainQuantizerParallel(t.quantizer, s.vectors, s.rows, dim, {
      ...threads, distance: t.distanceType, seed: t.seed, ivfCentroids: ivf.centroids, numPartitions: t.numPartitions,
      sampleSize: t.quantizerSampleSize, numSubVectors: t.numSubVectors, maxIters: t.maxIterations,
    });
    return { model: { dim, distance: t.distanceType, numPartitions: t.numPartitions, centroids: ivf.centroids, quantizer: q.metadata }, options: t, sampleRows: s.rows };
  } finally {
    await reader.close();
  }
}

/** An artifact that failed validation before finalize: every problem found. */
export class ArtifactInvalidError extends QuiverFormatError {
  readonly problems: readonly ArtifactProblem[];
  constructor(uri: string, problems: readonly ArtifactProblem[]) {
    const first = problems[0]!;
    super(first.code, `artifact ${uri} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}; first: ${first.message})`, { stage: "finalize" });
    this.problems = problems;
  }
}

/**
 * Open a committed artifact as the finalize step's partition source: partitions 0..P-1 served from
 * the reader's bulk ordered read (few large coalesced requests, fetched bytes held at once bounded
 * by `maxBufferedBytes`, default 64 MiB) instead of one read per partition. What the pipeline's
 * finalize phase and {@link finalizeFromArtifact} pass to the streamed index writer.
 */
export async function openArtifactForFinalize(
  store: ObjectStore,
  uri: string,
  options: Omit<PartitionsInOrderOptions, "order"> = {},
): Promise<PartitionSource & { readonly reader: PartitionArtifactReader; readonly cost: OrderedReadCost }> {
  checkOptions("options", options, ["maxRequestBytes", "maxBufferedBytes", "maxConcurrentRequests", "coalesceGap", "splitPartitions", "reuseBuffers"]);
  const reader = await PartitionArtifactReader.open(store, uri);
  const source = reader.sequentialSource(options);
  return Object.assign(source, { reader });
}

/** Options of {@link finalizeFromArtifact}. */
export interface FinalizeOptions {
  /** Store holding the artifact. */
  readonly store: ObjectStore;
  /** Artifact prefix in `store`. */
  readonly artifact: string;
  /** The model the artifact was encoded with (object or model-file bytes; must hold the quantizer). */
  readonly model: IvfTrainedModel | Uint8Array;
  /** Where the index goes (default: `store`). */
  readonly outStore?: ObjectStore;
  readonly path: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Spill-file directory of the streamed index write on a store other than a local directory (default: the OS temp dir). */
  readonly tempDir?: string;
}

/**
 * Validate an artifact (every bucket, range and CRC), check its payload against the model
 * (`row_id` uint64, `code` fixed_size_list<uint8>[codeWidth], optional `vector`
 * fixed_size_list<float32>[dim]; as many partitions as centroids), then finalize it into an index.
 */
export async function finalizeFromArtifact(o: FinalizeOptions): Promise<IvfIndexWriteResult & { peakPartitionBytes: number }> {
  checkOptions("options", o, ["store", "artifact", "model", "outStore", "path", "onProgress", "tempDir"]);
  if (typeof o.path !== "string" || o.path === "") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.path", expected: "an object path", given: o.path });
  const model = o.model instanceof Uint8Array ? decodeModelFile(o.model) : o.model;
  if (model.quantizer === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.model", expected: "a model with a trained quantizer", given: "a model with centroids only" });
  const quantizer = quantizerFromMetadata(model.quantizer);
  const problems = await validateArtifact(o.store, o.artifact);
  if (problems.length > 0) throw new ArtifactInvalidError(o.artifact, problems);
  // large partitions come in pieces: the read holds bounded windows whatever the partition sizes;
  // the streamed writer is done with a piece when it asks for the next, so read buffers are recycled
  const source = await openArtifactForFinalize(o.store, o.artifact, { splitPartitions: true, reuseBuffers: true });
  const fields = source.reader.manifest.payload_schema;
  const want = [
    { name: "row_id", type: "uint64" },
    { name: "code", type: `fixed_size_list<uint8>[${quantizer.codeWidth}]` },
  ];
  const withVectors = fields.length === 3;
  if (withVectors) want.push({ name: "vector", type: `fixed_size_list<float32>[${model.dim}]` });
  const got = fields.map((f) => `${f.name}:${f.type}`).join(", ");
  if (got !== want.map((f) => `${f.name}:${f.type}`).join(", ")) {
    throw new QuiverFormatError("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH", `artifact payload is (${got}); the model's quantizer needs (${want.map((f) => `${f.name}:${f.type}`).join(", ")})`, { stage: "finalize" });
  }
  if (source.numPartitions !== model.numPartitions) {
    throw new QuiverFormatError("SCHEMA_VIOLATION", `artifact has ${source.numPartitions} partitions, the model ${model.numPartitions} centroids`, { stage: "finalize" });
  }
  return writeIvfIndexStreamed(o.outStore ?? o.store, o.path, { dim: model.dim, distance: model.distance, centroids: model.centroids, quantizer: model.quantizer, codeWidth: quantizer.codeWidth, source }, o.onProgress, o.tempDir === undefined ? {} : { tempDir: o.tempDir });
}
