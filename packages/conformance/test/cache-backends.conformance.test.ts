/**
 * Every backend of @quiver/cache against `runCacheBackendConformance` (Redis against a real
 * redis-server started on a free loopback port; skipped with the reason when it is not installed).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, it } from "vitest";
import { DiskCacheBackend, MemoryCacheBackend, TieredCacheBackend } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { runCacheBackendConformance } from "@quiver/conformance";
import { redisServerUnavailable, startRedisServer, type RedisServerHandle } from "../../cache-redis/test/redis-server.js";

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), "quiver-conf-"));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const quiet = { warn: () => undefined };
const big = 512 * 1024 * 1024;
// No deadline may turn a loaded machine into a failure: these runs check behaviour, not latency.
const patient = { stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 };

await runCacheBackendConformance("MemoryCacheBackend", () => new MemoryCacheBackend({ maxBytes: big }));

await runCacheBackendConformance("DiskCacheBackend", () => new DiskCacheBackend({ directory: tempDir(), maxBytes: big, logger: quiet }), {
  // `open` resolves after the directory scan that counts the entries (`new` defers it).
  reopen: (first) => DiskCacheBackend.open({ directory: (first as DiskCacheBackend).directory, maxBytes: big, logger: quiet }),
});

await runCacheBackendConformance(
  "TieredCacheBackend (memory over disk)",
  () => new TieredCacheBackend(new MemoryCacheBackend({ maxBytes: big }), new DiskCacheBackend({ directory: tempDir(), maxBytes: big, logger: quiet })),
  {
    memoryTier: true,
    reopen: (first) =>
      new TieredCacheBackend(
        new MemoryCacheBackend({ maxBytes: big }),
        new DiskCacheBackend({ directory: ((first as TieredCacheBackend).lower as DiskCacheBackend).directory, maxBytes: big, logger: quiet }),
      ),
  },
);

const redisSkip = redisServerUnavailable();
let server: RedisServerHandle | undefined;
let namespaceSeq = 0;
if (redisSkip === undefined) {
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const url = () => {
    if (server === undefined) throw new Error("redis-server did not start");
    return server.url;
  };
  await runCacheBackendConformance("RedisCacheBackend (real redis-server)", () => RedisCacheBackend.connect({ redis: url(), namespace: `conf${namespaceSeq++}:`, logger: quiet, ...patient }), {
    reopen: (first) => RedisCacheBackend.connect({ redis: url(), namespace: (first as RedisCacheBackend).namespace, logger: quiet, ...patient }),
  });
  await runCacheBackendConformance(
    "TieredCacheBackend (memory over Redis)",
    async () => new TieredCacheBackend(new MemoryCacheBackend({ maxBytes: big }), await RedisCacheBackend.connect({ redis: url(), namespace: `tconf${namespaceSeq++}:`, logger: quiet, ...patient })),
    {
      memoryTier: true,
      reopen: async (first) =>
        new TieredCacheBackend(
          new MemoryCacheBackend({ maxBytes: big }),
          await RedisCacheBackend.connect({ redis: url(), namespace: ((first as TieredCacheBackend).lower as RedisCacheBackend).namespace, logger: quiet, ...patient }),
        ),
    },
  );
} else {
  describe("cache backend conformance: RedisCacheBackend", () => {
    it.skip(`skipped: ${redisSkip}`, () => undefined);
  });
}
