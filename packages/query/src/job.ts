/**
 * The filtered-search job (`pnpm job:filtered`): an embedded synthetic table (vectors, a
 * low-cardinality `category` and a `price`), an IVF index, a Bitmap index on category and a
 * BTree on price, prewarmed into a disk cache; then a new cache over a new backend instance and
 * "nearest neighbours where category = 'category-c' AND price < 10" answered with the store
 * requests counted, checked against brute force over the filtered rows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScalarFilter, buildBitmapIndex, openBitmapIndex } from "@quiver/bitmap";
import { buildBTreeIndex, openBTreeIndex } from "@quiver/btree";
import { DiskCacheBackend, IndexCache } from "@quiver/cache";
import { checkInteger, checkOptions } from "@quiver/format";
import { buildIndexInMemory } from "@quiver/build";
import { gaussianMixture, openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { ScalarQuery, filteredBruteForce, filteredVectorQuery } from "./query.js";

/** Options of {@link runFilteredJob}. */
export interface FilteredJobOptions {
  /** Working directory (store + cache); default a fresh temp directory, removed afterwards. */
  readonly dir?: string;
  /** Rows of the embedded table (default 20,000). */
  readonly rows?: number;
  /** Vector dimension (default 32). */
  readonly dim?: number;
  /** Queries run (default 20). */
  readonly queries?: number;
  readonly log?: (line: string) => void;
}

/** What the job measured. */
export interface FilteredJobReport {
  readonly rows: number;
  readonly filter: ScalarFilter;
  readonly filteredRows: number;
  readonly queries: number;
  /** Store requests of the warm phase (open from cache + every query): reads, HEADs, lists. */
  readonly warmStoreRequests: { readonly reads: number; readonly heads: number; readonly lists: number };
  readonly recallAt10: number;
  readonly meanPasses: number;
  readonly firstHits: readonly { readonly rowId: string; readonly distance: number }[];
}

const CATEGORIES = Array.from({ length: 16 }, (_, i) => `category-${String.fromCharCode(97 + i)}`);

/** Run the job end to end (see the module comment). */
export async function runFilteredJob(options: FilteredJobOptions = {}): Promise<FilteredJobReport> {
  checkOptions("options", options, ["dir", "rows", "dim", "queries", "log"]);
  const n = options.rows === undefined ? 20_000 : checkInteger("options.rows", options.rows, 100, 10_000_000);
  const dim = options.dim === undefined ? 32 : checkInteger("options.dim", options.dim, 2, 4096);
  const q = options.queries === undefined ? 20 : checkInteger("options.queries", options.queries, 1, 10_000);
  const log = options.log ?? (() => undefined);
  const own = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "quiver-filtered-job-")));
  try {
    const store = new LocalDirectoryStore(join(dir, "store"));
    const vectors = gaussianMixture({ n, dim, clusters: 32, seed: 1 });
    const queries = gaussianMixture({ n: q, dim, clusters: 32, seed: 2, centerSeed: 1 });
    // Row addresses: fragment i / 8192, offset i % 8192.
    const rowIds = BigUint64Array.from({ length: n }, (_, i) => (BigInt(i >> 13) << 32n) | BigInt(i & 8191));
    const category = Array.from({ length: n }, (_, i) => CATEGORIES[(i * 2654435761) % 16 >>> 0]!);
    const price = Array.from({ length: n }, (_, i) => ((i * 40503) % 10_007) / 100.07);
    await buildIndexInMemory({ store, path: "table/vec.ivf", vectors, dim, quantizer: "flat", distanceType: "l2", numPartitions: Math.max(4, Math.round(Math.sqrt(n) / 2)), seed: 3, ids: rowIds, threads: 1, maxIterations: 10 });
    await buildBitmapIndex(store, "table/category", [{ rowIds, values: category }], { valueType: "utf8" });
    await buildBTreeIndex(store, "table/price", [{ rowIds, values: price }], { valueType: "float64" });
    log(`built IVF (flat), Bitmap(category), BTree(price) over ${n} rows in ${store.root}`);

    const first = new DiskCacheBackend({ directory: join(dir, "cache") });
    const cache1 = new IndexCache(first);
    const ivf1 = await openVectorIndex(store, "table/vec.ivf", { cache: cache1 });
    await ivf1.prewarm();
    const category1 = await openBitmapIndex(store, "table/category", { cache: cache1 });
    await category1.prewarm();
    const price1 = await openBTreeIndex(store, "table/price", { cache: cache1 });
    await price1.prewarm();
    await first.close?.();
    log("prewarmed into the disk cache; reopening over a new backend instance");

    const second = new DiskCacheBackend({ directory: join(dir, "cache") });
    const cache = new IndexCache(second);
    const io = new IoStatsStore(store);
    const ivf = await openVectorIndex(io, "table/vec.ivf", { cache, identity: ivf1.identity });
    const scalar = new ScalarQuery({
      // Each identity names its index's cache entries (an application keeps them from the build or its manifest).
      category: await openBitmapIndex(io, "table/category", { cache, identity: category1.identity }),
      price: await openBTreeIndex(io, "table/price", { cache, identity: price1.identity }),
    });
    const filter: ScalarFilter = { op: "and", filters: [{ column: "category", op: "eq", value: "category-c" }, { column: "price", op: "range", upper: 10 }] };
    let recall = 0;
    let passes = 0;
    let filteredRows = 0;
    let firstHits: { rowId: string; distance: number }[] = [];
    const allowed = (i: number) => category[i] === "category-c" && price[i]! < 10;
    for (let j = 0; j < q; j++) {
      const query = queries.subarray(j * dim, (j + 1) * dim);
      const r = await filteredVectorQuery(ivf, scalar, query, filter, { k: 10 });
      filteredRows = r.filteredRows.size();
      passes += r.passes;
      const truth = new Set(filteredBruteForce(vectors, n, dim, query, 10, "l2", allowed).map((i) => rowIds[i]!));
      recall += r.hits.filter((h) => truth.has(h.id as bigint)).length / Math.max(1, truth.size);
      if (j === 0) firstHits = r.hits.slice(0, 3).map((h) => ({ rowId: h.id.toString(), distance: h.distance }));
    }
    await second.close?.();
    const t = io.snapshot().total;
    const report: FilteredJobReport = {
      rows: n,
      filter,
      filteredRows,
      queries: q,
      warmStoreRequests: { reads: t.readRequests, heads: t.heads, lists: t.lists },
      recallAt10: recall / q,
      meanPasses: passes / q,
      firstHits,
    };
    log(`filter category = 'category-c' AND price < 10 keeps ${filteredRows} of ${n} rows`);
    log(`${q} filtered queries from the cache: ${t.readRequests} reads, ${t.heads} HEADs, ${t.lists} lists; recall@10 ${report.recallAt10.toFixed(4)} vs brute force over the filtered rows; mean passes ${report.meanPasses}`);
    return report;
  } finally {
    if (own) await rm(dir, { recursive: true, force: true });
  }
}
