/**
 * The reference build pipeline: sample -> train IVF -> train quantizer -> assign + encode (worker
 * pool) -> partition artifact -> finalize (streamed index write). Each phase commits its output to
 * the store under the state prefix (`<path>.build/` by default) before the next starts, so a build
 * killed at any point resumes from the last committed phase (`resume: true`) and gives the same
 * index: every phase is a deterministic function of the input, the options and the committed
 * outputs before it.
 *
 * State objects: job.json (the input fingerprint and resolved options; written first),
 * sample.npy, ivf.model (centroids only), model.qvm (centroids + quantizer), artifact/ (its
 * manifest is its commit). After the index is committed the state prefix is deleted (unless
 * `keepState`); a build that is not resumed deletes a stale state prefix before starting.
 */
import { PartitionArtifactReader, PartitionArtifactWriter, payloadSchemaOf, readManifest } from "@quiver/artifact";
import { QuiverArgumentError, QuiverFormatError, checkOptions, crc32, isQuiverFormatError } from "@quiver/format";
import {
  type DistanceType,
  type IvfIndexWriteResult,
  type QuantizerMetadata,
  type ComputePool,
  type TrainedQuantizer,
  createComputePool,
  encodeAndAssignParallel,
  prepareRows,
  quantizerFromMetadata,
  trainIvfModelParallel,
  trainQuantizerParallel,
} from "@quiver/ivf";
import { type ObjectStore, getIfExists, isStoreError } from "@quiver/store";
import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { type IvfTrainedModel, decodeModelFile, encodeModelFile } from "./model-file.js";
import { type OpenVectorFileOptions, openVectorFile } from "./open-input.js";
import { arrowTableReader, isArrowTable } from "./readers/arrow-table.js";
import type { Table } from "apache-arrow";
import { type BuildTuning, type ResolvedTuning, TUNING_OPTIONS, checkTuning, resolveTuning } from "./options.js";
import { openNpyFromBytes } from "./readers/npy.js";
import { memoryReader } from "./readers/memory.js";
import type { VectorReader } from "./readers/types.js";
import { reservoirSample, sampleBatchRows } from "./sample.js";
import { writeIvfIndexStreamed } from "./streamed-index.js";

/** Phases of a build, in order. */
export const BUILD_PHASES = ["sample", "train-ivf", "train-quantizer", "assign-encode", "finalize"] as const;
/** A phase of a build. */
export type BuildPhase = (typeof BUILD_PHASES)[number];

/** Progress of a phase: `done` of `total` units (rows, or partitions when finalizing). */
export interface BuildProgressEvent {
  readonly phase: BuildPhase;
  readonly done: number;
  readonly total: number | undefined;
}

/** An in-memory input: rows x dim values, row-major, and optional user ids. */
export interface InMemoryInput {
  readonly vectors: Float32Array;
  readonly dim: number;
  readonly ids?: BigUint64Array;
}

/** Options of {@link buildIndex}. */
export interface BuildIndexOptions extends BuildTuning, OpenVectorFileOptions {
  /** A file path (npy, fvecs, bvecs, Arrow IPC, Parquet), an open reader, or vectors in memory. */
  readonly input: string | VectorReader | InMemoryInput | Table;
  readonly store: ObjectStore;
  /** Object path of the index. */
  readonly path: string;
  /** A pre-trained model (or model file bytes): its centroids (and quantizer, when present) are used instead of training. */
  readonly model?: IvfTrainedModel | Uint8Array;
  /** Precomputed partition of each row (row order), e.g. from a GPU; needs `model`. */
  readonly partitionAssignments?: Uint32Array;
  /** Resume from the committed phases of an earlier run with the same input and options (default false: start over). */
  readonly resume?: boolean;
  /** Where phase outputs are committed (default `<path>.build`). */
  readonly stateDir?: string;
  /** Keep the phase outputs after the index is committed (default false). */
  readonly keepState?: boolean;
  /**
   * Local directory of the finalize's spill file when `store` is not a local directory (default:
   * the OS temp dir): the index is written there in one pass, then streamed to the store. It needs
   * room for the whole index; see writeIvfIndexStreamed for how spill files are reclaimed.
   */
  readonly tempDir?: string;
  readonly onProgress?: (e: BuildProgressEvent) => void;
  /** Called after each phase's output is committed (tests kill the process here). */
  readonly onPhaseCommitted?: (phase: BuildPhase) => void | Promise<void>;
}

/** One phase of a finished build. */
export interface PhaseReport {
  readonly phase: BuildPhase;
  readonly ms: number;
  /** "ran", "resumed" (output found committed) or "skipped" (a given model made it unnecessary). */
  readonly status: "ran" | "resumed" | "skipped";
}

/** What {@link buildIndex} returns. */
export interface BuildIndexResult extends IvfIndexWriteResult {
  readonly model: IvfTrainedModel & { readonly quantizer: QuantizerMetadata };
  readonly options: ResolvedTuning;
  readonly phases: readonly PhaseReport[];
  readonly totalMs: number;
  /** Largest single batch (a partition, or a piece of one) held by the streamed write, in bytes. */
  readonly peakPartitionBytes: number;
  /** What the build held, phase by phase: the structures the memory budget bounds (see the README's memory section). */
  readonly memory: BuildMemoryStats;
}

/**
 * The budgeted structures of a build and their sizes. Everything the pipeline buffers is one of
 * these; none grows with the number of rows (only with the options: budget, dim, partitions, sample).
 */
export interface BuildMemoryStats {
  readonly budgetBytes: number;
  /** The sample held by the training phases (rows x dim x 4; set by the sample size, not the budget). */
  readonly sampleBytes: number;
  /** Rows per assign + encode batch (budget / 4 over the batch's bytes per row). */
  readonly assignBatchRows: number;
  /** Bytes the artifact writer may hold (budget / 4), its buckets and rows per bucket buffer (undefined when the phase was resumed). */
  readonly artifactWriterBudgetBytes: number;
  readonly artifactBuckets: number | undefined;
  readonly artifactFlushThresholdRows: number | undefined;
  /** Finalize: fetched artifact bytes allowed at once (budget / 4) and the most held. */
  readonly finalizeMaxBufferedBytes: number;
  readonly finalizePeakBufferedBytes: number;
  /** Finalize: largest decoded piece of a partition the reader yielded. */
  readonly finalizePeakPieceBytes: number;
  /** Finalize: bytes of the largest partition (ids, codes, raw vectors), which is never held whole on a local directory. */
  readonly largestPartitionBytes: number;
}

/** Codes the pipeline raises besides input errors (spec/error-codes.csv, area `build`). */
export const BUILD_ERROR_CODES = ["BUILD_RESUME_MISMATCH"] as const;

const OPTION_NAMES = [
  ...TUNING_OPTIONS, "input", "store", "path", "model", "partitionAssignments", "resume", "stateDir", "keepState", "tempDir",
  "onProgress", "onPhaseCommitted", "column", "idColumn", "idsFile",
] as const;

/** Rows per batch of the counting and sampling passes. */
const SCAN_BATCH_ROWS = 65_536;

const STATE = { job: "job.json", sample: "sample.npy", ivf: "ivf.model", model: "model.qvm", artifact: "artifact" } as const;

/** Build an IVF index from a file, a reader or in-memory vectors, through the resumable phases. */
export async function buildIndex(options: BuildIndexOptions): Promise<BuildIndexResult> {
  checkOptions("options", options, OPTION_NAMES);
  if (options === undefined || options === null) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options", expected: "an options object", given: options });
  checkTuning(options);
  if (typeof options.path !== "string" || options.path === "") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.path", expected: "an object path", given: options.path });
  if (typeof options.store !== "object" || options.store === null || typeof options.store.put !== "function") {
    throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.store", expected: "an ObjectStore", given: options.store });
  }
  if (options.tempDir !== undefined && (typeof options.tempDir !== "string" || options.tempDir === "")) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.tempDir", expected: "a directory path", given: options.tempDir });
  }
  if (options.partitionAssignments !== undefined && !(options.partitionAssignments instanceof Uint32Array)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.partitionAssignments", expected: "a Uint32Array", given: options.partitionAssignments });
  }
  if (options.partitionAssignments !== undefined && options.model === undefined) {
    throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options.model", expected: "a trained model (precomputed assignments refer to its centroids)", given: undefined });
  }
  // a missing spill directory would otherwise fail the build at its last phase, after the training
  if (options.tempDir !== undefined && !(await stat(options.tempDir).then((st) => st.isDirectory(), () => false))) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.tempDir", expected: "an existing directory", given: options.tempDir });
  }
  const given = options.model === undefined ? undefined : options.model instanceof Uint8Array ? decodeModelFile(options.model) : options.model;
  const reader = await openInput(options);
  try {
    return await runPipeline(options, reader, given);
  } finally {
    await reader.close();
  }
}

async function openInput(o: BuildIndexOptions): Promise<VectorReader> {
  const input = o.input;
  if (typeof input === "string") return openVectorFile(input, o);
  if (isArrowTable(input)) return arrowTableReader(input, { ...(o.column === undefined ? {} : { column: o.column }), ...(o.idColumn === undefined ? {} : { idColumn: o.idColumn }) });
  if (typeof input === "object" && input !== null && "batches" in input && typeof input.batches === "function") return input;
  if (typeof input === "object" && input !== null && "vectors" in input && input.vectors instanceof Float32Array) {
    const dim = input.dim;
    if (!Number.isInteger(dim) || dim < 1 || dim > 65_536 || input.vectors.length % dim !== 0) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.input.dim", expected: `an integer in [1, 65536] dividing ${input.vectors.length}`, given: dim });
    }
    if (input.ids !== undefined && (!(input.ids instanceof BigUint64Array) || input.ids.length !== input.vectors.length / dim)) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.input.ids", expected: `a BigUint64Array of ${input.vectors.length / dim} ids`, given: input.ids });
    }
    return memoryReader(input.vectors, dim, input.ids);
  }
  throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.input", expected: "a file path, an Arrow Table, a VectorReader or { vectors: Float32Array, dim }", given: input });
}

async function countRows(reader: VectorReader, batch: number): Promise<number> {
  let n = 0;
  for await (const b of reader.batches(batch)) n += b.rows;
  return n;
}

function joinPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, "")}/${name}`;
}


async function deletePrefix(store: ObjectStore, prefix: string): Promise<void> {
  for (const m of await store.list(`${prefix.replace(/\/+$/, "")}/`)) await store.delete(m.path);
}

async function runPipeline(o: BuildIndexOptions, reader: VectorReader, given: IvfTrainedModel | undefined): Promise<BuildIndexResult> {
  const t0 = performance.now();
  const { store, dim } = { store: o.store, dim: reader.dim };
  const scanBatch = SCAN_BATCH_ROWS;
  const numRows = reader.numRows ?? (await countRows(reader, scanBatch));
  if (numRows < 1) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.input", expected: "at least one row", given: numRows });
  if (given !== undefined) {
    if (given.dim !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.model", expected: `a model of dim ${dim} (the input's)`, given: `dim ${given.dim}` });
    if (o.distanceType !== undefined && o.distanceType !== given.distance) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.distanceType", expected: `the model's distance ${given.distance}`, given: o.distanceType });
    if (o.numPartitions !== undefined && o.numPartitions !== given.numPartitions) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.numPartitions", expected: `the model's ${given.numPartitions}`, given: o.numPartitions });
    if (given.quantizer !== undefined && o.quantizer !== undefined && o.quantizer !== given.quantizer.kind) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.quantizer", expected: `the model's ${given.quantizer.kind}`, given: o.quantizer });
  }
  const tuning = resolveTuning(
    given === undefined ? o : { ...o, distanceType: given.distance, numPartitions: given.numPartitions, ...(given.quantizer === undefined ? {} : { quantizer: given.quantizer.kind }) },
    numRows,
    dim,
  );
  if (o.partitionAssignments !== undefined && o.partitionAssignments.length !== numRows) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.partitionAssignments", expected: `${numRows} entries (one per row)`, given: o.partitionAssignments });
  }
  const stateDir = o.stateDir ?? `${o.path}.build`;
  // one persistent worker pool for every parallel phase: its threads load while the sample pass
  // runs, and no batch pays a thread start (that also kept RSS growing with the batch count)
  // with two threads or more, one spare worker: assign + encode of batch i + 1 runs on every
  // worker while this thread writes batch i to the artifact and reads batch i + 2 (the
  // training phases, which this thread shares, use the others)
  const threadCount = tuning.threads ?? availableParallelism();
  const pool = threadCount > 1 ? createComputePool(threadCount, undefined, 1) : createComputePool(0);
  try {
    return await runPhases(o, reader, given, tuning, numRows, stateDir, pool, t0);
  } finally {
    await pool.close();
  }
}

async function runPhases(
  o: BuildIndexOptions, reader: VectorReader, given: IvfTrainedModel | undefined, tuning: ResolvedTuning, numRows: number,
  stateDir: string, pool: ComputePool, t0: number,
): Promise<BuildIndexResult> {
  const { store, dim } = { store: o.store, dim: reader.dim };
  const threads = { pool };
  const job = {
    version: 1,
    input: { file: reader.file, format: reader.format, dim, numRows, column: reader.column, hasIds: reader.hasIds },
    tuning: { ...tuning, threads: undefined, memoryBudgetBytes: undefined },
    model: o.model === undefined ? null : crc32(encodeModelFile(given!)),
    assignments: o.partitionAssignments === undefined ? null : crc32(new Uint8Array(o.partitionAssignments.buffer, o.partitionAssignments.byteOffset, o.partitionAssignments.byteLength)),
  };
  const jobBytes = new TextEncoder().encode(JSON.stringify(job));
  const jobPath = joinPath(stateDir, STATE.job);
  const previous = o.resume === true ? await getIfExists(store, jobPath) : undefined;
  if (previous !== undefined && new TextDecoder().decode(previous) !== new TextDecoder().decode(jobBytes)) {
    throw new QuiverFormatError("BUILD_RESUME_MISMATCH", `the committed state at ${stateDir} is of another input or other options; build without resume to start over`, { stage: "build" });
  }
  if (previous === undefined) {
    await deletePrefix(store, stateDir);
    await store.put(jobPath, jobBytes);
  }
  const phases: PhaseReport[] = [];
  const progress = (phase: BuildPhase, done: number, total: number | undefined): void => o.onProgress?.({ phase, done, total });
  const committed = async (phase: BuildPhase, t: number, status: PhaseReport["status"]): Promise<void> => {
    phases.push({ phase, ms: performance.now() - t, status });
    if (status === "ran") await o.onPhaseCommitted?.(phase);
  };
  const resumeBytes = async (name: string): Promise<Uint8Array | undefined> => (o.resume === true ? getIfExists(store, joinPath(stateDir, name)) : undefined);
  const budget = tuning.memoryBudgetBytes;

  // --- phase: sample -------------------------------------------------------------------------
  const needIvf = given === undefined;
  const needQuantizer = given?.quantizer === undefined;
  const sampleSize = Math.min(numRows, Math.max(needIvf ? tuning.numPartitions * tuning.sampleRate : 0, needQuantizer ? tuning.quantizerSampleSize : 0));
  let sample: { vectors: Float32Array; rows: number } | undefined;
  let samplePut: Promise<void> | undefined;
  let t = performance.now();
  if (!needIvf && !needQuantizer) await committed("sample", t, "skipped");
  else {
    const prior = await resumeBytes(STATE.sample);
    if (prior !== undefined) {
      sample = await readSampleNpy(store, joinPath(stateDir, STATE.sample), dim);
      await committed("sample", t, "resumed");
    } else {
      progress("sample", 0, numRows);
      const s = await reservoirSample(reader, sampleSize, tuning.seed, sampleBatchRows(dim), (seen) => progress("sample", seen, numRows), numRows);
      sample = s;
      // the sample's commit (a 128 MiB write at 1M x 128) runs while the IVF trains on it (nothing
      // writes the sample); it is awaited before any later phase commits, so the committed state
      // is still a prefix of the phases. The phase's time is the pass; the write overlaps the next.
      phases.push({ phase: "sample", ms: performance.now() - t, status: "ran" });
      const put = (async () => {
        await store.put(joinPath(stateDir, STATE.sample), s.npy);
        await o.onPhaseCommitted?.("sample");
      })();
      put.catch(() => undefined);
      samplePut = put;
    }
  }
  const sampleCommitted = async (): Promise<void> => {
    const p = samplePut;
    samplePut = undefined;
    if (p !== undefined) await p;
  };

  // --- phase: train IVF ----------------------------------------------------------------------
  t = performance.now();
  let centroids: Float32Array;
  if (!needIvf) {
    centroids = given!.centroids;
    await committed("train-ivf", t, "skipped");
  } else {
    const prior = await resumeBytes(STATE.ivf);
    if (prior !== undefined) {
      centroids = decodeModelFile(prior).centroids;
      await committed("train-ivf", t, "resumed");
    } else {
      progress("train-ivf", 0, 1);
      const m = await trainIvfModelParallel(sample!.vectors, sample!.rows, dim, {
        numPartitions: tuning.numPartitions, distance: tuning.distanceType, seed: tuning.seed, sampleRate: tuning.sampleRate, maxIters: tuning.ivfMaxIterations, ...threads,
      });
      centroids = m.centroids;
      await sampleCommitted();
      await store.put(joinPath(stateDir, STATE.ivf), encodeModelFile({ dim, distance: tuning.distanceType, numPartitions: tuning.numPartitions, centroids }));
      progress("train-ivf", 1, 1);
      await committed("train-ivf", t, "ran");
    }
  }

  // --- phase: train quantizer ----------------------------------------------------------------
  await sampleCommitted();
  t = performance.now();
  let quantizer: TrainedQuantizer;
  if (!needQuantizer) {
    quantizer = quantizerFromMetadata(given!.quantizer!);
    await committed("train-quantizer", t, "skipped");
  } else {
    const prior = await resumeBytes(STATE.model);
    if (prior !== undefined) {
      quantizer = quantizerFromMetadata(decodeModelFile(prior).quantizer!);
      await committed("train-quantizer", t, "resumed");
    } else {
      progress("train-quantizer", 0, 1);
      quantizer = await trainQuantizerParallel(tuning.quantizer, sample!.vectors, sample!.rows, dim, {
        ...threads, distance: tuning.distanceType, seed: tuning.seed, ivfCentroids: centroids, numPartitions: tuning.numPartitions,
        sampleSize: tuning.quantizerSampleSize, numSubVectors: tuning.numSubVectors, maxIters: tuning.maxIterations,
      });
      await store.put(joinPath(stateDir, STATE.model), encodeModelFile({ dim, distance: tuning.distanceType, numPartitions: tuning.numPartitions, centroids, quantizer: quantizer.metadata }));
      progress("train-quantizer", 1, 1);
      await committed("train-quantizer", t, "ran");
    }
  }
  sample = undefined;
  const model = { dim, distance: tuning.distanceType, numPartitions: tuning.numPartitions, centroids, quantizer: quantizer.metadata };

  // --- phase: assign + encode -> partition artifact --------------------------------------------
  t = performance.now();
  const artifactUri = joinPath(stateDir, STATE.artifact);
  const cw = quantizer.codeWidth;
  let artifactDone = false;
  if (o.resume === true) {
    try {
      await readManifest(store, artifactUri);
      artifactDone = true;
    } catch (e) {
      if (!isQuiverFormatError(e) && !isStoreError(e)) throw e;
    }
  }
  // Two batches are in flight (one computing, one being written): each holds the reader's rows,
  // a shared copy for the workers, codes and ids; about 4x raw.
  const overlap = pool.size > pool.sharedSize && o.partitionAssignments === undefined;
  const rowBytes = overlap ? dim * 4 * 4 + cw * 3 + 24 : dim * 4 * 3 + cw * 2 + 16;
  const batch = Math.max(4096, Math.min(1 << 20, Math.floor(budget / 4 / rowBytes)));
  const writerBudget = Math.floor(budget / 4);
  let writerStats: { numBuckets: number; flushThresholdRows: number } | undefined;
  if (artifactDone) await committed("assign-encode", t, "resumed");
  else {
    await deletePrefix(store, artifactUri);
    const fields = [
      { name: "row_id", type: "uint64" },
      { name: "code", type: `fixed_size_list<uint8>[${cw}]` },
      ...(tuning.storeRawVectors ? [{ name: "vector", type: `fixed_size_list<float32>[${dim}]` }] : []),
    ];
    const writer = await PartitionArtifactWriter.create({
      store, uri: artifactUri, numPartitions: tuning.numPartitions, payloadSchema: payloadSchemaOf(fields), estimatedRows: numRows,
      memoryBudgetBytes: writerBudget,
    });
    writerStats = { numBuckets: writer.numBuckets, flushThresholdRows: writer.flushThresholdRows };
    progress("assign-encode", 0, numRows);
    let done = 0;
    // implicit row ids go through one reused buffer: the writer holds no input after appendRows resolves
    let idScratch = new BigUint64Array(0);
    const append = async (rows: number, firstRow: number, ids: BigUint64Array | undefined, vectors: Float32Array, partitions: Uint32Array, codes: Uint8Array): Promise<void> => {
      if (ids === undefined && idScratch.length < rows) idScratch = new BigUint64Array(rows);
      const rowIds = ids ?? implicitIds(firstRow, rows, idScratch);
      const cols = [new Uint8Array(rowIds.buffer, rowIds.byteOffset, rowIds.byteLength), codes];
      if (tuning.storeRawVectors) cols.push(new Uint8Array(vectors.buffer, vectors.byteOffset, rows * dim * 4));
      await writer.appendRows(partitions, cols);
      done += rows;
      progress("assign-encode", done, numRows);
    };
    try {
      if (overlap) {
        // two shared input buffers, alternating: batch i's stays intact (its raw vectors are
        // written from it) while batch i + 1 is copied into the other and computed
        const shared = [new Float32Array(new SharedArrayBuffer(batch * dim * 4)), new Float32Array(new SharedArrayBuffer(batch * dim * 4))];
        type InFlight = { rows: number; firstRow: number; ids: BigUint64Array | undefined; vectors: Float32Array; job: ReturnType<typeof encodeAndAssignParallel> };
        let inFlight: InFlight | undefined;
        let turn = 0;
        const finish = async (f: InFlight): Promise<void> => {
          const r = await f.job;
          await append(f.rows, f.firstRow, f.ids, f.vectors, r.partitions, r.codes);
        };
        // scanBatches: the reader's own buffers are reused (each batch is copied out below before
        // the next is asked for), so no fresh array per batch whose external memory sets off collections
        for await (const b of reader.scanBatches?.(batch) ?? reader.batches(batch)) {
          const vectors = shared[turn]!.subarray(0, b.rows * dim);
          turn ^= 1;
          vectors.set(b.vectors.subarray(0, b.rows * dim));
          // the reader may reuse its batch buffers: ids are copied too
          const ids = b.ids?.slice();
          // the workers are free once the previous batch's job has resolved
          const prev = inFlight;
          const prevResult = prev === undefined ? undefined : await prev.job;
          const job = encodeAndAssignParallel({ vectors, n: b.rows, dim, centroids, k: tuning.numPartitions, distance: tuning.distanceType, quantizer, pool, useMainThread: false });
          // a rejected job is awaited (and thrown) by the next turn or after the loop
          job.catch(() => undefined);
          inFlight = { rows: b.rows, firstRow: b.firstRow, ids, vectors, job };
          if (prev !== undefined) await append(prev.rows, prev.firstRow, prev.ids, prev.vectors, prevResult!.partitions, prevResult!.codes);
        }
        if (inFlight !== undefined) await finish(inFlight);
      } else {
        for await (const b of reader.batches(batch)) {
          let partitions: Uint32Array;
          let codes: Uint8Array;
          if (o.partitionAssignments !== undefined) {
            partitions = o.partitionAssignments.subarray(b.firstRow, b.firstRow + b.rows);
            for (let i = 0; i < b.rows; i++) {
              if (partitions[i]! >= tuning.numPartitions) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `options.partitionAssignments[${b.firstRow + i}]`, expected: `a partition in [0, ${tuning.numPartitions})`, given: partitions[i] });
            }
            codes = encodeWithAssignments(quantizer, b.vectors, b.rows, dim, tuning.distanceType, centroids, partitions);
          } else {
            const r = await encodeAndAssignParallel({ vectors: b.vectors, n: b.rows, dim, centroids, k: tuning.numPartitions, distance: tuning.distanceType, quantizer, ...threads });
            partitions = r.partitions;
            codes = r.codes;
          }
          await append(b.rows, b.firstRow, b.ids, b.vectors, partitions, codes);
        }
      }
      await writer.finish();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    await committed("assign-encode", t, "ran");
  }

  // --- phase: finalize (streamed index write) --------------------------------------------------
  t = performance.now();
  // Bulk ordered reads (few large requests instead of one per partition) in windows of at most
  // budget / 8 fetched bytes (two in flight), split inside a partition when one is larger: a
  // partition's size grows with the rows at a fixed partition count, the window does not.
  const finalizeBuffered = Math.floor(budget / 4);
  const artifact = await PartitionArtifactReader.open(store, artifactUri);
  // the streamed writer is done with a piece when it asks for the next: read buffers are recycled
  const source = artifact.sequentialSource({ maxBufferedBytes: finalizeBuffered, splitPartitions: true, reuseBuffers: true });
  const written = await writeIvfIndexStreamed(
    store,
    o.path,
    { dim, distance: tuning.distanceType, centroids, quantizer: quantizer.metadata, codeWidth: cw, source },
    (d, total) => progress("finalize", d, total),
    o.tempDir === undefined ? {} : { tempDir: o.tempDir },
  );
  await committed("finalize", t, "ran");
  if (o.keepState !== true) await deletePrefix(store, stateDir);
  let largestPartitionRows = 0;
  for (let p = 0; p < artifact.numPartitions; p++) largestPartitionRows = Math.max(largestPartitionRows, artifact.partitionSize(p));
  const memory: BuildMemoryStats = {
    budgetBytes: budget,
    sampleBytes: sampleSize * dim * 4,
    assignBatchRows: batch,
    artifactWriterBudgetBytes: writerBudget,
    artifactBuckets: writerStats?.numBuckets,
    artifactFlushThresholdRows: writerStats?.flushThresholdRows,
    finalizeMaxBufferedBytes: finalizeBuffered,
    finalizePeakBufferedBytes: source.cost.peakBufferedBytes,
    finalizePeakPieceBytes: source.cost.peakPieceBytes,
    largestPartitionBytes: largestPartitionRows * (8 + cw + (tuning.storeRawVectors ? dim * 4 : 0)),
  };
  return { ...written, model, options: tuning, phases, totalMs: performance.now() - t0, memory };
}

/** Row numbers first .. first + rows - 1 as uint64 ids, written into `into` (at least `rows` long); returns that view. */
function implicitIds(first: number, rows: number, into: BigUint64Array): BigUint64Array {
  const ids = into.subarray(0, rows);
  if (first + rows <= 2 ** 32 && new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) {
    // little-endian: low words i, high words 0 (no BigInt per row on the thread writing the artifact)
    const words = new Uint32Array(ids.buffer, ids.byteOffset, rows * 2);
    for (let i = 0; i < rows; i++) {
      words[2 * i] = first + i;
      words[2 * i + 1] = 0; // the buffer is reused
    }
    return ids;
  }
  for (let i = 0; i < rows; i++) ids[i] = BigInt(first + i);
  return ids;
}

/** Encode rows whose partitions are given (precomputed assignments): same preparation as the worker path. */
function encodeWithAssignments(q: TrainedQuantizer, vectors: Float32Array, n: number, dim: number, distance: DistanceType, centroids: Float32Array, partitions: Uint32Array): Uint8Array {
  const prepared = prepareRows(vectors, n, dim, distance, q.metadata.residual, centroids, partitions);
  const out = new Uint8Array(n * q.codeWidth);
  q.encode(prepared, n, out);
  return out;
}

async function readSampleNpy(store: ObjectStore, path: string, dim: number): Promise<{ vectors: Float32Array; rows: number }> {
  // The sample is an ordinary .npy: decoded by the same hostile-input reader as users' files.
  const r = await openNpyFromBytes(path, await store.get(path));
  try {
    if (r.dim !== dim) throw new QuiverFormatError("BUILD_RESUME_MISMATCH", `committed sample has dim ${r.dim}, the input ${dim}`, { stage: "build" });
    const out = new Float32Array(r.numRows! * dim);
    for await (const b of r.batches(65_536)) out.set(b.vectors, b.firstRow * dim);
    return { vectors: out, rows: r.numRows! };
  } finally {
    await r.close();
  }
}
