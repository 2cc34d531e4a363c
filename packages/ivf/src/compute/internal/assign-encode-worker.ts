/**
 * Worker thread body for `encodeAndAssignParallel`: claims row chunks from a shared counter and
 * assigns + encodes them into shared output buffers. Loaded by assign-encode-worker.mjs.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerPayload } from "./parallel-protocol.js";
import { CONTROL_NEXT_CHUNK, SLOT_CANCELLED, SLOT_DONE, SLOT_IDLE, SLOT_RUNNING, chunkCountIndex, slotIndex } from "./parallel-protocol.js";
import { assignEncodeRange, createScratch } from "./assign-encode.js";
import { buildQuantizer } from "./quantizers.js";

const d = workerData as WorkerPayload;
const control = d.control;
let chunks = 0;
// claim the slot before the first chunk; the main thread cancels slots that never started
if (Atomics.compareExchange(control, slotIndex(d.slot), SLOT_IDLE, SLOT_RUNNING) === SLOT_IDLE) {
  const job = {
    vectors: d.vectors, n: d.n, dim: d.dim, centroids: d.centroids, k: d.k, distance: d.distance,
    quantizer: buildQuantizer(d.meta), partitions: d.partitions, codes: d.codes,
  };
  const scratch = createScratch(d.dim);
  for (;;) {
    const start = Atomics.add(control, CONTROL_NEXT_CHUNK, 1) * d.chunkRows;
    if (start >= d.n) break;
    assignEncodeRange(job, start, Math.min(d.n, start + d.chunkRows), scratch);
    chunks++;
  }
  Atomics.store(control, chunkCountIndex(d.slots, d.slot), chunks);
  Atomics.store(control, slotIndex(d.slot), SLOT_DONE);
}
parentPort?.postMessage({ chunks, cancelled: Atomics.load(control, slotIndex(d.slot)) === SLOT_CANCELLED });
