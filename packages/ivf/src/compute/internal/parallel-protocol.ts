/** Shared-memory protocol between the parallel entry points (parallel.ts) and their worker threads. */
import type { DistanceType, QuantizerMetadata } from "../../quantizer.js";
import type { PqTrainingPlan } from "./quantizers.js";
import type { HierarchicalPlan } from "./kmeans.js";
import { assignListed } from "./kmeans.js";
import { assignScored } from "./vector-math.js";

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

/**
 * k-means control words: next chunk number to claim (reset per generation), generation (-1 =
 * stop), progress (+1 after every committed chunk, never reset: only a wake-up signal), rows to
 * assign this generation, and which rows (KM_SOURCE).
 */
export const KM_NEXT = 0;
export const KM_GENERATION = 1;
export const KM_PROGRESS = 2;
/** Rows to assign in this generation. */
export const KM_COUNT = 3;
/** Which rows: 0 = the first KM_COUNT rows of `x`, 1 = the rows of `x` listed in `active`. */
export const KM_SOURCE = 4;
/** Int32 words of the k-means control block. */
export const KM_CONTROL_WORDS = 5;

/*
 * One state word per k-means chunk: (generation tag << 16) | state. A worker claims a FREE chunk
 * (CAS), computes it into private buffers and commits by CAS CLAIMED -> WRITING, copy, DONE. The
 * main thread takes over FREE chunks and chunks claimed for too long (CAS CLAIMED -> MAIN) and
 * writes those directly; a worker whose claim was taken over cannot commit, so a dead, hung or
 * late worker never writes a row, and every chunk is computed from the same inputs whoever does
 * it. The tag makes a claim from an earlier generation fail.
 */
export const KM_CHUNK_FREE = 0;
export const KM_CHUNK_DONE = 1;
export const KM_CHUNK_MAIN = 2;
/** Most workers the k-means state word can name. */
export const KM_MAX_SLOTS = 32_000;
const TAG_MASK = 0x7fff;

/** State of a chunk claimed by worker `slot` (computing). */
export function kmClaimed(slot: number): number {
  return 3 + 2 * slot;
}

/** State of a chunk worker `slot` is copying its result into. */
export function kmWriting(slot: number): number {
  return 4 + 2 * slot;
}

/** The worker a claimed/writing state names, or -1 for FREE / DONE / MAIN. */
export function kmStateSlot(state: number): number {
  return state < 3 ? -1 : (state - 3) >> 1;
}

/** Chunk word of `state` in generation `gen`. */
export function kmChunkWord(gen: number, state: number): number {
  return ((gen & TAG_MASK) << 16) | state;
}

/** The state half of a chunk word. */
export function kmState(word: number): number {
  return word & 0xffff;
}

/** Whether chunk word `word` belongs to generation `gen`. */
export function kmSameGeneration(word: number, gen: number): boolean {
  return word >>> 16 === (gen & TAG_MASK);
}

/** Chunks of `rows` rows at `chunkRows` per chunk. */
export function kmChunks(rows: number, chunkRows: number): number {
  return Math.ceil(rows / chunkRows);
}

/**
 * Persistent k-means assignment worker: waits for each new generation, claims row chunks and
 * commits each against the shared centroids/bias/alpha (see the chunk word above), until
 * generation -1.
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
  /** One state word per chunk of n rows. */
  readonly chunks: Int32Array;
}

/** Test seam of {@link serveKMeans}: called after each successful claim (fault injection). */
export interface KMeansServeHooks {
  readonly afterClaim?: (generation: number, chunk: number) => void;
}

/**
 * Worker half of the k-means protocol: serves generations until the main thread sets
 * generation -1. Results go to private buffers first and are copied only under a committed
 * claim, so a chunk the main thread took over is never written twice.
 */
export function serveKMeans(d: KMeansAssignPayload, hooks: KMeansServeHooks = {}): void {
  const c = d.control;
  const rows = d.chunkRows;
  const idx = new Uint32Array(rows);
  const score = new Float32Array(rows);
  const second = new Float32Array(rows);
  let scratch: Float32Array | undefined;
  const claimed = kmClaimed(d.slot);
  const writing = kmWriting(d.slot);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, KM_GENERATION, seen);
    const gen = Atomics.load(c, KM_GENERATION);
    if (gen < 0) return;
    if (gen === seen) continue;
    seen = gen;
    // read before any claim: a successful claim proves the generation had not moved on
    const alpha = d.alpha[0] as number;
    const count = Atomics.load(c, KM_COUNT);
    const listed = Atomics.load(c, KM_SOURCE) === 1;
    const chunks = kmChunks(count, rows);
    const free = kmChunkWord(gen, KM_CHUNK_FREE);
    for (;;) {
      const at = Atomics.add(c, KM_NEXT, 1);
      if (at >= chunks) break;
      const prev = Atomics.compareExchange(d.chunks, at, free, kmChunkWord(gen, claimed));
      if (prev !== free) {
        // taken over by the main thread: go on; a newer generation: wait for it
        if (kmSameGeneration(prev, gen)) continue;
        break;
      }
      hooks.afterClaim?.(gen, at);
      const start = at * rows;
      const end = Math.min(count, start + rows);
      const len = end - start;
      if (listed) {
        scratch ??= new Float32Array(rows * d.dim);
        assignListed(d.x, d.dim, d.active.subarray(start, end), 0, len, scratch, d.centroids, d.k, d.bias, alpha, idx, score, second);
      } else {
        assignScored(d.x.subarray(start * d.dim, end * d.dim), len, d.dim, d.dim, 0, d.centroids, d.k, d.bias, alpha,
          idx.subarray(0, len), score.subarray(0, len), second.subarray(0, len));
      }
      if (Atomics.compareExchange(d.chunks, at, kmChunkWord(gen, claimed), kmChunkWord(gen, writing)) !== kmChunkWord(gen, claimed)) continue;
      d.assignment.set(idx.subarray(0, len), start);
      d.scores.set(score.subarray(0, len), start);
      d.second.set(second.subarray(0, len), start);
      Atomics.store(d.chunks, at, kmChunkWord(gen, KM_CHUNK_DONE));
      Atomics.add(c, KM_PROGRESS, 1);
      Atomics.notify(c, KM_PROGRESS);
    }
  }
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
