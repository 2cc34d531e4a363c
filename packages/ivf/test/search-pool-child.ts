// Child process of search-batch.test.ts: a threaded batch search, then no close(): the process
// must exit on its own (the pool's idle workers are unref'd).
import { MemoryObjectStore } from "@quiver/store";
import { gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const store = new MemoryObjectStore();
const data = gaussianMixture({ n: 2000, dim: 8, clusters: 8, seed: 1 });
await buildIvfIndex(store, "idx", data, 2000, 8, { quantizer: "sq", distance: "l2", numPartitions: 8, maxIters: 5, threads: 1 });
const index = await openVectorIndex(store, "idx", { prewarm: true });
const hits = await index.searchBatch(gaussianMixture({ n: 32, dim: 8, clusters: 8, seed: 2, centerSeed: 1 }), { threads: 2 });
console.log(`searched ${hits.length} queries on 2 threads`);
