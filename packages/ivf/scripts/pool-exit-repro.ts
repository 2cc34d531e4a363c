/**
 * Runs the parallel compute entry points at top level in a loop (each call starts and closes
 * its own pool, as the in-memory build does) and prints one line per iteration. Exit code 13
 * means the event loop emptied while a call was still pending.
 * `pnpm exec tsx --conditions=quiver-source packages/ivf/scripts/pool-exit-repro.ts [entry] [iterations] [n] [dim]`
 */
import { createRng, encodeAndAssignParallel, trainKMeansParallel, trainQuantizer, trainQuantizerParallel } from "../src/compute/index.js";

const [entry = "kmeans", iterArg = "20", nArg = "20000", dimArg = "32"] = process.argv.slice(2);
const iterations = Number(iterArg);
const n = Number(nArg);
const dim = Number(dimArg);
let iteration = 0;
process.on("exit", (code) => {
  if ((process.exitCode ?? code) !== 0) console.log(`EXIT code=${String(process.exitCode ?? code)} entry=${entry} iteration=${iteration}`);
});
const rng = createRng(7);
const x = new Float32Array(n * dim).map(() => rng.nextGaussian());
for (; iteration < iterations; iteration++) {
  if (entry === "kmeans") {
    const r = await trainKMeansParallel(x, n, dim, 16, { maxIters: 3, seed: iteration, threads: 3 });
    console.log(`kmeans ${iteration} ${r.centroids.length}`);
  } else if (entry === "pq") {
    const q = await trainQuantizerParallel("pq", x, n, dim, { distance: "l2", numPartitions: 16, ivfCentroids: x.slice(0, 16 * dim), residual: false, numSubVectors: 4, maxIters: 3, threads: 3 });
    console.log(`pq ${iteration} ${q.codeWidth}`);
  } else {
    const quantizer = trainQuantizer("sq", x, Math.min(n, 2000), dim, { distance: "l2" });
    const r = await encodeAndAssignParallel({ vectors: x, n, dim, centroids: x.slice(0, 16 * dim), k: 16, distance: "l2", quantizer, threads: 3 });
    console.log(`encode ${iteration} ${r.chunksByThread.join(",")}`);
  }
}
console.log("DONE");
