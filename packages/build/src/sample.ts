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
 * Speed (1M x 128 float32 .npy, 262,144-row sample, 2-core machine at load 17-22, same process,
 * alternating, 4 runs each): 1.27-1.40 CPU s (7.7-8.9 s wall) for the reservoir with a subarray
 * + set per kept row, a fresh 32 MiB array per read and a copy of the sample into the .npy file;
 * 0.46-0.62 CPU s (3.1-3.6 s wall) now. Of the old pass, the reservoir's random-slot
 * replacements (size x ln(N / size), about 350k row copies into random places of a 128 MiB
 * sample) and the collector (run often by the external memory of fresh read arrays) were most.
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
    const n = b.rows;
    // the counters in locals: the loop below runs once per input row
    let at = seen;
    let have = kept;
    let r = 0;
    // rows that are all kept (a reservoir filling, or an input no larger than the sample): one block copy
    const all = total < 0 || total <= size ? Math.min(n, size - have) : 0;
    if (all > 0 && have === at) {
      out.set(v.subarray(0, all * dim), have * dim);
      r = all;
      at += all;
      have += all;
    }
    for (; r < n; r++) {
      let slot: number;
      if (at < total) {
        // Algorithm S: keep with probability (rows still wanted) / (rows left)
        slot = rng.next() * (total - at) < size - have ? have++ : -1;
      } else if (have < size) slot = have++;
      else {
        // Algorithm R: replace a random slot with probability size / (seen + 1)
        slot = Math.floor(rng.next() * (at + 1));
        if (slot >= size) slot = -1;
      }
      at++;
      if (slot < 0) continue;
      // a row copy without a subarray object per row (they were most of this pass's garbage)
      const src = r * dim;
      const dst = slot * dim;
      for (let t = 0; t < dim; t++) out[dst + t] = v[src + t]!;
    }
    seen = at;
    kept = have;
  };
  // rows are copied out of each batch before the next is asked for, so a reader may reuse its
  // buffers (scanBatches: no fresh 8 MiB array per batch, whose external memory made the
  // collector run often); the .npy reader reads one batch ahead
  for await (const b of reader.scanBatches?.(batchRows) ?? reader.batches(batchRows)) {
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
