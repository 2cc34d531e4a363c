/**
 * A persistent pool of compute worker threads. Starting a worker costs a module load (about
 * 0.3 s from TypeScript sources, more under load) and a fresh isolate; the build used to pay that
 * per call, i.e. per assign+encode batch, and RSS grew with the number of batches because
 * terminated isolates were not awaited. A pool starts its workers once, hands them tasks by
 * message (typed arrays over SharedArrayBuffers are shared, not copied) and is closed by its owner.
 *
 * Replies come back in the order tasks were posted, so each worker keeps a FIFO of waiters. A
 * worker that fails to load or dies is marked dead: every waiter resolves with `ok: false` and
 * later tasks skip it (callers spread its share over the others, down to the main thread alone).
 *
 * Liveness: a worker is ref'd from a post until the reply to its last outstanding task, and from
 * close() until its thread has exited. A reply can arrive after close() began (a cancelled or
 * k-means worker's reply nobody awaits); unref'ing then let the event loop empty while
 * terminate() was still pending, so a top-level `await` of a build exited the process with code 13.
 */
import { Worker } from "node:worker_threads";
import type { WorkerPayload } from "./parallel-protocol.js";

/**
 * A compute worker died or stopped mid-task and its share could not be recovered; `slot` names
 * the worker (its index in the pool). Code COMPUTE_WORKER_FAILED (spec/error-codes.csv).
 */
export class QuiverComputeWorkerError extends Error {
  readonly code = "COMPUTE_WORKER_FAILED";
  constructor(readonly slot: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "QuiverComputeWorkerError";
  }
}

/** How a posted task ended on its worker. */
export interface TaskOutcome {
  readonly ok: boolean;
  readonly error?: unknown;
}

/** The default worker entry: the bootstrap that loads the compiled or TypeScript worker body. */
export const DEFAULT_WORKER_URL = new URL("./assign-encode-worker.mjs", import.meta.url);

interface PoolWorker {
  readonly worker: Worker | undefined;
  dead: boolean;
  exited: boolean;
  /** Set by close(): the worker stays ref'd until its exit event, whatever replies still arrive. */
  closing: boolean;
  readonly waiting: ((o: TaskOutcome) => void)[];
  readonly exit: Promise<void>;
}

/** A fixed set of long-lived compute workers; see the module comment. */
export class ComputePool {
  private readonly members: PoolWorker[];
  /** Members replaced by {@link replace}: close() still waits for their threads to exit. */
  private readonly retired: PoolWorker[] = [];
  private closed = false;

  /**
   * Starts `workers` worker threads (0 is allowed: every task then runs on the calling thread).
   * `spare` of them sit out the tasks the calling thread takes a share of (see
   * {@link sharedSize}): they are for work that overlaps the caller's own, such as assign +
   * encode while the caller writes the previous batch.
   */
  constructor(workers: number, readonly workerUrl: URL = DEFAULT_WORKER_URL, readonly spare = 0) {
    this.members = [];
    for (let i = 0; i < workers; i++) this.members.push(startMember(workerUrl));
  }

  /** Workers the pool was created with (dead ones included). */
  get size(): number {
    return this.members.length;
  }

  /** Workers used by a task the calling thread shares (size minus the spare ones). */
  get sharedSize(): number {
    return Math.max(0, this.members.length - this.spare);
  }

  /** Workers whose thread has not exited yet (0 after {@link close}). */
  get liveThreads(): number {
    return [...this.members, ...this.retired].filter((m) => m.worker !== undefined && !m.exited).length;
  }

  /** True once {@link close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whether worker `slot` is known to be unusable (failed to load, crashed or pool closed). */
  isDead(slot: number): boolean {
    const m = this.members[slot];
    return m === undefined || m.dead || this.closed;
  }

  /** Whether worker `slot`'s thread has exited (it can no longer touch shared memory). */
  hasExited(slot: number): boolean {
    const m = this.members[slot];
    return m === undefined || m.exited;
  }

  /**
   * Terminates worker `slot` (a hung one, or one that died mid-task) and starts a fresh worker in
   * its place for the next task; its outstanding tasks settle with `ok: false`. No-op once closed.
   */
  replace(slot: number): void {
    const old = this.members[slot];
    if (old === undefined || this.closed) return;
    old.closing = true;
    if (old.worker !== undefined && !old.exited) {
      old.worker.ref();
      void old.worker.terminate();
    }
    this.retired.push(old);
    this.members[slot] = startMember(this.workerUrl);
  }

  /** Posts one task to worker `slot`; resolves when the worker reports it finished (or died). */
  post(slot: number, payload: WorkerPayload): Promise<TaskOutcome> {
    const m = this.members[slot];
    if (m === undefined || m.dead || m.worker === undefined || this.closed) return Promise.resolve({ ok: false, error: new Error("worker unavailable") });
    const worker = m.worker;
    return new Promise((resolve) => {
      // a worker with work outstanding keeps the process alive; an idle one does not
      worker.ref();
      m.waiting.push(resolve);
      try {
        worker.postMessage(payload);
      } catch (error) {
        m.waiting.pop();
        if (m.waiting.length === 0 && !m.closing) worker.unref();
        resolve({ ok: false, error });
      }
    });
  }

  private readonly scratch = new Map<string, Float32Array>();

  /**
   * A grow-only shared buffer of at least `floats` floats, reused across calls under `name` (the
   * caller must be done with the previous contents). Bounded by the largest request.
   */
  sharedFloats(name: string, floats: number): Float32Array {
    let buf = this.scratch.get(name);
    if (buf === undefined || buf.length < floats) {
      buf = new Float32Array(new SharedArrayBuffer(floats * 4));
      this.scratch.set(name, buf);
    }
    return buf.subarray(0, floats);
  }

  /** Terminates every worker and waits until their threads have exited. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.scratch.clear();
    await Promise.all(
      [...this.members, ...this.retired].map(async (m) => {
        m.closing = true;
        if (m.worker !== undefined && !m.exited) {
          // terminate() resolves on the exit event; a ref'd worker keeps the loop alive until then
          // (a reply delivered during terminate no longer unrefs it: see closing)
          m.worker.ref();
          await m.worker.terminate();
        }
        await m.exit;
      }),
    );
  }
}

function startMember(url: URL): PoolWorker {
  let worker: Worker | undefined;
  try {
    worker = new Worker(url, { workerData: { pool: true } });
  } catch (error) {
    void error; // no worker runtime: this member is dead from the start
  }
  const waiting: ((o: TaskOutcome) => void)[] = [];
  let markExited: () => void = () => undefined;
  const exit = worker === undefined ? Promise.resolve() : new Promise<void>((resolve) => (markExited = resolve));
  const m: PoolWorker = { worker, dead: worker === undefined, exited: worker === undefined, closing: false, waiting, exit };
  const fail = (error: unknown): void => {
    m.dead = true;
    for (const w of waiting.splice(0)) w({ ok: false, error });
  };
  if (worker !== undefined) {
    const w = worker;
    worker.on("message", (reply: unknown) => {
      // only a task reply settles a task (the oldest: replies come in posting order)
      if (!isTaskReply(reply)) return;
      waiting.shift()?.({ ok: true });
      if (waiting.length === 0 && !m.closing) w.unref();
    });
    worker.on("error", (error) => fail(error));
    worker.on("exit", (code) => {
      m.exited = true;
      fail(new Error(`compute worker exited with code ${code}`));
      markExited();
    });
    // an owner that forgets close() must not keep the process alive
    worker.unref();
  }
  return m;
}

/** The reply a pool worker posts when a task is over (assign-encode-worker.ts). */
function isTaskReply(reply: unknown): boolean {
  return typeof reply === "object" && reply !== null && typeof (reply as { cancelled?: unknown }).cancelled === "boolean";
}

/**
 * A pool of `workers` threads, `spare` of which only take tasks the calling thread does not
 * share (see ComputePool); close it when the work is done.
 */
export function createComputePool(workers: number, workerUrl?: URL, spare = 0): ComputePool {
  const w = Math.max(0, Math.trunc(workers));
  return new ComputePool(w, workerUrl, Math.min(w, Math.max(0, Math.trunc(spare))));
}
