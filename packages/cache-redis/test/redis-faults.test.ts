/**
 * Fault suite against a real redis-server: frozen (SIGSTOP), killed and restarted on the same
 * port, and full (`maxmemory 1mb`, `noeviction`). Queries must keep answering with the right
 * value, faults must be counted by kind, warnings rate-limited per kind with the server's own
 * reason, and hits must come back after recovery. Deadlines here are generous and only turn a
 * hang into a failure; the per-query cost of a frozen server is measured by `pnpm bench cache-faults`.
 */
import { afterEach, describe, expect, it } from "vitest";
import { IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { recordingLogger, vectors } from "../../cache/test/helpers.js";
import { type RedisServerHandle, redisServerUnavailable, startRedisServer } from "./redis-server.js";

const skipReason = redisServerUnavailable();
const key = (i: number) => cacheKey(`k${i}`, testVectorsCodec);

/** Query until `ok()` or the deadline; returns whether it became true. */
async function until(ok: () => Promise<boolean>, deadlineMs = 20_000): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await ok()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe.skipIf(skipReason !== undefined)("RedisCacheBackend under faults (real redis-server)", () => {
  const servers: RedisServerHandle[] = [];
  const backends: RedisCacheBackend[] = [];
  afterEach(async () => {
    for (const b of backends.splice(0)) b.client.disconnect();
    for (const s of servers.splice(0)) await s.stop();
  });

  it("frozen (SIGSTOP): queries answer from the loader, the circuit opens and stops sending, hits resume after SIGCONT", async () => {
    const server = await startRedisServer();
    servers.push(server);
    const logger = recordingLogger();
    const b = await RedisCacheBackend.connect({ redis: server.url, logger });
    backends.push(b);
    const cache = new IndexCache(b);
    // Seed through a client that no load spike can make give up, so the later hits are certain.
    const seeder = await RedisCacheBackend.connect({ redis: server.url, namespace: b.namespace, stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 });
    for (let i = 0; i < 10; i++) await new IndexCache(seeder).insert(key(i), vectors(`k${i}`, 4, 4));
    expect(seeder.counters.droppedWrites).toBe(0);
    await seeder.close();
    server.process.kill("SIGSTOP");
    let loads = 0;
    for (let i = 0; i < 30; i++) {
      const v = await cache.getOrInsert(key(i), async () => (loads++, vectors("loaded", 4, 4)));
      expect(v.id).toBe("loaded");
    }
    expect(loads).toBe(30);
    expect(b.counters.failures.stall).toBeGreaterThanOrEqual(b.breaker.threshold);
    expect(b.counters.circuitSkips).toBeGreaterThan(0);
    expect(b.breaker.opened).toBeGreaterThan(0);
    server.process.kill("SIGCONT");
    // Hits come back once a probe succeeds.
    const hitsBefore = cache.stats().hits;
    expect(await until(async () => (await cache.getOrInsert(key(3), async () => vectors("loaded", 4, 4))).id === "k3")).toBe(true);
    expect(cache.stats().hits).toBeGreaterThan(hitsBefore);
    expect(b.breaker.state).toBe("closed");
    // One warning per kind (stall, circuit) plus the recovery notice, not one per query.
    expect(logger.lines.length).toBeLessThanOrEqual(4);
    expect(logger.lines.some((l) => l.includes("reachable again"))).toBe(true);
  });

  it("killed and restarted on the same port: misses while down, hits for new writes after restart", async () => {
    const server = await startRedisServer();
    const b = await RedisCacheBackend.connect({ redis: server.url, logger: recordingLogger() });
    backends.push(b);
    const cache = new IndexCache(b);
    await cache.insert(key(1), vectors("k1", 1, 1));
    await server.stop();
    for (let i = 0; i < 10; i++) expect((await cache.getOrInsert(key(1), async () => vectors("loaded", 1, 1))).id).toBe("loaded");
    expect(b.counters.failures.connection).toBeGreaterThan(0);
    const again = await startRedisServer({ port: server.port });
    servers.push(again);
    // The server lost everything (no persistence): once reconnected, a load is written and then hit.
    expect(
      await until(async () => {
        await cache.getOrInsert(key(2), async () => vectors("k2", 1, 1));
        await b.flush();
        return (await cache.get(key(2)))?.id === "k2" && b.client.status === "ready" && (await b.client.exists(b.namespace + "k2\0CacheTestVectors")) === 1;
      }),
    ).toBe(true);
  });

  it("full (maxmemory 1mb, noeviction): writes are dropped with the server's OOM reason, warned once, reads keep hitting", async () => {
    const server = await startRedisServer({ args: ["--maxmemory", "1mb", "--maxmemory-policy", "noeviction"] });
    servers.push(server);
    const logger = recordingLogger();
    const b = await RedisCacheBackend.connect({ redis: server.url, logger, stallTimeoutMs: 10_000 });
    backends.push(b);
    const cache = new IndexCache(b);
    await cache.insert(key(0), vectors("k0", 16, 16));
    // ~64 KiB each: the first few fit, the rest are refused.
    for (let i = 1; i <= 200; i++) {
      await cache.insert(key(i), vectors(`k${i}`, 1024, 16));
      // Interleaved successful reads must not reset the warning limiter.
      expect((await cache.get(key(0)))?.id).toBe("k0");
    }
    expect(b.counters.failures.oom).toBeGreaterThan(150);
    expect(b.counters.failures.stall + b.counters.failures.connection).toBe(0);
    expect(b.breaker.state).toBe("closed"); // a server that answers is not a dead one
    const oomLines = logger.lines.filter((l) => l.includes("(oom)"));
    expect(oomLines.length).toBe(1);
    expect(oomLines[0]).toMatch(/OOM command not allowed/);
    expect(logger.lines.some((l) => l.includes("EXECABORT"))).toBe(false);
    expect(logger.lines.length).toBeLessThanOrEqual(2);
  });
});

if (skipReason !== undefined) {
  describe("RedisCacheBackend under faults", () => {
    it.skip(`skipped: ${skipReason}`, () => undefined);
  });
}
