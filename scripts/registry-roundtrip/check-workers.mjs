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

// Threaded search: the installed package's search worker (dist/search-worker.mjs -> .js, started
// by piscina) answers its share of a batch with exactly the one-thread results.
import { InMemoryPartitionSource, openVectorIndex, writeIvfIndex } from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";
const store = new MemoryObjectStore();
const source = new InMemoryPartitionSource({ numPartitions: 16, partitions: one.partitions, codes: one.codes, codeWidth: one.codeWidth, dim });
await writeIvfIndex(store, "idx", { dim, distance: "l2", centroids, quantizer: quantizer.metadata, codeWidth: one.codeWidth, source });
const index = await openVectorIndex(store, "idx", { prewarm: true });
const batch = data.subarray(0, 64 * dim);
const single = await index.searchBatch(batch, { threads: 1 });
const threaded = await index.searchBatch(batch, { threads: 2 });
const stats = index.searchThreadStats();
assert.ok(stats.workerTasks > 0 && stats.workerFailures === 0, "the search worker failed to start from the installed package");
assert.deepEqual(threaded, single, "threaded search results differ from one thread");
await index.close();
console.log(`search workers: ${stats.workerTasks} task(s) on worker threads, results identical`);
