/**
 * The two persistent backends the zero-IO proofs run against (a real DiskCacheBackend directory
 * and a real redis-server), with a way to corrupt one stored entry's bytes in place.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type CacheBackend, DiskCacheBackend } from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";

/** Generous timeouts: these tests count store requests, and a reply stalled by a loaded machine would be a (correct) miss that reads the store. */
const PATIENT = { stallTimeoutMs: 600_000, commandTimeoutMs: 600_000 } as const;
import type { RedisServerHandle } from "../../cache-redis/test/redis-server.js";

export const silent = { warn: () => undefined };

/** Makes backend instances sharing one persistent store (by `tag`), and corrupts entries in it. */
export interface BackendFactory {
  readonly name: string;
  make(tag: string): Promise<CacheBackend>;
  /** Flip a byte near the end of the stored bytes of `byteKey` (its CRC no longer matches). */
  corrupt(tag: string, byteKey: string): Promise<void>;
}

/** Disk backend instances over `root()/disk-<tag>`. */
export function diskFactory(root: () => string): BackendFactory {
  return {
    name: "DiskCacheBackend",
    make: async (tag) => new DiskCacheBackend({ directory: join(root(), `disk-${tag}`), logger: silent }),
    async corrupt(tag, byteKey) {
      const h = createHash("sha256").update(byteKey, "utf8").digest("hex");
      const file = join(root(), `disk-${tag}`, "entries", h.slice(0, 2), `${h}.qce`);
      const bytes = await readFile(file);
      bytes[bytes.length - 3]! ^= 0x5a;
      await writeFile(file, bytes);
    },
  };
}

/** Redis backend instances under namespace `<prefix>:<tag>:` of a running server. */
export function redisFactory(server: () => RedisServerHandle | undefined, prefix: string): BackendFactory {
  const ns = (tag: string) => `${prefix}:${tag}:`;
  return {
    name: "RedisCacheBackend",
    make: (tag) => RedisCacheBackend.connect({ redis: server()!.url, namespace: ns(tag), logger: silent, ...PATIENT }),
    async corrupt(tag, byteKey) {
      const b = await RedisCacheBackend.connect({ redis: server()!.url, namespace: ns(tag), logger: silent, ...PATIENT });
      const key = ns(tag) + byteKey;
      const bytes = await b.client.getBuffer(key);
      if (bytes === null) throw new Error(`no Redis entry ${JSON.stringify(key)}`);
      bytes[bytes.length - 3]! ^= 0x5a;
      await b.client.set(key, bytes);
      await b.close();
    },
  };
}
