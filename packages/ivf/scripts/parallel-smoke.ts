/**
 * Runs the parallel assign+encode with workers only (no main-thread share) and prints how the
 * chunks were spread, as JSON. A test launches it under tsx to check workers start outside
 * vitest too: `pnpm exec tsx --conditions=quiver-source packages/ivf/scripts/parallel-smoke.ts`.
 */
import { createRng, encodeAndAssignParallel, trainQuantizer } from "../src/compute/index.js";

async function main(): Promise<void> {
  const rng = createRng(1);
  const n = 20000;
  const dim = 16;
  const x = new Float32Array(n * dim).map(() => rng.nextGaussian());
  const centroids = x.slice(0, 8 * dim);
  const quantizer = trainQuantizer("sq", x, n, dim, { distance: "l2" });
  const r = await encodeAndAssignParallel({ vectors: x, n, dim, centroids, k: 8, distance: "l2", quantizer, threads: 2, useMainThread: false });
  let checksum = 0;
  for (let i = 0; i < n; i++) checksum = (checksum * 31 + (r.partitions[i] as number) + (r.codes[i * dim] as number)) >>> 0;
  console.log(JSON.stringify({ chunksByThread: r.chunksByThread, workersUnavailable: r.workersUnavailable, checksum }));
}

await main();
