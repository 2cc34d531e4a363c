import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gaussianMixture } from "@quiver/ivf";
import { LocalDirectoryStore } from "@quiver/store";
import { buildIndex, encodeNpyF32 } from "../src/index.js";

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

/** What the SIGKILL trials start from: a temp dir, a 4000 x 16 `.npy` input and the bytes of its uninterrupted index. */
export interface KillTrialSetup {
  readonly dir: string;
  readonly cleanup: () => Promise<void>;
  readonly input: string;
  readonly reference: Buffer;
}

/** The set-up of the SIGKILL trials (resume and finalize-crash): the input and the index built without a kill. */
export async function killTrialSetup(): Promise<KillTrialSetup> {
  const { dir, cleanup } = await tempDir();
  const input = join(dir, "input.npy");
  await writeFile(input, encodeNpyF32(smallData(4000, 16), 4000, 16));
  await buildIndex({ input, store: new LocalDirectoryStore(join(dir, "reference")), path: "index.qvr", ...FAST });
  return { dir, cleanup, input, reference: await readFile(join(dir, "reference", "index.qvr")) };
}
