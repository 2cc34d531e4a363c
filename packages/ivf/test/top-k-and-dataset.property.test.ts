import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bruteForceKnn, exactDistanceAt, gaussianMixture, recallAtK } from "../src/index.js";
import { TopKCandidates } from "../src/top-k.js";

describe("TopKCandidates", () => {
  it("keeps exactly the k best by (distance, rowId), whatever the offer order", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })), { maxLength: 200 }),
        fc.integer({ min: 0, max: 30 }),
        (items, k) => {
          // Unique row ids, distances with many ties.
          const seen = new Set<number>();
          const rows = items.filter(([, id]) => !seen.has(id) && (seen.add(id), true));
          const top = new TopKCandidates(k);
          rows.forEach(([d, id], i) => {
            if (d <= top.threshold()) top.offer(d, BigInt(id), i, 0);
          });
          const got = top.sortedOrder().map((c) => [top.distances[c]!, Number(top.rowIds[c]!)]);
          const want = [...rows].sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k);
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("synthetic dataset", () => {
  it("is deterministic for a seed and differs across seeds", () => {
    const a = gaussianMixture({ n: 50, dim: 6, seed: 3 });
    expect(gaussianMixture({ n: 50, dim: 6, seed: 3 })).toEqual(a);
    expect(gaussianMixture({ n: 50, dim: 6, seed: 4 })).not.toEqual(a);
  });

  it("bruteForceKnn matches a full sort and recallAtK counts overlaps", () => {
    const dim = 5;
    const data = gaussianMixture({ n: 300, dim, clusters: 4, seed: 9 });
    const queries = gaussianMixture({ n: 7, dim, clusters: 4, seed: 10, centerSeed: 9 });
    for (const type of ["l2", "cosine", "dot"] as const) {
      const truth = bruteForceKnn(data, 300, dim, queries, 7, 4, type);
      for (let q = 0; q < 7; q++) {
        const order = Array.from({ length: 300 }, (_, i) => i).sort(
          (i, j) => exactDistanceAt(queries, q * dim, data, i * dim, dim, type) - exactDistanceAt(queries, q * dim, data, j * dim, dim, type) || i - j,
        );
        expect(Array.from(truth.subarray(q * 4, q * 4 + 4))).toEqual(order.slice(0, 4));
      }
      const results = Array.from({ length: 7 }, (_, q) => Array.from(truth.subarray(q * 4, q * 4 + 4)));
      expect(recallAtK(results, truth, 4)).toBe(1);
      expect(recallAtK(results.map((r) => [r[0]!, -1, -2, -3]), truth, 4)).toBe(0.25);
    }
  });
});
