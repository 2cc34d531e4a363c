/**
 * Search worker thread body (loaded by search-worker.mjs through piscina): joins a batch, claims
 * chunks of its shared plan until none are left, and returns each query's best candidates.
 * Quantizers and the partitions handed over are kept per index state (a few states at most; one
 * copy per partition, replaced when the partition's cache entry changed, dropped when told).
 */
import { threadId } from "node:worker_threads";
import { buildQuantizer } from "./compute/internal/quantizers.js";
import type { TrainedQuantizer } from "./quantizer.js";
import { CHUNK_INTS, CONTROL_NEXT, GAVE_BACK, type SearchTask, type SearchTaskResult, type SharedPartition } from "./search-protocol.js";
import { PqSearchTables, usesPqSearchTables } from "./search-pq.js";
import { PartitionScanner, type ScanPartition, packCandidates } from "./search-scan.js";
import { TopKCandidates } from "./top-k.js";

/** Index states kept per worker: an index reopened many times must not grow this without bound. */
const MAX_SETUPS = 8;

interface Setup {
  readonly quantizer: TrainedQuantizer;
  readonly pqTables: PqSearchTables | undefined;
  readonly centroids: Float32Array;
  readonly dim: number;
  /** Shared partitions by partition number (one copy each). */
  readonly parts: Map<number, SharedPartition>;
}
const setups = new Map<string, Setup>();

/**
 * Test hook, read once at worker start: QUIVER_SEARCH_WORKER_FAULT=exit makes the worker thread
 * exit after claiming its first chunk, so tests can prove a dying worker neither hangs a batch
 * nor changes its results.
 */
const FAULT = process.env.QUIVER_SEARCH_WORKER_FAULT;

function setupOf(task: SearchTask): Setup | undefined {
  let s = setups.get(task.setupId);
  if (s === undefined && task.setup !== undefined) {
    const { quantizer, centroids, dim } = task.setup;
    // metadata of a state the main thread already checked
    s = { quantizer: buildQuantizer(quantizer), pqTables: usesPqSearchTables(quantizer) ? new PqSearchTables(quantizer, centroids, centroids.length / dim) : undefined, centroids, dim, parts: new Map() };
    if (setups.size >= MAX_SETUPS) setups.delete(setups.keys().next().value!);
    setups.set(task.setupId, s);
  }
  return s;
}

function resident(): { partitions: number; bytes: number } {
  let partitions = 0;
  let bytes = 0;
  for (const s of setups.values()) {
    for (const p of s.parts.values()) {
      partitions++;
      bytes += p.rowIds.byteLength + p.codes.byteLength;
    }
  }
  return { partitions, bytes };
}

/** Runs one search task. */
export default function searchTask(task: SearchTask): SearchTaskResult {
  const { plan } = task;
  const setup = setupOf(task);
  if (setup !== undefined) {
    if (task.drop.length > 0) {
      const gone = new Set(task.drop);
      for (const [p, sp] of setup.parts) if (gone.has(sp.serial)) setup.parts.delete(p);
    }
    for (const sp of task.partitions) setup.parts.set(sp.part, sp);
  }
  // a task that arrives after the chunks ran out (this worker was late) answers at once
  if (setup === undefined || Atomics.load(plan.control, CONTROL_NEXT) >= plan.chunks.length / CHUNK_INTS) {
    const r = resident();
    return { threadId, candidates: packCandidates([], plan.capacity), chunks: 0, residentPartitions: r.partitions, residentBytes: r.bytes };
  }
  const dim = setup.dim;
  const queries = Array.from({ length: plan.queries.length / dim }, (_, i) => plan.queries.subarray(i * dim, (i + 1) * dim));
  const tops = queries.map(() => new TopKCandidates(plan.capacity));
  let claimed = 0;
  {
    // announce before the first claim: the main thread waits only for workers that announced
    Atomics.store(plan.control, task.slot, 1);
    const J = plan.parts.length;
    const entries: ScanPartition[] = new Array(J);
    const users: Int32Array[] = new Array(J);
    const scanner = new PartitionScanner(
      { quantizer: setup.quantizer, pqTables: setup.pqTables, centroids: setup.centroids, dim, queries, parts: plan.parts, entries, users, codeKey: task.setupId, sharedTerms: setup.pqTables === undefined ? undefined : plan.terms },
      tops,
    );
    const total = plan.chunks.length / CHUNK_INTS;
    try {
      for (;;) {
        const c = Atomics.add(plan.control, CONTROL_NEXT, 1);
        if (c >= total) break;
        const at = c * CHUNK_INTS;
        const j = plan.chunks[at]!;
        const sp = setup.parts.get(plan.parts[j]!);
        if (sp === undefined || sp.serial !== plan.serials[j]) {
          // not handed over (another worker got it): the main thread scores this chunk
          Atomics.store(plan.owners, c, GAVE_BACK);
          continue;
        }
        Atomics.store(plan.owners, c, task.slot);
        if (FAULT === "exit") process.exit(1);
        entries[j] ??= sp;
        users[j] ??= plan.users.subarray(plan.userStart[j]!, plan.userStart[j + 1]!);
        scanner.scan(j, plan.chunks[at + 1]!, plan.chunks[at + 2]!, plan.chunks[at + 3]!, plan.chunks[at + 4]!);
        claimed++;
      }
    } finally {
      scanner.dispose();
    }
  }
  const r = resident();
  return { threadId, candidates: packCandidates(claimed === 0 ? [] : tops, plan.capacity), chunks: claimed, residentPartitions: r.partitions, residentBytes: r.bytes };
}
