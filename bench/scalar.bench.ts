/**
 * Quiver's scalar indexes vs LanceDB's on the same table in the same run (1M rows; BENCH_QUICK=1:
 * 50k): BTree (int32 `amount`), Bitmap (utf8 `category`, 16 values), LabelList (list<int32>
 * `tags`), and filtered vector search (IVF_FLAT, 256 partitions, L2, `bucket < s` prefilter at 50 /
 * 10 / 1 / 0.1 % selectivity). Index build time; point / range / IN / has-any / has-all latency
 * as a row count through the index (LanceDB `countRows(filter)`, Quiver `rows(filter).size()`),
 * with the counts cross-checked; filtered search latency and recall@10 against brute force over
 * the filtered rows. Quiver's indexes are reconstructed from a prewarmed disk cache (a new
 * backend instance, memory tier in front) before timing; reconstruction time from disk and from
 * Redis; cache entry sizes vs the raw column. Ratios are computed from unrounded values.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import * as lancedb from "@lancedb/lancedb";
import { type BitmapIndex, type ScalarFilter, bitmapIndexStateCodec, bitmapValueRowsCodec, buildBitmapIndex, buildLabelListIndex, labelListIndexStateCodec, openBitmapIndex, openLabelListIndex } from "@quiver/bitmap";
import { type BTreeIndex, btreeIndexStateCodec, btreePageCodec, buildBTreeIndex, openBTreeIndex } from "@quiver/btree";
import { type CacheBackend, DiskCacheBackend, IndexCache, MemoryCacheBackend, TieredCacheBackend, encodeCacheEntry } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { buildIndexInMemory } from "@quiver/build";
import { gaussianMixture, openVectorIndex } from "@quiver/ivf";
import { ScalarQuery, filteredBruteForce, filteredVectorQuery } from "@quiver/query";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { Field, FixedSizeList, Float32, Int32, List, RecordBatch, Schema, Struct, Table, Utf8, makeData, vectorFromArray } from "apache-arrow";
import { redisServerUnavailable, startRedisServer } from "../packages/cache-redis/test/redis-server.js";
import type { BenchContext, BenchResult } from "./run.js";
import { prng as rng } from "../fixtures/_gen/internal/prng.js";

const CATS = Array.from({ length: 16 }, (_, i) => `category-${String.fromCharCode(97 + i)}`);


interface Columns {
  n: number;
  dim: number;
  vectors: Float32Array;
  amount: Int32Array;
  bucket: Int32Array;
  category: string[];
  tags: number[][];
}

function columns(n: number, dim: number): Columns {
  const r = rng(7);
  return {
    n,
    dim,
    vectors: gaussianMixture({ n, dim, clusters: 256, seed: 1 }),
    amount: Int32Array.from({ length: n }, () => Math.floor(r() * 100_000)),
    bucket: Int32Array.from({ length: n }, () => Math.floor(r() * 1000)),
    category: Array.from({ length: n }, () => CATS[Math.floor(r() * 16)]!),
    tags: Array.from({ length: n }, () => Array.from({ length: Math.floor(r() * 5) }, () => 1 + Math.floor(r() * 20))),
  };
}

function arrowBatch(c: Columns, start: number, end: number): Table {
  const n = end - start;
  const vecType = new FixedSizeList(c.dim, new Field("item", new Float32(), true));
  const listType = new List(new Field("item", new Int32(), true));
  const schema = new Schema([
    new Field("id", new Int32(), false),
    new Field("vector", vecType, false),
    new Field("amount", new Int32(), false),
    new Field("bucket", new Int32(), false),
    new Field("category", new Utf8(), false),
    new Field("tags", listType, false),
  ]);
  const children = [
    makeData({ type: new Int32(), length: n, data: Int32Array.from({ length: n }, (_, i) => start + i) }),
    makeData({ type: vecType, length: n, child: makeData({ type: new Float32(), length: n * c.dim, data: c.vectors.subarray(start * c.dim, end * c.dim) }) }),
    makeData({ type: new Int32(), length: n, data: c.amount.subarray(start, end) }),
    makeData({ type: new Int32(), length: n, data: c.bucket.subarray(start, end) }),
    vectorFromArray(c.category.slice(start, end), new Utf8()).data[0]!,
    vectorFromArray(c.tags.slice(start, end), listType).data[0]!,
  ];
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children })));
}

async function time<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await f();
  return { ms: performance.now() - t, value };
}

/** Mean ms per call of `run(i)` over Q calls after `warm` warm-up calls. */
async function perQuery<T>(Q: number, run: (i: number) => Promise<T>, warm = 10): Promise<{ ms: number; results: T[] }> {
  for (let i = 0; i < warm; i++) await run(i % Q);
  const results: T[] = [];
  const t = performance.now();
  for (let i = 0; i < Q; i++) results.push(await run(i));
  return { ms: (performance.now() - t) / Q, results };
}

/** Variables that select part of this bench or change what it measures: a run with any set writes scalar.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 50_000 : 1_000_000;
  const dim = 16;
  const P = ctx.quick ? 32 : 256;
  const Q = ctx.quick ? 20 : 50;
  const nprobes = 20;
  const loadBefore = loadavg();
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-scalar-"));
  const redis = redisServerUnavailable() === undefined ? await startRedisServer() : undefined;
  try {
    ctx.progress("dataset");
    const c = columns(n, dim);
    const rowIds = BigUint64Array.from({ length: n }, (_, i) => (BigInt(i >> 16) << 32n) | BigInt(i & 0xffff));
    const rowOf = (id: bigint) => Number(id >> 32n) * 65536 + Number(id & 0xffffn);

    // ---------------------------------------------------------------- LanceDB
    ctx.progress("LanceDB: write table");
    const db = await lancedb.connect(join(dir, "lancedb"));
    const chunk = 100_000;
    const table = await db.createTable("t", arrowBatch(c, 0, Math.min(n, chunk)));
    for (let s = chunk; s < n; s += chunk) await table.add(arrowBatch(c, s, Math.min(n, s + chunk)));
    const lanceBuild: Record<string, number> = {};
    for (const [col, config] of [["amount", lancedb.Index.btree()], ["category", lancedb.Index.bitmap()], ["tags", lancedb.Index.labelList()], ["bucket", lancedb.Index.btree()]] as const) {
      ctx.progress(`LanceDB: index ${col}`);
      lanceBuild[col] = (await time(() => table.createIndex(col, { config }))).ms;
    }
    ctx.progress("LanceDB: IVF_FLAT");
    lanceBuild.vector = (await time(() => table.createIndex("vector", { config: lancedb.Index.ivfFlat({ numPartitions: P, distanceType: "l2" }) }))).ms;

    // ---------------------------------------------------------------- Quiver build
    const store = new LocalDirectoryStore(join(dir, "quiver"));
    const qBuild: Record<string, number> = {};
    ctx.progress("Quiver: build scalar indexes");
    qBuild.amount = (await time(() => buildBTreeIndex(store, "t/amount", [{ rowIds, values: c.amount }], { valueType: "int32" }))).ms;
    qBuild.category = (await time(() => buildBitmapIndex(store, "t/category", [{ rowIds, values: c.category }], { valueType: "utf8" }))).ms;
    qBuild.tags = (await time(() => buildLabelListIndex(store, "t/tags", [{ rowIds, values: c.tags }], { valueType: "int32" }))).ms;
    qBuild.bucket = (await time(() => buildBTreeIndex(store, "t/bucket", [{ rowIds, values: c.bucket }], { valueType: "int32" }))).ms;
    ctx.progress("Quiver: IVF_FLAT");
    qBuild.vector = (await time(() => buildIndexInMemory({ store, path: "t/vector.ivf", vectors: c.vectors, dim, quantizer: "flat", distanceType: "l2", numPartitions: P, seed: 3, ids: rowIds }))).ms;

    // Prewarm through a disk cache (and Redis), then reconstruct from a new backend instance.
    ctx.progress("Quiver: prewarm");
    let vectorIdentity: string | undefined;
    // Every index is reopened by its identity, which names its cache entries (zero IO).
    let ids = { amount: "", category: "", tags: "", bucket: "" };
    const prewarmAll = async (backend: CacheBackend): Promise<void> => {
      const cache = new IndexCache(backend);
      const scalars = [
        await openBTreeIndex(store, "t/amount", { cache }),
        await openBitmapIndex(store, "t/category", { cache }),
        await openLabelListIndex(store, "t/tags", { cache }),
        await openBTreeIndex(store, "t/bucket", { cache }),
      ] as const;
      for (const index of scalars) await index.prewarm();
      ids = { amount: scalars[0].identity, category: scalars[1].identity, tags: scalars[2].identity, bucket: scalars[3].identity };
      const warmVector = await openVectorIndex(store, "t/vector.ivf", { cache });
      await warmVector.prewarm();
      vectorIdentity = warmVector.identity;
      await backend.close?.();
    };
    await prewarmAll(new DiskCacheBackend({ directory: join(dir, "cache"), maxBytes: 2 ** 33 }));
    if (redis) await prewarmAll(await RedisCacheBackend.connect({ redis: redis.url, namespace: "bench:" }));
    const reconstruct = async (backend: CacheBackend) => {
      const io = new IoStatsStore(store);
      const cache = new IndexCache(backend);
      const t = performance.now();
      const amount = await openBTreeIndex(io, "t/amount", { cache, identity: ids.amount });
      const category = await openBitmapIndex(io, "t/category", { cache, identity: ids.category });
      const tags = await openLabelListIndex(io, "t/tags", { cache, identity: ids.tags });
      const bucket = await openBTreeIndex(io, "t/bucket", { cache, identity: ids.bucket });
      const openMs = performance.now() - t;
      // Every page / per-value entry loaded once (what the queries would touch at most).
      await Promise.all([amount.prewarm(), category.prewarm(), tags.prewarm(), bucket.prewarm()]);
      const allMs = performance.now() - t;
      const vector = await openVectorIndex(io, "t/vector.ivf", { cache, ...(vectorIdentity === undefined ? {} : { identity: vectorIdentity }) });
      return { io, cache, amount, category, tags, bucket, vector, openMs, allMs };
    };
    ctx.progress("Quiver: reconstruct from disk / Redis");
    const fromDisk = await reconstruct(new DiskCacheBackend({ directory: join(dir, "cache"), maxBytes: 2 ** 33 }));
    let fromRedis: Awaited<ReturnType<typeof reconstruct>> | undefined;
    if (redis) {
      const rb = await RedisCacheBackend.connect({ redis: redis.url, namespace: "bench:" });
      fromRedis = await reconstruct(rb);
      await rb.close();
    }
    // The query side: a memory tier over a fresh disk-backend instance of the prewarmed cache.
    const q = await reconstruct(new TieredCacheBackend(new MemoryCacheBackend({ maxBytes: 2 ** 31 }), new DiskCacheBackend({ directory: join(dir, "cache"), maxBytes: 2 ** 33 })));
    const scalar = new ScalarQuery({ amount: q.amount, category: q.category, tags: q.tags, bucket: q.bucket });

    // ---------------------------------------------------------------- scalar query latency
    const r = rng(11);
    const amounts = Array.from({ length: Q }, () => c.amount[Math.floor(r() * n)]!);
    const kinds: { name: string; sql: (i: number) => string; filter: (i: number) => ScalarFilter }[] = [
      { name: "point (BTree amount = v)", sql: (i) => `amount = ${amounts[i]}`, filter: (i) => ({ column: "amount", op: "eq", value: amounts[i]! }) },
      { name: "range 0.1% (BTree)", sql: (i) => `amount >= ${amounts[i]} AND amount < ${amounts[i]! + 100}`, filter: (i) => ({ column: "amount", op: "range", lower: amounts[i]!, upper: amounts[i]! + 100 }) },
      { name: "range 10% (BTree)", sql: (i) => `amount >= ${amounts[i]! % 90_000} AND amount < ${(amounts[i]! % 90_000) + 10_000}`, filter: (i) => ({ column: "amount", op: "range", lower: amounts[i]! % 90_000, upper: (amounts[i]! % 90_000) + 10_000 }) },
      { name: "IN 5 values (BTree)", sql: (i) => `amount IN (${[0, 1, 2, 3, 4].map((j) => amounts[(i + j) % Q]).join(", ")})`, filter: (i) => ({ column: "amount", op: "in", values: [0, 1, 2, 3, 4].map((j) => amounts[(i + j) % Q]!) }) },
      { name: "equals (Bitmap category)", sql: (i) => `category = '${CATS[i % 16]}'`, filter: (i) => ({ column: "category", op: "eq", value: CATS[i % 16]! }) },
      { name: "IN 3 values (Bitmap)", sql: (i) => `category IN ('${CATS[i % 16]}', '${CATS[(i + 5) % 16]}', '${CATS[(i + 9) % 16]}')`, filter: (i) => ({ column: "category", op: "in", values: [CATS[i % 16]!, CATS[(i + 5) % 16]!, CATS[(i + 9) % 16]!] }) },
      { name: "has-any 2 (LabelList)", sql: (i) => `array_has_any(tags, [${1 + (i % 20)}, ${1 + ((i + 7) % 20)}])`, filter: (i) => ({ column: "tags", op: "hasAny", values: [1 + (i % 20), 1 + ((i + 7) % 20)] }) },
      { name: "has-all 2 (LabelList)", sql: (i) => `array_has_all(tags, [${1 + (i % 20)}, ${1 + ((i + 7) % 20)}])`, filter: (i) => ({ column: "tags", op: "hasAll", values: [1 + (i % 20), 1 + ((i + 7) % 20)] }) },
    ];
    const rows: Record<string, string | number | boolean | null>[] = [];
    const ratioRow = (metric: string, quiver: number, lance: number, digits = 3) => ({
      metric,
      quiver: Number(quiver.toFixed(digits)),
      lancedb: Number(lance.toFixed(digits)),
      "quiver/lancedb": Number((quiver / lance).toFixed(3)),
    });
    for (const col of ["amount", "category", "tags", "bucket"]) rows.push(ratioRow(`build ${col} s`, qBuild[col]! / 1000, lanceBuild[col]! / 1000));
    rows.push(ratioRow("build vector IVF_FLAT s", qBuild.vector! / 1000, lanceBuild.vector! / 1000));
    let mismatches = 0;
    for (const k of kinds) {
      ctx.progress(`queries: ${k.name}`);
      const lance = await perQuery(Q, (i) => table.countRows(k.sql(i)));
      const quiver = await perQuery(Q, async (i) => (await scalar.rows(k.filter(i))).size());
      quiver.results.forEach((v, i) => {
        if (v !== lance.results[i]) mismatches++;
      });
      rows.push({ ...ratioRow(`ms/query ${k.name}`, quiver.ms, lance.ms), "mean rows": Math.round(quiver.results.reduce((a, b) => a + b, 0) / Q) });
    }

    // ---------------------------------------------------------------- filtered vector search
    const queries = gaussianMixture({ n: Q, dim, clusters: 256, seed: 2, centerSeed: 1 });
    const qv = (i: number) => queries.subarray(i * dim, (i + 1) * dim);
    for (const [label, s] of [["50%", 500], ["10%", 100], ["1%", 10], ["0.1%", 1]] as const) {
      ctx.progress(`filtered search ${label}`);
      const filter: ScalarFilter = { column: "bucket", op: "range", upper: s };
      const truth = Array.from({ length: Q }, (_, i) => new Set(filteredBruteForce(c.vectors, n, dim, qv(i), 10, "l2", (row) => c.bucket[row]! < s)));
      const lance = await perQuery(Q, async (i) => {
        const res = (await table.vectorSearch(Array.from(qv(i))).distanceType("l2").nprobes(nprobes).where(`bucket < ${s}`).limit(10).select(["id"]).toArray()) as { id: number }[];
        return res.map((x) => x.id);
      });
      const quiver = await perQuery(Q, async (i) => (await filteredVectorQuery(q.vector, scalar, qv(i), filter, { k: 10, nprobes })).hits.map((h) => rowOf(h.id as bigint)));
      const recall = (res: number[][]) => res.reduce((a, ids, i) => a + ids.filter((x) => truth[i]!.has(x)).length / Math.max(1, truth[i]!.size), 0) / Q;
      rows.push(ratioRow(`ms/query filtered k=10 nprobes ${nprobes} @ ${label}`, quiver.ms, lance.ms));
      rows.push(ratioRow(`recall@10 filtered @ ${label}`, recall(quiver.results), recall(lance.results), 4));
    }

    // ---------------------------------------------------------------- cache sizes and reconstruction
    const entryBytes = (idx: BTreeIndex | BitmapIndex, kind: "btree" | "bitmap" | "label-list"): number => {
      if (kind === "btree") {
        const b = idx as BTreeIndex;
        return encodeCacheEntry(btreeIndexStateCodec, b.state).byteLength;
      }
      return encodeCacheEntry(kind === "bitmap" ? bitmapIndexStateCodec : labelListIndexStateCodec, (idx as BitmapIndex).state).byteLength;
    };
    const pagesBytes = async (b: BTreeIndex) => {
      let t = 0;
      for (let p = 0; p < b.numPages; p++) t += encodeCacheEntry(btreePageCodec, await b.page(p)).byteLength;
      return t;
    };
    const valuesBytes = async (b: BitmapIndex) => {
      let t = 0;
      for (let i = 0; i < b.state.values.length; i++) t += encodeCacheEntry(bitmapValueRowsCodec, { indexId: b.state.indexId, valueIndex: i, crc32: 0, rows: await b.valueRows(i), byteLength: 0 }).byteLength;
      return t;
    };
    const raw = {
      amount: 4 * n,
      category: c.category.reduce((a, s) => a + s.length, 0) + 4 * (n + 1),
      tags: 4 * c.tags.reduce((a, t) => a + t.length, 0) + 4 * (n + 1),
    };
    const sizes = [
      { column: "amount int32 (BTree)", raw: raw.amount, state: entryBytes(q.amount, "btree"), entries: await pagesBytes(q.amount) },
      { column: "category utf8 (Bitmap)", raw: raw.category, state: entryBytes(q.category, "bitmap"), entries: await valuesBytes(q.category) },
      { column: "tags list<int32> (LabelList)", raw: raw.tags, state: entryBytes(q.tags, "label-list"), entries: await valuesBytes(q.tags) },
    ];
    for (const s of sizes) {
      rows.push({ metric: `cache bytes ${s.column}: state + entries / raw column`, quiver: s.state + s.entries, lancedb: null, "quiver/lancedb": null, "raw bytes": s.raw, "cache/raw": Number(((s.state + s.entries) / s.raw).toFixed(3)) });
    }
    rows.push({ metric: "reconstruct 4 scalar indexes from disk cache: open ms / open + all entries ms", quiver: Number(fromDisk.openMs.toFixed(2)), lancedb: null, "quiver/lancedb": null, "all entries ms": Number(fromDisk.allMs.toFixed(1)), "store reads": fromDisk.io.snapshot().total.readRequests, "store heads": fromDisk.io.snapshot().total.heads });
    if (fromRedis) rows.push({ metric: "reconstruct 4 scalar indexes from Redis: open ms / open + all entries ms", quiver: Number(fromRedis.openMs.toFixed(2)), lancedb: null, "quiver/lancedb": null, "all entries ms": Number(fromRedis.allMs.toFixed(1)), "store reads": fromRedis.io.snapshot().total.readRequests, "store heads": fromRedis.io.snapshot().total.heads });
    const qio = q.io.snapshot().total;
    table.close();
    db.close();
    const loadAfter = loadavg();
    return {
      rows,
      notes: [
        `table: ${n} rows; amount int32 uniform [0, 100000), category 16 utf8 values, tags 0-4 labels from 1..20, bucket int32 uniform [0, 1000), vector ${dim}-d mixture of 256 Gaussians; LanceDB written in ${Math.ceil(n / chunk)} appends`,
        `scalar latency = a row count through the index: LanceDB table.countRows(sql), Quiver ScalarQuery.rows(filter).size(); ${Q} queries per kind after 10 warm-up; counts differed in ${mismatches} of ${kinds.length * Q} queries`,
        `filtered search: IVF_FLAT ${P} partitions L2, k 10, nprobes ${nprobes}; LanceDB .where() (prefilter, its default); Quiver ScalarQuery -> RowAddressSet -> ivf prefilter, widening probes until k found; recall vs exact top 10 over the filtered rows`,
        "Quiver indexes reconstructed from the prewarmed disk cache (new DiskCacheBackend instance under a memory tier) before timing; queries made " +
          `${qio.readRequests} store reads and ${qio.heads} HEADs after reconstruction`,
        `machine: 2 cores shared with other helpers' work; load average before ${loadBefore.map((x) => x.toFixed(2)).join("/")}, after ${loadAfter.map((x) => x.toFixed(2)).join("/")}`,
        redis ? "Redis: a local redis-server 127.0.0.1" : `Redis rows skipped: ${redisServerUnavailable()}`,
      ],
    };
  } finally {
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
