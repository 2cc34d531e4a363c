/**
 * A worker thread that takes the CRC-32 of byte ranges of shared memory: the bulk ordered read
 * (PartitionArtifactReader.partitionsInOrder) checks the next window's range CRCs there while the
 * consumer's thread decodes and writes the current window, so a finalize's range checks no longer
 * run on the thread that also takes the index sections' CRCs and copies the rows.
 *
 * The worker is plain CommonJS evaluated from a string (no module resolution, no loader hooks
 * inherited: `execArgv: []`), computes with node:zlib's crc32 (the same function as
 * @quiver/format's crc32) and holds no state besides its port. It is unref'd, so an idle one never
 * keeps a process alive, and terminated when the read that started it ends.
 */
import { Worker } from "node:worker_threads";

const SOURCE = `
const { parentPort } = require("node:worker_threads");
const { crc32 } = require("node:zlib");
parentPort.on("message", (m) => {
  const out = new Uint32Array(m.ranges.length / 2);
  try {
    for (let i = 0; i < out.length; i++) out[i] = crc32(new Uint8Array(m.buffer, m.ranges[2 * i], m.ranges[2 * i + 1])) >>> 0;
    parentPort.postMessage({ id: m.id, crcs: out }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String(e && e.message || e) });
  }
});
`;

/** Bulk reads of at least this many bytes check range CRCs in a worker (smaller ones are not worth a thread start). */
let workerMinBytes = 32 * 1024 * 1024;

/** Tests: the smallest read that uses the worker (0: every bulk read). Returns the previous value. */
export function setCrcWorkerMinBytes(bytes: number): number {
  const prev = workerMinBytes;
  workerMinBytes = bytes;
  return prev;
}

/** See {@link setCrcWorkerMinBytes}. */
export function crcWorkerMinBytes(): number {
  return workerMinBytes;
}

/** CRC-32 of ranges of a SharedArrayBuffer, computed on a worker thread. */
export class CrcWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (c: Uint32Array) => void; reject: (e: Error) => void }>();
  #next = 0;
  #failed: Error | undefined;

  constructor() {
    this.#worker = new Worker(SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    this.#worker.unref();
    const fail = (e: Error): void => {
      this.#failed ??= e;
      for (const p of this.#pending.values()) p.reject(e);
      this.#pending.clear();
    };
    this.#worker.on("message", (m: { id: number; crcs?: Uint32Array; error?: string }) => {
      const p = this.#pending.get(m.id);
      if (p === undefined) return;
      this.#pending.delete(m.id);
      if (m.crcs !== undefined) p.resolve(m.crcs);
      else p.reject(new Error(`CRC worker: ${m.error ?? "no result"}`));
    });
    this.#worker.on("error", fail);
    this.#worker.on("exit", (code) => fail(new Error(`CRC worker exited (code ${code})`)));
  }

  /** CRC-32 of each (offset, length) pair of `ranges` (flattened) within `buffer`. */
  crcs(buffer: SharedArrayBuffer, ranges: Float64Array): Promise<Uint32Array> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // ref'd while a job is out: a read waiting on it must not let the process exit under it
      this.#worker.ref();
      this.#worker.postMessage({ id, buffer, ranges });
    }).finally(() => {
      if (this.#pending.size === 0) this.#worker.unref();
    }) as Promise<Uint32Array>;
  }

  /** Stop the thread (jobs still out are rejected). */
  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}
