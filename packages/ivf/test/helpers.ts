/** Test fixtures of the index half that do not depend on the compute half. */
import { InMemoryPartitionSource, type IvfIndexWriteInput, type QuantizerMetadata } from "../src/index.js";

/** A deterministic 32-bit generator for test data. */
export function testRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A hand-made index input: `numPartitions` partitions of dim-`dim` rows, codes of `codeWidth`
 * random bytes (the format never interprets them), an SQ-like quantizer metadata with two arrays.
 */
export function syntheticIndexInput(o: { n: number; dim: number; numPartitions: number; codeWidth: number; raw: boolean; seed?: number; emptyPartition?: number }): IvfIndexWriteInput & { vectors: Float32Array; partitions: Uint32Array } {
  const r = testRng(o.seed ?? 1);
  const partitions = new Uint32Array(o.n);
  for (let i = 0; i < o.n; i++) {
    let p = Math.floor(r() * o.numPartitions);
    if (p === o.emptyPartition) p = (p + 1) % o.numPartitions;
    partitions[i] = p;
  }
  const codes = new Uint8Array(o.n * o.codeWidth);
  for (let i = 0; i < codes.length; i++) codes[i] = Math.floor(r() * 256);
  const vectors = new Float32Array(o.n * o.dim);
  for (let i = 0; i < vectors.length; i++) vectors[i] = r() * 2 - 1;
  const centroids = new Float32Array(o.numPartitions * o.dim);
  for (let i = 0; i < centroids.length; i++) centroids[i] = r();
  const quantizer: QuantizerMetadata = {
    kind: "sq",
    dim: o.dim,
    distance: "l2",
    residual: false,
    params: { bits: 8 },
    arrays: { lower: new Float32Array(o.dim).fill(-1), upper: new Float32Array(o.dim).fill(1) },
  };
  const source = new InMemoryPartitionSource({
    numPartitions: o.numPartitions,
    partitions,
    codes,
    codeWidth: o.codeWidth,
    dim: o.dim,
    batchRows: 7,
    ...(o.raw ? { vectors } : {}),
  });
  return { dim: o.dim, distance: "l2", centroids, quantizer, codeWidth: o.codeWidth, source, vectors, partitions };
}
