/**
 * @quiver/build: the reference IVF build pipeline. Streaming readers of users' files (npy, fvecs,
 * bvecs, Arrow IPC, Parquet), resumable phases committed to the store (sample -> train IVF ->
 * train quantizer -> assign + encode -> partition artifact -> finalize), the trained-model file
 * (spec/model.md) and the streamed index write. Implements model spec 1.0 over container spec 1.0;
 * writes IVF index spec 1.0 and partition artifact spec 1.0.
 */
export { buildIndex, BUILD_PHASES, BUILD_ERROR_CODES } from "./pipeline.js";
export type { BuildIndexOptions, BuildIndexResult, BuildMemoryStats, BuildPhase, BuildProgressEvent, InMemoryInput, PhaseReport } from "./pipeline.js";
export { buildIndexInMemory } from "./in-memory.js";
export type { InMemoryBuildOptions, InMemoryBuildResult } from "./in-memory.js";
export {
  DISTANCE_TYPES,
  QUANTIZERS,
  TARGET_PARTITION_SIZE,
  MAX_DEFAULT_PARTITIONS,
  DEFAULT_MEMORY_BUDGET_BYTES,
  MIN_MEMORY_BUDGET_BYTES,
  DEFAULT_QUANTIZER_SAMPLE,
  DEFAULT_IVF_MAX_ITERATIONS,
  defaultNumPartitions,
  resolveTuning,
  checkTuning,
  parseByteSize,
} from "./options.js";
export type { BuildTuning, ResolvedTuning } from "./options.js";
export { encodeModelFile, decodeModelFile, MODEL_KIND, MODEL_KIND_VERSION, MODEL_TYPE_NAME, MODEL_SECTION, MODEL_LIMITS } from "./model-file.js";
export type { IvfTrainedModel } from "./model-file.js";
export { writeIvfIndexStreamed } from "./streamed-index.js";
export { reservoirSample } from "./sample.js";
export type { ReservoirSample } from "./sample.js";
export { openVectorFile, INPUT_EXTENSIONS } from "./open-input.js";
export type { OpenVectorFileOptions } from "./open-input.js";
export { openNpy, openNpyFromBytes, readNpyHeaderFromBytes, encodeNpy, encodeNpyF32, MAX_NPY_HEADER_BYTES } from "./readers/npy.js";
export type { NpyHeader } from "./readers/npy.js";
export { openVecs, encodeFvecs, encodeBvecs } from "./readers/vecs.js";
export { memoryReader } from "./readers/memory.js";
export { arrowTableReader } from "./readers/arrow-table.js";
export type { VectorReader, VectorBatch } from "./readers/types.js";
export { QuiverInputError, INPUT_ERROR_CODES } from "./errors.js";
export type { InputErrorCode, InputLocation } from "./errors.js";
export { trainModel, finalizeFromArtifact, ArtifactInvalidError } from "./handoff.js";
export type { TrainModelOptions, FinalizeOptions } from "./handoff.js";
export { openArrowIpc, MAX_ARROW_METADATA_BYTES, MAX_ARROW_FIELDS } from "./readers/arrow.js";
export { openParquet, MAX_PARQUET_FOOTER_BYTES } from "./readers/parquet.js";
export { rowRangeReader, openVectorFileRange, planRowRanges } from "./readers/row-range.js";
export type { RowRange } from "./readers/row-range.js";
