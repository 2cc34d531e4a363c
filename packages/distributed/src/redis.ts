/** Redis URLs (`redis://[user:password@]host:port[/db]`) as BullMQ connection options. */
import { QuiverArgumentError } from "@quiver/format";
import type { RedisOptions } from "bullmq";

/** Connection options of BullMQ queues and workers for a Redis URL (workers need `maxRetriesPerRequest: null`). */
export function redisConnection(url: string): RedisOptions {
  if (typeof url !== "string" || url === "") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "redis", expected: "a redis://host:port URL", given: url });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "redis", expected: "a redis://host:port URL", given: url });
  }
  if ((u.protocol !== "redis:" && u.protocol !== "rediss:") || u.hostname === "" || url.length > 2048) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "redis", expected: "a redis://host:port or rediss:// URL", given: url });
  }
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "redis", expected: "a database number 0-99 as the path", given: db });
  const port = u.port === "" ? 6379 : Number(u.port);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    ...(u.username === "" ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === "" ? {} : { password: decodeURIComponent(u.password) }),
    ...(db === "" ? {} : { db: Number(db) }),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // a worker whose Redis is briefly gone keeps trying instead of crashing
    retryStrategy: (times: number) => Math.min(2000, 50 * times),
  };
}
