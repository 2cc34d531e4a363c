/**
 * `encodeAndAssignParallel`: assignment + encoding of the full dataset over worker threads and
 * the main thread, which all claim 4,096-row chunks from a shared atomic counter and write into
 * SharedArrayBuffer outputs. Workers that cannot start leave their share to the others, so a
 * missing worker runtime degrades to a single thread rather than failing.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { DistanceType, TrainedQuantizer } from "../../quantizer.js";
import { ASSIGN_ENCODE_CHUNK_ROWS, assignEncodeRange, createScratch } from "./assign-encode.js";
import type { AssignEncodeJob } from "./assign-encode.js";
import {
  CONTROL_NEXT_CHUNK, SLOT_CANCELLED, SLOT_DONE, SLOT_IDLE, chunkCountIndex, controlWords, slotIndex,
} from "./parallel-protocol.js";
import type { WorkerPayload } from "./parallel-protocol.js";

/** Input to the parallel assign+encode. */
export interface AssignEncodeInput {
  /** n * dim raw vectors (as stored; cosine normalisation and residuals happen inside). */
  readonly vectors: Float32Array;
  readonly n: number;
  readonly dim: number;
  /** IVF centroids, k * dim. */
  readonly centroids: Float32Array;
  readonly k: number;
  readonly distance: DistanceType;
  readonly quantizer: TrainedQuantizer;
  /** Threads in total, main thread included (default: os.availableParallelism()). */
  readonly threads?: number;
  /** Let the main thread take chunks too (default true; false is for tests of the workers). */
  readonly useMainThread?: boolean;
}

/** Output of the parallel assign+encode. */
export interface AssignEncodeResult {
  /** Partition id per row. */
  readonly partitions: Uint32Array;
  /** n * codeWidth code bytes, row-major. */
  readonly codes: Uint8Array;
  readonly codeWidth: number;
  /** Chunks processed by the main thread (index 0) and by each worker. */
  readonly chunksByThread: readonly number[];
  /** Workers that failed to start (their share went to the others). */
  readonly workersUnavailable: number;
}

const WORKER_URL = new URL("./assign-encode-worker.mjs", import.meta.url);

/** Assigns every row to its nearest IVF centroid and encodes it, spread over worker threads. */
export async function encodeAndAssignParallel(input: AssignEncodeInput): Promise<AssignEncodeResult> {
  const { n, dim, k, quantizer } = input;
  const cw = quantizer.codeWidth;
  const threads = Math.max(1, Math.trunc(input.threads ?? availableParallelism()));
  const useMain = input.useMainThread ?? true;
  const workers = useMain ? threads - 1 : Math.max(1, threads);
  const shared = workers > 0;
  const alloc = (bytes: number): ArrayBuffer | SharedArrayBuffer => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  const partitions = new Uint32Array(alloc(n * 4));
  const codes = new Uint8Array(alloc(n * cw));
  const control = new Int32Array(alloc(controlWords(workers) * 4));
  let vectors = input.vectors.subarray(0, n * dim);
  if (shared && !(vectors.buffer instanceof SharedArrayBuffer)) {
    const copy = new Float32Array(new SharedArrayBuffer(n * dim * 4));
    copy.set(vectors);
    vectors = copy;
  }
  const job: AssignEncodeJob = { vectors, n, dim, centroids: input.centroids, k, distance: input.distance, quantizer, partitions, codes };

  const outcomes: Promise<{ ok: boolean; error?: unknown }>[] = [];
  const handles: Worker[] = [];
  for (let slot = 0; slot < workers; slot++) {
    const payload: WorkerPayload = {
      vectors, n, dim, centroids: input.centroids.slice(0, k * dim), k, distance: input.distance,
      meta: quantizer.metadata, partitions, codes, control, slot, slots: workers, chunkRows: ASSIGN_ENCODE_CHUNK_ROWS,
    };
    try {
      const w = new Worker(WORKER_URL, { workerData: payload });
      handles.push(w);
      outcomes.push(new Promise((resolve) => {
        w.once("message", () => resolve({ ok: true }));
        w.once("error", (error) => resolve({ ok: false, error }));
        w.once("exit", (code) => resolve({ ok: false, error: new Error(`worker exited with ${code}`) }));
      }));
    } catch (error) {
      outcomes.push(Promise.resolve({ ok: false, error }));
    }
  }

  let mainChunks = 0;
  const runOn = (): void => {
    const scratch = createScratch(dim);
    for (;;) {
      const start = Atomics.add(control, CONTROL_NEXT_CHUNK, 1) * ASSIGN_ENCODE_CHUNK_ROWS;
      if (start >= n) break;
      assignEncodeRange(job, start, Math.min(n, start + ASSIGN_ENCODE_CHUNK_ROWS), scratch);
      mainChunks++;
    }
  };
  if (useMain) runOn();

  let unavailable = 0;
  const chunksByThread = [mainChunks];
  for (let slot = 0; slot < workers; slot++) {
    // a worker still loading when the work ran out is cancelled rather than waited for
    if (useMain && Atomics.compareExchange(control, slotIndex(slot), SLOT_IDLE, SLOT_CANCELLED) === SLOT_IDLE) {
      void handles[slot]?.terminate();
      chunksByThread.push(0);
      continue;
    }
    const outcome = await outcomes[slot]!;
    const state = Atomics.load(control, slotIndex(slot));
    if (!outcome.ok && state !== SLOT_DONE) {
      if (state !== SLOT_IDLE) throw new Error("an assign+encode worker failed mid-run", { cause: outcome.error });
      unavailable++;
    }
    chunksByThread.push(Atomics.load(control, chunkCountIndex(workers, slot)));
  }
  // without the main thread, workers that never started leave work behind: finish it here
  if (!useMain) runOn();
  chunksByThread[0] = mainChunks;
  for (const w of handles) void w.terminate();
  return { partitions, codes, codeWidth: cw, chunksByThread, workersUnavailable: unavailable };
}
