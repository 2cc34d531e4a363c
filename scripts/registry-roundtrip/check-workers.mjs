// Run inside the scratch project: the installed @quiver/ivf starts its worker threads from the
// shipped bootstrap (dist/compute/internal/assign-encode-worker.mjs -> .js) with no TypeScript
// loader, and its WebAssembly kernels give the same bytes on workers as on the main thread.
// A broken bootstrap would only degrade to one thread (workersUnavailable > 0), so it is checked here.
import assert from "node:assert/strict";
import { createRng, encodeAndAssignParallel, trainKMeans, trainQuantizer } from "@quiver/ivf";

const n = 20_000, dim = 32;
const rng = createRng(5);
const data = new Float32Array(n * dim).map(() => rng.nextGaussian());
const centroids = trainKMeans(data.subarray(0, 4000 * dim), 4000, dim, 16, { maxIters: 5 }).centroids;
const quantizer = trainQuantizer("pq", data, 4000, dim, { distance: "l2", ivfCentroids: centroids, numPartitions: 16, maxIters: 5 });
const input = { vectors: data, n, dim, centroids, k: 16, distance: "l2", quantizer };
const one = await encodeAndAssignParallel({ ...input, threads: 1 });
const workers = await encodeAndAssignParallel({ ...input, threads: 2, useMainThread: false });
assert.equal(workers.workersUnavailable, 0, "a worker thread failed to start from the installed package");
assert.equal(workers.chunksByThread[0], 0);
assert.equal(workers.chunksByThread.reduce((a, b) => a + b, 0), Math.ceil(n / 4096));
assert.ok(Buffer.from(workers.codes.buffer).equals(Buffer.from(one.codes.buffer)), "worker codes differ from the main thread's");
console.log(`workers: ${workers.chunksByThread.slice(1).join("+")} chunks on worker threads, 0 unavailable, codes identical`);
