/**
 * Search worker thread body (loaded by search-worker.mjs through piscina): scores its share of a
 * batch's partitions and returns each query's best candidates. Quantizers are rebuilt once per
 * index state and kept (a few at most).
 */
import { buildQuantizer } from "./compute/internal/quantizers.js";
import type { TrainedQuantizer } from "./quantizer.js";
import type { SearchTask, SearchTaskResult } from "./search-protocol.js";
import { PqSearchTables, usesPqSearchTables } from "./search-pq.js";
import { packCandidates, scanPartitions } from "./search-scan.js";
import { TopKCandidates } from "./top-k.js";

/** Quantizers kept per worker: an index reopened many times must not grow this without bound. */
const MAX_SETUPS = 8;
const setups = new Map<string, { quantizer: TrainedQuantizer; pqTables: PqSearchTables | undefined }>();

function setupOf(task: SearchTask): { quantizer: TrainedQuantizer; pqTables: PqSearchTables | undefined } {
  const { id, quantizer, centroids, dim } = task.setup;
  let s = setups.get(id);
  if (s === undefined) {
    // metadata of a state the main thread already checked
    s = { quantizer: buildQuantizer(quantizer), pqTables: usesPqSearchTables(quantizer) ? new PqSearchTables(quantizer, centroids, centroids.length / dim) : undefined };
    if (setups.size >= MAX_SETUPS) setups.delete(setups.keys().next().value!);
    setups.set(id, s);
  }
  return s;
}

/** Runs one search task. */
export default function searchTask(task: SearchTask): SearchTaskResult {
  const { dim } = task.setup;
  const nq = task.queries.length / dim;
  const queries = Array.from({ length: nq }, (_, i) => task.queries.subarray(i * dim, (i + 1) * dim));
  const tops = queries.map(() => new TopKCandidates(task.capacity));
  const { quantizer, pqTables } = setupOf(task);
  scanPartitions({ quantizer, pqTables, centroids: task.setup.centroids, dim, queries, parts: task.parts, entries: task.partitions, users: task.users, codeKey: task.setup.id }, tops);
  return packCandidates(tops, task.capacity);
}
