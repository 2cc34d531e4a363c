/** Test fixtures of the index half that do not depend on the compute half. */
import { mulberry32 } from "../src/compute/internal/rng.js";
import { InMemoryPartitionSource, type IvfIndexWriteInput, type QuantizerMetadata } from "../src/index.js";

/** A deterministic 32-bit generator for test data: the package's one mulberry32 core. */
export const testRng: (seed: number) => () => number = mulberry32;

/** The largest divisor of `dim` that is at most `width` (a PQ sub-vector count). */
function divisorAtMost(dim: number, width: number): number {
  for (let m = Math.min(width, dim); m > 1; m--) if (dim % m === 0) return m;
  return 1;
}

/**
 * A hand-made index input: `numPartitions` partitions of dim-`dim` rows, codes of random bytes
 * (the format never interprets them). The quantizer is SQ when `codeWidth` is `dim`, otherwise PQ
 * with the largest sub-vector count <= `codeWidth` that divides `dim` (the returned `codeWidth`).
 */
export function syntheticIndexInput(o: { n: number; dim: number; numPartitions: number; codeWidth: number; raw: boolean; seed?: number; emptyPartition?: number }): IvfIndexWriteInput & { vectors: Float32Array; partitions: Uint32Array } {
  const r = testRng(o.seed ?? 1);
  const codeWidth = o.codeWidth === o.dim ? o.dim : divisorAtMost(o.dim, o.codeWidth);
  const partitions = new Uint32Array(o.n);
  for (let i = 0; i < o.n; i++) {
    let p = Math.floor(r() * o.numPartitions);
    if (p === o.emptyPartition) p = (p + 1) % o.numPartitions;
    partitions[i] = p;
  }
  const codes = new Uint8Array(o.n * codeWidth);
  for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(r() * 256);
  const vectors = new Float32Array(o.n * o.dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = r() * 2 - 1;
  const centroids = new Float32Array(o.numPartitions * o.dim);
  for (let i = 0; i < centroids.length; i++) centroids[i] = r();
  const quantizer: QuantizerMetadata =
    codeWidth === o.dim
      ? { kind: "sq", dim: o.dim, distance: "l2", residual: false, params: { bits: 8 }, arrays: { lower: new Float32Array(o.dim).fill(-1), upper: new Float32Array(o.dim).fill(1) } }
      : { kind: "pq", dim: o.dim, distance: "l2", residual: true, params: { numSubVectors: codeWidth, nbits: 8 }, arrays: { codebook: Float32Array.from({ length: 256 * o.dim }, () => r() - 0.5) } };
  const source = new InMemoryPartitionSource({
    numPartitions: o.numPartitions,
    partitions,
    codes,
    codeWidth,
    dim: o.dim,
    batchRows: 7,
    ...(o.raw ? { vectors } : {}),
  });
  const input: IvfIndexWriteInput = { dim: o.dim, distance: "l2", centroids, quantizer, codeWidth, source };
  // The test-side extras are not writer input fields (the writer rejects unknown fields).
  Object.defineProperties(input, { vectors: { value: vectors, enumerable: false }, partitions: { value: partitions, enumerable: false } });
  return input as IvfIndexWriteInput & { vectors: Float32Array; partitions: Uint32Array };
}
