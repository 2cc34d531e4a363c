/**
 * Quantizers: encode -> score error bounds against exact distances, metadata round trip and
 * validation (hostile metadata only ever raises QuiverFormatError), zero-copy reopen, recall.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isQuiverFormatError } from "@quiver/format";
import type { DistanceType, QuantizerKind, QuantizerMetadata, TrainedQuantizer } from "../src/quantizer.js";
import {
  assignNearest, createRng, vectorDistance as distance, prepareRows, quantizerFromMetadata, trainKMeans, trainQuantizer,
} from "../src/compute/index.js";

function gaussianClusters(n: number, dim: number, clusters: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const centres = new Float32Array(clusters * dim).map(() => rng.nextGaussian() * 3);
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(clusters);
    for (let t = 0; t < dim; t++) x[i * dim + t] = centres[c * dim + t]! + rng.nextGaussian();
  }
  return x;
}

interface Encoded {
  q: TrainedQuantizer;
  ivf: Float32Array;
  parts: Uint32Array;
  codes: Uint8Array;
}

function build(kind: QuantizerKind, x: Float32Array, n: number, dim: number, type: DistanceType, k = 4): Encoded {
  const ivf = trainKMeans(x, n, dim, k, { distance: type === "dot" ? "l2" : type, seed: 1 }).centroids;
  const q = trainQuantizer(kind, x, n, dim, { distance: type, ivfCentroids: ivf, numPartitions: k, seed: 2, maxIters: 15 });
  const parts = assignNearest(x, n, dim, ivf, k, type);
  const prepared = prepareRows(x, n, dim, type, q.metadata.residual, ivf, parts);
  const codes = new Uint8Array(n * q.codeWidth);
  q.encode(prepared, n, codes);
  return { q, ivf, parts, codes };
}

/** Scores of all rows of partition-agnostic codes, each scored with its own partition's centroid. */
function scoreAll(e: Encoded, query: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n);
  const one = new Float32Array(1);
  for (let i = 0; i < n; i++) {
    const p = e.parts[i]!;
    e.q.scorer(query, e.ivf.subarray(p * dim, p * dim + dim)).score(e.codes.subarray(i * e.q.codeWidth), 1, one);
    out[i] = one[0]!;
  }
  return out;
}

const dim = 32;
const n = 1500;
const data = gaussianClusters(n, dim, 8, 11);
const query = gaussianClusters(1, dim, 1, 12);

describe("PQ", () => {
  for (const type of ["l2", "cosine", "dot"] as const) {
    it(`ADC distance equals the exact distance to the reconstructed vector (${type})`, () => {
      const e = build("pq", data, n, dim, type);
      const meta = e.q.metadata;
      expect(meta.residual).toBe(type !== "dot");
      const m = meta.params.numSubVectors as number;
      expect(m).toBe(2); // dim 32 -> dim / 16
      const dsub = dim / m;
      const cb = meta.arrays.codebook as Float32Array;
      const scores = scoreAll(e, query, n, dim);
      const qn = query.slice();
      if (type === "cosine") {
        let s = 0;
        for (const v of qn) s += v * v;
        for (let t = 0; t < dim; t++) qn[t] = qn[t]! / Math.sqrt(s);
      }
      for (let i = 0; i < n; i += 37) {
        const rec = new Float32Array(dim);
        for (let s = 0; s < m; s++) rec.set(cb.subarray((s * 256 + e.codes[i * m + s]!) * dsub, (s * 256 + e.codes[i * m + s]! + 1) * dsub), s * dsub);
        if (meta.residual) for (let t = 0; t < dim; t++) rec[t] = rec[t]! + e.ivf[e.parts[i]! * dim + t]!;
        const exact = distance(qn, rec, dim, type === "dot" ? "dot" : "l2");
        expect(Math.abs(scores[i]! - exact)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(exact)));
      }
    });
  }

  it("encodes each sub-vector to its nearest codeword", () => {
    const e = build("pq", data, n, dim, "l2");
    const cb = e.q.metadata.arrays.codebook as Float32Array;
    const prepared = prepareRows(data, n, dim, "l2", true, e.ivf, e.parts);
    for (let i = 0; i < n; i += 101) {
      for (let s = 0; s < 2; s++) {
        const sub = prepared.subarray(i * dim + s * 16, i * dim + s * 16 + 16);
        let best = Infinity;
        for (let j = 0; j < 256; j++) best = Math.min(best, distance(sub, cb.subarray((s * 256 + j) * 16), 16, "l2"));
        const chosen = distance(sub, cb.subarray((s * 256 + e.codes[i * 2 + s]!) * 16), 16, "l2");
        expect(chosen).toBeLessThanOrEqual(best + 1e-4 * (1 + best));
      }
    }
  });
});

describe("SQ", () => {
  it("per-dimension bounds cover the data and the score error is within the quantization step", () => {
    const e = build("sq", data, n, dim, "l2");
    const lower = e.q.metadata.arrays.lower as Float32Array;
    const upper = e.q.metadata.arrays.upper as Float32Array;
    let stepBound = 0;
    let outside = 0;
    for (let t = 0; t < dim; t++) {
      for (let i = 0; i < n; i++) if (data[i * dim + t]! < lower[t]! || data[i * dim + t]! > upper[t]!) outside++;
      stepBound += ((upper[t]! - lower[t]!) / 255 / 2) ** 2;
    }
    expect(outside).toBe(0);
    const scores = scoreAll(e, query, n, dim);
    for (let i = 0; i < n; i += 13) {
      const exact = Math.sqrt(distance(query, data.subarray(i * dim), dim, "l2"));
      // |‖q-x̂‖ - ‖q-x‖| <= ‖x - x̂‖ <= sqrt(sum (step/2)^2)
      expect(Math.abs(Math.sqrt(scores[i]!) - exact)).toBeLessThanOrEqual(Math.sqrt(stepBound) + 1e-3);
    }
  });
});

describe("Flat", () => {
  it("scores exactly (raw f32), also from an unaligned code buffer", () => {
    for (const type of ["l2", "dot", "cosine"] as const) {
      const e = build("flat", data, n, dim, type);
      expect(e.q.codeWidth).toBe(dim * 4);
      const shifted = new Uint8Array(e.codes.length + 1);
      shifted.set(e.codes, 1);
      const out = new Float32Array(n);
      e.q.scorer(query, e.ivf).score(shifted.subarray(1), n, out);
      for (let i = 0; i < n; i += 17) {
        const exact = distance(query, data.subarray(i * dim), dim, type);
        expect(Math.abs(out[i]! - exact)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(exact)));
      }
    }
  });
});

describe("RaBitQ", () => {
  it("stores sign bits plus two f32 factors and its estimator is unbiased on average", () => {
    const e = build("rabitq", data, n, dim, "l2");
    expect(e.q.codeWidth).toBe(dim / 8 + 8);
    const rot = e.q.metadata.arrays.rotation as Float32Array;
    // the rotation is orthogonal: R Rᵀ = I
    for (let i = 0; i < dim; i += 5) {
      for (let j = 0; j < dim; j += 3) {
        let s = 0;
        for (let t = 0; t < dim; t++) s += rot[i * dim + t]! * rot[j * dim + t]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 4);
      }
    }
    const scores = scoreAll(e, query, n, dim);
    let sumErr = 0;
    let sumAbs = 0;
    let sumExact = 0;
    for (let i = 0; i < n; i++) {
      const exact = distance(query, data.subarray(i * dim), dim, "l2");
      sumErr += scores[i]! - exact;
      sumAbs += Math.abs(scores[i]! - exact);
      sumExact += exact;
    }
    // mean error is small against both the mean distance and the mean absolute error
    expect(Math.abs(sumErr / n)).toBeLessThan(0.02 * (sumExact / n));
    expect(Math.abs(sumErr)).toBeLessThan(0.25 * sumAbs);
    expect(sumAbs / n).toBeLessThan(0.3 * (sumExact / n));
  });

  it("is unbiased over random rotations (mean of 300 seeds within 4 standard errors), l2 and dot", () => {
    const rng = createRng(3);
    const r = new Float32Array(dim).map(() => rng.nextGaussian());
    const q = new Float32Array(dim).map(() => rng.nextGaussian());
    const zero = new Float32Array(dim);
    for (const type of ["l2", "dot"] as const) {
      let sum = 0;
      let sum2 = 0;
      const T = 300;
      for (let seed = 0; seed < T; seed++) {
        const qz = trainQuantizer("rabitq", r, 1, dim, { distance: type, seed });
        const codes = new Uint8Array(qz.codeWidth);
        qz.encode(r, 1, codes);
        const out = new Float32Array(1);
        qz.scorer(q, zero).score(codes, 1, out);
        sum += out[0]!;
        sum2 += out[0]! ** 2;
      }
      const mean = sum / T;
      const se = Math.sqrt((sum2 / T - mean * mean) / T);
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(mean - distance(q, r, dim, type))).toBeLessThan(4 * se);
    }
  });
});

describe("recall sanity (top-10 of 50 candidates after approximate scoring)", () => {
  // 1-bit RaBitQ needs more dimensions to rank well: it is checked at 128
  const wide = gaussianClusters(n, 128, 8, 21);
  for (const kind of ["pq", "sq", "rabitq", "flat"] as const) {
    it(kind, () => {
      const d = kind === "rabitq" ? 128 : dim;
      const x = kind === "rabitq" ? wide : data;
      const e = build(kind, x, n, d, "l2");
      let hits = 0;
      for (let qi = 0; qi < 5; qi++) {
        // queries near the data (a row plus noise), as real queries are
        const noise = createRng(100 + qi);
        const q = x.slice(qi * 97 * d, qi * 97 * d + d).map((v) => v + 0.5 * noise.nextGaussian());
        const approx = scoreAll(e, q, n, d);
        const exact = new Float32Array(n);
        for (let i = 0; i < n; i++) exact[i] = distance(q, x.subarray(i * d), d, "l2");
        const order = (s: Float32Array): number[] => [...s.keys()].sort((a, b) => s[a]! - s[b]! || a - b);
        const truth = new Set(order(exact).slice(0, 10));
        for (const i of order(approx).slice(0, 50)) if (truth.has(i)) hits++;
      }
      expect(hits / 50).toBeGreaterThanOrEqual(kind === "flat" ? 1 : 0.8);
    });
  }
});

describe("quantizerFromMetadata", () => {
  const trained = (["flat", "sq", "pq", "rabitq"] as const).map((kind) => build(kind, data, n, dim, "l2"));

  it("reopens every kind with identical scores, using the metadata arrays in place", () => {
    for (const e of trained) {
      const meta = e.q.metadata;
      // arrays as views into one larger buffer, as a cache entry would hand them over
      const arrays: Record<string, Float32Array> = {};
      for (const [name, a] of Object.entries(meta.arrays)) {
        const backing = new Float32Array(a.length + 8);
        backing.set(a as Float32Array, 4);
        arrays[name] = backing.subarray(4, 4 + a.length);
      }
      const reopened = quantizerFromMetadata({ ...meta, arrays });
      for (const [name, a] of Object.entries(arrays)) expect(reopened.metadata.arrays[name]).toBe(a);
      const c = e.ivf.subarray(0, dim);
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      e.q.scorer(query, c).score(e.codes, n, a);
      reopened.scorer(query, c).score(e.codes, n, b);
      expect([...b]).toEqual([...a]);
    }
  });

  it("rejects malformed metadata with QuiverFormatError BAD_QUANTIZER_METADATA", () => {
    const pq = trained[2]!.q.metadata;
    const bad: QuantizerMetadata[] = [
      { ...pq, dim: 0 },
      { ...pq, dim: 33 },
      { ...pq, kind: "hnsw" as QuantizerKind },
      { ...pq, distance: "hamming" as DistanceType },
      { ...pq, params: { ...pq.params, nbits: 4 } },
      { ...pq, params: { ...pq.params, numSubVectors: 3 } },
      { ...pq, params: { ...pq.params, extra: 1 } },
      { ...pq, arrays: { codebook: new Float32Array(10) } },
      { ...pq, arrays: { codebook: new Float32Array(256 * dim).fill(Number.NaN) } },
      { ...trained[1]!.q.metadata, arrays: { lower: new Float32Array(dim).fill(1), upper: new Float32Array(dim) } },
      { ...trained[3]!.q.metadata, residual: false },
    ];
    for (const meta of bad) {
      let caught: unknown;
      try {
        quantizerFromMetadata(meta);
      } catch (e) {
        caught = e;
      }
      expect(isQuiverFormatError(caught, "BAD_QUANTIZER_METADATA")).toBe(true);
    }
  });

  it("arbitrary mutations of valid metadata either reopen or raise QuiverFormatError", () => {
    const field = fc.constantFrom("dim", "kind", "distance", "residual", "numSubVectors", "nbits", "bits", "array");
    const value = fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double(), fc.string({ maxLength: 4 }), fc.boolean(), fc.constant(null));
    fc.assert(fc.property(fc.integer({ min: 0, max: 3 }), field, value, fc.integer({ min: 0, max: 300 }), (which, f, v, len) => {
      const meta = trained[which]!.q.metadata;
      let mutated: unknown;
      if (f === "array") {
        const name = Object.keys(meta.arrays)[0] ?? "codebook";
        mutated = { ...meta, arrays: { ...meta.arrays, [name]: new Float32Array(len) } };
      } else if (f === "numSubVectors" || f === "nbits" || f === "bits") {
        mutated = { ...meta, params: { ...meta.params, [f]: v } };
      } else {
        mutated = { ...meta, [f]: v };
      }
      try {
        const q = quantizerFromMetadata(mutated as QuantizerMetadata);
        expect(q.codeWidth).toBeGreaterThan(0);
      } catch (e) {
        expect(isQuiverFormatError(e, "BAD_QUANTIZER_METADATA")).toBe(true);
      }
    }), { numRuns: 300 });
  });
});

describe("odd shapes", () => {
  it("dims that are not multiples of 4 or 8, PQ with m = 1, tiny samples", () => {
    for (const d of [1, 3, 12, 33]) {
      const x = gaussianClusters(300, d, 3, d);
      const q = x.slice(0, d).map((v) => v + 0.1);
      for (const kind of ["flat", "sq", "pq", "rabitq"] as const) {
        const e = build(kind, x, 300, d, "l2", 2);
        if (kind === "pq") expect(e.q.metadata.params.numSubVectors).toBe(1); // no dim here divides by 8 or 16
        if (kind === "rabitq") expect(e.q.codeWidth).toBe(Math.ceil(d / 8) + 8);
        const scores = scoreAll(e, q, 300, d);
        expect(scores.every(Number.isFinite)).toBe(true);
        if (kind === "flat") for (let i = 0; i < 300; i += 29) expect(scores[i]).toBeCloseTo(distance(q, x.subarray(i * d), d, "l2"), 3);
      }
    }
    // fewer sample rows than 256 codewords: codebook padded by repeating the last codeword
    const small = gaussianClusters(40, 16, 2, 5);
    const pq = trainQuantizer("pq", small, 40, 16, { distance: "dot", numSubVectors: 2 });
    const codes = new Uint8Array(40 * 2);
    pq.encode(small, 40, codes);
    expect(Math.max(...codes)).toBeLessThan(40);
  });
});
