/**
 * Parallel entry points over worker threads + the main thread. Every participant claims work
 * items (4,096-row chunks, or PQ sub-spaces) from a shared atomic counter and writes into
 * SharedArrayBuffer outputs, so results are identical to the single-thread path. Workers that
 * cannot start leave their share to the others: a missing worker runtime degrades to one thread.
 */
import { availableParallelism } from "node:os";
import type { DistanceType, QuantizerKind, TrainedQuantizer } from "../../quantizer.js";
import { ASSIGN_ENCODE_CHUNK_ROWS, assignEncodeRange, createScratch } from "./assign-encode.js";
import type { AssignEncodeJob } from "./assign-encode.js";
import {
  CONTROL_NEXT_CHUNK, KM_CHUNK_DONE, KM_CHUNK_FREE, KM_CHUNK_MAIN, KM_CONTROL_WORDS, KM_COUNT, KM_GENERATION, KM_MAX_SLOTS, KM_NEXT,
  KM_PROGRESS, KM_SOURCE, SLOT_CANCELLED, SLOT_IDLE, SLOT_RUNNING, chunkCountIndex, itemControlWords, itemIndex, kmChunkWord, kmChunks, kmClaimed,
  kmState, kmStateSlot, kmWriting, slotIndex,
} from "./parallel-protocol.js";
import type { WorkerPayload } from "./parallel-protocol.js";
import { planPqTraining, pqFromPlan, prepareTrainingSample, trainPqSubspace, trainQuantizer } from "./quantizers.js";
import type { QuantizerTrainOptions } from "./quantizers.js";
import {
  assignListed, checkKMeansShape, kmeansRows, planHierarchical, refinePasses, runKMeans, solveGroup, trainPrepared, useHierarchical,
} from "./kmeans.js";
import type { HierarchicalPlan, HierarchicalSteps, KMeansOptions, KMeansResult, RowAssigner } from "./kmeans.js";
import { assignScored } from "./vector-math.js";
import { ComputePool, DEFAULT_WORKER_URL, QuiverComputeWorkerError } from "./parallel-pool.js";
import { ivfModelFrom, ivfTrainingSample } from "./ivf-model.js";
import type { IvfModel, IvfTrainOptions } from "./ivf-model.js";

/** Thread options of the parallel entry points. */
export interface ParallelOptions {
  /** Threads in total, main thread included (default: os.availableParallelism()). */
  readonly threads?: number;
  /** Let the main thread take work too (default true; false is for tests of the workers). */
  readonly useMainThread?: boolean;
  /** Worker entry module (default: the bundled bootstrap); tests point it at a missing file. */
  readonly workerUrl?: URL;
  /**
   * A persistent pool (createComputePool) to run on instead of starting threads for this call;
   * its workers replace `threads` and `workerUrl`. The caller closes it.
   */
  readonly pool?: ComputePool;
}

/** Input to the parallel assign+encode. */
export interface AssignEncodeInput extends ParallelOptions {
  /** n * dim raw vectors (as stored; cosine normalisation and residuals happen inside). */
  readonly vectors: Float32Array;
  readonly n: number;
  readonly dim: number;
  /** IVF centroids, k * dim. */
  readonly centroids: Float32Array;
  readonly k: number;
  readonly distance: DistanceType;
  readonly quantizer: TrainedQuantizer;
}

/** How the work was spread. */
export interface ParallelReport {
  /** Items processed by the main thread (index 0) and by each worker. */
  readonly chunksByThread: readonly number[];
  /** Workers that failed to start (their share went to the others). */
  readonly workersUnavailable: number;
}

/** Output of the parallel assign+encode. */
export interface AssignEncodeResult extends ParallelReport {
  /** Partition id per row. */
  readonly partitions: Uint32Array;
  /** n * codeWidth code bytes, row-major. */
  readonly codes: Uint8Array;
  readonly codeWidth: number;
}

type Alloc = (bytes: number) => ArrayBuffer | SharedArrayBuffer;

interface ThreadPlan {
  readonly workers: number;
  readonly useMain: boolean;
  readonly alloc: Alloc;
}

function threadPlan(opts: ParallelOptions): ThreadPlan {
  const useMain = opts.useMainThread ?? true;
  const threads = Math.max(1, Math.trunc(opts.threads ?? availableParallelism()));
  // a pool's spare workers only take tasks this thread does not share
  const workers = opts.pool !== undefined ? (useMain ? opts.pool.sharedSize : opts.pool.size) : useMain ? threads - 1 : threads;
  const alloc: Alloc = (b) => (workers > 0 ? new SharedArrayBuffer(b) : new ArrayBuffer(b));
  return { workers, useMain, alloc };
}

/** Runs `fn` on the caller's pool, or on a pool of `workers` threads started for this call and closed after. */
async function withPool<T>(opts: ParallelOptions, workers: number, fn: (pool: ComputePool) => Promise<T>): Promise<T> {
  if (opts.pool !== undefined) return fn(opts.pool);
  const pool = new ComputePool(workers, opts.workerUrl ?? DEFAULT_WORKER_URL);
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

/**
 * Timings of the pooled item tasks' recovery (see spreadOverWorkers). Only speed depends on the
 * first two (a taken-over item is computed once more, from the same inputs). Internal: tests
 * shorten them; not an option of the public entry points.
 */
export const spreadTimings = {
  /** Whether the main thread claims items itself when its caller lets it (tests set false so workers surely hold claims). */
  mainJoins: true,
  /** The main thread, out of items of its own, re-checks unfinished ones at least this often. */
  waitSliceMs: 50,
  /** An item claimed longer than max(this, staleFactor x the slowest item seen) is taken over. */
  staleFloorMs: 2000,
  staleFactor: 8,
  /**
   * A live worker that stays this long between its commit's two state words (a copy of at most
   * a few hundred KiB) is stuck mid-copy: its item cannot be trusted nor safely redone while it
   * might still write, so the task fails with COMPUTE_WORKER_FAILED naming it.
   */
  writeTimeoutMs: 30_000,
  /** Without the main thread, items nobody claims while every worker still loads are computed here after this. */
  startTimeoutMs: 60_000,
};

/** Running totals of the pooled item tasks' recovery in this thread (tests, diagnostics). */
export const spreadCounters = {
  /** Items the main thread took over from a worker that died or held them too long. */
  takenOver: 0,
  /** Workers terminated and replaced after a task (hung, or died mid-task). */
  replaced: 0,
};

interface Outcome {
  settled: boolean;
  ok: boolean;
  error?: unknown;
}

const sleep = (ms: number): { promise: Promise<void>; cancel: () => void } => {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
};

/**
 * Runs a pooled item task: `items` items (chunks, sub-spaces, groups) over the pool's `workers`
 * workers (payloads from `payloadFor`, given the task's control block) and, when `useMain`, this
 * thread, which computes item `at` with `computeMain(at)` straight into the shared outputs.
 * Items are claimed through per-item state words (parallel-protocol.ts): out of items of its
 * own, this thread waits (asynchronously, so worker exits are seen) and takes over items left
 * unclaimed, held by a worker that exited, or claimed for longer than the stale limit, so a
 * worker that dies or hangs costs a bounded wait and the result is the undisturbed one byte for
 * byte. Afterwards, a worker that hung (or died mid-task) is terminated and replaced, so the
 * pool keeps its width for the next task. A live worker stuck mid-commit is COMPUTE_WORKER_FAILED.
 */
async function spreadOverWorkers(
  pool: ComputePool, workers: number, useMain: boolean, items: number,
  payloadFor: (slot: number, control: Int32Array) => WorkerPayload, computeMain: (at: number) => void,
): Promise<ParallelReport> {
  if (!spreadTimings.mainJoins) useMain = false;
  if (workers === 0) {
    for (let at = 0; at < items; at++) computeMain(at);
    return { chunksByThread: [items], workersUnavailable: 0 };
  }
  const control = new Int32Array(new SharedArrayBuffer(itemControlWords(workers, items) * 4));
  const outcomes: Outcome[] = [];
  const settledNow: Promise<void>[] = [];
  for (let slot = 0; slot < workers; slot++) {
    const o: Outcome = { settled: false, ok: false };
    outcomes.push(o);
    if (pool.isDead(slot)) {
      Atomics.store(control, slotIndex(slot), SLOT_CANCELLED);
      o.settled = true;
      settledNow.push(Promise.resolve());
    } else {
      settledNow.push(pool.post(slot, payloadFor(slot, control)).then((r) => {
        o.settled = true;
        o.ok = r.ok;
        o.error = r.error;
      }));
    }
  }
  let mainItems = 0;
  let takenOver = 0;
  let slowestMs = 0;
  const suspects = new Set<number>();
  const take = (at: number, from: number): boolean => {
    if (Atomics.compareExchange(control, itemIndex(workers, at), from, KM_CHUNK_MAIN) !== from) return false;
    const t0 = performance.now();
    computeMain(at);
    slowestMs = Math.max(slowestMs, performance.now() - t0);
    Atomics.store(control, itemIndex(workers, at), KM_CHUNK_DONE);
    mainItems++;
    return true;
  };
  const cancelIdle = (): void => {
    // a worker still loading when the work ran out is cancelled rather than waited for
    for (let slot = 0; slot < workers; slot++) Atomics.compareExchange(control, slotIndex(slot), SLOT_IDLE, SLOT_CANCELLED);
  };
  if (useMain) {
    for (;;) {
      const at = Atomics.add(control, CONTROL_NEXT_CHUNK, 1);
      if (at >= items) break;
      take(at, KM_CHUNK_FREE);
    }
    cancelIdle();
  }
  // first sighting of (item, state), for the stale limits; an item seen done gives a lower bound
  // of a worker's item time
  const since = new Map<number, number>();
  const claimSeen = new Map<number, number>();
  /** Whether a worker still on the task (not replied, exited or suspected of hanging) is in `state`. */
  const workerState = (state: number): boolean =>
    outcomes.some((o, slot) => !o.settled && !pool.hasExited(slot) && !suspects.has(slot) && Atomics.load(control, slotIndex(slot)) === state);
  for (;;) {
    let pending = false;
    // no worker left on the task (each exited, cancelled or replied): whatever is left is ours
    const orphaned = outcomes.every((o, slot) => o.settled || pool.hasExited(slot) || Atomics.load(control, slotIndex(slot)) === SLOT_CANCELLED);
    const now = performance.now();
    const stale = Math.max(spreadTimings.staleFloorMs, spreadTimings.staleFactor * slowestMs);
    for (let at = 0; at < items; at++) {
      const state = Atomics.load(control, itemIndex(workers, at));
      if (state === KM_CHUNK_DONE) {
        const claimedAt = claimSeen.get(at);
        if (claimedAt !== undefined) {
          slowestMs = Math.max(slowestMs, now - claimedAt);
          claimSeen.delete(at);
        }
        continue;
      }
      pending = true;
      if (state === KM_CHUNK_MAIN) continue;
      const key = at * 0x10000 + state;
      const first = since.get(key);
      if (first === undefined) since.set(key, now);
      const held = first === undefined ? 0 : now - first;
      if (state === KM_CHUNK_FREE) {
        // a counter value taken by a worker that has not recorded its claim yet (or never will),
        // or, without the main thread, items no live worker is left to claim
        const exhausted = Atomics.load(control, CONTROL_NEXT_CHUNK) >= items;
        const idle = !exhausted && !workerState(SLOT_RUNNING) && (!workerState(SLOT_IDLE) || held > spreadTimings.startTimeoutMs);
        if (useMain || orphaned || (held > stale && (exhausted || idle))) take(at, KM_CHUNK_FREE);
        continue;
      }
      const slot = kmStateSlot(state);
      const gone = pool.hasExited(slot) || outcomes[slot]?.settled === true;
      if (!claimSeen.has(at)) claimSeen.set(at, now);
      if (state === kmClaimed(slot)) {
        if (gone || held > stale) {
          if (take(at, state)) {
            takenOver++;
            if (!gone) suspects.add(slot);
          }
        }
      } else if (state === kmWriting(slot)) {
        // a worker that exited mid-copy can write no more: its item is redone here
        if (pool.hasExited(slot)) {
          if (take(at, state)) takenOver++;
        } else if (held > spreadTimings.writeTimeoutMs) {
          pool.replace(slot);
          throw new QuiverComputeWorkerError(slot, `compute worker ${slot} stopped while writing item ${at} of ${items}`);
        }
      }
    }
    if (!pending) break;
    // wake on a worker's reply (the usual end) or after a slice
    const s = sleep(spreadTimings.waitSliceMs);
    const open = settledNow.filter((_, slot) => !outcomes[slot]!.settled);
    await Promise.race([s.promise, ...open]);
    s.cancel();
  }
  // every item is done; workers that have not replied are either about to (their counter ran
  // out) or hung: wait a stale limit for those not already suspected, then replace the rest.
  // Without the main thread a worker still loading is waited for (it is the task's thread; it
  // replies as soon as it has loaded), up to startTimeoutMs
  let unavailable = 0;
  let replaced = 0;
  const chunksByThread = [mainItems];
  const grace = Math.max(spreadTimings.staleFloorMs, spreadTimings.staleFactor * slowestMs);
  for (let slot = 0; slot < workers; slot++) {
    const o = outcomes[slot]!;
    if (!useMain && !o.settled && Atomics.load(control, slotIndex(slot)) === SLOT_IDLE) {
      const s = sleep(spreadTimings.startTimeoutMs);
      await Promise.race([s.promise, settledNow[slot]]);
      s.cancel();
      Atomics.compareExchange(control, slotIndex(slot), SLOT_IDLE, SLOT_CANCELLED);
    }
    const state = Atomics.load(control, slotIndex(slot));
    if (state === SLOT_CANCELLED || (state === SLOT_IDLE && o.settled && !o.ok)) {
      // never started: cancelled, or its thread failed to load
      unavailable++;
      chunksByThread.push(0);
      continue;
    }
    if (!o.settled && !suspects.has(slot)) {
      const s = sleep(grace);
      await Promise.race([s.promise, settledNow[slot]]);
      s.cancel();
    }
    if (!o.settled || !o.ok) {
      // hung, or died mid-task: a fresh worker takes its place for the next task
      pool.replace(slot);
      replaced++;
      chunksByThread.push(Atomics.load(control, chunkCountIndex(workers, slot)));
      continue;
    }
    chunksByThread.push(Atomics.load(control, chunkCountIndex(workers, slot)));
  }
  spreadCounters.takenOver += takenOver;
  spreadCounters.replaced += replaced;
  return { chunksByThread, workersUnavailable: unavailable };
}

/** Assigns every row to its nearest IVF centroid and encodes it, spread over worker threads. */
export async function encodeAndAssignParallel(input: AssignEncodeInput): Promise<AssignEncodeResult> {
  const { n, dim, k, quantizer } = input;
  const cw = quantizer.codeWidth;
  // one chunk or less is not worth a worker start (~0.3 s when loading TypeScript sources)
  const small = n <= ASSIGN_ENCODE_CHUNK_ROWS && input.useMainThread !== false;
  const { workers, useMain, alloc } = threadPlan(small ? { threads: 1 } : input);
  const pool = small ? undefined : input.pool;
  const partitions = new Uint32Array(alloc(n * 4));
  const codes = new Uint8Array(alloc(n * cw));
  let vectors = input.vectors.subarray(0, n * dim);
  if (workers > 0 && !(vectors.buffer instanceof SharedArrayBuffer)) {
    // a pool keeps one grow-only shared input buffer, so batches do not each allocate one
    const copy = pool !== undefined ? pool.sharedFloats("assign-encode-input", n * dim) : new Float32Array(new SharedArrayBuffer(n * dim * 4));
    copy.set(vectors);
    vectors = copy;
  }
  const centroids = input.centroids.slice(0, k * dim);
  const job: AssignEncodeJob = { vectors, n, dim, centroids, k, distance: input.distance, quantizer, partitions, codes };
  const report = await withPool(pool === undefined ? input : { ...input, pool }, workers, (p) => {
    const scratch = createScratch(dim);
    return spreadOverWorkers(p, workers, useMain, Math.ceil(n / ASSIGN_ENCODE_CHUNK_ROWS), (slot, control) => ({
      task: "assign-encode", vectors, n, dim, centroids, k, distance: input.distance, meta: quantizer.metadata,
      partitions, codes, control, slot, slots: workers, items: Math.ceil(n / ASSIGN_ENCODE_CHUNK_ROWS), chunkRows: ASSIGN_ENCODE_CHUNK_ROWS,
    }), (at) => assignEncodeRange(job, at * ASSIGN_ENCODE_CHUNK_ROWS, Math.min(n, (at + 1) * ASSIGN_ENCODE_CHUNK_ROWS), scratch));
  });
  return { partitions, codes, codeWidth: cw, ...report };
}

/**
 * `trainQuantizer` with PQ's independent sub-space k-means spread over worker threads; the
 * result is identical to the single-thread `trainQuantizer`. Other kinds train on this thread.
 */
export async function trainQuantizerParallel(
  kind: QuantizerKind, sample: Float32Array, n: number, dim: number, opts: QuantizerTrainOptions & ParallelOptions,
): Promise<TrainedQuantizer> {
  const { workers, useMain, alloc } = threadPlan(opts);
  if (kind !== "pq" || workers === 0 || (opts.numSubVectors === 1 && useMain)) return trainQuantizer(kind, sample, n, dim, opts);
  const { prepared, rows } = prepareTrainingSample(kind, sample, n, dim, opts);
  const sharedPrepared = new Float32Array(alloc(rows * dim * 4));
  sharedPrepared.set(prepared.subarray(0, rows * dim));
  const plan = planPqTraining(sharedPrepared, rows, dim, opts, alloc);
  await withPool(opts, workers, (pool) => spreadOverWorkers(pool, workers, useMain, plan.m,
    (slot, control) => ({ task: "pq-train", ...plan, control, slot, slots: workers, items: plan.m }), (s) => trainPqSubspace(plan, s)));
  return pqFromPlan(plan);
}

/** Rows per k-means assignment chunk claimed by a thread. */
const KMEANS_CHUNK_ROWS = 4096;
/** The main thread, done with its own claims, re-checks unfinished chunks this often. */
const KMEANS_WAIT_SLICE_MS = 50;
/**
 * A chunk claimed longer than max(this, KMEANS_STALE_FACTOR x the main thread's slowest chunk)
 * is taken over by the main thread: its worker died, hangs or is descheduled. Only speed
 * depends on it (a taken-over chunk is computed once more, from the same inputs).
 */
const KMEANS_STALE_FLOOR_MS = 2000;
const KMEANS_STALE_FACTOR = 8;
/**
 * A worker copies a committed chunk (at most 48 KiB) between two state words; one that stays
 * in between this long has died mid-copy, and its rows cannot be trusted (nor safely redone
 * while it might still write): the training fails with an error naming it.
 */
const KMEANS_WRITE_TIMEOUT_MS = 30_000;

/** How a parallel k-means spread its assignment chunks (the flat Lloyd steps; hierarchical: the top level's) (tests, diagnostics). */
export interface KMeansSpread {
  /** Generations (assignment passes) run. */
  generations: number;
  /** Chunks the main thread took over from a worker that held them too long. */
  takenOver: number;
  /** Chunks the main thread computed (its own claims and takeovers). */
  mainChunks: number;
}

/**
 * `trainKMeans` with each iteration's assignment step spread over persistent worker threads
 * (they wait on a shared generation counter between iterations). Identical result to
 * `trainKMeans` for the same inputs: only the assignment is split, by rows. A worker that dies
 * or hangs mid-generation costs a bounded wait: the main thread takes its chunks over.
 */
export async function trainKMeansParallel(
  data: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions & ParallelOptions = {}, spread?: KMeansSpread,
): Promise<KMeansResult> {
  checkKMeansShape(data, n, dim, k);
  const type = opts.distance ?? "l2";
  const { workers: planned } = threadPlan({ ...opts, useMainThread: true });
  const workers = Math.min(planned, KM_MAX_SLOTS);
  if (workers === 0 || n < 2 * KMEANS_CHUNK_ROWS) return trainPrepared(kmeansRows(data, n, dim, type), n, dim, k, opts);
  // l2/dot use the rows in place when they already are shared memory (the build's sample is)
  let x = kmeansRows(data, n, dim, type, type === "cosine" ? new Float32Array(new SharedArrayBuffer(n * dim * 4)) : undefined);
  if (!(x.buffer instanceof SharedArrayBuffer)) x = sharedCopy(x, n * dim);
  const stats: KMeansSpread = spread ?? { generations: 0, takenOver: 0, mainChunks: 0 };
  return withPool(opts, workers, async (pool) => {
    if (useHierarchical(k, opts)) return trainHierarchicalOnPool(pool, workers, x, n, dim, k, opts, stats);
    const session = startAssignSession(pool, workers, x, n, dim, k, stats);
    try {
      return runKMeans(x, n, dim, k, opts, session.assigner);
    } finally {
      session.close();
    }
  });
}

function sharedCopy(x: Float32Array, floats: number): Float32Array {
  const copy = new Float32Array(new SharedArrayBuffer(floats * 4));
  copy.set(x.subarray(0, floats));
  return copy;
}

/**
 * Hierarchical k-means with every pass over rows on the pool: the top level's Lloyd steps and
 * the assignment of all rows to the top centres by chunk claims (a dead or hung worker's chunks
 * are taken over), the leaves and the refinement passes by group claims. Each pass gives the
 * same per-row results as on one thread, and the sums and updates run here in row order, so the
 * model is byte-identical to trainKMeans' for any thread count.
 */
async function trainHierarchicalOnPool(
  pool: ComputePool, workers: number, x: Float32Array, n: number, dim: number, k: number, opts: KMeansOptions, stats: KMeansSpread,
): Promise<KMeansResult> {
  const sab = (b: number): SharedArrayBuffer => new SharedArrayBuffer(b);
  const steps: HierarchicalSteps = {
    topKMeans: (sample, rows, d, groups, o) => {
      if (rows < 2 * KMEANS_CHUNK_ROWS) return runKMeans(sample, rows, d, groups, o);
      const shared = sample.buffer instanceof SharedArrayBuffer ? sample : sharedCopy(sample, rows * d);
      const session = startAssignSession(pool, workers, shared, rows, d, groups, stats);
      try {
        return runKMeans(shared, rows, d, groups, o, session.assigner);
      } finally {
        session.close();
      }
    },
    assignRows: (rows, count, d, top, groups, bias, alpha, group, score) => {
      const session = startAssignSession(pool, workers, rows, count, d, groups, stats);
      try {
        session.assigner.assign(undefined, count, top, bias, alpha, group, score, new Float32Array(count));
      } finally {
        session.close();
      }
    },
  };
  const plan = planHierarchical(x, n, dim, k, opts, sab, steps);
  const claimGroups = async (p: HierarchicalPlan): Promise<void> => {
    await spreadOverWorkers(pool, workers, true, p.groups,
      (slot, control) => ({ task: "kmeans-groups", ...p, control, slot, slots: workers, items: p.groups }), (at) => solveGroup(p, p.order[at] as number));
  };
  // the leaves are independent seeded k-means: threads claim whole groups, most work first
  await claimGroups(plan);
  // each refinement pass: groups claimed the same way (a group's rows against its candidates)
  const passes = refinePasses(k, opts, plan, sab);
  for (let step = passes.next(); ; step = passes.next()) {
    if (step.done === true) return step.value;
    await claimGroups({ ...plan, refine: step.value });
  }
}

/** A running chunked k-means assignment over fixed rows and k on the pool's workers; close() releases them. */
interface AssignSession {
  readonly assigner: RowAssigner;
  close(): void;
}

/**
 * Posts the persistent k-means assignment task (rows `x` in shared memory, k centroids) to the
 * workers; each assign() call is one generation of chunk claims, the main thread claiming too and
 * taking over chunks a worker held too long (see KMEANS_STALE_FLOOR_MS).
 */
function startAssignSession(
  pool: ComputePool, workers: number, x: Float32Array, n: number, dim: number, k: number, stats: KMeansSpread,
): AssignSession {
  const sab = (len: number): SharedArrayBuffer => new SharedArrayBuffer(len * 4);
  const centroids = new Float32Array(sab(k * dim));
  const bias = new Float32Array(sab(k));
  const alphaBox = new Float32Array(sab(1));
  const activeList = new Uint32Array(sab(n));
  const assignment = new Uint32Array(sab(n));
  const scores = new Float32Array(sab(n));
  const second = new Float32Array(sab(n));
  const control = new Int32Array(sab(KM_CONTROL_WORDS));
  const chunkWords = new Int32Array(sab(kmChunks(n, KMEANS_CHUNK_ROWS)));
  for (let slot = 0; slot < workers; slot++) {
    // a worker still loading joins whichever generation is current when it is ready
    if (!pool.isDead(slot)) {
      void pool.post(slot, {
        task: "kmeans-assign", x, active: activeList, n, dim, k, centroids, bias, alpha: alphaBox, assignment, scores, second,
        control, slot, slots: workers, chunkRows: KMEANS_CHUNK_ROWS, chunks: chunkWords,
      });
    }
  }
  let gen = 0;
  let slowestChunkMs = 0;
  const scratch = new Float32Array(KMEANS_CHUNK_ROWS * dim);
  let list: Uint32Array | undefined;
  let count = 0;
  let alpha = 0;
  const compute = (at: number): void => {
    const start = at * KMEANS_CHUNK_ROWS;
    const end = Math.min(count, start + KMEANS_CHUNK_ROWS);
    const t0 = performance.now();
    if (list === undefined) {
      assignScored(x.subarray(start * dim, end * dim), end - start, dim, dim, 0, centroids, k, bias, alpha,
        assignment.subarray(start, end), scores.subarray(start, end), second.subarray(start, end));
    } else assignListed(x, dim, list, start, end, scratch, centroids, k, bias, alpha, assignment, scores, second);
    slowestChunkMs = Math.max(slowestChunkMs, performance.now() - t0);
    Atomics.store(chunkWords, at, kmChunkWord(gen, KM_CHUNK_DONE));
    stats.mainChunks++;
  };
  /** Claims chunk `at` for this thread if it still is in state `from`, and computes it. */
  const takeOver = (at: number, from: number): boolean => {
    if (Atomics.compareExchange(chunkWords, at, kmChunkWord(gen, from), kmChunkWord(gen, KM_CHUNK_MAIN)) !== kmChunkWord(gen, from)) return false;
    compute(at);
    return true;
  };
  const assign: RowAssigner["assign"] = (rows, rowCount, c, b, a, outIdx, outScore, outSecond) => {
    if (rows !== undefined && rows !== activeList) throw new Error("k-means row lists must be the shared active list");
    list = rows;
    count = rowCount;
    alpha = a;
    gen++;
    stats.generations++;
    const chunks = kmChunks(count, KMEANS_CHUNK_ROWS);
    centroids.set(c.subarray(0, k * dim));
    bias.set(b.subarray(0, k));
    alphaBox[0] = alpha;
    Atomics.store(control, KM_COUNT, count);
    Atomics.store(control, KM_SOURCE, list === undefined ? 0 : 1);
    // chunk words before the counter: a worker still in the last generation fails its claims
    for (let at = 0; at < chunks; at++) Atomics.store(chunkWords, at, kmChunkWord(gen, KM_CHUNK_FREE));
    Atomics.store(control, KM_NEXT, 0);
    Atomics.store(control, KM_GENERATION, gen);
    Atomics.notify(control, KM_GENERATION);
    for (;;) {
      const at = Atomics.add(control, KM_NEXT, 1);
      if (at >= chunks) break;
      takeOver(at, KM_CHUNK_FREE);
    }
    // the rest is workers' claims: wait in slices (a dead worker's exit event cannot reach this
    // blocked thread), taking over chunks left unclaimed or claimed for too long
    const claimedSince = new Map<number, number>();
    for (;;) {
      const progress = Atomics.load(control, KM_PROGRESS);
      let pending = false;
      for (let at = 0; at < chunks; at++) {
        const state = kmState(Atomics.load(chunkWords, at));
        if (state === KM_CHUNK_DONE) continue;
        pending = true;
        // a counter value taken by a worker that has not recorded its claim yet: ours now
        if (state === KM_CHUNK_FREE) {
          takeOver(at, KM_CHUNK_FREE);
          continue;
        }
        const key = at * 0x10000 + state;
        const now = performance.now();
        const since = claimedSince.get(key);
        if (since === undefined) {
          claimedSince.set(key, now);
          continue;
        }
        const slot = kmStateSlot(state);
        if (state === kmClaimed(slot) && now - since > Math.max(KMEANS_STALE_FLOOR_MS, KMEANS_STALE_FACTOR * slowestChunkMs)) {
          if (takeOver(at, state)) stats.takenOver++;
        } else if (state === kmWriting(slot) && now - since > KMEANS_WRITE_TIMEOUT_MS) {
          throw new QuiverComputeWorkerError(slot, `k-means worker ${slot} stopped while writing rows ${at * KMEANS_CHUNK_ROWS}..${Math.min(count, (at + 1) * KMEANS_CHUNK_ROWS)} of generation ${gen}`);
        }
      }
      if (!pending) break;
      Atomics.wait(control, KM_PROGRESS, progress, KMEANS_WAIT_SLICE_MS);
    }
    outIdx.set(assignment.subarray(0, count));
    outScore.set(scores.subarray(0, count));
    outSecond.set(second.subarray(0, count));
  };
  return {
    assigner: { activeList, assign },
    close: () => {
      // workers leave their serve loop and reply; a pool worker is then free for the next task
      Atomics.store(control, KM_GENERATION, -1);
      Atomics.notify(control, KM_GENERATION);
    },
  };
}

/** `trainIvfModel` with the k-means assignment spread over worker threads (same result). */
export async function trainIvfModelParallel(
  vectors: Float32Array, n: number, dim: number, opts: IvfTrainOptions & ParallelOptions,
): Promise<IvfModel> {
  const { rows, sample, kmeansOptions } = ivfTrainingSample(vectors, n, dim, opts);
  const km = await trainKMeansParallel(sample, rows, dim, opts.numPartitions, { ...kmeansOptions, ...threadOpts(opts) });
  return ivfModelFrom(opts, dim, rows, km);
}

function threadOpts(opts: ParallelOptions): ParallelOptions {
  return {
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    ...(opts.pool === undefined ? {} : { pool: opts.pool }),
    ...(opts.workerUrl === undefined ? {} : { workerUrl: opts.workerUrl }),
  };
}
