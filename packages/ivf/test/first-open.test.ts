/**
 * Issue 13, "reopen": what the first open in a new process no longer does. The live quantizer of
 * a checked state is built on first use (residual PQ search never uses it), and the finiteness
 * checks of centroids and quantizer arrays use builtin scans, with the same verdicts.
 */
import { MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { type QuantizerMetadata, openVectorIndex, quantizerFromMetadata, validateQuantizerMetadata, writeIvfIndex } from "../src/index.js";
import { liveQuantizerBuildCount } from "../src/reader.js";
import { hasNonFinite } from "../src/state-codec.js";
import { syntheticIndexInput } from "./helpers.js";

const DIM = 8;

async function indexOf(codeWidth: number) {
  const input = syntheticIndexInput({ n: 200, dim: DIM, numPartitions: 6, codeWidth, raw: false, seed: 11 });
  const store = new MemoryObjectStore();
  await writeIvfIndex(store, "t", input);
  return { index: await openVectorIndex(store, "t"), vectors: input.vectors };
}

describe("the live quantizer of a checked state", () => {
  it("is not built by the open or a residual PQ search, and is built once on first use with the same codes", async () => {
    const before = liveQuantizerBuildCount();
    const { index, vectors } = await indexOf(4); // residual PQ, 4 sub-vectors
    expect(index.state.quantizer.kind).toBe("pq");
    await index.search(vectors.subarray(0, DIM), { k: 5, nprobes: 6 });
    expect(liveQuantizerBuildCount()).toBe(before);
    const q = index.quantizer;
    expect(q.codeWidth).toBe(4);
    expect(q.metadata).toBe(index.state.quantizer);
    const got = new Uint8Array(10 * 4);
    q.encode(vectors.subarray(0, 10 * DIM), 10, got);
    expect(liveQuantizerBuildCount()).toBe(before + 1);
    const want = new Uint8Array(10 * 4);
    quantizerFromMetadata(index.state.quantizer).encode(vectors.subarray(0, 10 * DIM), 10, want);
    expect(got).toEqual(want);
    q.encode(vectors.subarray(0, DIM), 1, got.subarray(0, 4));
    expect(liveQuantizerBuildCount()).toBe(before + 1);
  });

  it("is built by the first search of a quantizer scored through it (SQ), with the same hits as a built one", async () => {
    const before = liveQuantizerBuildCount();
    const { index, vectors } = await indexOf(DIM); // SQ, not residual
    const hits = await index.search(vectors.subarray(DIM, 2 * DIM), { k: 5, nprobes: 6 });
    expect(liveQuantizerBuildCount()).toBe(before + 1);
    expect(hits).toHaveLength(5);
    expect(await index.search(vectors.subarray(DIM, 2 * DIM), { k: 5, nprobes: 6 })).toEqual(hits);
    expect(liveQuantizerBuildCount()).toBe(before + 1);
  });
});

describe("finiteness scans", () => {
  it("hasNonFinite finds NaN, +Infinity and -Infinity at any position and nothing in finite extremes", () => {
    const finite = Float32Array.from([0, -0, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.401298464324817e-45]);
    expect(hasNonFinite(finite)).toBe(false);
    expect(hasNonFinite(new Float32Array(0))).toBe(false);
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      for (const at of [0, 3, finite.length - 1]) {
        const a = finite.slice();
        a[at] = bad;
        expect(hasNonFinite(a)).toBe(true);
      }
    }
    // A NaN with another payload (not the canonical one) is still found.
    const odd = new Float32Array(4);
    new Uint32Array(odd.buffer)[2] = 0x7fc00123;
    expect(hasNonFinite(odd)).toBe(true);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])("a PQ codebook value of %d is rejected with the first bad position", (v) => {
    const dim = 8;
    const trained: QuantizerMetadata = { kind: "pq", dim, distance: "l2", residual: true, params: { numSubVectors: 4, nbits: 8 }, arrays: { codebook: Float32Array.from({ length: 256 * dim }, (_, i) => Math.sin(i)) } };
    expect(() => validateQuantizerMetadata(trained)).not.toThrow();
    const codebook = (trained.arrays.codebook as Float32Array).slice();
    codebook[777] = v;
    codebook[900] = v;
    const bad: QuantizerMetadata = { ...trained, arrays: { ...trained.arrays, codebook } };
    expect(() => validateQuantizerMetadata(bad)).toThrow(/"codebook"\[777\] is not finite/);
  });
});
