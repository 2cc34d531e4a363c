/**
 * The residual PQ scan with codes resident in the scan kernels' memory, query terms placed there
 * once per scan and probe tables from the f32_add kernel: bit-identical to a scalar reference of
 * the same formula, on first and repeated scans, from the object-keyed and the key-named region,
 * and after the region was reset.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { adcScanReference } from "../src/compute/internal/adc.js";
import { createRng } from "../src/compute/internal/rng.js";
import { trainQuantizer } from "../src/index.js";
import { nearestCentroids } from "../src/compute/internal/vector-math.js";
import { ScanKernels, rankCentroids, scanKernels } from "../src/search-kernels.js";
import { PqSearchTables } from "../src/search-pq.js";
import { type ScanPartition, scanPartitions } from "../src/search-scan.js";
import { TopKCandidates } from "../src/top-k.js";

describe("f32_add kernel", () => {
  it("equals the scalar f32 sums bit for bit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 0, max: 1 << 30 }), (quads, seed) => {
        const len = quads * 4;
        const rng = createRng(seed);
        const a = Float32Array.from({ length: len }, () => (rng.next() - 0.5) * 10 ** rng.nextInt(8));
        const b = Float32Array.from({ length: len }, () => (rng.next() - 0.5) * 10 ** rng.nextInt(8));
        const want = new Float32Array(len);
        for (let i = 0; i < len; i++) want[i] = a[i]! + b[i]!;
        const sk = new ScanKernels(64);
        const w = sk.w;
        const ap = w.allocUninit(len * 4);
        const bp = w.allocUninit(len * 4);
        const op = w.allocUninit(len * 4);
        w.f32(ap, len).set(a);
        w.f32(bp, len).set(b);
        sk.x.f32_add(ap, bp, op, len);
        expect(Array.from(w.f32(op, len))).toEqual(Array.from(want));
      }),
      { numRuns: 50 },
    );
  });
});

describe("adc_select_m8 / adc_select_m16 (unrolled scans)", () => {
  it("write the same rows and distances as adc_select and the scalar reference, for any n, bias and cut", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1 << 30 }), fc.double({ min: -8, max: 8, noNaN: true }), fc.double({ min: 0, max: 60, noNaN: true }), (n, blocks, seed, bias, cut) => {
        const rng = createRng(seed);
        for (const m of [8 * blocks, 16]) {
          const codes = new Uint8Array(n * m);
          for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
          const table = Float32Array.from({ length: m * 256 }, () => rng.next() * 8 - 4);
          const sums = new Float32Array(n);
          adcScanReference(codes, n, m, m, table, sums);
          const want: [number, number][] = [];
          for (let i = 0; i < n; i++) {
            const v = sums[i]! + bias;
            const d = v > 0 ? Math.fround(v) : 0;
            if (d <= cut) want.push([i, d]);
          }
          const sk = new ScanKernels(16);
          const w = sk.w;
          const cp = w.allocUninit(codes.length);
          w.u8(cp, codes.length).set(codes);
          const tp = w.allocUninit(table.length * 4);
          w.f32(tp, table.length).set(table);
          const ip = w.allocUninit(n * 4);
          const dp = w.allocUninit(n * 4);
          const read = (count: number) => Array.from(w.u32(ip, count), (r, j) => [r, w.f32(dp, count)[j]]);
          expect(read(sk.x.adc_select(cp, n, m, m, tp, bias, cut, ip, dp))).toEqual(want);
          expect(read(sk.x.adc_select_m8(cp, n, m, tp, bias, cut, ip, dp))).toEqual(want);
          if (m === 16) expect(read(sk.x.adc_select_m16(cp, n, tp, bias, cut, ip, dp))).toEqual(want);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("ScanKernels resident codes", () => {
  it("copies codes once per owner or key, and again only after the region was reset", () => {
    const sk = new ScanKernels(256);
    const a = { id: "a" };
    const b = { id: "b" };
    const codesA = Uint8Array.from({ length: 100 }, (_, i) => i);
    const codesB = Uint8Array.from({ length: 100 }, (_, i) => 255 - i);
    const pa = sk.resident(a, undefined, codesA, 100)!;
    expect(sk.resident(a, undefined, codesA, 100)).toBe(pa);
    const pb = sk.resident(b, undefined, codesB, 100)!;
    expect(pb).not.toBe(pa);
    expect(sk.uploads).toBe(2);
    expect(Array.from(sk.w.u8(pa, 100))).toEqual(Array.from(codesA));
    expect(Array.from(sk.w.u8(pb, 100))).toEqual(Array.from(codesB));
    // a third block does not fit 256 bytes: the region resets, a and b are copied again when used
    const pk = sk.resident({}, "state:7", codesB, 100)!;
    expect(sk.resident({}, "state:7", codesB, 100)).toBe(pk);
    expect(sk.uploads).toBe(3);
    const pa2 = sk.resident(a, undefined, codesA, 100)!;
    expect(sk.uploads).toBe(4);
    expect(Array.from(sk.w.u8(pa2, 100))).toEqual(Array.from(codesA));
    expect(Array.from(sk.w.u8(pk, 100))).toEqual(Array.from(codesB));
    // larger than the whole region: not resident
    expect(sk.resident({}, undefined, new Uint8Array(300), 300)).toBeUndefined();
  });
});

/** Top-k of the residual PQ formula computed in scalar code (the reference of the scan). */
function referenceTop(tables: PqSearchTables, query: Float32Array, probes: readonly number[], parts: readonly ScanPartition[], capacity: number): TopKCandidates {
  const top = new TopKCandidates(capacity);
  const q = tables.prepareQuery(query);
  const qTerms = tables.queryTerms(q);
  const m = tables.m;
  probes.forEach((p, slot) => {
    const part = parts[p]!;
    const pt = tables.partitionTerms(p);
    const table = new Float32Array(m * 256);
    for (let i = 0; i < table.length; i++) table[i] = qTerms[i]! + pt[i]!;
    const sums = new Float32Array(part.rows);
    adcScanReference(part.codes, part.rows, m, m, table, sums);
    const qq = tables.residualNorm(q, p);
    for (let i = 0; i < part.rows; i++) {
      const v = sums[i]! + qq;
      const d = v > 0 ? Math.fround(v) : 0;
      if (d <= top.threshold()) top.offer(d, part.rowIds[i]!, slot, i);
    }
  });
  return top;
}

const resultOf = (t: TopKCandidates) => t.sortedOrder().map((c) => [t.rowIds[c], t.distances[c], t.tagA[c], t.tagB[c]]);

describe("residual PQ scan with resident codes", () => {
  for (const [distance, m] of [["l2", 4], ["l2", 16], ["cosine", 16], ["cosine", 8]] as const) {
    it(`${distance}, ${m} sub-vectors: ids, distances and tags equal the scalar reference, batches of 1, 16 and 256, repeated and key-named`, () => {
      const dim = 16;
      const P = 6;
      const rng = createRng((distance === "l2" ? 21 : 22) + m);
      const n = 900;
      const data = Float32Array.from({ length: n * dim }, () => rng.next() * 2 - 1);
      const centroids = Float32Array.from({ length: P * dim }, () => rng.next() - 0.5);
      const quant = trainQuantizer("pq", data, n, dim, { distance, numSubVectors: m, ivfCentroids: centroids, numPartitions: P, maxIters: 3, seed: 1 });
      const tables = new PqSearchTables(quant.metadata, centroids, P);
      const uploadsBefore = scanKernels().uploads;
      // the copies expected: one per non-empty partition object scanned, one per (named key, partition)
      const touchedObjects = new Set<number>();
      let keyedCopies = 0;
      let next = 0n;
      // partition sizes include an empty one and odd counts
      const sizes = [0, 1, 37, 150, 301, 64];
      const parts: ScanPartition[] = sizes.map((rows) => {
        const codes = new Uint8Array(rows * m);
        for (let i = 0; i < codes.length; i++) codes[i] = rng.nextInt(256);
        const rowIds = new BigUint64Array(rows);
        for (let i = 0; i < rows; i++) rowIds[i] = next++;
        return { rows, rowIds, codes };
      });
      for (const batch of [1, 16, 256]) {
        const queries = Array.from({ length: batch }, () => Float32Array.from({ length: dim }, () => rng.next() * 2 - 1));
        const probesOf = queries.map(() => {
          const all = [0, 1, 2, 3, 4, 5];
          for (let i = all.length - 1; i > 0; i--) {
            const j = rng.nextInt(i + 1);
            [all[i], all[j]] = [all[j]!, all[i]!];
          }
          return all.slice(0, 1 + rng.nextInt(6));
        });
        const order: number[] = [];
        const users: number[][] = [];
        probesOf.forEach((probes, qi) =>
          probes.forEach((p, slot) => {
            let j = order.indexOf(p);
            if (j < 0) {
              j = order.push(p) - 1;
              users.push([]);
            }
            users[j]!.push(qi, slot);
          }),
        );
        const nonEmpty = order.filter((p) => parts[p]!.rows > 0);
        for (const p of nonEmpty) touchedObjects.add(p);
        for (const capacity of [10, 100]) {
          keyedCopies += nonEmpty.length;
          const want = queries.map((q, qi) => resultOf(referenceTop(tables, q, probesOf[qi]!, parts, capacity)));
          for (const codeKey of [undefined, `t-${distance}-${batch}-${capacity}`, undefined]) {
            const tops = queries.map(() => new TopKCandidates(capacity));
            scanPartitions({ quantizer: quant, centroids, dim, queries, parts: order, entries: order.map((p) => parts[p]!), users, pqTables: tables, codeKey }, tops);
            expect(tops.map(resultOf)).toEqual(want);
          }
        }
      }
      // 18 scans, but codes were copied only once per entry object and once per named key
      expect(scanKernels().uploads - uploadsBefore).toBe(touchedObjects.size + keyedCopies);
    });
  }
});

describe("rankCentroids (centroids resident in scan kernel memory)", () => {
  it("returns exactly nearestCentroids' probes for l2, cosine and dot, any dim, on first and repeated calls", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 70 }), fc.integer({ min: 1, max: 80 }), fc.integer({ min: 0, max: 1 << 30 }), (dim, k, nprobes, seed) => {
        const rng = createRng(seed);
        const centroids = Float32Array.from({ length: k * dim }, () => rng.next() * 2 - 1);
        // duplicate rows make ties, which order by index
        if (k > 2) centroids.copyWithin(0, dim, 2 * dim);
        for (const type of ["l2", "cosine", "dot"] as const) {
          for (let r = 0; r < 2; r++) {
            const query = Float32Array.from({ length: dim }, () => rng.next() * 2 - 1);
            expect(Array.from(rankCentroids(query, centroids, k, dim, type, nprobes))).toEqual(Array.from(nearestCentroids(query, centroids, k, dim, type, nprobes)));
          }
        }
      }),
      { numRuns: 100 },
    );
  });
});
