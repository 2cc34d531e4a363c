/**
 * Quiver vs LanceDB on the same data in the same run: IVF_PQ, 256 partitions, 16 sub-vectors, L2;
 * build time, recall@10 and query latency at nprobes 20 with and without refine 10, reported as
 * Quiver/LanceDB ratios (below 1 is better for times, above 1 for recall). LanceDB uses its own
 * apache-arrow 18.1 (installed in the bench package); Quiver uses 21.2 internally.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { DiskCacheBackend, IndexCache, MemoryCacheBackend, TieredCacheBackend } from "@quiver/cache";
import { bruteForceKnn, gaussianMixture, openVectorIndex, recallAtK } from "@quiver/ivf";
import { buildIndexInMemory } from "@quiver/build";
import { LocalDirectoryStore } from "@quiver/store";
import { Field, FixedSizeList, Float32, Int32, RecordBatch, Schema, Struct, Table, makeData } from "apache-arrow";
import type { BenchContext, BenchResult } from "./run.js";

interface Side {
  buildMs: number;
  recall: number;
  recallRefine: number;
  msPerQuery: number;
  msPerQueryRefine: number;
}

function arrowTable(data: Float32Array, n: number, dim: number): Table {
  const vecType = new FixedSizeList(dim, new Field("item", new Float32(), true));
  const schema = new Schema([new Field("id", new Int32(), false), new Field("vector", vecType, false)]);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const children = [
    makeData({ type: new Int32(), length: n, data: ids }),
    makeData({ type: vecType, length: n, child: makeData({ type: new Float32(), length: n * dim, data }) }),
  ];
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children })));
}

async function timeQueries(Q: number, run: (i: number) => Promise<number[]>): Promise<{ ms: number; results: number[][] }> {
  for (let i = 0; i < Math.min(Q, 20); i++) await run(i); // warm-up: caches of both systems filled the same way
  const results: number[][] = [];
  const t = performance.now();
  for (let i = 0; i < Q; i++) results.push(await run(i));
  return { ms: (performance.now() - t) / Q, results };
}

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 10_000 : 100_000;
  const dim = ctx.quick ? 32 : 128;
  const P = ctx.quick ? 32 : 256;
  const m = ctx.quick ? 4 : 16;
  const Q = ctx.quick ? 30 : 200;
  const clusters = ctx.quick ? 64 : 1024;
  const nprobes = 20;
  const refine = 10;
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-lancedb-"));
  try {
    ctx.progress("dataset + ground truth");
    const data = gaussianMixture({ n, dim, clusters, seed: 1 });
    const queries = gaussianMixture({ n: Q, dim, clusters, seed: 2, centerSeed: 1 });
    const truth = bruteForceKnn(data, n, dim, queries, Q, 10, "l2");
    const query = (i: number) => queries.subarray(i * dim, (i + 1) * dim);

    // LanceDB
    ctx.progress("LanceDB: write table");
    const db = await lancedb.connect(join(dir, "lancedb"));
    const table = await db.createTable("vectors", arrowTable(data, n, dim));
    ctx.progress("LanceDB: build IVF_PQ");
    let t = performance.now();
    await table.createIndex("vector", { config: lancedb.Index.ivfPq({ numPartitions: P, numSubVectors: m, distanceType: "l2" }) });
    const lanceBuild = performance.now() - t;
    const lanceRun = (withRefine: boolean) => async (i: number): Promise<number[]> => {
      let q = table.vectorSearch(Array.from(query(i))).distanceType("l2").nprobes(nprobes).limit(10).select(["id", "_distance"]);
      if (withRefine) q = q.refineFactor(refine);
      const rows = (await q.toArray()) as { id: number }[];
      return rows.map((r) => r.id);
    };
    ctx.progress("LanceDB: queries");
    const lPlain = await timeQueries(Q, lanceRun(false));
    const lRefine = await timeQueries(Q, lanceRun(true));
    const lance: Side = {
      buildMs: lanceBuild,
      recall: recallAtK(lPlain.results, truth, 10),
      recallRefine: recallAtK(lRefine.results, truth, 10),
      msPerQuery: lPlain.ms,
      msPerQueryRefine: lRefine.ms,
    };
    table.close();
    db.close();

    // Quiver: same data, same parameters, index on a local directory store, tiered memory/disk cache.
    ctx.progress("Quiver: build IVF_PQ");
    const store = new LocalDirectoryStore(join(dir, "quiver"));
    t = performance.now();
    const { identity } = await buildIndexInMemory({ store, path: "vectors/index.qvr", vectors: data, dim, quantizer: "pq", distanceType: "l2", numPartitions: P, numSubVectors: m, seed: 3 });
    const quiverBuild = performance.now() - t;
    // Quiver's default in-process cache (the counterpart of LanceDB's in-memory index cache), and a
    // memory-over-disk tiered cache as a deployment that survives restarts would run it.
    const quiverPass = async (cache: IndexCache): Promise<{ plain: { ms: number; results: number[][] }; refine: { ms: number; results: number[][] } }> => {
      const index = await openVectorIndex(store, "vectors/index.qvr", { cache, identity });
      const runOne = (withRefine: boolean) => async (i: number): Promise<number[]> => {
        const hits = await index.search(query(i), withRefine ? { k: 10, nprobes, refineFactor: refine } : { k: 10, nprobes });
        return hits.map((h) => Number(h.id));
      };
      return { plain: await timeQueries(Q, runOne(false)), refine: await timeQueries(Q, runOne(true)) };
    };
    ctx.progress("Quiver: queries (in-memory cache)");
    const mem = await quiverPass(IndexCache.inMemory(2 ** 31));
    ctx.progress("Quiver: queries (tiered memory + disk cache)");
    const backend = new TieredCacheBackend(new MemoryCacheBackend({ maxBytes: 2 ** 31 }), new DiskCacheBackend({ directory: join(dir, "cache") }));
    const tiered = await quiverPass(new IndexCache(backend));
    await backend.close?.();
    const quiver: Side = {
      buildMs: quiverBuild,
      recall: recallAtK(mem.plain.results, truth, 10),
      recallRefine: recallAtK(mem.refine.results, truth, 10),
      msPerQuery: mem.plain.ms,
      msPerQueryRefine: mem.refine.ms,
    };

    const row = (metric: string, qv: number, lv: number, digits: number) => ({
      metric,
      quiver: Number(qv.toFixed(digits)),
      lancedb: Number(lv.toFixed(digits)),
      "quiver/lancedb": Number((qv / lv).toFixed(3)),
    });
    return {
      rows: [
        row("build s", quiver.buildMs / 1000, lance.buildMs / 1000, 2),
        row(`recall@10 nprobes ${nprobes}`, quiver.recall, lance.recall, 4),
        row(`ms/query nprobes ${nprobes}`, quiver.msPerQuery, lance.msPerQuery, 3),
        row(`recall@10 nprobes ${nprobes} refine ${refine}`, quiver.recallRefine, lance.recallRefine, 4),
        row(`ms/query nprobes ${nprobes} refine ${refine}`, quiver.msPerQueryRefine, lance.msPerQueryRefine, 3),
        row(`ms/query nprobes ${nprobes}, Quiver tiered cache`, tiered.plain.ms, lance.msPerQuery, 3),
        row(`ms/query nprobes ${nprobes} refine ${refine}, Quiver tiered cache`, tiered.refine.ms, lance.msPerQueryRefine, 3),
      ],
      notes: [
        `data: ${n} x ${dim} seeded mixture of ${clusters} Gaussians (sigma 0.5); ${Q} queries from the same mixture after ${Math.min(Q, 20)} warm-up queries; IVF_PQ ${P} partitions, ${m} sub-vectors, L2`,
        "LanceDB build = createIndex on an already written table; Quiver build = train + assign/encode + write of the index file (raw vectors stored for refine)",
        "Quiver queries: index on a LocalDirectoryStore, partitions through IndexCache.inMemory (main rows) or a memory-over-disk TieredCacheBackend (last two rows); LanceDB: local directory with its default caches; both after the same warm-up",
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
