import { Redis, type RedisOptions } from "ioredis";
import { InflightLoads } from "./internal/inflight.js";
import type { CacheBackend, CacheEntry, CacheLogger, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Options of {@link RedisCacheBackend}. */
export interface RedisCacheBackendOptions {
  /** An existing client (left open by `close()`), client options, or a `redis://` URL. Default localhost:6379. */
  readonly redis?: Redis | RedisOptions | string;
  /** Prefix of every Redis key this backend writes; default `quiver:cache:`. */
  readonly namespace?: string;
  /** Time to live of each entry in milliseconds; default none. */
  readonly ttlMs?: number;
  /** Per-command timeout of a client this backend creates; default 2000 ms. */
  readonly commandTimeoutMs?: number;
  /** Where dropped writes and failed reads are reported; default console. */
  readonly logger?: CacheLogger;
}

/** Counters of what the Redis backend absorbed instead of throwing. */
export interface RedisCacheCounters {
  /** Reads that failed (server unreachable, timeout) and were reported as misses. */
  failedReads: number;
  /** Writes, invalidations and clears that failed and were dropped. */
  droppedWrites: number;
  /** Inserts without a codec (values that cannot be persisted). */
  skippedWithoutCodec: number;
  /** Values that failed to decode; deleted and reported as misses. */
  corruptDeleted: number;
}

const SCAN_COUNT = 1000;

/** Escape Redis glob metacharacters so a prefix matches literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => "\\" + c);
}

/**
 * Entries as binary-exact Redis strings under `namespace + key`. Prefix invalidation walks the
 * namespace with SCAN MATCH and deletes with UNLINK: SCAN is incremental (never blocks the server
 * like KEYS) and UNLINK frees memory on a background thread; a maintained key set would go stale
 * under TTL expiry and maxmemory eviction and would be one hot key. When Redis is unreachable,
 * reads are misses and writes are dropped (counted and logged), so queries keep working.
 */
export class RedisCacheBackend implements CacheBackend {
  readonly persistent = true;
  readonly client: Redis;
  readonly namespace: string;
  readonly ttlMs: number | undefined;
  readonly counters: RedisCacheCounters = { failedReads: 0, droppedWrites: 0, skippedWithoutCodec: 0, corruptDeleted: 0 };
  readonly #ownsClient: boolean;
  readonly #logger: CacheLogger;
  readonly #inflight = new InflightLoads();
  #count = 0;
  #size = 0;
  #failing = false;

  constructor(options: RedisCacheBackendOptions = {}) {
    this.namespace = options.namespace ?? "quiver:cache:";
    if (options.ttlMs !== undefined && (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1)) throw new RangeError(`ttlMs ${options.ttlMs}`);
    this.ttlMs = options.ttlMs;
    this.#logger = options.logger ?? console;
    const r = options.redis;
    if (r instanceof Redis) {
      this.client = r;
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected (no offline queue, one attempt) and keep reconnecting in the background.
      const resilience: RedisOptions = {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: options.commandTimeoutMs ?? 2000,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      };
      // ioredis 6 declares `replyMapping?: X` twice, once without `| undefined`: under
      // exactOptionalPropertyTypes its own RedisOptions is then not assignable, hence the casts.
      this.client = typeof r === "string" ? new Redis(r, resilience as never) : new Redis({ ...resilience, ...(r ?? {}) } as never);
      this.#ownsClient = true;
      // Connection errors are reported through counters and warnings, not as unhandled 'error' events.
      this.client.on("error", () => undefined);
    }
  }

  /** Create a backend and wait until the server answers (or `timeoutMs` passes; it then works in degraded mode). */
  static async connect(options: RedisCacheBackendOptions = {}, timeoutMs = 5000): Promise<RedisCacheBackend> {
    const b = new RedisCacheBackend(options);
    await b.waitUntilReady(timeoutMs);
    return b;
  }

  /** Resolve once the client is ready and the counters are loaded; false on timeout. */
  async waitUntilReady(timeoutMs = 5000): Promise<boolean> {
    if (this.client.status !== "ready") {
      const ok = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => done(false), timeoutMs);
        const onReady = () => done(true);
        const done = (v: boolean) => {
          clearTimeout(t);
          this.client.off("ready", onReady);
          resolve(v);
        };
        this.client.once("ready", onReady);
      });
      if (!ok) return false;
    }
    await this.refreshCounts();
    return true;
  }

  /** The decoded entry; a miss when absent, without a codec, on a Redis failure, or when decoding fails (then deleted). */
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    if (codec === undefined) return undefined;
    let bytes: Buffer | null;
    try {
      bytes = await this.client.getBuffer(this.namespace + key);
      this.#recovered();
    } catch (e) {
      this.counters.failedReads++;
      this.#warn(`read of ${JSON.stringify(key)} failed, reported as a miss`, e);
      return undefined;
    }
    if (bytes === null) return undefined;
    try {
      return codec.decode(bytes);
    } catch {
      this.counters.corruptDeleted++;
      await this.client.unlink(this.namespace + key).then(
        (n) => {
          if (n > 0) this.#forget(bytes.byteLength);
        },
        () => undefined,
      );
      return undefined;
    }
  }

  /** SET `codec.encode(value)` (with PX when a TTL is set); without a codec the insert is skipped and counted. */
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    if (codec === undefined) {
      this.counters.skippedWithoutCodec++;
      return;
    }
    const bytes = codec.encode(entry.value);
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rkey = this.namespace + key;
    try {
      const m = this.client.multi().strlen(rkey);
      if (this.ttlMs === undefined) m.set(rkey, value);
      else m.set(rkey, value, "PX", this.ttlMs);
      const res = await m.exec();
      if (res === null) throw new Error("transaction aborted");
      for (const [err] of res) if (err) throw err;
      const old = Number(res[0]?.[1] ?? 0);
      if (old === 0) this.#count++;
      this.#size += bytes.byteLength - old;
      this.#recovered();
    } catch (e) {
      this.counters.droppedWrites++;
      this.#warn(`write of ${JSON.stringify(key)} dropped`, e);
    }
  }

  /** The cached entry or the de-duplicated (in this process) result of `loader`. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#inflight.run(
      key,
      () => this.get(key, codec),
      loader,
      (e) => this.insert(key, e, codec),
    );
  }

  /** SCAN the namespace for `prefix*` and UNLINK the matches in batches. */
  async invalidatePrefix(prefix: string): Promise<void> {
    try {
      const pattern = escapeGlob(this.namespace + prefix) + "*";
      let cursor = "0";
      do {
        const [next, keys] = await this.client.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) await this.client.unlink(...keys);
      } while (cursor !== "0");
      this.#recovered();
    } catch (e) {
      this.counters.droppedWrites++;
      this.#warn(`invalidation of prefix ${JSON.stringify(prefix)} dropped`, e);
      return;
    }
    await this.refreshCounts();
  }

  /** Remove every key of the namespace (never FLUSHDB: the database may be shared). */
  async clear(): Promise<void> {
    await this.invalidatePrefix("");
  }

  /** Entries under the namespace as of the last {@link refreshCounts}, plus this process's writes since. */
  approxEntryCount(): number {
    return this.#count;
  }

  /** Bytes of values under the namespace, counted like {@link approxEntryCount}. */
  approxSizeBytes(): number {
    return this.#size;
  }

  /** Recount entries and bytes with SCAN + STRLEN (picks up other clients' writes and expiries). */
  async refreshCounts(): Promise<void> {
    try {
      let cursor = "0";
      let count = 0;
      let size = 0;
      do {
        const [next, keys] = await this.client.scan(cursor, "MATCH", escapeGlob(this.namespace) + "*", "COUNT", SCAN_COUNT);
        cursor = next;
        if (keys.length > 0) {
          const p = this.client.pipeline();
          for (const k of keys) p.strlen(k);
          for (const [err, n] of (await p.exec()) ?? []) {
            if (err || typeof n !== "number" || n === 0) continue;
            count++;
            size += n;
          }
        }
      } while (cursor !== "0");
      this.#count = count;
      this.#size = size;
    } catch (e) {
      this.#warn("recount failed", e);
    }
  }

  /** Close the client if this backend created it. */
  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  #forget(bytes: number): void {
    this.#count = Math.max(0, this.#count - 1);
    this.#size = Math.max(0, this.#size - bytes);
  }

  #recovered(): void {
    if (this.#failing) {
      this.#failing = false;
      this.#logger.warn("quiver cache: Redis reachable again");
    }
  }

  /** Log the first failure of an outage and every 1000th after it, so an outage does not flood the log. */
  #warn(what: string, e: unknown): void {
    const n = this.counters.failedReads + this.counters.droppedWrites;
    if (!this.#failing || n % 1000 === 0) this.#logger.warn(`quiver cache: Redis ${what}: ${(e as Error)?.message ?? String(e)} (${n} failures so far)`);
    this.#failing = true;
  }
}
