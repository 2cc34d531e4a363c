import { QuiverArgumentError, checkOptions } from "@quiver/format";
import { QuiverStoreError } from "./errors.js";
import { type ObjectStore, type PutOptions, checkWritablePath } from "./object-store.js";

/**
 * A streaming write of one object: sequential appends, then one atomic commit. Nothing is
 * visible at the path until `commit` resolves; `commit` honours `durable` and `ifAbsent` exactly
 * as `put` does; `abort` (or a failed write or commit) leaves nothing behind. After `commit` or
 * `abort`, `write` and `commit` reject with WRITER_CLOSED; `abort` is then a no-op, so it is safe
 * in a `finally`. The caller may reuse a chunk once its `write` resolves.
 */
export interface ObjectWriter {
  /** Append `chunk` (calls are serialized in call order; await them to bound memory). */
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes accepted by `write` so far. */
  readonly bytesWritten: number;
  /** Make the object visible at the path, atomically (ALREADY_EXISTS under `ifAbsent`). */
  commit(): Promise<void>;
  /** Discard everything written; nothing is left at the path or in temporary storage. */
  abort(): Promise<void>;
}

/** A store that can stream a write (see {@link ObjectWriter}). */
export type StreamingObjectStore = ObjectStore & Required<Pick<ObjectStore, "createWriter">>;

type WriterState = "open" | "committing" | "committed" | "aborted";

/**
 * The state machine every writer shares: operations run one after another in call order, a
 * closed writer rejects `write`/`commit` with WRITER_CLOSED, a failed `write` or `commit` runs the
 * implementation's cleanup once, and `abort` after the end is a no-op. Store authors extend it and
 * implement `writeChunk`, `finish` (the atomic commit) and `discard` (remove temp state).
 */
export abstract class ObjectWriterBase implements ObjectWriter {
  readonly path: string;
  #bytes = 0;
  #state: WriterState = "open";
  #chain: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  get bytesWritten(): number {
    return this.#bytes;
  }

  /** Append the chunk to the object (called one at a time, in order). */
  protected abstract writeChunk(chunk: Uint8Array): Promise<void>;
  /** Make the written bytes the object at `path`, atomically; on failure leave nothing behind. */
  protected abstract finish(): Promise<void>;
  /** Remove everything written so far (idempotent; must not throw for an already clean state). */
  protected abstract discard(): Promise<void>;

  write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      return Promise.reject(new QuiverArgumentError("INVALID_ARGUMENT", { argument: "chunk", expected: "a Uint8Array", given: chunk }));
    }
    if (this.#state !== "open") return Promise.reject(this.#closed("write"));
    const n = chunk.byteLength;
    return this.#enqueue(async () => {
      // A write queued before an abort, or before a failure of an earlier write, does not run.
      if (this.#state === "aborted") throw this.#closed("write");
      try {
        await this.writeChunk(chunk);
      } catch (e) {
        await this.#fail();
        throw e;
      }
      this.#bytes += n;
    });
  }

  commit(): Promise<void> {
    if (this.#state !== "open") return Promise.reject(this.#closed("commit"));
    this.#state = "committing";
    return this.#enqueue(async () => {
      if (this.#state === "aborted") throw this.#closed("commit");
      try {
        await this.finish();
      } catch (e) {
        await this.#fail();
        throw e;
      }
      this.#state = "committed";
    });
  }

  abort(): Promise<void> {
    if (this.#state === "committed" || this.#state === "aborted") return Promise.resolve();
    if (this.#state === "committing") return this.#chain.then(() => undefined, () => undefined);
    this.#state = "aborted";
    return this.#enqueue(() => this.discard());
  }

  async #fail(): Promise<void> {
    this.#state = "aborted";
    await this.discard().catch(() => undefined);
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(op, op);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #closed(op: string): QuiverStoreError {
    return new QuiverStoreError("WRITER_CLOSED", this.path, `${op} on a writer that was already ${this.#state === "open" ? "closed" : this.#state}`);
  }
}

/** Check `createWriter`'s arguments (path first, then options) the way every store does. */
export function checkWriterArguments(path: string, options: PutOptions | undefined): void {
  checkWritablePath(path);
  checkOptions("writer options", options, ["durable", "ifAbsent"]);
  if (options?.durable !== undefined && typeof options.durable !== "boolean") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.durable", expected: "a boolean", given: options.durable });
  }
  if (options?.ifAbsent !== undefined && typeof options.ifAbsent !== "boolean") {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.ifAbsent", expected: "a boolean", given: options.ifAbsent });
  }
}

/**
 * The fallback writer for a store without `createWriter`: chunks are copied and held, and
 * `commit` joins them into one buffer for one `put`. Correct on any store, at the cost of holding
 * the whole object in memory (twice, briefly, at commit).
 */
export class BufferingObjectWriter extends ObjectWriterBase {
  readonly #store: Pick<ObjectStore, "put">;
  readonly #options: PutOptions;
  #chunks: Uint8Array[] = [];
  #held = 0;

  constructor(store: Pick<ObjectStore, "put">, path: string, options: PutOptions = {}) {
    checkWriterArguments(path, options);
    super(path);
    this.#store = store;
    this.#options = { ...options };
  }

  /** Bytes currently held in memory. */
  get bufferedBytes(): number {
    return this.#held;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    this.#chunks.push(chunk.slice());
    this.#held += chunk.byteLength;
  }

  protected async finish(): Promise<void> {
    const all = joinChunks(this.#chunks, this.#held);
    this.#chunks = [];
    await this.#store.put(this.path, all, this.#options);
    this.#held = 0;
  }

  protected async discard(): Promise<void> {
    this.#chunks = [];
    this.#held = 0;
  }
}

/** Concatenate chunks into one fresh buffer at byteOffset 0. */
export function joinChunks(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1 && chunks[0]!.byteOffset === 0 && chunks[0]!.buffer.byteLength === total) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A streaming writer for `path` on any store: the store's own `createWriter` when it has one
 * (bounded memory), otherwise a {@link BufferingObjectWriter} (whole object in memory, one `put`
 * at commit), so third-party stores keep working.
 */
export async function openObjectWriter(store: ObjectStore, path: string, options: PutOptions = {}): Promise<ObjectWriter> {
  if (store === null || typeof store !== "object" || typeof (store as { put?: unknown }).put !== "function") {
    throw new QuiverArgumentError(store === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "store", expected: "an ObjectStore", given: store });
  }
  checkWriterArguments(path, options);
  if (typeof store.createWriter === "function") return store.createWriter(path, options);
  return new BufferingObjectWriter(store, path, options);
}
