/**
 * The worker pool behind threaded search: a persistent piscina pool per index, started on first
 * use, whose idle workers never keep the process alive (piscina unrefs idle workers), shut down
 * by `IvfVectorIndex.close()`. Partition codes reach the workers through SharedArrayBuffer
 * mirrors made once per cached entry, never copied per query or per task.
 */
import { availableParallelism } from "node:os";
import { Piscina } from "piscina";
import type { QuantizerMetadata } from "./quantizer.js";
import type { SearchSetup, SearchTask, SearchTaskResult } from "./search-protocol.js";
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

/** Shared-memory mirrors of partition entries, made once per entry object (and dropped with it). */
export class SharedPartitions {
  readonly #mirrors = new WeakMap<object, ScanPartition>();

  /** The mirror of `entry` (copied on first use). */
  of(entry: ScanPartition): ScanPartition {
    let m = this.#mirrors.get(entry);
    if (m === undefined) {
      m = { rows: entry.rows, rowIds: sharedCopy(entry.rowIds), codes: sharedCopy(entry.codes) };
      this.#mirrors.set(entry, m);
    }
    return m;
  }
}

/** A persistent pool of search workers. */
export class SearchPool {
  readonly workers: number;
  #pool: Piscina<SearchTask, SearchTaskResult> | undefined;
  #closed = false;

  constructor(workers: number) {
    this.workers = workers;
  }

  /** True once {@link close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Runs a task on a worker (starting the pool on first use). */
  run(task: SearchTask): Promise<SearchTaskResult> {
    if (this.#closed) return Promise.reject(new Error("the search pool is closed"));
    this.#pool ??= new Piscina<SearchTask, SearchTaskResult>({
      filename: WORKER_URL.href,
      minThreads: this.workers,
      maxThreads: this.workers,
      // workers stay up between batches (a batch costs no thread start); piscina unrefs idle ones
      idleTimeout: 60_000,
    });
    return this.#pool.run(task);
  }

  /** Stops the workers; later {@link run} calls reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool !== undefined) await pool.destroy();
  }
}
