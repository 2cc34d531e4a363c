/**
 * Exact L2 top-k over worker threads (dim must be a multiple of 4): the ground truth of recall@k
 * in the main job. Data and queries go to shared memory once; each worker takes a query range.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

/** Exact k nearest rows (squared L2, ties to the lower row) of each query, as q x k row indexes. */
export async function parallelGroundTruth(
  vectors: Float32Array,
  n: number,
  dim: number,
  queries: Float32Array,
  q: number,
  k: number,
  options: { threads?: number; onProgress?: (done: number) => void } = {},
): Promise<Int32Array> {
  if (dim % 4 !== 0) throw new RangeError(`dim ${dim} is not a multiple of 4`);
  const share = (a: Float32Array): SharedArrayBuffer => {
    const s = new SharedArrayBuffer(a.byteLength);
    new Float32Array(s).set(a);
    return s;
  };
  const data = share(vectors.subarray(0, n * dim));
  const normsArr = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const v = vectors[i * dim + j]!;
      s += v * v;
    }
    normsArr[i] = s;
  }
  const norms = share(normsArr);
  const qs = share(queries.subarray(0, q * dim));
  const out = new SharedArrayBuffer(q * k * 4);
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), q));
  let done = 0;
  await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const from = Math.floor((q * t) / threads);
      const to = Math.floor((q * (t + 1)) / threads);
      return new Promise<void>((resolve, reject) => {
        const w = new Worker(new URL("./ground-truth-worker.mjs", import.meta.url), {
          workerData: { data, norms, queries: qs, out, n, dim, k, from, to },
          execArgv: [],
        });
        let last = 0;
        w.on("message", (m: { done?: number; finished?: boolean }) => {
          if (m.done !== undefined) {
            done += m.done - last;
            last = m.done;
            options.onProgress?.(done);
          }
          if (m.finished === true) void w.terminate().then(() => resolve());
        });
        w.on("error", reject);
        w.on("exit", (code) => (code === 0 || code === 1 ? resolve() : reject(new Error(`ground-truth worker exited with ${code}`))));
      });
    }),
  );
  return new Int32Array(out);
}
