/** Shared by the k-means fault tests (flat and hierarchical): a loading handshake task and the model comparison. */
import { expect } from "vitest";
import { KM_CONTROL_WORDS, KM_GENERATION } from "../src/compute/internal/parallel-protocol.js";
import type { WorkerPayload } from "../src/compute/internal/parallel-protocol.js";

/** A k-means task whose generation is already -1: the worker replies as soon as it runs it (so a test knows it has loaded). */
export function stoppedTask(slot: number): WorkerPayload {
  const control = new Int32Array(new SharedArrayBuffer(KM_CONTROL_WORDS * 4));
  Atomics.store(control, KM_GENERATION, -1);
  const f = new Float32Array(new SharedArrayBuffer(4));
  const u = new Uint32Array(new SharedArrayBuffer(4));
  return {
    task: "kmeans-assign", x: f, active: u, n: 1, dim: 1, k: 1, centroids: f, bias: f, alpha: f, assignment: u, scores: f, second: f,
    control, slot, slots: 3, chunkRows: 1, chunks: new Int32Array(new SharedArrayBuffer(4)),
  };
}

/** The same model bit for bit: iterations, loss and every centroid float's bytes. */
export function sameModel(a: { centroids: Float32Array; iterations: number; loss: number }, b: typeof a): void {
  expect(a.iterations).toBe(b.iterations);
  expect(a.loss).toBe(b.loss);
  expect(Buffer.from(a.centroids.buffer, a.centroids.byteOffset, a.centroids.byteLength)
    .equals(Buffer.from(b.centroids.buffer, b.centroids.byteOffset, b.centroids.byteLength))).toBe(true);
}
