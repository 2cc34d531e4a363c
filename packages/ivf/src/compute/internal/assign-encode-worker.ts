/**
 * Worker thread body for the parallel entry points: serves the protocol of parallel-protocol.ts
 * (claims of row chunks, PQ sub-spaces or leaf groups; results committed under the claim).
 * Loaded by assign-encode-worker.mjs.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerPayload } from "./parallel-protocol.js";
import { serveItems, serveKMeans } from "./parallel-protocol.js";

/** Runs one task; returns the message posted back when it is over. */
function runPayload(d: WorkerPayload): { cancelled: boolean } {
  if (d.task === "kmeans-assign") {
    // the k-means protocol (claims, commits, the main thread's takeover) lives in parallel-protocol.ts
    serveKMeans(d);
    return { cancelled: false };
  }
  // so does the pooled item tasks' (claims of chunks, sub-spaces or groups, private results)
  return serveItems(d);
}

const boot = workerData as { pool?: boolean } | WorkerPayload;
if ("pool" in boot && boot.pool === true) {
  // a pool worker (parallel-pool.ts): one reply per task, in order, until terminated
  parentPort?.on("message", (task: WorkerPayload) => parentPort?.postMessage(runPayload(task)));
} else {
  parentPort?.postMessage(runPayload(boot as WorkerPayload));
}
