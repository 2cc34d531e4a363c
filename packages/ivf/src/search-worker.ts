/**
 * Search worker thread body (loaded by search-worker.mjs through piscina): scores its share of a
 * batch's partitions and returns each query's best candidates. Quantizers are rebuilt once per
 * index state and kept (a few at most).
 */
import { buildQuantizer } from "./compute/internal/quantizers.js";
import type { TrainedQuantizer } from "./quantizer.js";
import type { SearchTask, SearchTaskResult } from "./search-protocol.js";
import { packCandidates, scanPartitions } from "./search-scan.js";
import { TopKCandidates } from "./top-k.js";

/** Quantizers kept per worker: an index reopened many times must not grow this without bound. */
const MAX_SETUPS = 8;
const setups = new Map<string, TrainedQuantizer>();

function quantizerOf(task: SearchTask): TrainedQuantizer {
  const { id, quantizer } = task.setup;
  let q = setups.get(id);
  if (q === undefined) {
    // metadata of a state the main thread already checked
    q = buildQuantizer(quantizer);
    if (setups.size >= MAX_SETUPS) setups.delete(setups.keys().next().value!);
    setups.set(id, q);
  }
  return q;
}

/** Runs one search task. */
export default function searchTask(task: SearchTask): SearchTaskResult {
  const { dim } = task.setup;
  const nq = task.queries.length / dim;
  const queries = Array.from({ length: nq }, (_, i) => task.queries.subarray(i * dim, (i + 1) * dim));
  const tops = queries.map(() => new TopKCandidates(task.capacity));
  scanPartitions({ quantizer: quantizerOf(task), centroids: task.setup.centroids, dim, queries, parts: task.parts, entries: task.partitions, users: task.users }, tops);
  return packCandidates(tops, task.capacity);
}
