/**
 * What a frozen Redis costs a query (issue 8): a redis-server this bench starts is SIGSTOPped;
 * queries run `IndexCache.getOrInsert` through `RedisCacheBackend` with a loader that answers at
 * once (the store read is not what is measured). Reports the per-query time while frozen (first
 * queries, before the circuit opens, and the rest) and the time from SIGCONT to the first hit.
 * BENCH_QUICK=1: fewer queries.
 */
import { IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { redisServerUnavailable, startRedisServer } from "../packages/cache-redis/test/redis-server.js";
import type { BenchContext, BenchResult } from "./run.js";

const round = (x: number) => Math.round(x * 1000) / 1000;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

/** Variables that select part of this bench or change what it measures: a run with any set writes cache-faults.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

export async function run(ctx: BenchContext): Promise<BenchResult> {
  const skip = redisServerUnavailable();
  if (skip !== undefined) return { rows: [], notes: [skip] };
  const queries = ctx.quick ? 20 : 200;
  const server = await startRedisServer();
  const rows: BenchResult["rows"] = [];
  try {
    const b = await RedisCacheBackend.connect({ redis: server.url, logger: { warn: () => undefined } });
    const cache = new IndexCache(b);
    const vec = (id: string) => ({ id, dims: 4, data: new Float32Array(256) });
    for (let i = 0; i < 20; i++) await cache.insert(cacheKey(`k${i}`, testVectorsCodec), vec(`k${i}`));
    // Healthy baseline.
    const healthy: number[] = [];
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now();
      await cache.getOrInsert(cacheKey(`k${i % 20}`, testVectorsCodec), async () => vec("loaded"));
      healthy.push(performance.now() - t0);
    }
    server.process.kill("SIGSTOP");
    const frozen: number[] = [];
    for (let i = 0; i < queries; i++) {
      const t0 = performance.now();
      await cache.getOrInsert(cacheKey(`f${i}`, testVectorsCodec), async () => vec("loaded"));
      frozen.push(performance.now() - t0);
    }
    server.process.kill("SIGCONT");
    const t1 = performance.now();
    let recovery = Number.NaN;
    while (performance.now() - t1 < 30_000) {
      const before = cache.stats().hits;
      await cache.getOrInsert(cacheKey(`k${Math.floor(Math.random() * 20)}`, testVectorsCodec), async () => vec("loaded"));
      if (cache.stats().hits > before) {
        recovery = performance.now() - t1;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const first = frozen.slice(0, b.breaker.threshold);
    const rest = frozen.slice(b.breaker.threshold);
    rows.push({ phase: "healthy", queries: healthy.length, p50_ms: round(quantile(healthy, 0.5)), p99_ms: round(quantile(healthy, 0.99)), max_ms: round(Math.max(...healthy)) });
    rows.push({ phase: `frozen, first ${first.length} (circuit closed)`, queries: first.length, p50_ms: round(quantile(first, 0.5)), p99_ms: round(quantile(first, 0.99)), max_ms: round(Math.max(...first)) });
    rows.push({ phase: "frozen, after the circuit opened", queries: rest.length, p50_ms: round(quantile(rest, 0.5)), p99_ms: round(quantile(rest, 0.99)), max_ms: round(Math.max(...rest)) });
    rows.push({ phase: "SIGCONT -> first hit", queries: 1, p50_ms: round(recovery), p99_ms: round(recovery), max_ms: round(recovery) });
    b.client.disconnect();
  } finally {
    await server.stop();
  }
  return {
    rows,
    notes: [
      "RedisCacheBackend defaults (stallTimeoutMs 50, breaker 3 failures, back-off 100..500 ms); loader answers immediately",
      "before the breaker and write-behind (commit a0a88ab): every frozen query took ~4006 ms (2 s read timeout + 2 s awaited write), measured once on this machine",
    ],
  };
}
