/**
 * Messages between search and its worker threads (packages/ivf/src/search-worker.ts). A batch's
 * plan lives in SharedArrayBuffers: the main thread and the workers claim its chunks from one
 * atomic counter (work stealing), so a worker that starts late or is descheduled only takes less
 * of the work, and the main thread never waits for a worker that claimed nothing.
 */
import type { QuantizerMetadata } from "./quantizer.js";
import type { PackedCandidates } from "./search-scan.js";

/** What a worker needs to score an index's partitions: sent until every worker has it. */
export interface SearchSetup {
  /** Unique per index state; workers keep the rebuilt quantizer and their partitions under it. */
  readonly id: string;
  /** Quantizer metadata whose arrays live in SharedArrayBuffers (not copied per task). */
  readonly quantizer: QuantizerMetadata;
  /** IVF centroids in a SharedArrayBuffer. */
  readonly centroids: Float32Array;
  readonly dim: number;
}

/** A partition handed to the workers once (its row ids and codes in SharedArrayBuffers), named by a serial. */
export interface SharedPartition {
  readonly serial: number;
  readonly part: number;
  readonly rows: number;
  readonly rowIds: BigUint64Array;
  readonly codes: Uint8Array;
}

/** Ints per chunk in {@link SearchPlan.chunks}: plan index j, first row, end row, first user, end user. */
export const CHUNK_INTS = 5;

/** Control words: [0] the next chunk to claim, [s] set by worker slot s (1, 2, ...) before its first claim. */
export const CONTROL_NEXT = 0;

/** Owner of a chunk in {@link SearchTask.owners}: 0 main thread, s a worker slot, GAVE_BACK a worker that could not score it. */
export const GAVE_BACK = -1;

/** One batch's plan (shared by every task of the batch). */
export interface SearchPlan {
  /** Queries of the batch, nq x dim (SharedArrayBuffer). */
  readonly queries: Float32Array;
  readonly capacity: number;
  /** Per plan index j: partition number and the serial of its shared copy. */
  readonly parts: Int32Array;
  readonly serials: Int32Array;
  /** Per plan index j: its users (query, probe slot pairs) are users[userStart[j] .. userStart[j + 1]). */
  readonly userStart: Int32Array;
  readonly users: Int32Array;
  /** CHUNK_INTS ints per chunk, in claiming order (largest first). */
  readonly chunks: Int32Array;
  /** Control words (see CONTROL_NEXT). */
  readonly control: Int32Array;
  /** Per chunk: who scored it. */
  readonly owners: Int32Array;
  /** Residual PQ: query terms shared by the threads (see the scan's sharedTerms), else undefined. */
  readonly terms: { readonly terms: Float32Array; readonly state: Int32Array } | undefined;
}

/** One worker's task: join the batch as worker slot `slot`. */
export interface SearchTask {
  readonly setupId: string;
  /** Present until the setup is known to every worker. */
  readonly setup: SearchSetup | undefined;
  readonly slot: number;
  readonly plan: SearchPlan;
  /** Partitions the worker may not have yet (kept by serial, replacing older copies of the same partition). */
  readonly partitions: readonly SharedPartition[];
  /** Serials whose cache entries are gone: the worker drops its copies. */
  readonly drop: Int32Array;
}

/** A task's answer: candidates of the chunks it scored, and which worker thread it was. */
export interface SearchTaskResult {
  readonly threadId: number;
  readonly candidates: PackedCandidates;
  readonly chunks: number;
  /** Partitions this worker holds now, and their bytes. */
  readonly residentPartitions: number;
  readonly residentBytes: number;
}
