import {
  type ByteRange,
  type GetRangesOptions,
  type ObjectMeta,
  type ObjectReader,
  type ObjectStore,
  type PutOptions,
  checkReadInto,
  coalesceRanges,
  getRangesViaCoalescing,
  openObjectReader,
} from "./object-store.js";
import { type ObjectWriter, ObjectWriterBase, checkWriterArguments, openObjectWriter } from "./object-writer.js";

/** Request counters of an {@link IoStatsStore}, in total or for one path. */
export interface IoCounters {
  /** get + getRange requests (a coalesced getRanges counts one per merged request). */
  readRequests: number;
  bytesRead: number;
  heads: number;
  lists: number;
  /** put, copy and rename requests, and committed object writers (one each, however many chunks). */
  writes: number;
  /** Bytes of puts and of object-writer chunks (counted as they are handed over, also when the writer is later aborted). */
  bytesWritten: number;
  deletes: number;
}

/** A point-in-time copy of an {@link IoStatsStore}'s counters. */
export interface IoStatsSnapshot {
  readonly total: Readonly<IoCounters>;
  /** Counters per object path (list requests are counted under their prefix). */
  readonly perPath: Readonly<Record<string, Readonly<IoCounters>>>;
}

function zero(): IoCounters {
  return { readRequests: 0, bytesRead: 0, heads: 0, lists: 0, writes: 0, bytesWritten: 0, deletes: 0 };
}

/**
 * Counts every request that reaches the wrapped store. This is how Quiver proves "zero IO": a
 * test wraps the real store, resets, runs the workload and asserts the counters, with no mocks.
 */
export class IoStatsStore implements ObjectStore {
  readonly inner: ObjectStore;
  #total = zero();
  #perPath = new Map<string, IoCounters>();

  /**
   * Present when the inner store has one (so a wrapped store without readers keeps taking the
   * `getRanges` path, with the same counts): a reader over the inner store's. Opening counts as one
   * head (an open + fstat: a metadata request); each `readRangesInto` counts one read request per
   * coalesced request and its bytes, exactly as `getRanges` does.
   */
  readonly openReader?: (path: string) => Promise<ObjectReader>;

  constructor(inner: ObjectStore) {
    this.inner = inner;
    if (typeof inner.openReader === "function") {
      this.openReader = async (path) => {
        this.#count(path, (c) => c.heads++);
        const reader = await openObjectReader(this.inner, path);
        return new ForwardingReader(reader, (ranges, options) => {
          const requests = coalesceRanges(ranges, options);
          this.#count(path, (c) => {
            c.readRequests += requests.length;
            for (const r of requests) c.bytesRead += r.length;
          });
        });
      };
    }
  }

  /** Current counters (a copy). */
  snapshot(): IoStatsSnapshot {
    const perPath: Record<string, IoCounters> = Object.create(null);
    for (const [p, c] of this.#perPath) perPath[p] = { ...c };
    return { total: { ...this.#total }, perPath };
  }

  /** Zero every counter and return what they were. */
  reset(): IoStatsSnapshot {
    const s = this.snapshot();
    this.#total = zero();
    this.#perPath = new Map();
    return s;
  }

  #count(path: string, f: (c: IoCounters) => void): void {
    f(this.#total);
    let c = this.#perPath.get(path);
    if (c === undefined) this.#perPath.set(path, (c = zero()));
    f(c);
  }

  async get(path: string): Promise<Uint8Array> {
    this.#count(path, (c) => c.readRequests++);
    const data = await this.inner.get(path);
    this.#count(path, (c) => (c.bytesRead += data.byteLength));
    return data;
  }

  async getRange(path: string, range: ByteRange): Promise<Uint8Array> {
    this.#count(path, (c) => c.readRequests++);
    const data = await this.inner.getRange(path, range);
    this.#count(path, (c) => (c.bytesRead += data.byteLength));
    return data;
  }

  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]> {
    return getRangesViaCoalescing(this, path, ranges, options);
  }

  async head(path: string): Promise<ObjectMeta> {
    this.#count(path, (c) => c.heads++);
    return this.inner.head(path);
  }

  async put(path: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    this.#count(path, (c) => {
      c.writes++;
      c.bytesWritten += data.byteLength;
    });
    return this.inner.put(path, data, options);
  }

  /**
   * A writer over the inner store's (`openObjectWriter`: its own, or the buffering fallback):
   * each chunk adds to `bytesWritten` as it is written, and a commit counts as one write.
   */
  async createWriter(path: string, options?: PutOptions): Promise<ObjectWriter> {
    checkWriterArguments(path, options);
    const inner = await openObjectWriter(this.inner, path, options);
    return new ForwardingWriter(path, inner, {
      onChunk: (n) => this.#count(path, (c) => (c.bytesWritten += n)),
      onCommit: () => this.#count(path, (c) => c.writes++),
    });
  }

  async list(prefix: string): Promise<ObjectMeta[]> {
    this.#count(prefix, (c) => c.lists++);
    return this.inner.list(prefix);
  }

  async delete(path: string): Promise<void> {
    this.#count(path, (c) => c.deletes++);
    return this.inner.delete(path);
  }

  async copy(from: string, to: string): Promise<void> {
    this.#count(to, (c) => c.writes++);
    return this.inner.copy(from, to);
  }

  async rename(from: string, to: string): Promise<void> {
    this.#count(to, (c) => c.writes++);
    return this.inner.rename(from, to);
  }
}

/** A reader that forwards to another reader, calling `before` (after validation) and `after` each read (used by the IO-stats and latency wrappers). */
export class ForwardingReader implements ObjectReader {
  readonly inner: ObjectReader;
  readonly #before: (ranges: readonly ByteRange[], options: GetRangesOptions | undefined) => void;
  readonly #after: ((ranges: readonly ByteRange[], options: GetRangesOptions | undefined, started: number) => Promise<void>) | undefined;
  #closed = false;

  constructor(
    inner: ObjectReader,
    before: (ranges: readonly ByteRange[], options: GetRangesOptions | undefined) => void,
    after?: (ranges: readonly ByteRange[], options: GetRangesOptions | undefined, started: number) => Promise<void>,
  ) {
    this.inner = inner;
    this.#before = before;
    this.#after = after;
  }

  get path(): string {
    return this.inner.path;
  }

  get size(): number {
    return this.inner.size;
  }

  get pinned(): boolean {
    return this.inner.pinned;
  }

  get failsOnChange(): boolean {
    return this.inner.failsOnChange === true;
  }

  async readRangesInto(ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void> {
    // validated here too, so a bad call is never counted as requests
    checkReadInto(this.path, this.size, this.#closed, ranges, target);
    this.#before(ranges, options);
    const started = performance.now();
    await this.inner.readRangesInto(ranges, target, options);
    await this.#after?.(ranges, options, started);
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.inner.close();
  }
}

/** Hooks of a {@link ForwardingWriter}. */
export interface ForwardingHooks {
  readonly onChunk?: (bytes: number) => void | Promise<void>;
  readonly onCommit?: () => void | Promise<void>;
  /** Runs after the inner write / commit resolved (e.g. a modelled latency). */
  readonly afterChunk?: (bytes: number) => Promise<void>;
  readonly afterCommit?: () => Promise<void>;
}

/** A writer that forwards to another writer, with hooks (used by the IO-stats and latency wrappers). */
export class ForwardingWriter extends ObjectWriterBase {
  readonly inner: ObjectWriter;
  readonly #hooks: ForwardingHooks;

  constructor(path: string, inner: ObjectWriter, hooks: ForwardingHooks) {
    super(path);
    this.inner = inner;
    this.#hooks = hooks;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    await this.#hooks.onChunk?.(chunk.byteLength);
    await this.inner.write(chunk);
    await this.#hooks.afterChunk?.(chunk.byteLength);
  }

  protected async finish(): Promise<void> {
    await this.#hooks.onCommit?.();
    await this.inner.commit();
    await this.#hooks.afterCommit?.();
  }

  protected async discard(): Promise<void> {
    await this.inner.abort();
  }
}
