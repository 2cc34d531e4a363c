/** Messages between search and its worker threads (packages/ivf/src/search-worker.ts). */
import type { QuantizerMetadata } from "./quantizer.js";
import type { PackedCandidates } from "./search-scan.js";

/** What a worker needs to score an index's partitions: shared once per index state. */
export interface SearchSetup {
  /** Unique per index state; workers keep the rebuilt quantizer under it. */
  readonly id: string;
  /** Quantizer metadata whose arrays live in SharedArrayBuffers (not copied per task). */
  readonly quantizer: QuantizerMetadata;
  /** IVF centroids in a SharedArrayBuffer. */
  readonly centroids: Float32Array;
  readonly dim: number;
}

/** One task: score partitions `parts` for their users and return each query's best `capacity` candidates. */
export interface SearchTask {
  readonly setup: SearchSetup;
  /** Queries of the batch, nq x dim. */
  readonly queries: Float32Array;
  readonly capacity: number;
  readonly parts: Int32Array;
  /** Per partition: row ids and codes in SharedArrayBuffers (mirrors of the cached entries). */
  readonly partitions: readonly { readonly rows: number; readonly rowIds: BigUint64Array; readonly codes: Uint8Array }[];
  /** Per partition: query index and probe slot, alternating. */
  readonly users: readonly Int32Array[];
}

/** A task's answer. */
export type SearchTaskResult = PackedCandidates;
