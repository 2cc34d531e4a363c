/**
 * The data shapes of the search benchmarks (bench/lancedb.bench.ts, bench/ivf.bench.ts): row
 * count, dimension, metric and data kind, with the seeded generators, and where a kept index of a
 * shape lives (BENCH_INDEX_DIR), so both benches reuse one build.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type DistanceType, gaussianMixture } from "@quiver/ivf";
import { prng } from "../fixtures/_gen/internal/prng.js";

/** One benchmark shape. */
export interface Shape {
  readonly name: string;
  readonly n: number;
  readonly dim: number;
  readonly distance: DistanceType;
  readonly data: "equal" | "skewed";
}

/** Every shape: 100k x 128, 1M x 128 and 100k x 768 (l2 and cosine), equal-size and skewed mixtures. */
export const SHAPES: readonly Shape[] = [
  { name: "100k-128-l2", n: 100_000, dim: 128, distance: "l2", data: "equal" },
  { name: "100k-128-l2-skewed", n: 100_000, dim: 128, distance: "l2", data: "skewed" },
  { name: "1m-128-l2", n: 1_000_000, dim: 128, distance: "l2", data: "equal" },
  { name: "1m-128-l2-skewed", n: 1_000_000, dim: 128, distance: "l2", data: "skewed" },
  { name: "100k-768-l2", n: 100_000, dim: 768, distance: "l2", data: "equal" },
  { name: "100k-768-cosine", n: 100_000, dim: 768, distance: "cosine", data: "equal" },
  { name: "100k-768-cosine-skewed", n: 100_000, dim: 768, distance: "cosine", data: "skewed" },
];

/**
 * A skewed mixture: cluster c is picked with weight 1 / (c + 1) (a few large clusters, many small
 * ones), and dimension d is scaled by a seeded factor in [0.25, 2] (unequal per-dimension spread).
 */
export function skewedMixture(n: number, dim: number, clusters: number, seed: number, centerSeed: number): Float32Array {
  const cr = prng(centerSeed);
  const centers = Float32Array.from({ length: clusters * dim }, () => cr() * 2 - 1);
  const scales = Float32Array.from({ length: dim }, () => 0.25 + 1.75 * cr());
  const cum = new Float64Array(clusters);
  let total = 0;
  for (let c = 0; c < clusters; c++) cum[c] = total += 1 / (c + 1);
  const r = prng(seed);
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const u = r() * total;
    let lo = 0;
    let hi = clusters - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    for (let d = 0; d < dim; d++) {
      const g = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      out[i * dim + d] = (centers[lo * dim + d]! + 0.5 * g) * scales[d]!;
    }
  }
  return out;
}

/** `count` rows of `shape` (seed 1: the data, seed 2: the queries). */
export function shapeRows(shape: Shape, count: number, dim: number, clusters: number, seed: number): Float32Array {
  return shape.data === "equal" ? gaussianMixture({ n: count, dim, clusters, seed, centerSeed: 1 }) : skewedMixture(count, dim, clusters, seed, 1);
}

/** Shapes named in `env` (comma-separated, run in that order; all when unset). */
export function selectShapes(env: string | undefined, from: readonly Shape[] = SHAPES): Shape[] {
  const wanted = env?.split(",").filter((s) => s !== "");
  const shapes = wanted === undefined ? [...from] : wanted.flatMap((name) => from.filter((s) => s.name === name));
  if (shapes.length === 0) throw new RangeError(`shapes ${env}: none of ${from.map((s) => s.name).join(", ")}`);
  return shapes;
}

/** Directory name of a kept build of `shape` (the same key in both benches, so one build serves both). */
export function shapeKey(shape: Shape, n: number, dim: number, P: number, m: number): string {
  return `${shape.name}-${n}x${dim}-p${P}-m${m}`;
}

/**
 * Ground truth (Q x 10 row ids) of a shape, kept in BENCH_INDEX_DIR beside its builds under `key`
 * so a rerun over kept indexes neither regenerates the data nor repeats the brute-force search.
 * Without a directory it is computed every time.
 */
export function keptTruth(dir: string | undefined, key: string, Q: number, compute: () => Int32Array): Int32Array {
  if (dir === undefined) return compute();
  const file = join(dir, `truth-${key}-q${Q}.json`);
  if (existsSync(file)) {
    const ids = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (Array.isArray(ids) && ids.length === Q * 10 && ids.every((x) => Number.isInteger(x))) return Int32Array.from(ids as number[]);
  }
  const truth = compute();
  mkdirSync(dir, { recursive: true });
  // written whole then renamed: an interrupted run never leaves a short file behind
  writeFileSync(`${file}.tmp`, JSON.stringify(Array.from(truth)));
  renameSync(`${file}.tmp`, file);
  return truth;
}

/** The search bench's index and query settings (bench/lancedb.bench.ts); other benches that reuse its data, queries and ground truth take them from here so they cannot drift apart. */
export function searchBenchSettings(quick: boolean): { P: number; m: number; Q: number; clusters: number; nprobes: number; refine: number } {
  return { P: quick ? 32 : 256, m: quick ? 4 : 16, Q: quick ? 30 : 200, clusters: quick ? 64 : 1024, nprobes: 20, refine: 10 };
}
