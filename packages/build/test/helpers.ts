import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gaussianMixture } from "@quiver/ivf";

/** A fresh temp dir and its cleanup. */
export async function tempDir(prefix = "quiver-build-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Small seeded data set. */
export function smallData(n = 3000, dim = 16, seed = 7): Float32Array {
  return gaussianMixture({ n, dim, clusters: 12, seed });
}

/** Cheap tuning for tests (single thread: no worker start-up, deterministic). */
export const FAST = { threads: 1, maxIterations: 8, numPartitions: 8, seed: 11, quantizerSampleSize: 2048 } as const;
