import { ForwardingReader, ForwardingWriter } from "./io-stats-store.js";
import {
  type ByteRange,
  type GetRangesOptions,
  type ObjectMeta,
  type ObjectReader,
  type ObjectStore,
  type PutOptions,
  coalesceRanges,
  getRangesViaCoalescing,
  openObjectReader,
} from "./object-store.js";
import { type ObjectWriter, checkWriterArguments, openObjectWriter } from "./object-writer.js";

/** How a {@link LatencyStore} delays requests. */
export interface LatencyModel {
  /** Fixed time to first byte of every request, in milliseconds (default 20). */
  readonly latencyMs?: number;
  /** Transfer rate per request in bytes per second (default unlimited). */
  readonly bandwidthBytesPerSecond?: number;
}

/**
 * Models a remote object store for benchmarks: every request waits `latencyMs` plus its bytes
 * divided by the bandwidth. Concurrent requests overlap, as they do against S3-like stores.
 */
export class LatencyStore implements ObjectStore {
  readonly inner: ObjectStore;
  readonly latencyMs: number;
  readonly bandwidthBytesPerSecond: number;

  constructor(inner: ObjectStore, model: LatencyModel = {}) {
    this.inner = inner;
    this.latencyMs = model.latencyMs ?? 20;
    this.bandwidthBytesPerSecond = model.bandwidthBytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (typeof inner.openReader === "function") {
      this.openReader = async (path) => {
        const reader = await this.#delay(openObjectReader(this.inner, path), () => 0);
        return new ForwardingReader(
          reader,
          () => undefined,
          async (ranges, options, started) => {
            const largest = coalesceRanges(ranges, options).reduce((a, r) => Math.max(a, r.length), 0);
            if (largest === 0) return;
            await this.#waitUntil(started, this.latencyMs + (largest / this.bandwidthBytesPerSecond) * 1000);
          },
        );
      };
    }
  }

  /**
   * Present when the inner store has one: a reader over the inner store's; opening waits
   * `latencyMs` (a metadata request, as `head`); each `readRangesInto` waits as `getRanges` does,
   * its coalesced requests overlapping: `latencyMs` plus the largest request's bytes / bandwidth.
   */
  readonly openReader?: (path: string) => Promise<ObjectReader>;

  async #delay<T>(p: Promise<T>, bytes: (v: T) => number, latencyMs = this.latencyMs): Promise<T> {
    const started = performance.now();
    const v = await p;
    await this.#waitUntil(started, latencyMs + (bytes(v) / this.bandwidthBytesPerSecond) * 1000);
    return v;
  }

  async #waitUntil(started: number, wanted: number): Promise<void> {
    // Timers run on a whole-millisecond clock and can fire a fraction early: wait until really due.
    for (let left = wanted - (performance.now() - started); left > 0; left = wanted - (performance.now() - started)) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.ceil(left))));
    }
  }

  get(path: string): Promise<Uint8Array> {
    return this.#delay(this.inner.get(path), (d) => d.byteLength);
  }

  getRange(path: string, range: ByteRange): Promise<Uint8Array> {
    return this.#delay(this.inner.getRange(path, range), (d) => d.byteLength);
  }

  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]> {
    return getRangesViaCoalescing(this, path, ranges, options);
  }

  head(path: string): Promise<ObjectMeta> {
    return this.#delay(this.inner.head(path), () => 0);
  }

  put(path: string, data: Uint8Array, options?: PutOptions): Promise<void> {
    return this.#delay(this.inner.put(path, data, options), () => data.byteLength);
  }

  /**
   * A writer over the inner store's: each chunk waits its transfer time (bytes / bandwidth, no
   * latency: it is streamed within the one request), the commit waits `latencyMs` (one request,
   * as a put).
   */
  async createWriter(path: string, options?: PutOptions): Promise<ObjectWriter> {
    checkWriterArguments(path, options);
    const inner = await openObjectWriter(this.inner, path, options);
    return new ForwardingWriter(path, inner, {
      afterChunk: (n) => (this.bandwidthBytesPerSecond === Number.POSITIVE_INFINITY ? Promise.resolve() : this.#delay(Promise.resolve(), () => n, 0)),
      afterCommit: () => this.#delay(Promise.resolve(), () => 0),
    });
  }

  list(prefix: string): Promise<ObjectMeta[]> {
    return this.#delay(this.inner.list(prefix), () => 0);
  }

  delete(path: string): Promise<void> {
    return this.#delay(this.inner.delete(path), () => 0);
  }

  copy(from: string, to: string): Promise<void> {
    return this.#delay(this.inner.copy(from, to), () => 0);
  }

  rename(from: string, to: string): Promise<void> {
    return this.#delay(this.inner.rename(from, to), () => 0);
  }
}
