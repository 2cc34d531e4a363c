/**
 * Recall is a random variable on both sides: Quiver's build draws its IVF and PQ training
 * samples and k-means starts from a seed, LanceDB's from its own sampling. One index per side is
 * one draw each, and one seed moves recall@10 by about as much as the gaps the lancedb bench
 * reported. This bench builds S indexes per side per shape (Quiver with seeds 1..S, LanceDB
 * rebuilt S times over one table), default settings on both sides, on the data, queries and
 * ground truth of bench/lancedb.bench.ts (bench/shapes.ts; IVF_PQ 256 partitions, 16
 * sub-vectors, nprobes 20, 200 queries), and prints per shape and side the mean, standard
 * deviation and standard error of recall@10 plain and with refine 10, and the difference
 * Quiver - LanceDB with its standard error (the two sides' errors combined: the builds are
 * independent draws) and the difference in standard errors (z).
 *
 * The 200 queries are the same on both sides and for every build, so the standard errors here
 * are those of the build's randomness on this query set (the query-sampling error of the set
 * itself is common to both sides).
 *
 * BENCH_SHAPES=name,name selects shapes (default all); BENCH_SEEDS=S builds per side (default 3);
 * BENCH_QUICK=1 runs tiny versions (the lancedb bench's quick sizes); BENCH_INDEX_DIR=dir keeps
 * the ground truth there (and reuses truth-* files of the lancedb bench, same keys) and the
 * LanceDB tables (one per shape, reindexed S times). Quiver's indexes are built into memory and
 * dropped after their queries. The sides alternate per seed (Quiver build s, LanceDB build s),
 * so a change of machine load hits both; build seconds are wall clock, reported per side with the
 * CPU seconds of this process. After every shape the rows so far are written to
 * bench/results/recall-seeds.partial.json (.partial.quick.json when quick).
 */
import { existsSync, writeFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as lancedb from "@lancedb/lancedb";
import { buildIndexInMemory } from "@quiver/build";
import { bruteForceKnn, openVectorIndex, recallAtK } from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";
import { arrowTable } from "./lance-table.js";
import { machineLoad } from "./machine.js";
import { keptTruth, searchBenchSettings, selectShapes, shapeKey, shapeRows, SHAPES } from "./shapes.js";
import type { BenchContext, BenchResult } from "./run.js";

/** Variables that select part of this bench: a run with any set writes recall-seeds.partial.json. */
export const selectEnv: readonly string[] = ["BENCH_SHAPES", "BENCH_SEEDS"];

/** Mean, sample standard deviation and standard error of the mean. */
export function summarize(xs: readonly number[]): { mean: number; sd: number; se: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  return { mean, sd, se: sd / Math.sqrt(n) };
}

/** One build's figures. */
interface Draw {
  plain: number;
  refine: number;
  buildS: number;
  cpuS: number;
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** Run the study. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const shapes = selectShapes(process.env.BENCH_SHAPES, SHAPES);
  const S = Number(process.env.BENCH_SEEDS ?? (ctx.quick ? 2 : 3));
  if (!(Number.isInteger(S) && S >= 1 && S <= 100)) throw new RangeError(`BENCH_SEEDS ${process.env.BENCH_SEEDS}: an integer 1..100`);
  const { P, m, Q, clusters, nprobes, refine } = searchBenchSettings(ctx.quick);
  const keep = process.env.BENCH_INDEX_DIR;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), "quiver-bench-recall-seeds-")));
  const rows: BenchResult["rows"][number][] = [];
  const perSeed: string[] = [];
  try {
    for (const shape of shapes) {
      const n = ctx.quick ? Math.min(10_000, Math.round(shape.n / 100)) : shape.n;
      const dim = ctx.quick ? Math.min(64, shape.dim) : shape.dim;
      const { distance } = shape;
      const loadBefore = machineLoad();
      ctx.progress(`${shape.name}: dataset (${n} x ${dim})`);
      const data = shapeRows(shape, n, dim, clusters, 1);
      const queries = shapeRows(shape, Q, dim, clusters, 2);
      const key = shapeKey(shape, n, dim, P, m);
      const truth = keptTruth(keep, key, Q, () => bruteForceKnn(data, n, dim, queries, Q, 10, distance));
      const query = (i: number) => queries.subarray(i * dim, (i + 1) * dim);

      // one LanceDB table per shape, reindexed for every draw (createIndex replaces the index)
      const lanceDir = join(dir, `lancedb-seeds-${key}`);
      await mkdir(dir, { recursive: true });
      const db = await lancedb.connect(lanceDir);
      const table = (await db.tableNames()).includes("vectors") ? await db.openTable("vectors") : await db.createTable("vectors", arrowTable(data, n, dim));
      if ((await table.countRows()) !== n) throw new Error(`${lanceDir}: table has ${await table.countRows()} rows, expected ${n}`);

      const quiver: Draw[] = [];
      const lance: Draw[] = [];
      for (let seed = 1; seed <= S; seed++) {
        ctx.progress(`${shape.name}: Quiver build seed ${seed}/${S}`);
        {
          const store = new MemoryObjectStore();
          const c = process.cpuUsage();
          const t = performance.now();
          const { identity } = await buildIndexInMemory({ store, path: "vectors/index.qvr", vectors: data, dim, quantizer: "pq", distanceType: distance, numPartitions: P, numSubVectors: m, seed });
          const buildS = (performance.now() - t) / 1000;
          const cpuS = cpuSeconds(c);
          ctx.progress(`${shape.name}: Quiver queries seed ${seed}/${S}`);
          const index = await openVectorIndex(store, "vectors/index.qvr", { identity, prewarm: true });
          const plain: number[][] = [];
          const refined: number[][] = [];
          for (let i = 0; i < Q; i++) {
            plain.push((await index.search(query(i), { k: 10, nprobes })).map((h) => Number(h.id)));
            refined.push((await index.search(query(i), { k: 10, nprobes, refineFactor: refine })).map((h) => Number(h.id)));
          }
          await index.close();
          quiver.push({ plain: recallAtK(plain, truth, 10), refine: recallAtK(refined, truth, 10), buildS, cpuS });
        }
        ctx.progress(`${shape.name}: LanceDB build ${seed}/${S}`);
        {
          const c = process.cpuUsage();
          const t = performance.now();
          await table.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: P, numSubVectors: m, distanceType: distance }), replace: true });
          const buildS = (performance.now() - t) / 1000;
          const cpuS = cpuSeconds(c);
          ctx.progress(`${shape.name}: LanceDB queries ${seed}/${S}`);
          const plain: number[][] = [];
          const refined: number[][] = [];
          for (let i = 0; i < Q; i++) {
            const q = () => table.vectorSearch(Array.from(query(i))).distanceType(distance).nprobes(nprobes).limit(10).select(["id"]);
            plain.push(((await q().toArray()) as { id: number }[]).map((r) => r.id));
            refined.push(((await q().refineFactor(refine).toArray()) as { id: number }[]).map((r) => r.id));
          }
          lance.push({ plain: recallAtK(plain, truth, 10), refine: recallAtK(refined, truth, 10), buildS, cpuS });
        }
      }
      table.close();
      db.close();
      if (keep === undefined) await rm(lanceDir, { recursive: true, force: true });

      const load = `${loadBefore}/${machineLoad()}`;
      const label = `${shape.name}${n === shape.n && dim === shape.dim ? "" : ` (run at ${n} x ${dim})`}`;
      const fmt = (xs: readonly Draw[], f: (d: Draw) => number, digits: number) => xs.map((d) => f(d).toFixed(digits)).join(" ");
      for (const [metric, f, digits] of [
        ["recall@10", (d: Draw) => d.plain, 4],
        [`recall@10 refine ${refine}`, (d: Draw) => d.refine, 4],
        ["build s (wall)", (d: Draw) => d.buildS, 2],
        ["build cpu s (this process)", (d: Draw) => d.cpuS, 2],
      ] as const) {
        const q = summarize(quiver.map(f));
        const l = summarize(lance.map(f));
        const diffSe = Math.sqrt(q.se ** 2 + l.se ** 2);
        const r = (x: number) => Number(x.toFixed(digits));
        rows.push({
          shape: label,
          metric,
          draws: S,
          "quiver mean": r(q.mean),
          "quiver sd": r(q.sd),
          "quiver se": r(q.se),
          "lancedb mean": r(l.mean),
          "lancedb sd": r(l.sd),
          "lancedb se": r(l.se),
          "quiver - lancedb": r(q.mean - l.mean),
          "diff se": r(diffSe),
          z: diffSe > 0 ? Number(((q.mean - l.mean) / diffSe).toFixed(2)) : null,
          load,
        });
        perSeed.push(`${label} ${metric}: Quiver seeds 1..${S} ${fmt(quiver, f, digits)}; LanceDB builds ${fmt(lance, f, digits)}`);
      }
      const partial = join(dirname(fileURLToPath(import.meta.url)), "results", ctx.quick ? "recall-seeds.partial.quick.json" : "recall-seeds.partial.json");
      if (existsSync(dirname(partial))) writeFileSync(partial, JSON.stringify({ name: "recall-seeds", date: new Date().toISOString(), partial: true, shapesDone: [...new Set(rows.map((x) => x.shape))], rows, notes: perSeed }, null, 2) + "\n");
    }
    const notes = [
      `data, queries and ground truth of bench/lancedb.bench.ts (bench/shapes.ts): seeded mixtures of ${clusters} Gaussians, ${Q} queries; IVF_PQ ${P} partitions, ${m} sub-vectors, nprobes ${nprobes}, k 10, refine ${refine}; default settings otherwise on both sides`,
      `${S} builds per side per shape: Quiver buildIndexInMemory with seed 1..${S} (IVF and PQ training both follow the seed); LanceDB createIndex (replace) ${S} times over one table (its sampling is its own draw)`,
      "sd: sample standard deviation over the builds; se = sd / sqrt(builds); diff se = sqrt(se_quiver^2 + se_lancedb^2) (independent draws); z = (quiver - lancedb) / diff se",
      "build s: wall clock of one build (Quiver: train + assign/encode + write into a memory store; LanceDB: createIndex on the written table); build cpu s: CPU time of this process in it (LanceDB's native threads count; both sides use both cores)",
      "load column: 1-minute load average at the start of the shape / when its rows were written",
      ...perSeed.map((p) => `per draw: ${p}`),
    ];
    return { rows, notes };
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}
