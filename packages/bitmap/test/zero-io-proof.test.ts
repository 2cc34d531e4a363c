/**
 * The proof of issue 9 for Bitmap and LabelList: after a prewarm through a persistent backend
 * (disk, Redis), a new typed cache over a new backend instance opens the index and answers 100
 * mixed queries with 0 store reads and 0 HEADs, results identical to a cold open and to a
 * brute-force scan. A corrupted per-value entry (bad CRC) and an inconsistent one (valid CRC,
 * another value's rows) each cost one counted miss that reloads that value from the store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IndexCache, formatCacheKey } from "@quiver/cache";
import { IoStatsStore, LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "../../cache-redis/test/redis-server.js";
import { diskFactory, redisFactory } from "../../btree/test/backends.js";
import { addr, bruteForce, rng } from "../../btree/test/helpers.js";
import { BITMAP_VALUE_ROWS_TYPE_NAME, type BitmapIndex, type ScalarFilter, type ScalarValue, buildBitmapIndex, buildLabelListIndex, openBitmapIndex, openLabelListIndex } from "../src/index.js";

const CATS = Array.from({ length: 16 }, (_, i) => `category-${String.fromCharCode(97 + i)}`);
const bitmapCol = { rowIds: [] as bigint[], values: [] as (ScalarValue | null)[] };
{
  const r = rng(21);
  for (let i = 0; i < 8000; i++) {
    bitmapCol.rowIds.push(addr(i % 2, i >> 1));
    bitmapCol.values.push(r() < 0.03 ? null : CATS[Math.floor(r() * 16)]!);
  }
}
const listRows: bigint[] = [];
const lists: (number[] | null)[] = [];
{
  const r = rng(22);
  for (let f = 0; f < 2; f++) {
    for (let o = 0; o < 2000; o++) {
      listRows.push(addr(f, o));
      lists.push(r() < 0.03 ? null : Array.from({ length: Math.floor(r() * 4) }, () => 1 + Math.floor(r() * 5)));
    }
  }
}

function bitmapQueries(): ScalarFilter[] {
  const r = rng(1);
  const c = () => CATS[Math.floor(r() * 17) % 16]!;
  return Array.from({ length: 100 }, (_, i): ScalarFilter => {
    switch (i % 7) {
      case 0:
        return { op: "eq", value: c() };
      case 1:
        return { op: "in", values: [c(), c(), "absent"] };
      case 2:
        return { op: "range", lower: c(), upper: c(), upperInclusive: true };
      case 3:
        return i % 2 === 0 ? { op: "isNull" } : { op: "isNotNull" };
      case 4:
        return { op: "ne", value: c() };
      case 5:
        return { op: "not", filter: { op: "in", values: [c(), c()] } };
      default:
        return { op: "or", filters: [{ op: "eq", value: c() }, { op: "range", upper: "category-c" }] };
    }
  });
}

function listQueries(): ScalarFilter[] {
  const r = rng(2);
  const v = () => 1 + Math.floor(r() * 6);
  return Array.from({ length: 100 }, (_, i): ScalarFilter => {
    switch (i % 5) {
      case 0:
        return { op: "hasAny", values: [v(), v()] };
      case 1:
        return { op: "hasAll", values: [v(), v()] };
      case 2:
        return { op: "contains", value: v() };
      case 3:
        return i % 2 === 0 ? { op: "isNull" } : { op: "not", filter: { op: "hasAny", values: [v()] } };
      default:
        return { op: "and", filters: [{ op: "hasAny", values: [v()] }, { op: "not", filter: { op: "contains", value: v() } }] };
    }
  });
}

function listBrute(f: ScalarFilter): bigint[] {
  const t = (g: ScalarFilter, l: number[] | null): boolean | null => {
    switch (g.op) {
      case "and": {
        const x = g.filters.map((h) => t(h, l));
        return x.includes(false) ? false : x.includes(null) ? null : true;
      }
      case "not": {
        const x = t(g.filter, l);
        return x === null ? null : !x;
      }
      case "isNull":
        return l === null;
      case "hasAny":
        return l === null ? null : g.values.some((x) => l.includes(x as number));
      case "hasAll":
        return l === null ? null : g.values.every((x) => l.includes(x as number));
      case "contains":
        return l === null ? null : l.includes(g.value as number);
      default:
        throw new Error(g.op);
    }
  };
  return listRows.filter((_, i) => t(f, lists[i]!) === true).sort((a, b) => (a < b ? -1 : 1));
}

let root: string;
let redis: RedisServerHandle | undefined;
let store: LocalDirectoryStore;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-bitmap-proof-"));
  if (redisServerUnavailable() === undefined) redis = await startRedisServer();
  store = new LocalDirectoryStore(join(root, "store"));
  await buildBitmapIndex(store, "t/indices/category", [bitmapCol], { valueType: "utf8" });
  await buildLabelListIndex(store, "t/indices/labels", [{ rowIds: listRows, values: lists }], { valueType: "int32" });
});
afterAll(async () => {
  await redis?.stop();
  await rm(root, { recursive: true, force: true });
});

const cases = [
  { name: "Bitmap", dir: "t/indices/category", kind: "bitmap" as const, queries: bitmapQueries(), brute: (f: ScalarFilter) => bruteForce("utf8", bitmapCol, f) },
  { name: "LabelList", dir: "t/indices/labels", kind: "label-list" as const, queries: listQueries(), brute: listBrute },
];

describe.each(cases)("$name zero-IO reconstruction", ({ dir, kind, queries, brute }) => {
  const open = (s: ConstructorParameters<typeof IoStatsStore>[0], cache?: IndexCache, identity?: string) => {
    const options = { ...(cache ? { cache } : {}), ...(identity ? { identity } : {}) };
    return kind === "bitmap" ? openBitmapIndex(s, dir, options) : openLabelListIndex(s, dir, options);
  };
  const run = async (index: BitmapIndex) => {
    const out: bigint[][] = [];
    for (const q of queries) out.push(Array.from((await index.query(q)).toRowIds()));
    return out;
  };

  it("cold results equal a brute-force scan", async () => {
    const cold = await run(await open(store));
    expect(cold).toEqual(queries.map(brute));
    expect(cold.filter((r) => r.length > 0).length).toBeGreaterThan(70);
  });

  for (const factory of [diskFactory(() => root), redisFactory(() => redis, `${kind}-proof`)]) {
    const skip = factory.name === "RedisCacheBackend" && redisServerUnavailable() !== undefined;

    it.skipIf(skip)(`through ${factory.name}: open + 100 queries make 0 reads and 0 HEADs, same results as cold`, async () => {
      const cold = await run(await open(store));
      const first = await factory.make(`${kind}-ok`);
      const index = await open(store, new IndexCache(first));
      await index.prewarm();
      await first.close?.();

      const second = await factory.make(`${kind}-ok`);
      const io = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await open(io, cache, index.identity);
      const results = await run(warm);
      await second.close?.();
      expect(io.snapshot().total).toMatchObject({ readRequests: 0, heads: 0, lists: 0 });
      expect(cache.stats().loads).toBe(0);
      expect(warm.counters).toEqual({ inconsistentEntries: 0, storeLoads: 0 });
      expect(results).toEqual(cold);
    });

    it.skipIf(skip)(`through ${factory.name}: a corrupted and an inconsistent value entry each reload one value`, async () => {
      const cold = await run(await open(store));
      const first = await factory.make(`${kind}-bad`);
      const cache1 = new IndexCache(first);
      const index = await open(store, cache1);
      await index.prewarm();
      // Value 1 gets value 2's (valid, checksummed) rows.
      const v2 = await index.readValueRows(2);
      await cache1.insert(index.valueCacheKey(1), { ...v2, valueIndex: 1 });
      await first.close?.();
      await factory.corrupt(`${kind}-bad`, formatCacheKey("", `${dir}/${kind}/${index.identity}/value/3`, BITMAP_VALUE_ROWS_TYPE_NAME));

      const second = await factory.make(`${kind}-bad`);
      const io = new IoStatsStore(store);
      const cache = new IndexCache(second);
      const warm = await open(io, cache, index.identity);
      const results = await run(warm);
      await second.close?.();
      expect(results).toEqual(cold);
      expect(io.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
      expect(warm.counters).toEqual({ inconsistentEntries: 1, storeLoads: 2 });
      expect(cache.stats().byType[BITMAP_VALUE_ROWS_TYPE_NAME]!.decodeFailures).toBe(1);
    });
  }
});
