/**
 * The sample phase: one streaming pass over the input keeping a seeded uniform reservoir sample
 * (Algorithm R) of `size` rows. Every row has the same probability size/N of being kept, and the
 * result depends only on the seed and the row order, so a rerun gives the same sample.
 */
import { createRng } from "@quiver/ivf";
import type { VectorReader } from "./readers/types.js";

/** A sample and how many rows the pass saw. */
export interface ReservoirSample {
  readonly vectors: Float32Array;
  readonly rows: number;
  readonly seenRows: number;
}

/** Reservoir-sample `size` rows of the reader in one pass (all rows when there are fewer). */
export async function reservoirSample(reader: VectorReader, size: number, seed: number, batchRows: number, onRows?: (seen: number) => void): Promise<ReservoirSample> {
  const dim = reader.dim;
  // shared memory: the k-means workers read the sample in place, without a copy
  const out = new Float32Array(new SharedArrayBuffer(size * dim * 4));
  const rng = createRng(seed ^ 0x5a5a_1234);
  let seen = 0;
  for await (const b of reader.batches(batchRows)) {
    for (let r = 0; r < b.rows; r++) {
      let slot = seen;
      if (seen >= size) {
        slot = Math.floor(rng.next() * (seen + 1));
        if (slot >= size) slot = -1;
      }
      if (slot >= 0) out.set(b.vectors.subarray(r * dim, (r + 1) * dim), slot * dim);
      seen++;
    }
    onRows?.(seen);
  }
  const rows = Math.min(size, seen);
  return { vectors: rows === size ? out : out.subarray(0, rows * dim), rows, seenRows: seen };
}
