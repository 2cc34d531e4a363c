/**
 * SQ and RaBitQ scorers reuse their tables and query scratch (released scorers give their table
 * back to the quantizer): distances stay bit-identical to a scorer of a fresh quantizer, for
 * repeated scorers, scorers alive at once and scorers made after others were released; a
 * released scorer refuses to score. Searches (single, interleaved, batched) return the same
 * results as on a freshly opened index.
 */
import { MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import { assignNearest, createRng, prepareRows, quantizerFromMetadata, trainKMeans, trainQuantizer } from "../src/compute/index.js";
import type { DistanceType, PartitionScorer, QuantizerKind, TrainedQuantizer } from "../src/quantizer.js";
import { type VectorSearchHit, gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function setup(kind: QuantizerKind, distance: DistanceType, dim: number) {
  const n = 600;
  const k = 4;
  const rng = createRng(dim * 7 + kind.length);
  const x = Float32Array.from({ length: n * dim }, () => rng.nextGaussian() * (1 + rng.nextInt(3)));
  const ivf = trainKMeans(x, n, dim, k, { distance: distance === "dot" ? "l2" : distance, seed: 1 }).centroids;
  const q = trainQuantizer(kind, x, n, dim, { distance, ivfCentroids: ivf, numPartitions: k, seed: 2, maxIters: 5 });
  const parts = assignNearest(x, n, dim, ivf, k, distance);
  const prepared = prepareRows(x, n, dim, distance, q.metadata.residual, ivf, parts);
  // codes at an odd offset of a larger buffer, as a cache entry may hand them over
  const backing = new Uint8Array(n * q.codeWidth + 3);
  const codes = backing.subarray(1, 1 + n * q.codeWidth);
  q.encode(prepared, n, codes);
  const queries = Array.from({ length: 6 }, () => Float32Array.from({ length: dim }, () => rng.nextGaussian() * 2));
  return { q, ivf, codes, n, queries };
}

/** Distances from a scorer of a quantizer made fresh for this call (nothing reused). */
function reference(q: TrainedQuantizer, query: Float32Array, centroid: Float32Array, codes: Uint8Array, n: number): number[] {
  const out = new Float32Array(n);
  quantizerFromMetadata(q.metadata).scorer(query, centroid).score(codes, n, out);
  return bits(out);
}

function scoreOf(s: PartitionScorer, codes: Uint8Array, n: number): number[] {
  const out = new Float32Array(n).fill(Number.NaN);
  s.score(codes, n, out);
  return bits(out);
}

describe("SQ / RaBitQ scorer scratch", () => {
  const cases: [QuantizerKind, DistanceType, number][] = [
    ["sq", "l2", 24], ["sq", "cosine", 16], ["sq", "dot", 16],
    ["rabitq", "l2", 24], ["rabitq", "cosine", 13], ["rabitq", "dot", 16],
  ];
  for (const [kind, distance, dim] of cases) {
    it(`${kind} ${distance} dim ${dim}: repeated, overlapping and released scorers score bit-identically to fresh ones`, () => {
      const { q, ivf, codes, n, queries } = setup(kind, distance, dim);
      const c = (p: number) => ivf.subarray(p * dim, (p + 1) * dim);
      // repeated: make, score, release, over and over (each reuses the previous table)
      for (let r = 0; r < 3; r++) {
        for (let i = 0; i < queries.length; i++) {
          const s = q.scorer(queries[i]!, c(i % 4));
          expect(scoreOf(s, codes, n)).toEqual(reference(q, queries[i]!, c(i % 4), codes, n));
          s.release?.();
        }
      }
      // alive at once: a batch's per-query scorers, scored in turns, released in another order
      const live = queries.map((query, i) => q.scorer(query, c((i + 1) % 4)));
      for (let r = 0; r < 2; r++) {
        live.forEach((s, i) => expect(scoreOf(s, codes, n)).toEqual(reference(q, queries[i]!, c((i + 1) % 4), codes, n)));
      }
      live[2]!.release?.();
      live[0]!.release?.();
      // new scorers take the released tables; the ones still alive are unaffected
      const again = [q.scorer(queries[5]!, c(3)), q.scorer(queries[4]!, c(2))];
      expect(scoreOf(again[0]!, codes, n)).toEqual(reference(q, queries[5]!, c(3), codes, n));
      expect(scoreOf(again[1]!, codes, n)).toEqual(reference(q, queries[4]!, c(2), codes, n));
      for (const i of [1, 3, 4, 5]) expect(scoreOf(live[i]!, codes, n)).toEqual(reference(q, queries[i]!, c((i + 1) % 4), codes, n));
      // a released scorer refuses to score (never reads a table another scorer now owns); release twice is harmless
      live[2]!.release?.();
      expect(() => live[2]!.score(codes, n, new Float32Array(n))).toThrow(RangeError);
      // fewer codes than rows is refused, as before
      if (kind === "rabitq") expect(() => again[0]!.score(codes.subarray(0, q.codeWidth * 2 - 1), 2, new Float32Array(2))).toThrow(RangeError);
    });
  }
});

describe("searches over SQ and RaBitQ indexes with reused scorer scratch", () => {
  const N = 2000;
  const DIM = 16;
  const data = gaussianMixture({ n: N, dim: DIM, clusters: 12, seed: 41 });
  const queries = gaussianMixture({ n: 24, dim: DIM, clusters: 12, seed: 42, centerSeed: 41 });
  const q = (i: number) => queries.subarray(i * DIM, (i + 1) * DIM);
  const stores = new Map<string, MemoryObjectStore>();
  beforeAll(async () => {
    for (const kind of ["sq", "rabitq"] as const) {
      for (const distance of ["l2", "cosine"] as const) {
        const store = new MemoryObjectStore();
        await buildIvfIndex(store, "i.qvr", data, N, DIM, { quantizer: kind, distance, numPartitions: 8, seed: 4, threads: 1, maxIters: 6 });
        stores.set(`${kind}-${distance}`, store);
      }
    }
  });
  for (const name of ["sq-l2", "sq-cosine", "rabitq-l2", "rabitq-cosine"]) {
    it(`${name}: repeated, interleaved and batched searches equal a fresh index's answers`, async () => {
      const store = stores.get(name)!;
      const opts = [{ k: 5, nprobes: 3 }, { k: 5, nprobes: 8, refineFactor: 4 }];
      // the reference: every answer from an index opened for that one query
      const want: VectorSearchHit[][][] = [];
      for (const o of opts) {
        const per: VectorSearchHit[][] = [];
        for (let i = 0; i < 24; i++) per.push(await (await openVectorIndex(store, "i.qvr")).search(q(i), o));
        want.push(per);
      }
      const index = await openVectorIndex(store, "i.qvr", { prewarm: true });
      for (let r = 0; r < 2; r++) {
        // interleave the two option sets and walk the queries in another order each round
        for (let j = 0; j < 24; j++) {
          const i = r === 0 ? j : 23 - j;
          for (let o = 0; o < opts.length; o++) expect(await index.search(q(i), opts[o]!)).toEqual(want[o]![i]);
        }
      }
      // a batch holds one scorer per query at once (non-residual) and releases them after the scan
      for (const [o, opt] of opts.entries()) {
        const batch = Array.from({ length: 24 }, (_, i) => q(i));
        expect(await index.searchBatch(batch, opt)).toEqual(want[o]);
        expect(await index.search(q(7), opt)).toEqual(want[o]![7]);
      }
      await index.close();
    });
  }
});
