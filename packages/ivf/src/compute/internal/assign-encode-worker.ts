/**
 * Worker thread body for the parallel entry points: claims work items (row chunks or PQ
 * sub-spaces) from a shared atomic counter and writes results into shared buffers. Loaded by
 * assign-encode-worker.mjs.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerPayload } from "./parallel-protocol.js";
import {
  CONTROL_NEXT_CHUNK, SLOT_CANCELLED, SLOT_DONE, SLOT_IDLE, SLOT_RUNNING, chunkCountIndex, serveKMeans, slotIndex,
} from "./parallel-protocol.js";
import type { KMeansAssignPayload } from "./parallel-protocol.js";
import { assignEncodeRange, createScratch } from "./assign-encode.js";
import { buildQuantizer, trainPqSubspace } from "./quantizers.js";
import { solveGroup } from "./kmeans.js";

/** Runs the task's claim loop; returns the number of items this thread processed. */
function runTask(d: Exclude<WorkerPayload, KMeansAssignPayload>): number {
  let items = 0;
  if (d.task === "pq-train") {
    for (;;) {
      const s = Atomics.add(d.control, CONTROL_NEXT_CHUNK, 1);
      if (s >= d.m) return items;
      trainPqSubspace(d, s);
      items++;
    }
  }
  if (d.task === "kmeans-groups") {
    for (;;) {
      const at = Atomics.add(d.control, CONTROL_NEXT_CHUNK, 1);
      if (at >= d.groups) return items;
      solveGroup(d, d.order[at] as number);
      items++;
    }
  }
  const job = {
    vectors: d.vectors, n: d.n, dim: d.dim, centroids: d.centroids, k: d.k, distance: d.distance,
    quantizer: buildQuantizer(d.meta), partitions: d.partitions, codes: d.codes,
  };
  const scratch = createScratch(d.dim);
  for (;;) {
    const start = Atomics.add(d.control, CONTROL_NEXT_CHUNK, 1) * d.chunkRows;
    if (start >= d.n) return items;
    assignEncodeRange(job, start, Math.min(d.n, start + d.chunkRows), scratch);
    items++;
  }
}

/** Runs one task; returns the message posted back when it is over. */
function runPayload(d: WorkerPayload): { cancelled: boolean } {
  if (d.task === "kmeans-assign") {
    // the k-means protocol (claims, commits, the main thread's takeover) lives in parallel-protocol.ts
    serveKMeans(d);
    return { cancelled: false };
  }
  // claim the slot before the first item; the main thread cancels slots that never started
  if (Atomics.compareExchange(d.control, slotIndex(d.slot), SLOT_IDLE, SLOT_RUNNING) === SLOT_IDLE) {
    const items = runTask(d);
    Atomics.store(d.control, chunkCountIndex(d.slots, d.slot), items);
    Atomics.store(d.control, slotIndex(d.slot), SLOT_DONE);
  }
  return { cancelled: Atomics.load(d.control, slotIndex(d.slot)) === SLOT_CANCELLED };
}

const boot = workerData as { pool?: boolean } | WorkerPayload;
if ("pool" in boot && boot.pool === true) {
  // a pool worker (parallel-pool.ts): one reply per task, in order, until terminated
  parentPort?.on("message", (task: WorkerPayload) => parentPort?.postMessage(runPayload(task)));
} else {
  parentPort?.postMessage(runPayload(boot as WorkerPayload));
}
