/**
 * Assign + encode overlapped with the artifact write (two threads or more: a spare pool worker
 * computes batch i + 1 while the main thread writes batch i) gives the same index, byte for
 * byte, as the one-thread path that computes and writes each batch in turn: several batches,
 * user ids, raw vectors, many partitions (hierarchical k-means and the pruned assignment).
 */
import { MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { type VectorReader, buildIndex } from "../src/index.js";
import { smallData } from "./helpers.js";

const DIM = 16;

/** A reader of 3,000-row batches that reuses one vector and one id buffer for every batch. */
function reusingReader(vectors: Float32Array, ids: BigUint64Array): VectorReader {
  const numRows = vectors.length / DIM;
  const per = 3000;
  const buf = new Float32Array(per * DIM);
  const idBuf = new BigUint64Array(per);
  return {
    file: "<reusing>", format: "memory", dim: DIM, numRows, column: "vector", hasIds: true,
    async *batches(maxRows: number) {
      const step = Math.min(per, maxRows);
      for (let first = 0; first < numRows; first += step) {
        const rows = Math.min(step, numRows - first);
        buf.set(vectors.subarray(first * DIM, (first + rows) * DIM));
        idBuf.set(ids.subarray(first, first + rows));
        yield { vectors: buf.subarray(0, rows * DIM), rows, firstRow: first, ids: idBuf.subarray(0, rows) };
      }
    },
    async close() {},
  };
}

describe("buildIndex: overlapped assign + encode", () => {
  it("is byte-identical to the one-thread build over many batches (ids, raw vectors, 300 partitions)", async () => {
    const n = 20_500; // 7 batches of the reader, the last one short
    const vectors = smallData(n, DIM);
    const ids = BigUint64Array.from({ length: n }, (_, i) => 10n ** 12n + BigInt(i) * 7n);
    const opts = { numPartitions: 300, maxIterations: 6, seed: 5, quantizerSampleSize: 4096 } as const;
    const store = new MemoryObjectStore();
    const one = await buildIndex({ input: { vectors, dim: DIM, ids }, store, path: "one.qvr", threads: 1, ...opts });
    const two = await buildIndex({ input: reusingReader(vectors, ids), store, path: "two.qvr", threads: 2, ...opts });
    expect(two.phases.map((p) => p.status)).toEqual(["ran", "ran", "ran", "ran", "ran"]);
    const a = await store.get("one.qvr");
    const b = await store.get("two.qvr");
    expect(b.byteLength).toBe(a.byteLength);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  }, 120_000);
});
