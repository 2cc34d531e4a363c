/**
 * Worker thread body for the parallel entry points: claims work items (row chunks or PQ
 * sub-spaces) from a shared atomic counter and writes results into shared buffers. Loaded by
 * assign-encode-worker.mjs.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerPayload } from "./parallel-protocol.js";
import {
  CONTROL_NEXT_CHUNK, KM_COUNT, KM_DONE, KM_GENERATION, KM_NEXT, KM_SOURCE, SLOT_CANCELLED, SLOT_DONE, SLOT_IDLE, SLOT_RUNNING,
  chunkCountIndex, kmSlotIndex, slotIndex,
} from "./parallel-protocol.js";
import type { KMeansAssignPayload } from "./parallel-protocol.js";
import { assignScored } from "./vector-math.js";
import { assignEncodeRange, createScratch } from "./assign-encode.js";
import { buildQuantizer, trainPqSubspace } from "./quantizers.js";
import { assignListed, solveGroup } from "./kmeans.js";

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

/** Serves k-means assignment generations until the main thread sets generation -1. */
function serveKMeans(d: KMeansAssignPayload): void {
  const c = d.control;
  let seen = 0;
  let scratch: Float32Array | undefined;
  for (;;) {
    Atomics.wait(c, KM_GENERATION, seen);
    const gen = Atomics.load(c, KM_GENERATION);
    if (gen < 0) return;
    if (gen === seen) continue;
    seen = gen;
    const alpha = d.alpha[0] as number;
    const count = Atomics.load(c, KM_COUNT);
    const listed = Atomics.load(c, KM_SOURCE) === 1;
    for (;;) {
      const start = Atomics.add(c, KM_NEXT, 1) * d.chunkRows;
      if (start >= count) break;
      const end = Math.min(count, start + d.chunkRows);
      if (listed) {
        scratch ??= new Float32Array(d.chunkRows * d.dim);
        assignListed(d.x, d.dim, d.active, start, end, scratch, d.centroids, d.k, d.bias, alpha, d.assignment, d.scores, d.second);
      } else {
        assignScored(d.x.subarray(start * d.dim, end * d.dim), end - start, d.dim, d.dim, 0, d.centroids, d.k, d.bias, alpha,
          d.assignment.subarray(start, end), d.scores.subarray(start, end), d.second.subarray(start, end));
      }
    }
    Atomics.add(c, KM_DONE, 1);
    Atomics.notify(c, KM_DONE);
  }
}

/** Runs one task; returns the message posted back when it is over. */
function runPayload(d: WorkerPayload): { cancelled: boolean } {
  if (d.task === "kmeans-assign") {
    // claim the slot (and wake a main thread waiting for it) unless the main thread gave up on us
    if (Atomics.compareExchange(d.control, kmSlotIndex(d.slot), SLOT_IDLE, SLOT_RUNNING) === SLOT_IDLE) {
      Atomics.notify(d.control, kmSlotIndex(d.slot));
      serveKMeans(d);
      return { cancelled: false };
    }
    return { cancelled: true };
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
