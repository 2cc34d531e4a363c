/** Shared-memory protocol between the parallel entry points (parallel.ts) and their worker threads. */
import type { DistanceType, QuantizerMetadata } from "../../quantizer.js";
import type { PqTrainingPlan } from "./quantizers.js";
import { PQ_CENTROIDS, buildQuantizer, trainPqSubspace } from "./quantizers.js";
import type { HierarchicalPlan } from "./kmeans.js";
import { assignListed, refineGroup, solveGroup } from "./kmeans.js";
import { assignScored } from "./vector-math.js";
import { assignEncodeRange, createScratch } from "./assign-encode.js";

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

/*
 * Pooled item tasks (assign + encode chunks, PQ sub-spaces, hierarchical leaf groups): the
 * control block is followed by one state word per item, with the k-means chunk states below
 * (FREE / claimed by w / being written by w / taken by the main thread / DONE; no generation tag:
 * every task has a fresh block). A worker claims an item (CAS FREE -> claimed), computes it into
 * private buffers and commits by CAS claimed -> writing, copy, DONE; the main thread takes over
 * FREE and stale or dead-held items (CAS -> MAIN) and writes those directly. So a dead, hung or
 * late worker never writes an item someone else computed, and every item is computed from the
 * same inputs whoever computes it.
 */

/** Int32 words of a pooled item task's control block: `controlWords(slots)` + one per item. */
export function itemControlWords(slots: number, items: number): number {
  return controlWords(slots) + items;
}

/** Index of item `at`'s state word in a pooled item task's control block. */
export function itemIndex(slots: number, at: number): number {
  return controlWords(slots) + at;
}

/** Fields every worker task carries. */
interface PayloadBase {
  readonly control: Int32Array;
  readonly slot: number;
  readonly slots: number;
}

/** Fields of a pooled item task (its control block holds one state word per item). */
interface ItemPayloadBase extends PayloadBase {
  /** Items of the task (chunks, sub-spaces or groups). */
  readonly items: number;
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
export interface PqTrainPayload extends ItemPayloadBase, PqTrainingPlan {
  readonly task: "pq-train";
}

/** Leaf k-means of hierarchical k-means: groups claimed (in `order`) from control[0]. */
export interface KMeansGroupsPayload extends ItemPayloadBase, HierarchicalPlan {
  readonly task: "kmeans-groups";
}

/** Assign + encode row chunks claimed from control[0]. */
export interface AssignEncodePayload extends ItemPayloadBase {
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

/** A pooled item task: one of the payloads whose items are claimed through state words. */
export type ItemPayload = AssignEncodePayload | PqTrainPayload | KMeansGroupsPayload;

/** One thread's private computation of items and their commit into the shared outputs. */
interface ItemKernel {
  /** Computes item `at` into this thread's private buffers (nothing shared is written). */
  compute(at: number): void;
  /** Copies the private result of the item last computed into the shared outputs. */
  commit(at: number): void;
}

/**
 * What is recomputed when an item is taken over: assign + encode, one chunk of `chunkRows` rows
 * (partitions and codes); PQ training, one sub-space's whole k-means (its 256 codewords); the
 * hierarchical leaves, one group's whole leaf k-means (its centroids), and in a refinement pass
 * one group's rows (their winners and scores). Each from the task's
 * shared inputs only, so any thread computes the same bytes.
 */
function itemKernel(d: ItemPayload): ItemKernel {
  if (d.task === "pq-train") {
    const span = PQ_CENTROIDS * d.dsub;
    // trainPqSubspace writes sub-space s at s * span of the plan's codebook: a private one
    const own = { ...d, codebook: new Float32Array(d.m * span) };
    return {
      compute: (s) => trainPqSubspace(own, s),
      commit: (s) => d.codebook.set(own.codebook.subarray(s * span, (s + 1) * span), s * span),
    };
  }
  if (d.task === "kmeans-groups" && d.refine !== undefined) {
    // a refinement pass writes each group's rows' winners and scores, not centroids
    const pass = d.refine;
    const own = { ...pass, next: new Uint32Array(pass.next.length), score: new Float32Array(pass.score.length) };
    return {
      compute: (at) => refineGroup(d, own, d.order[at] as number),
      commit: (at) => {
        const g = d.order[at] as number;
        const r0 = d.rowStart[g] as number;
        const r1 = d.rowStart[g + 1] as number;
        pass.next.set(own.next.subarray(r0, r1), r0);
        pass.score.set(own.score.subarray(r0, r1), r0);
      },
    };
  }
  if (d.task === "kmeans-groups") {
    const own = { ...d, centroids: new Float32Array(d.centroids.length) };
    const range = (at: number): [number, number] => {
      const g = d.order[at] as number;
      return [(d.centroidStart[g] as number) * d.dim, (d.centroidStart[g + 1] as number) * d.dim];
    };
    return {
      compute: (at) => solveGroup(own, d.order[at] as number),
      commit: (at) => {
        const [from, to] = range(at);
        d.centroids.set(own.centroids.subarray(from, to), from);
      },
    };
  }
  const quantizer = buildQuantizer(d.meta);
  const cw = quantizer.codeWidth;
  const rows = d.chunkRows;
  const scratch = createScratch(d.dim);
  const parts = new Uint32Array(rows);
  const codes = new Uint8Array(rows * cw);
  let len = 0;
  return {
    compute: (at) => {
      const start = at * rows;
      len = Math.min(d.n, start + rows) - start;
      // the chunk as a job of its own rows, written to private buffers from row 0
      const job = {
        vectors: d.vectors.subarray(start * d.dim, (start + len) * d.dim), n: len, dim: d.dim, centroids: d.centroids, k: d.k,
        distance: d.distance, quantizer, partitions: parts, codes,
      };
      assignEncodeRange(job, 0, len, scratch);
    },
    commit: (at) => {
      d.partitions.set(parts.subarray(0, len), at * rows);
      d.codes.set(codes.subarray(0, len * cw), at * rows * cw);
    },
  };
}

/** Test seam of {@link serveItems} (fault injection): called after a claim and inside a commit. */
export interface ItemServeHooks {
  readonly afterClaim?: (at: number) => void;
  readonly duringCommit?: (at: number) => void;
}

/**
 * Worker half of a pooled item task: claims the slot (the main thread cancels slots that never
 * started), then claims, computes and commits items until the counter runs out. Returns the
 * reply: whether the slot was cancelled before it started.
 */
export function serveItems(d: ItemPayload, hooks: ItemServeHooks = {}): { cancelled: boolean } {
  const c = d.control;
  if (Atomics.compareExchange(c, slotIndex(d.slot), SLOT_IDLE, SLOT_RUNNING) !== SLOT_IDLE) {
    return { cancelled: Atomics.load(c, slotIndex(d.slot)) === SLOT_CANCELLED };
  }
  const kernel = itemKernel(d);
  const claimed = kmClaimed(d.slot);
  const writing = kmWriting(d.slot);
  for (;;) {
    const at = Atomics.add(c, CONTROL_NEXT_CHUNK, 1);
    if (at >= d.items) break;
    const word = itemIndex(d.slots, at);
    // taken over by the main thread before this claim: go on
    if (Atomics.compareExchange(c, word, KM_CHUNK_FREE, claimed) !== KM_CHUNK_FREE) continue;
    hooks.afterClaim?.(at);
    kernel.compute(at);
    if (Atomics.compareExchange(c, word, claimed, writing) !== claimed) continue;
    hooks.duringCommit?.(at);
    kernel.commit(at);
    Atomics.store(c, word, KM_CHUNK_DONE);
    // counted per commit: a worker that dies later still reports the items it committed
    Atomics.add(c, chunkCountIndex(d.slots, d.slot), 1);
  }
  Atomics.store(c, slotIndex(d.slot), SLOT_DONE);
  return { cancelled: false };
}
