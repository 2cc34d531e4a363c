/**
 * Child process of memory.test.ts: one streamed build from an .npy file under a small memory
 * budget (a process of its own, so nothing of an earlier build is retained), then the same
 * artifact finalized again into a memory store (the two-pass path, whole partitions) to compare
 * bytes. Prints one JSON line: the build's memory stats and whether the two index files match.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { gaussianMixture } from "@quiver/ivf";
import { buildIndex, encodeNpyF32, finalizeFromArtifact } from "../src/index.js";

const [dir, rowsText] = process.argv.slice(2);
const rows = Number(rowsText);
const dim = 64;
const input = join(dir!, `input-${rows}.npy`);
await writeFile(input, encodeNpyF32(gaussianMixture({ n: rows, dim, clusters: 4, seed: 5 }), rows, dim));
const store = new LocalDirectoryStore(join(dir!, `store-${rows}`));
const r = await buildIndex({
  input, store, path: "index.qvr", keepState: true,
  quantizer: "sq", numPartitions: 2, threads: 1, maxIterations: 4, seed: 9, quantizerSampleSize: 4096, sampleRate: 256,
  memoryBudgetBytes: 64 * 1024 * 1024,
});
const other = new MemoryObjectStore();
await finalizeFromArtifact({ store, artifact: "index.qvr.build/artifact", model: r.model, outStore: other, path: "index.qvr" });
const a = await store.get("index.qvr");
const b = await other.get("index.qvr");
const same = a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
process.stdout.write(`${JSON.stringify({ memory: r.memory, peakPartitionBytes: r.peakPartitionBytes, numRows: r.numRows, sameAsTwoPass: same })}\n`);
