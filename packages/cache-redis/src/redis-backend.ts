import { Redis, type RedisOptions } from "ioredis";
import { type CacheBackend, type CacheEntry, type CacheLogger, type ErasedCodec, type GetOrInsertResult, LoadDeduplicator } from "@quiver/cache";
import { QuiverArgumentError, checkInteger, checkOptions } from "@quiver/format";
import { CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.js";

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
  /**
   * A request is given up (a miss, or a dropped write) once the connection has shown no progress
   * (no reply bytes in, no request bytes out) for this long while it waits; default 50 ms. This,
   * not the command timeout, bounds what a frozen server costs a query; a slow but moving
   * transfer of a large entry is never cut.
   */
  readonly stallTimeoutMs?: number;
  /** Circuit breaker: consecutive stalls/connection failures that open it (3), first and longest back-off (100 / 500 ms). */
  readonly breaker?: Pick<CircuitBreakerOptions, "threshold" | "backoffMs" | "maxBackoffMs">;
  /** At most one warning per failure kind per this many ms (the rest are counted in the next one); default 60 000. */
  readonly warnIntervalMs?: number;
  /** Where dropped writes and failed reads are reported; default console. */
  readonly logger?: CacheLogger;
}

/** Why a Redis request failed: no progress, no connection, the server's out-of-memory refusal, another server error. */
export type RedisFailureKind = "stall" | "connection" | "oom" | "server";

/** Counters of what the Redis backend absorbed instead of throwing. */
export interface RedisCacheCounters {
  /** Reads reported as misses because Redis failed or the circuit was open. */
  failedReads: number;
  /** Writes, invalidations and clears dropped because Redis failed or the circuit was open. */
  droppedWrites: number;
  /** Requests not sent at all because the circuit was open (included in the two counters above). */
  circuitSkips: number;
  /** Failures by kind (stall, connection, oom, server). */
  failures: Record<RedisFailureKind, number>;
  /** Inserts without a codec (values that cannot be persisted). */
  skippedWithoutCodec: number;
  /** Values that failed to decode; deleted and reported as misses. */
  corruptDeleted: number;
}

const SCAN_COUNT = 1000;
/** Send rate assumed when extending the stall window of a large write (50 MB/s, far below loopback). */
const SEND_BYTES_PER_MS = 50_000;

/** Escape Redis glob metacharacters so a prefix matches literally. */
function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => "\\" + c);
}

class StallError extends Error {
  constructor(ms: number) {
    super(`no progress on the connection for ${ms} ms`);
  }
}

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly skipped: boolean };

/**
 * Entries as binary-exact Redis strings under `namespace + key`. Prefix invalidation walks the
 * namespace with SCAN MATCH and deletes with UNLINK: SCAN is incremental (never blocks the server
 * like KEYS) and UNLINK frees memory on a background thread; a maintained key set would go stale
 * under TTL expiry and maxmemory eviction and would be one hot key.
 *
 * Faults never reach the query path: reads are misses and writes are dropped (counted, and warned
 * at most once per kind per interval, with the server's own reason). A request waits at most
 * `stallTimeoutMs` without progress; after a few consecutive stalls or connection failures a
 * circuit breaker skips Redis entirely for a back-off, then probes with one PING. `getOrInsert`
 * returns as soon as the value is loaded; the write happens in the background.
 */
export class RedisCacheBackend implements CacheBackend {
  readonly persistent = true;
  readonly client: Redis;
  readonly namespace: string;
  readonly ttlMs: number | undefined;
  readonly stallTimeoutMs: number;
  readonly warnIntervalMs: number;
  readonly breaker: CircuitBreaker;
  readonly counters: RedisCacheCounters = {
    failedReads: 0,
    droppedWrites: 0,
    circuitSkips: 0,
    failures: { stall: 0, connection: 0, oom: 0, server: 0 },
    skippedWithoutCodec: 0,
    corruptDeleted: 0,
  };
  readonly #ownsClient: boolean;
  readonly #logger: CacheLogger;
  readonly #loads: LoadDeduplicator;
  readonly #warned = new Map<string, { at: number; suppressed: number }>();
  #lastProgressAt = 0;
  #hooked: unknown;
  #probing = false;
  #count = 0;
  #size = 0;

  constructor(options: RedisCacheBackendOptions = {}) {
    checkOptions("RedisCacheBackend options", options, [
      "redis",
      "namespace",
      "ttlMs",
      "commandTimeoutMs",
      "stallTimeoutMs",
      "breaker",
      "warnIntervalMs",
      "logger",
    ]);
    checkOptions("RedisCacheBackend options.breaker", options.breaker, ["threshold", "backoffMs", "maxBackoffMs"]);
    this.namespace = options.namespace ?? "quiver:cache:";
    if (typeof this.namespace !== "string") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.namespace", expected: "a string", given: this.namespace });
    }
    if (options.ttlMs !== undefined) checkInteger("options.ttlMs", options.ttlMs, 1, Number.MAX_SAFE_INTEGER);
    this.ttlMs = options.ttlMs;
    const commandTimeout = options.commandTimeoutMs ?? 2000;
    checkInteger("options.commandTimeoutMs", commandTimeout, 1, Number.MAX_SAFE_INTEGER);
    this.stallTimeoutMs = options.stallTimeoutMs ?? 50;
    checkInteger("options.stallTimeoutMs", this.stallTimeoutMs, 1, Number.MAX_SAFE_INTEGER);
    this.warnIntervalMs = options.warnIntervalMs ?? 60_000;
    checkInteger("options.warnIntervalMs", this.warnIntervalMs, 0, Number.MAX_SAFE_INTEGER);
    const b = options.breaker ?? {};
    if (b.threshold !== undefined) checkInteger("options.breaker.threshold", b.threshold, 1, 1_000_000);
    if (b.backoffMs !== undefined) checkInteger("options.breaker.backoffMs", b.backoffMs, 1, Number.MAX_SAFE_INTEGER);
    if (b.maxBackoffMs !== undefined) checkInteger("options.breaker.maxBackoffMs", b.maxBackoffMs, 1, Number.MAX_SAFE_INTEGER);
    this.breaker = new CircuitBreaker(b);
    this.#logger = options.logger ?? console;
    this.#loads = new LoadDeduplicator();
    const r = options.redis;
    if (r instanceof Redis) {
      this.client = r;
      this.#ownsClient = false;
    } else {
      // Fail fast while disconnected (no offline queue, one attempt) and keep reconnecting in the background.
      const resilience: RedisOptions = {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout,
        connectTimeout: 2000,
        retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 500),
      };
      // ioredis 6 declares `replyMapping?: X` twice, once without `| undefined`: under
      // exactOptionalPropertyTypes its own RedisOptions is then not assignable, hence the casts.
      this.client = typeof r === "string" ? new Redis(r, resilience as never) : new Redis({ ...resilience, ...(r ?? {}) } as never);
      this.#ownsClient = true;
      // Connection errors are reported through counters and warnings, not as unhandled 'error' events.
      this.client.on("error", () => undefined);
    }
    this.client.on("connect", () => this.#hookStream());
    this.#hookStream();
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
    this.breaker.success();
    await this.refreshCounts();
    return true;
  }

  /** The decoded entry; a miss when absent, without a codec, on a Redis failure or open circuit, or when decoding fails (then deleted). */
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    const pending = this.#loads.peek(key);
    if (pending !== undefined) return pending;
    if (codec === undefined) return undefined;
    const r = await this.#call(`read of ${JSON.stringify(key.slice(0, 80))}`, () => this.client.getBuffer(this.namespace + key));
    if (!r.ok) {
      this.counters.failedReads++;
      return undefined;
    }
    const bytes = r.value;
    if (bytes === null) return undefined;
    try {
      return codec.decode(bytes);
    } catch {
      this.counters.corruptDeleted++;
      const del = await this.#call("delete of an undecodable entry", () => this.client.unlink(this.namespace + key));
      if (del.ok && del.value > 0) this.#forget(bytes.byteLength);
      return undefined;
    }
  }

  /** SET `codec.encode(value)` (with PX when a TTL is set); without a codec the insert is skipped and counted. Never throws. */
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    if (codec === undefined) {
      this.counters.skippedWithoutCodec++;
      return;
    }
    const bytes = codec.encode(entry.value);
    const value = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const rkey = this.namespace + key;
    const r = await this.#call(`write of ${JSON.stringify(key.slice(0, 80))}`, async () => {
      const m = this.client.multi().strlen(rkey);
      if (this.ttlMs === undefined) m.set(rkey, value);
      else m.set(rkey, value, "PX", this.ttlMs);
      const res = await m.exec();
      if (res === null) throw new Error("transaction aborted");
      for (const [err] of res) if (err) throw err;
      return Number(res[0]?.[1] ?? 0);
    }, bytes.byteLength);
    if (!r.ok) {
      this.counters.droppedWrites++;
      return;
    }
    if (r.value === 0) this.#count++;
    this.#size += bytes.byteLength - r.value;
  }

  /** The cached entry or the de-duplicated (in this process) result of `loader`; the write happens in the background. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }

  /** SCAN the namespace for `prefix*` and UNLINK the matches in batches. */
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#loads.flush();
    const pattern = escapeGlob(this.namespace + prefix) + "*";
    let cursor = "0";
    do {
      const r = await this.#call(`invalidation of prefix ${JSON.stringify(prefix.slice(0, 80))}`, async () => {
        const [next, keys] = await this.client.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
        if (keys.length > 0) await this.client.unlink(...keys);
        return next;
      });
      if (!r.ok) {
        this.counters.droppedWrites++;
        return;
      }
      cursor = r.value;
    } while (cursor !== "0");
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
    let cursor = "0";
    let count = 0;
    let size = 0;
    do {
      const r = await this.#call("recount", async () => {
        const [next, keys] = await this.client.scan(cursor, "MATCH", escapeGlob(this.namespace) + "*", "COUNT", SCAN_COUNT);
        if (keys.length > 0) {
          const p = this.client.pipeline();
          for (const k of keys) p.strlen(k);
          for (const [err, n] of (await p.exec()) ?? []) {
            if (err || typeof n !== "number" || n === 0) continue;
            count++;
            size += n;
          }
        }
        return next;
      });
      if (!r.ok) return;
      cursor = r.value;
    } while (cursor !== "0");
    this.#count = count;
    this.#size = size;
  }

  /** Wait until the background writes of `getOrInsert` started so far have finished. */
  async flush(): Promise<void> {
    await this.#loads.flush();
  }

  /** Wait for background writes, then close the client if this backend created it. */
  async close(): Promise<void> {
    await this.#loads.flush();
    if (!this.#ownsClient) return;
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  /**
   * Run one request under the breaker and the stall watch. Failures are classified, counted,
   * warned (rate-limited per kind) and fed to the breaker; the caller only sees ok or not.
   */
  async #call<T>(what: string, fn: () => Promise<T>, sendBytes = 0): Promise<Outcome<T>> {
    if (!this.breaker.allows()) {
      this.counters.circuitSkips++;
      if (this.breaker.tryProbe()) void this.#probe();
      return { ok: false, skipped: true };
    }
    try {
      const value = await this.#watch(fn(), sendBytes);
      this.#succeeded();
      return { ok: true, value };
    } catch (e) {
      this.#failed(what, e);
      return { ok: false, skipped: false };
    }
  }

  /** Half-open: one PING under the stall watch decides whether the circuit closes. */
  async #probe(): Promise<void> {
    if (this.#probing) return;
    this.#probing = true;
    try {
      await this.#watch(this.client.ping());
      this.#succeeded();
    } catch (e) {
      this.#failed("probe", e, true);
    } finally {
      this.#probing = false;
    }
  }

  #succeeded(): void {
    if (this.breaker.success()) this.#logger.warn("quiver cache: Redis reachable again, circuit closed");
  }

  #failed(what: string, e: unknown, probe = false): void {
    const kind = classify(e);
    if (!probe) this.counters.failures[kind]++;
    // Only "no answer" opens the circuit; a server that answers with an error (OOM) is alive.
    if (kind === "stall" || kind === "connection") {
      if (this.breaker.failure()) this.#warn("circuit", `Redis circuit opened after ${this.breaker.threshold} consecutive ${kind} failures; skipping Redis for a back-off`);
    } else {
      this.breaker.success();
    }
    if (!probe) this.#warn(kind, `Redis ${what} failed (${kind}): ${reason(e)}`);
  }

  /** Log at most one warning per kind per interval; the next one says how many were suppressed. */
  #warn(kind: string, message: string): void {
    const now = Date.now();
    const w = this.#warned.get(kind);
    if (w !== undefined && now - w.at < this.warnIntervalMs) {
      w.suppressed++;
      return;
    }
    const more = w !== undefined && w.suppressed > 0 ? ` (${w.suppressed} more ${kind} warnings suppressed since the last)` : "";
    this.#warned.set(kind, { at: now, suppressed: 0 });
    this.#logger.warn(`quiver cache: ${message}${more}`);
  }

  /**
   * Reject with a StallError once no reply bytes have arrived for `stallTimeoutMs` (plus, for a
   * request that sends `sendBytes`, the time to send them at 50 MB/s). Outgoing bytes are no sign
   * of life: a frozen server's kernel still accepts megabytes into its socket buffer.
   */
  #watch<T>(p: Promise<T>, sendBytes = 0): Promise<T> {
    const stall = this.stallTimeoutMs + Math.ceil(sendBytes / SEND_BYTES_PER_MS);
    const started = Date.now();
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (confirmed: boolean) => {
        const idle = Date.now() - Math.max(started, this.#lastProgressAt);
        if (idle < stall) {
          timer = setTimeout(() => check(false), stall - idle);
        } else if (!confirmed) {
          // A late timer may run before pending socket reads: let the poll phase deliver them, then decide.
          setImmediate(() => check(true));
        } else {
          reject(new StallError(stall));
        }
      };
      timer = setTimeout(() => check(false), stall);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  #hookStream(): void {
    const s = this.client.stream as NodeJS.EventEmitter | undefined;
    if (s === undefined || s === this.#hooked || typeof s.on !== "function") return;
    this.#hooked = s;
    s.on("data", () => (this.#lastProgressAt = Date.now()));
  }

  #forget(bytes: number): void {
    this.#count = Math.max(0, this.#count - 1);
    this.#size = Math.max(0, this.#size - bytes);
  }
}

/** The server's own error behind an EXECABORT (ioredis attaches the queued commands' errors). */
function rootError(e: unknown): unknown {
  const prev = (e as { previousErrors?: unknown[] } | null)?.previousErrors;
  if (Array.isArray(prev) && prev.length > 0) return prev[0];
  return e;
}

function classify(e: unknown): RedisFailureKind {
  if (e instanceof StallError) return "stall";
  const root = rootError(e);
  const msg = root instanceof Error ? root.message : "";
  if (root instanceof Error && root.name === "ReplyError") return msg.startsWith("OOM") ? "oom" : "server";
  if (/timed? ?out/i.test(msg)) return "stall";
  return "connection";
}

function reason(e: unknown): string {
  const root = rootError(e);
  const msg = root instanceof Error ? root.message : String(root);
  return msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
}
