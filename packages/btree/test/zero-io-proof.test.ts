/**
 * The proof of issue 9 for the BTree: after a prewarm through a persistent backend (disk, Redis),
 * a new typed cache over a new backend instance opens the index and answers 100 mixed queries
 * with 0 store reads and 0 HEADs, results identical to a cold open and to a brute-force scan. A
 * corrupted page entry (bad CRC) and an inconsistent one (valid CRC, another page's content) are
 * each one counted miss that reloads that page from the store, never a wrong row set.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScalarFilter, type ScalarValue } from "@quiver/bitmap";
import { IndexCache, formatCacheKey } from "@quiver/cache";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "../../cache-redis/test/redis-server.js";
import { BTREE_PAGE_CACHE_TYPE_NAME, type BTreeIndex, buildBTreeIndex, openBTreeIndex } from "../src/index.js";
import { diskFactory, redisFactory } from "./backends.js";
import { addr, bruteForce, rng } from "./helpers.js";

const N = 16_384;
const DIR = "tables/t/indices/value-btree";
const col = { rowIds: [] as bigint[], values: [] as (ScalarValue | null)[] };
{
  const r = rng(3);
  for (let i = 0; i < N; i++) {
    col.rowIds.push(addr(i >> 13, i & 8191));
    col.values.push(r() < 0.02 ? null : Math.floor(r() * 5000));
  }
}

/** 100 mixed queries: point, range (open/closed), IN, NULL, NOT, AND/OR. */
function queries(): ScalarFilter[] {
  const r = rng(8);
  const v = () => Math.floor(r() * 5000);
  const out: ScalarFilter[] = [];
  for (let i = 0; i < 100; i++) {
    switch (i % 10) {
      case 0:
      case 1:
        out.push({ op: "eq", value: v() });
        break;
      case 2:
        out.push({ op: "range", lower: v(), upper: v() + 200 });
        break;
      case 3:
        out.push({ op: "range", lower: v(), lowerInclusive: false, upper: v() + 50, upperInclusive: true });
        break;
      case 4:
        out.push({ op: "range", upper: v() });
        break;
      case 5:
        out.push({ op: "in", values: [v(), v(), v(), v()] });
        break;
      case 6:
        out.push(i % 20 === 6 ? { op: "isNull" } : { op: "isNotNull" });
        break;
      case 7:
        out.push({ op: "not", filter: { op: "range", lower: 100, upper: 4900 } });
        break;
      case 8:
        out.push({ op: "and", filters: [{ op: "range", lower: v() }, { op: "ne", value: v() }] });
        break;
      default:
        out.push({ op: "or", filters: [{ op: "eq", value: v() }, { op: "isNull" }] });
    }
  }
  return out;
}
const QUERIES = queries();

async function run(index: BTreeIndex): Promise<bigint[][]> {
  const out: bigint[][] = [];
  for (const q of QUERIES) out.push(Array.from((await index.query(q)).toRowIds()));
  return out;
}

let root: string;
let redis: RedisServerHandle | undefined;
let store: LocalDirectoryStore;
let cold: bigint[][];
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-btree-proof-"));
  if (redisServerUnavailable() === undefined) redis = await startRedisServer();
  store = new LocalDirectoryStore(join(root, "store"));
  await buildBTreeIndex(store, DIR, [{ rowIds: col.rowIds, values: col.values }], { valueType: "int32", pageSize: 1024, runRows: 5000 });
  cold = await run(await openBTreeIndex(new IoStatsStore(store), DIR));
});
afterAll(async () => {
  await redis?.stop();
  await rm(root, { recursive: true, force: true });
});

describe("BTree zero-IO reconstruction", () => {
  it("cold results equal a brute-force scan", () => {
    expect(cold).toEqual(QUERIES.map((q) => bruteForce("int32", col, q)));
    expect(cold.filter((r) => r.length > 0).length).toBeGreaterThan(80);
  });

  for (const factory of [diskFactory(() => root), redisFactory(() => redis, "btree-proof")]) {
    const skip = factory.name === "RedisCacheBackend" && redisServerUnavailable() !== undefined;
    const make = (tag: string) => factory.make(tag);
    const corrupt = (tag: string, key: string) => factory.corrupt(tag, key);

    it.skipIf(skip)(`through ${factory.name}: open + 100 queries make 0 reads and 0 HEADs, same results as cold`, async () => {
      const first = await make("ok");
      const index = await openBTreeIndex(store, DIR, { cache: new IndexCache(first) });
      await index.prewarm();
      expect(index.numPages).toBe(16);
      await first.close?.();

      const second = await make("ok");
      const io = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await openBTreeIndex(io, DIR, { cache, identity: index.identity });
      const results = await run(warm);
      await second.close?.();
      expect(io.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
      expect(cache.stats().loads).toBe(0);
      expect(cache.stats().hits).toBeGreaterThan(100);
      expect(warm.counters).toEqual({ inconsistentEntries: 0, storeLoads: 0 });
      expect(results).toEqual(cold);
    });

    it.skipIf(skip)(`through ${factory.name}: a corrupted page entry and an inconsistent one each reload one page`, async () => {
      const first = await make("bad");
      const cache1 = new IndexCache(first);
      const index = await openBTreeIndex(store, DIR, { cache: cache1 });
      await index.prewarm();
      // Page 3 gets page 4's (valid, checksummed) entry: it disagrees with the lookup table.
      await cache1.insert(index.pageCacheKey(3), await index.readPage(4));
      await first.close?.();
      await corrupt("bad", formatCacheKey("", `${DIR}/btree/${index.identity}/page/5`, BTREE_PAGE_CACHE_TYPE_NAME));

      const second = await make("bad");
      const io = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await openBTreeIndex(io, DIR, { cache, identity: index.identity });
      const results = await run(warm);
      await second.close?.();
      expect(results).toEqual(cold);
      expect(io.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
      expect(warm.counters).toEqual({ inconsistentEntries: 1, storeLoads: 2 });
      expect(cache.stats().byType[BTREE_PAGE_CACHE_TYPE_NAME]!.decodeFailures).toBe(1);
    });
  }
});
