/**
 * The sample phase: one streaming pass over the input keeping a seeded uniform sample of `size`
 * rows. Every row has the same probability size/N of being kept, and the result depends only on
 * the seed, the row order and whether N was known, so a rerun gives the same sample.
 *
 * When the row count N is known up front (the pipeline knows it: every format but an Arrow
 * stream declares it, and a stream's rows are counted first) this is selection sampling (Knuth's
 * Algorithm S): row i is kept with probability (size - kept) / (N - i), which keeps exactly
 * `size` rows, stored in row order, so every kept row is written once, sequentially. Without N
 * (or past it, should a reader yield more rows than it declared) it is a reservoir (Algorithm R),
 * which continues a uniform sample of the rows so far into a uniform sample of all rows.
 *
 * Speed (1M x 128 float32 .npy, 262,144-row sample, loaded 2-core machine): the reservoir's
 * random-slot replacements (about size x ln(N / size) = 350k row copies into random places of a
 * 128 MiB sample) cost 335-510 CPU ms against 190-230 for the sequential selection (the copy
 * loops alone); a subarray + set per kept row, one 32 MiB read at a time and a copy of the sample
 * into the .npy file made the pass 1.2-1.5 CPU s before.
 */
import { createRng } from "@quiver/ivf";
import { npyHeaderF32 } from "./readers/npy.js";
import type { VectorBatch, VectorReader } from "./readers/types.js";

/** A sample and how many rows the pass saw. */
export interface ReservoirSample {
  readonly vectors: Float32Array;
  readonly rows: number;
  readonly seenRows: number;
  /** The sample as `.npy` bytes (float32, rows x dim); when the sample is full they share `vectors`' memory (no copy). */
  readonly npy: Uint8Array;
}

/** Bytes per read of the sample pass: large enough for few syscalls, small enough that the reader's read-ahead batch costs little memory. */
export const SAMPLE_READ_BYTES = 8 * 1024 * 1024;

/**
 * Sample `size` rows of the reader uniformly in one pass (all rows when there are fewer):
 * selection sampling when the row count `totalRows` is given, else a reservoir (see above).
 */
export async function reservoirSample(
  reader: VectorReader, size: number, seed: number, batchRows: number, onRows?: (seen: number) => void, totalRows?: number,
): Promise<ReservoirSample> {
  const dim = reader.dim;
  // the .npy header sits in front of the rows, so the committed sample file needs no copy
  const header = npyHeaderF32(size, dim);
  // shared memory: the k-means workers read the sample in place, without a copy
  const file = new Uint8Array(new SharedArrayBuffer(header.byteLength + size * dim * 4));
  file.set(header);
  const out = new Float32Array(file.buffer, header.byteLength, size * dim);
  const rng = createRng(seed ^ 0x5a5a_1234);
  const total = totalRows ?? -1;
  let seen = 0;
  let kept = 0;
  const take = (b: VectorBatch): void => {
    const v = b.vectors;
    let r = 0;
    // rows that are all kept (a reservoir filling, or an input no larger than the sample): one block copy
    const all = total < 0 || total <= size ? Math.min(b.rows, size - kept) : 0;
    if (all > 0 && kept === seen) {
      out.set(v.subarray(0, all * dim), kept * dim);
      r = all;
      seen += all;
      kept += all;
    }
    for (; r < b.rows; r++) {
      let slot: number;
      if (seen < total) {
        // Algorithm S: keep with probability (rows still wanted) / (rows left)
        slot = rng.next() * (total - seen) < size - kept ? kept++ : -1;
      } else if (kept < size) slot = kept++;
      else {
        // Algorithm R: replace a random slot with probability size / (seen + 1)
        slot = Math.floor(rng.next() * (seen + 1));
        if (slot >= size) slot = -1;
      }
      seen++;
      if (slot < 0) continue;
      // a row copy without a subarray object per row (they were most of this pass's garbage)
      const src = r * dim;
      const dst = slot * dim;
      for (let t = 0; t < dim; t++) out[dst + t] = v[src + t]!;
    }
  };
  // (the .npy reader reads small batches one ahead; a consumer reading ahead itself would break
  // readers that reuse their batch buffers)
  for await (const b of reader.batches(batchRows)) {
    take(b);
    onRows?.(seen);
  }
  const rows = kept;
  if (rows === size) return { vectors: out, rows, seenRows: seen, npy: file };
  const vectors = out.subarray(0, rows * dim);
  const small = npyHeaderF32(rows, dim);
  const npy = new Uint8Array(small.byteLength + rows * dim * 4);
  npy.set(small);
  npy.set(new Uint8Array(vectors.buffer, vectors.byteOffset, rows * dim * 4), small.byteLength);
  return { vectors, rows, seenRows: seen, npy };
}

/** Rows per batch of the sample pass for vectors of `dim` values (about SAMPLE_READ_BYTES). */
export function sampleBatchRows(dim: number): number {
  return Math.max(1, Math.floor(SAMPLE_READ_BYTES / (dim * 4)));
}
