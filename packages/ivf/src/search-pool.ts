/**
 * The worker pool behind threaded search: a persistent piscina pool per index, started on first
 * use, whose idle workers never keep the process alive (piscina unrefs idle workers), shut down
 * by `IvfVectorIndex.close()`. Partition codes reach the workers through SharedArrayBuffer
 * copies made once per cached entry and handed to each worker once (then named by a serial),
 * never copied per query or per batch.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { QuantizerMetadata } from "./quantizer.js";
import type { SearchSetup, SearchTask, SearchTaskResult, SharedPartition } from "./search-protocol.js";
import type { ScanPartition } from "./search-scan.js";

const WORKER_URL = new URL("./search-worker.mjs", import.meta.url);

/** Threads a search uses by default: every core this process may use. */
export function defaultSearchThreads(): number {
  return Math.max(1, availableParallelism());
}

function sharedCopy<T extends Float32Array | Uint8Array | Uint32Array | BigUint64Array>(a: T): T {
  const Ctor = a.constructor as new (buffer: SharedArrayBuffer) => T;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength));
  (out as unknown as { set(src: T): void }).set(a);
  return out;
}

let setupCounter = 0;

/** The setup of a state: its quantizer arrays and centroids copied once into shared memory. */
export function makeSearchSetup(quantizer: QuantizerMetadata, centroids: Float32Array, dim: number): SearchSetup {
  const arrays: Record<string, Float32Array | Uint8Array | Uint32Array> = {};
  for (const [name, a] of Object.entries(quantizer.arrays)) arrays[name] = sharedCopy(a);
  return {
    id: `${process.pid}-${++setupCounter}-${Math.random().toString(36).slice(2)}`,
    quantizer: { kind: quantizer.kind, dim: quantizer.dim, distance: quantizer.distance, residual: quantizer.residual, params: { ...quantizer.params }, arrays },
    centroids: sharedCopy(centroids),
    dim,
  };
}

/**
 * Shared-memory copies of partition entries, made once per entry object, and what the workers
 * were handed: a copy is sent with tasks until every worker thread confirmed it, and when its
 * entry is garbage collected (evicted from the cache) its serial is queued so workers drop theirs.
 * Memory: one extra copy of the row ids and codes of every partition a threaded scan touched
 * while its entry lives (shared by all workers, not one per worker).
 */
export class SharedPartitions {
  readonly #copies = new WeakMap<object, SharedPartition>();
  /** Worker threads holding each live serial. */
  readonly #holders = new Map<number, Set<number>>();
  #dropped: number[] = [];
  #serial = 0;
  readonly #gone = new FinalizationRegistry<number>((serial) => {
    this.#holders.delete(serial);
    this.#dropped.push(serial);
  });

  /** The shared copy of `entry`, partition `part` (copied on first use). */
  of(part: number, entry: ScanPartition): SharedPartition {
    let m = this.#copies.get(entry);
    if (m === undefined) {
      m = { serial: ++this.#serial, part, rows: entry.rows, rowIds: sharedCopy(entry.rowIds), codes: sharedCopy(entry.codes) };
      this.#copies.set(entry, m);
      this.#holders.set(m.serial, new Set());
      this.#gone.register(entry, m.serial);
    }
    return m;
  }

  /** Whether every one of `workers` worker threads holds `serial`. */
  heldByAll(serial: number, workers: number): boolean {
    return (this.#holders.get(serial)?.size ?? 0) >= workers;
  }

  /** Records that worker thread `threadId` holds `serials`. */
  held(threadId: number, serials: readonly SharedPartition[]): void {
    for (const s of serials) this.#holders.get(s.serial)?.add(threadId);
  }

  /** A worker thread died: nothing is known to be held any more (copies are sent again). */
  forget(): void {
    for (const h of this.#holders.values()) h.clear();
  }

  /** Serials dropped since the last call (sent to the workers with the next batch). */
  takeDropped(): Int32Array {
    const out = Int32Array.from(this.#dropped);
    this.#dropped = [];
    return out;
  }
}

/** A persistent pool of search workers. */
export class SearchPool {
  readonly workers: number;
  #pool: Piscina<SearchTask, SearchTaskResult> | undefined;
  #closed = false;
  /** Worker threads that hold the setup of each state id. */
  readonly #setupHolders = new Map<string, Set<number>>();
  /** What the workers reported holding in their last answers, by thread. */
  readonly #resident = new Map<number, { partitions: number; bytes: number }>();
  /** Tasks not answered yet (a batch does not wait for workers that joined too late; close does). */
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(workers: number) {
    this.workers = workers;
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Whether every worker holds setup `id` (then tasks carry only its id). */
  setupKnown(id: string): boolean {
    return (this.#setupHolders.get(id)?.size ?? 0) >= this.workers;
  }

  /** Partitions and bytes the workers hold (as of their last answers; zero after close). */
  resident(): { partitions: number; bytes: number } {
    let partitions = 0;
    let bytes = 0;
    for (const r of this.#resident.values()) {
      partitions += r.partitions;
      bytes += r.bytes;
    }
    return { partitions, bytes };
  }

  /** Tasks posted and not answered yet: a batch posts no more than the idle workers can take (a late worker's queue must not grow). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Resolves when every task posted so far has been answered (or failed). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Runs a task on a worker (starting the pool on first use). */
  async run(task: SearchTask): Promise<SearchTaskResult> {
    if (this.#closed) throw new Error("the search pool is closed");
    this.#pool ??= new Piscina<SearchTask, SearchTaskResult>({
      filename: WORKER_URL.href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // workers stay up between batches (a batch costs no thread start); piscina unrefs idle ones
      idleTimeout: 60_000,
    });
    const p = this.#pool.run(task);
    this.#inFlight.add(p);
    let r: SearchTaskResult;
    try {
      r = await p;
    } finally {
      this.#inFlight.delete(p);
    }
    if (task.setup !== undefined) {
      let s = this.#setupHolders.get(task.setupId);
      if (s === undefined) this.#setupHolders.set(task.setupId, (s = new Set()));
      s.add(r.threadId);
    }
    if (!this.#closed) this.#resident.set(r.threadId, { partitions: r.residentPartitions, bytes: r.residentBytes });
    return r;
  }

  /** A worker thread stopped (its answer failed): what it held is gone with it. */
  forget(): void {
    // which thread died is not reported: forget every holder, so copies are sent again
    this.#setupHolders.clear();
    this.#resident.clear();
  }

  /** Stops the workers (freeing everything they hold); later {@link run} calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#resident.clear();
    this.#setupHolders.clear();
    const pool = this.#pool;
    this.#pool = undefined;
    // answers still on their way would reach a destroyed pool: let them land first (a late
    // worker claims no chunk, so they are quick)
    await Promise.allSettled([...this.#inFlight]);
    if (pool !== undefined) await pool.destroy();
  }
}

/** Row scores (rows x queries) below which a partition is not split further. */
const MIN_CHUNK_COST_DEFAULT = 16_384;
/** Rows below which a partition's row range is not split (a piece's fixed cost is a table per query). */
const MIN_CHUNK_ROWS_DEFAULT = 2048;

/**
 * Test hooks (not exported from the package): `mainClaims: false` makes the main thread wait for
 * the workers' answers before it claims chunks, so tests can prove the workers' scoring and the
 * merge on data small enough for the main thread to take every chunk otherwise.
 */
export const searchTestHooks = { mainClaims: true, minChunkCost: MIN_CHUNK_COST_DEFAULT, minChunkRows: MIN_CHUNK_ROWS_DEFAULT };
/** Chunks per thread aimed at: the last chunk in flight bounds how long the main thread waits for a worker. */
const CHUNKS_PER_THREAD = 8;

/**
 * The chunks of a scan (CHUNK_INTS ints each, largest first): a partition whose rows x queries
 * exceed the target is split by its queries first and then by row range, so one huge partition
 * (skewed data) spreads over the threads like many small ones.
 */
export function planChunks(rows: ArrayLike<number>, userCounts: ArrayLike<number>, threads: number): Int32Array {
  let total = 0;
  for (let j = 0; j < rows.length; j++) total += rows[j]! * userCounts[j]!;
  const { minChunkCost, minChunkRows } = searchTestHooks;
  const target = Math.max(minChunkCost, Math.ceil(total / (threads * CHUNKS_PER_THREAD)));
  const out: number[][] = [];
  for (let j = 0; j < rows.length; j++) {
    const n = rows[j]!;
    const u = userCounts[j]!;
    if (n === 0 || u === 0) continue;
    const pieces = Math.ceil((n * u) / target);
    const groups = Math.max(1, Math.min(pieces, u));
    const ranges = Math.max(1, Math.min(Math.ceil(pieces / groups), Math.floor(n / minChunkRows)));
    for (let g = 0; g < groups; g++) {
      const from = Math.floor((g * u) / groups);
      const to = Math.floor(((g + 1) * u) / groups);
      for (let r = 0; r < ranges; r++) out.push([j, Math.floor((r * n) / ranges), Math.floor(((r + 1) * n) / ranges), from, to]);
    }
  }
  out.sort((a, b) => (b[2]! - b[1]!) * (b[4]! - b[3]!) - (a[2]! - a[1]!) * (a[4]! - a[3]!));
  const chunks = new Int32Array(new SharedArrayBuffer(Math.max(4, out.length * 5 * 4)), 0, out.length * 5);
  out.forEach((c, i) => chunks.set(c, i * 5));
  return chunks;
}

/** Size class of a scan: powers of two of its row scores. */
function classOf(rowScores: number): number {
  return Math.floor(Math.log2(Math.max(1, rowScores)));
}

/** Figures of one size class of scans. */
interface ScanClass {
  /** Wall-clock ns per row score on this thread / threaded (NaN until measured). */
  oneNs: number;
  threadedNs: number;
  /** Scans of each kind measured. */
  ones: number;
  threadeds: number;
  /** Scans decided since the other kind last ran, and how many decisions a probe of the other kind waits for. */
  since: number;
  probeEvery: number;
  /** The choice before the last probe (a probe that flips it starts probing often again). */
  lastChoice: boolean | undefined;
}

/** Decisions between probes of the kind not chosen: right after a change of choice, and at most (when the choice keeps holding). */
export const PROBE_EVERY_MIN = 8;
export const PROBE_EVERY_MAX = 128;
/** Scans of each kind a class measures (alternating) before its figures decide: one sample is mostly JIT and cache warm-up. */
const SAMPLES_BEFORE_DECIDING = 2;
/** Row scores below which a scan is never threaded (a chunk's fixed costs would dominate). */
const MIN_THREADED_SCORES = 4 * MIN_CHUNK_COST_DEFAULT;

/**
 * When a scan is worth threading, from what this process measured, per size class of scan
 * (powers of two of its row scores): wall-clock ns per row score of scans on this thread and of
 * threaded scans (planning, posting, waiting for the last chunk in flight and merging included;
 * copying partitions into shared memory, a one-off per cache entry, excluded). A class first
 * measures both kinds (alternating, two scans each; the first scan follows the estimate: the work
 * the workers are expected to take must exceed twice the measured hand-off overhead); then a scan
 * is threaded when threaded scans of its class ran at least 10% faster. Both choices are probed:
 * the kind not chosen runs again after {@link PROBE_EVERY_MIN} decisions, the gap doubling up to
 * {@link PROBE_EVERY_MAX} while the choice holds and shrinking back when a probe flips it, and a
 * probe's figure replaces the stale one, so a class that ran on one thread while the machine was
 * busy goes back to the workers within one probe of the machine freeing up (and the reverse).
 */
export class ThreadCostModel {
  /** ns per row score on this thread (EWMA over all classes); a PQ16 scan is about 1 ns. */
  rowNs = 1;
  /** Main thread's extra ms per threaded scan (EWMA; seeded by round trips at pool start). */
  overheadMs = 0.2;
  /** Share of a threaded scan's row scores the workers took (EWMA). */
  workerShare: number;
  /** Decisions that ran the kind the figures did not choose (to keep them current), threaded and one-thread. */
  probes = 0;
  readonly #classes = new Map<number, ScanClass>();
  /** The kind each class's last decision was a probe of (its next measurement is a probe sample). */
  readonly #probing = new Map<number, boolean>();

  constructor(threads: number) {
    this.workerShare = (threads - 1) / threads;
  }

  #classOf(rowScores: number): ScanClass {
    const c = classOf(rowScores);
    let v = this.#classes.get(c);
    if (v === undefined) this.#classes.set(c, (v = { oneNs: Number.NaN, threadedNs: Number.NaN, ones: 0, threadeds: 0, since: 0, probeEvery: PROBE_EVERY_MIN, lastChoice: undefined }));
    return v;
  }

  /** A class's figure after a new sample: a probe's sample replaces a stale figure, others average in. */
  #sample(key: number, threaded: boolean, old: number, ns: number): number {
    if (this.#probing.get(key) === threaded) {
      this.#probing.delete(key);
      return ns;
    }
    return Number.isNaN(old) ? ns : 0.7 * old + 0.3 * ns;
  }

  /** Records a scan of `rowScores` row scores on this thread that took `ms`. */
  scanned(rowScores: number, ms: number): void {
    if (rowScores < MIN_CHUNK_COST_DEFAULT) return;
    const ns = (ms * 1e6) / rowScores;
    this.rowNs = 0.8 * this.rowNs + 0.2 * ns;
    const c = this.#classOf(rowScores);
    c.oneNs = this.#sample(classOf(rowScores), false, c.oneNs, ns);
    c.ones++;
  }

  /** Records a threaded scan: the main thread's extra ms, the workers' share of the row scores, and (when given) its row scores and whole wall-clock ms. */
  threaded(overheadMs: number, workerShare: number, rowScores = 0, wallMs = 0): void {
    this.overheadMs = 0.8 * this.overheadMs + 0.2 * overheadMs;
    this.workerShare = 0.8 * this.workerShare + 0.2 * workerShare;
    if (rowScores < MIN_CHUNK_COST_DEFAULT) return;
    const ns = (wallMs * 1e6) / rowScores;
    const c = this.#classOf(rowScores);
    c.threadedNs = this.#sample(classOf(rowScores), true, c.threadedNs, ns);
    c.threadeds++;
  }

  /** Whether the figures (or, before a class has them, the estimate) choose threads for a scan of `rowScores`. */
  #choice(c: ScanClass, rowScores: number): boolean {
    if (c.ones >= SAMPLES_BEFORE_DECIDING && c.threadeds >= SAMPLES_BEFORE_DECIDING) return c.threadedNs < 0.9 * c.oneNs;
    return (rowScores * this.rowNs * this.workerShare) / 1e6 > 2 * this.overheadMs;
  }

  /** Whether a scan of `rowScores` row scores should use the workers. */
  worthThreading(rowScores: number): boolean {
    if (rowScores < MIN_THREADED_SCORES) return false;
    const key = classOf(rowScores);
    const c = this.#classOf(rowScores);
    // a new class measures both kinds first: the kind it has fewer samples of (the estimate breaks ties)
    if (c.ones < SAMPLES_BEFORE_DECIDING || c.threadeds < SAMPLES_BEFORE_DECIDING) {
      if (c.ones !== c.threadeds) return c.threadeds < c.ones;
      return this.#choice(c, rowScores);
    }
    const choice = this.#choice(c, rowScores);
    if (c.lastChoice !== undefined && c.lastChoice !== choice) {
      // the figures changed their mind: check the kind just left again soon
      c.probeEvery = PROBE_EVERY_MIN;
      c.since = 0;
    }
    c.lastChoice = choice;
    if (++c.since < c.probeEvery) return choice;
    // probe the other kind; while the choice holds, probe half as often next time
    c.since = 0;
    c.probeEvery = Math.min(PROBE_EVERY_MAX, c.probeEvery * 2);
    this.probes++;
    this.#probing.set(key, !choice);
    return !choice;
  }
}
