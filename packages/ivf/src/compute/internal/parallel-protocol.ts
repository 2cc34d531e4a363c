/** Shared-memory protocol between `encodeAndAssignParallel` and its worker threads. */
import type { DistanceType, QuantizerMetadata } from "../../quantizer.js";
import type { PqTrainingPlan } from "./quantizers.js";
import type { HierarchicalPlan } from "./kmeans.js";

/** control[0]: next chunk number to claim (Atomics.add). */
export const CONTROL_NEXT_CHUNK = 0;
/** Slot states: a worker moves IDLE -> RUNNING -> DONE; the main thread may move IDLE -> CANCELLED. */
export const SLOT_IDLE = 0;
export const SLOT_RUNNING = 1;
export const SLOT_DONE = 2;
export const SLOT_CANCELLED = 3;

/** Index of worker `slot`'s state word. */
export function slotIndex(slot: number): number {
  return 1 + slot;
}

/** Index of worker `slot`'s processed-chunk counter. */
export function chunkCountIndex(slots: number, slot: number): number {
  return 1 + slots + slot;
}

/** Int32 words the control block needs for `slots` workers. */
export function controlWords(slots: number): number {
  return 1 + 2 * slots;
}

/** Fields every worker task carries. */
interface PayloadBase {
  readonly control: Int32Array;
  readonly slot: number;
  readonly slots: number;
}

/** workerData of a worker: one task kind, typed arrays as views of SharedArrayBuffers. */
export type WorkerPayload = AssignEncodePayload | PqTrainPayload | KMeansAssignPayload | KMeansGroupsPayload;

/** k-means control words: next chunk, generation (-1 = stop), workers done with the generation. */
export const KM_NEXT = 0;
export const KM_GENERATION = 1;
export const KM_DONE = 2;
/** Rows to assign in this generation. */
export const KM_COUNT = 3;
/** Which rows: 0 = the first KM_COUNT rows of `x`, 1 = the rows of `x` listed in `active`. */
export const KM_SOURCE = 4;
/** Index of worker `slot`'s state word in the k-means control block. */
export function kmSlotIndex(slot: number): number {
  return 5 + slot;
}
/** Int32 words of the k-means control block. */
export function kmControlWords(slots: number): number {
  return 5 + slots;
}

/**
 * Persistent k-means assignment worker: waits for each new generation, assigns claimed row
 * chunks against the shared centroids/bias/alpha, counts itself done, until generation -1.
 */
export interface KMeansAssignPayload extends PayloadBase {
  readonly task: "kmeans-assign";
  readonly x: Float32Array;
  /** Row numbers needing assignment this generation (when KM_SOURCE is 1). */
  readonly active: Uint32Array;
  readonly n: number;
  readonly dim: number;
  readonly k: number;
  readonly centroids: Float32Array;
  readonly bias: Float32Array;
  /** [alpha] */
  readonly alpha: Float32Array;
  readonly assignment: Uint32Array;
  readonly scores: Float32Array;
  readonly second: Float32Array;
  readonly chunkRows: number;
}

/** Train PQ sub-spaces claimed from control[0] into the shared codebook. */
export interface PqTrainPayload extends PayloadBase, PqTrainingPlan {
  readonly task: "pq-train";
}

/** Leaf k-means of hierarchical k-means: groups claimed (in `order`) from control[0]. */
export interface KMeansGroupsPayload extends PayloadBase, HierarchicalPlan {
  readonly task: "kmeans-groups";
}

/** Assign + encode row chunks claimed from control[0]. */
export interface AssignEncodePayload extends PayloadBase {
  readonly task: "assign-encode";
  readonly vectors: Float32Array;
  readonly n: number;
  readonly dim: number;
  readonly centroids: Float32Array;
  readonly k: number;
  readonly distance: DistanceType;
  readonly meta: QuantizerMetadata;
  readonly partitions: Uint32Array;
  readonly codes: Uint8Array;
  readonly chunkRows: number;
}
