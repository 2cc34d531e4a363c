import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { QuiverArgumentError, checkInteger, checkOptions } from "@quiver/format";
import {
  type ByteRange,
  type GetRangesOptions,
  type ObjectMeta,
  type ObjectReader,
  type ObjectStore,
  type PutOptions,
  QuiverStoreError,
  checkPath,
  checkPrefix,
  checkRange,
  checkWritablePath,
  checkWriterArguments,
  getRangesViaCoalescing,
  ObjectWriterBase,
  readIntoViaCoalescing,
} from "@quiver/store";

/** How a create-only put (`ifAbsent`) is made. */
export type ConditionalCreateMode = "if-none-match" | "check-then-put";

/** Options of {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  /** Bucket holding the objects (it must exist). */
  readonly bucket: string;
  /** Key prefix under which the store's paths live (e.g. `indexes/`); default none. */
  readonly prefix?: string;
  /** An existing client (left open by `close()`), or the configuration of one this store creates. */
  readonly client?: S3Client;
  readonly clientConfig?: S3ClientConfig;
  /** Puts of at least this many bytes use a multipart upload; default 16 MiB (at least `partSizeBytes`). */
  readonly multipartThresholdBytes?: number;
  /** Part size of a multipart upload; default 8 MiB, at least 5 MiB (the S3 minimum for all but the last part). */
  readonly partSizeBytes?: number;
  /**
   * Parts uploaded at once; default 4. A `put` holds no copy (its parts are views of the caller's
   * bytes); a streaming writer holds at most max(multipartThresholdBytes, partConcurrency x
   * partSizeBytes) + partSizeBytes.
   */
  readonly partConcurrency?: number;
  /** Keys per ListObjectsV2 page (MaxKeys); default 1000. */
  readonly listPageSize?: number;
  /**
   * Create-only puts: `"if-none-match"` (default) sends `If-None-Match: *`, which S3 and most
   * compatible servers enforce atomically (412 -> ALREADY_EXISTS). `"check-then-put"` is the
   * fallback for servers that ignore the header (s3rver): HEAD, then PUT if absent; it is NOT
   * atomic (two racing creates may both succeed) and is for tests and single-writer setups only.
   */
  readonly conditionalCreate?: ConditionalCreateMode;
}

const MiB = 1024 * 1024;

/**
 * An {@link ObjectStore} over an S3-compatible bucket (`@aws-sdk/client-s3`). Puts are atomic and
 * durable (S3 makes an object visible whole once the request succeeds). Ranged reads use
 * explicit `bytes=a-b` ranges only (never suffix ranges); multi-range reads use the store
 * coalescing rule, one GET per merged request. Large puts use multipart uploads whose parts are
 * views of the caller's bytes. `list` pages through ListObjectsV2 with continuation tokens.
 */
export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
  readonly partConcurrency: number;
  readonly listPageSize: number;
  readonly conditionalCreate: ConditionalCreateMode;
  readonly #ownsClient: boolean;

  constructor(options: S3ObjectStoreOptions) {
    checkOptions("S3ObjectStore options", options, [
      "bucket",
      "prefix",
      "client",
      "clientConfig",
      "multipartThresholdBytes",
      "partSizeBytes",
      "partConcurrency",
      "listPageSize",
      "conditionalCreate",
    ]);
    if (typeof options.bucket !== "string" || options.bucket.length < 3) {
      throw new QuiverArgumentError(options.bucket === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument: "options.bucket", expected: "a bucket name (3+ characters)", given: options.bucket });
    }
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? "";
    if (this.prefix !== "") checkPrefix(this.prefix);
    this.partSizeBytes = checkInteger("options.partSizeBytes", options.partSizeBytes ?? 8 * MiB, 5 * MiB, 5 * 1024 * MiB);
    this.multipartThresholdBytes = checkInteger("options.multipartThresholdBytes", options.multipartThresholdBytes ?? 16 * MiB, this.partSizeBytes, Number.MAX_SAFE_INTEGER);
    this.partConcurrency = checkInteger("options.partConcurrency", options.partConcurrency ?? 4, 1, 64);
    this.listPageSize = checkInteger("options.listPageSize", options.listPageSize ?? 1000, 1, 1000);
    this.conditionalCreate = options.conditionalCreate ?? "if-none-match";
    if (this.conditionalCreate !== "if-none-match" && this.conditionalCreate !== "check-then-put") {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.conditionalCreate", expected: '"if-none-match" or "check-then-put"', given: this.conditionalCreate });
    }
    if (options.client !== undefined) {
      this.client = options.client;
      this.#ownsClient = false;
    } else {
      this.client = new S3Client(options.clientConfig ?? {});
      this.#ownsClient = true;
    }
  }

  /** The S3 key of a store path. */
  keyOf(path: string): string {
    return this.prefix + path;
  }

  async get(path: string): Promise<Uint8Array> {
    checkPath(path);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path) }));
      return owned(await r.Body!.transformToByteArray());
    } catch (e) {
      throw mapError(e, path);
    }
  }

  async getRange(path: string, range: ByteRange): Promise<Uint8Array> {
    checkPath(path);
    checkRange(path, range);
    if (range.length === 0) {
      // No empty HTTP range exists: check the bounds with a HEAD.
      const { size } = await this.head(path);
      if (range.offset > size) throw outOfBounds(path, range, size);
      return new Uint8Array(0);
    }
    let bytes: Uint8Array;
    let total: number | undefined;
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path), Range: `bytes=${range.offset}-${range.offset + range.length - 1}` }),
      );
      bytes = await r.Body!.transformToByteArray();
      total = totalOf(r.ContentRange);
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 416 || (e as Error).name === "InvalidRange") throw outOfBounds(path, range, undefined);
      throw mapError(e, path);
    }
    // A range that runs past the end comes back shorter: that is out of bounds, not a short object.
    if (bytes.byteLength !== range.length || (total !== undefined && range.offset + range.length > total)) throw outOfBounds(path, range, total);
    return owned(bytes);
  }

  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]> {
    checkPath(path);
    return getRangesViaCoalescing(this, path, ranges, options);
  }

  /**
   * A reader of the object version at `path` now: HEAD at open (size and ETag), then every ranged
   * GET carries `If-Match: <that ETag>` and its response's ETag is compared with it too (for
   * servers that ignore If-Match, e.g. s3rver). After a replace a read fails with OBJECT_CHANGED
   * (412 or another ETag), after a delete with NOT_FOUND: a read never returns mixed bytes
   * (`failsOnChange`). Not `pinned`: S3 keeps no old version to read. An object whose HEAD has no
   * ETag gets the unpinned behaviour of the fallback reader (reads of the current object).
   */
  async openReader(path: string): Promise<ObjectReader> {
    checkPath(path);
    let size: number;
    let etag: string | undefined;
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path) }));
      size = r.ContentLength ?? 0;
      etag = r.ETag === undefined || r.ETag === "" ? undefined : r.ETag;
    } catch (e) {
      throw mapError(e, path);
    }
    return new S3ObjectReader(this, path, size, etag);
  }

  /** One ranged GET of `[offset, offset + length)` into `dest`, pinned to `etag` when given (see {@link openReader}). */
  async readRangeInto(path: string, offset: number, length: number, dest: Uint8Array, etag: string | undefined): Promise<void> {
    let bytes: Uint8Array;
    try {
      const r = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path), Range: `bytes=${offset}-${offset + length - 1}`, ...(etag === undefined ? {} : { IfMatch: etag }) }),
      );
      if (etag !== undefined && r.ETag !== etag) {
        // Before the body is read: none of its bytes reach the caller.
        await r.Body?.transformToByteArray().catch(() => undefined);
        throw changed(path, `ETag ${String(r.ETag).slice(0, 80)}, opened at ${etag.slice(0, 80)}`);
      }
      bytes = await r.Body!.transformToByteArray();
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (etag !== undefined && (status === 412 || (e as Error).name === "PreconditionFailed")) throw changed(path, "If-Match failed (412)", e);
      if (status === 416 || (e as Error).name === "InvalidRange") throw outOfBounds(path, { offset, length }, undefined);
      throw mapError(e, path);
    }
    if (bytes.byteLength !== length) throw new QuiverStoreError("IO_ERROR", path, `range ${offset}+${length} returned ${bytes.byteLength} bytes`);
    dest.set(bytes);
  }

  async head(path: string): Promise<ObjectMeta> {
    checkPath(path);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path) }));
      return { path, size: r.ContentLength ?? 0 };
    } catch (e) {
      throw mapError(e, path);
    }
  }

  /**
   * Single PutObject below the multipart threshold, a multipart upload above it (the writer's part
   * loop, with parts that are views of `data`: no copy). S3 puts are always durable.
   */
  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    checkWritablePath(path);
    checkOptions("put options", options, ["durable", "ifAbsent"]);
    const ifAbsent = options.ifAbsent === true;
    if (data.byteLength < this.multipartThresholdBytes) {
      await this.putObject(path, data, ifAbsent);
      return;
    }
    const upload = new MultipartUpload(this, path, () => undefined);
    try {
      for (let at = 0; at < data.byteLength; at += this.partSizeBytes) await upload.enqueue(data.subarray(at, Math.min(data.byteLength, at + this.partSizeBytes)));
      await upload.complete(ifAbsent);
    } catch (e) {
      await upload.abort();
      throw mapError(e, path);
    }
  }

  /**
   * A streaming writer in bounded memory: chunks are copied into part buffers; below
   * `multipartThresholdBytes` in total the commit is one PutObject, above it a multipart upload
   * whose parts go out as they fill (`partConcurrency` at a time) and whose CompleteMultipartUpload
   * is the commit (with `If-None-Match: *` for `ifAbsent`, or the check-then-put fallback); a
   * failure or `abort` sends AbortMultipartUpload. Parts left by a killed process are never
   * visible; a bucket lifecycle rule (AbortIncompleteMultipartUpload) reclaims their storage.
   */
  async createWriter(path: string, options: PutOptions = {}): Promise<S3ObjectWriter> {
    checkWriterArguments(path, options);
    return new S3ObjectWriter(this, path, options.ifAbsent === true);
  }

  /** One PutObject (create-only when `ifAbsent`, by the configured mode). */
  async putObject(path: string, data: Uint8Array, ifAbsent: boolean): Promise<void> {
    if (ifAbsent) await this.checkAbsentForFallback(path);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path), Body: data, ContentLength: data.byteLength, ...this.ifNoneMatch(ifAbsent) }));
    } catch (e) {
      throw mapError(e, path);
    }
  }

  /** The `If-None-Match` field of a create-only commit request (none in check-then-put mode). */
  ifNoneMatch(ifAbsent: boolean): { IfNoneMatch?: string } {
    return ifAbsent && this.conditionalCreate === "if-none-match" ? { IfNoneMatch: "*" } : {};
  }

  /** In check-then-put mode: ALREADY_EXISTS when an object is at `path` (HEAD; not atomic). */
  async checkAbsentForFallback(path: string): Promise<void> {
    if (this.conditionalCreate !== "check-then-put") return;
    const exists = await this.head(path).then(
      () => true,
      (e) => {
        if (e instanceof QuiverStoreError && e.code === "NOT_FOUND") return false;
        throw e;
      },
    );
    if (exists) throw new QuiverStoreError("ALREADY_EXISTS", path, "an object exists at this path");
  }

  /** Every object under `prefix`, sorted by path, over as many ListObjectsV2 pages as it takes. */
  async list(prefix: string): Promise<ObjectMeta[]> {
    checkPrefix(prefix);
    const out: ObjectMeta[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.keyOf(prefix), MaxKeys: this.listPageSize, ...(token ? { ContinuationToken: token } : {}) }),
        );
        for (const o of r.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(this.prefix)) continue;
          out.push({ path: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
        }
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (e) {
      throw mapError(e, prefix);
    }
    // S3 lists in UTF-8 byte order; the contract is JS string order (they differ above U+FFFF only), so sort.
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path) }));
    } catch (e) {
      throw mapError(e, path);
    }
  }

  /** Server-side CopyObject (objects up to 5 GiB). */
  async copy(from: string, to: string): Promise<void> {
    checkPath(from);
    checkWritablePath(to);
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: this.keyOf(to), CopySource: `${this.bucket}/${encodeURIComponent(this.keyOf(from)).replace(/%2F/g, "/")}` }));
    } catch (e) {
      throw mapError(e, from);
    }
  }

  /** Copy then delete: S3 has no rename. Atomic at `to`; `from` is gone afterwards (not atomic as a pair). */
  async rename(from: string, to: string): Promise<void> {
    checkPath(from);
    checkWritablePath(to);
    if (from === to) {
      await this.head(from);
      return;
    }
    await this.copy(from, to);
    await this.delete(from);
  }

  /** Destroy the client if this store created it. */
  close(): void {
    if (this.#ownsClient) this.client.destroy();
  }
}

/** S3's limit on the parts of one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * The part loop shared by `put` and the writer: CreateMultipartUpload on the first part, then
 * UploadPart with at most `partConcurrency` in flight (`enqueue` waits for a free slot), then
 * CompleteMultipartUpload; `abort` waits for the parts in flight and sends AbortMultipartUpload.
 */
class MultipartUpload {
  readonly #store: S3ObjectStore;
  readonly #path: string;
  readonly #key: string;
  readonly #onPartDone: (part: Uint8Array) => void;
  #uploadId: string | undefined;
  readonly #etags: string[] = [];
  readonly #inflight = new Set<Promise<void>>();
  #error: unknown;
  #failed = false;

  constructor(store: S3ObjectStore, path: string, onPartDone: (part: Uint8Array) => void) {
    this.#store = store;
    this.#path = path;
    this.#key = store.keyOf(path);
    this.#onPartDone = onPartDone;
  }

  /** Parts started so far. */
  get parts(): number {
    return this.#etags.length;
  }

  /** Start uploading `part` (the next part number) once fewer than `partConcurrency` are in flight. */
  async enqueue(part: Uint8Array): Promise<void> {
    const { client, bucket } = this.#store;
    if (this.#uploadId === undefined) {
      const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: this.#key }));
      if (created.UploadId === undefined) throw new QuiverStoreError("IO_ERROR", this.#path, "CreateMultipartUpload returned no UploadId");
      this.#uploadId = created.UploadId;
    }
    this.#throwIfFailed();
    while (this.#inflight.size >= this.#store.partConcurrency) {
      await Promise.race(this.#inflight);
      this.#throwIfFailed();
    }
    if (this.#etags.length >= MAX_PARTS) {
      throw new QuiverStoreError("IO_ERROR", this.#path, `an S3 object has at most ${MAX_PARTS} parts of partSizeBytes ${this.#store.partSizeBytes}: raise partSizeBytes`);
    }
    const index = this.#etags.length;
    this.#etags.push("");
    const UploadId = this.#uploadId;
    const done: Promise<void> = client
      .send(new UploadPartCommand({ Bucket: bucket, Key: this.#key, UploadId, PartNumber: index + 1, Body: part, ContentLength: part.byteLength }))
      .then(
        (r) => {
          this.#etags[index] = r.ETag ?? "";
        },
        (e) => {
          if (!this.#failed) this.#error = e;
          this.#failed = true;
        },
      )
      .finally(() => {
        this.#inflight.delete(done);
        this.#onPartDone(part);
      });
    this.#inflight.add(done);
  }

  /** Wait for every part, then CompleteMultipartUpload (create-only when `ifAbsent`). */
  async complete(ifAbsent: boolean): Promise<void> {
    await Promise.all(this.#inflight);
    this.#throwIfFailed();
    if (ifAbsent) await this.#store.checkAbsentForFallback(this.#path);
    await this.#store.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.#store.bucket,
        Key: this.#key,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts: this.#etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        ...this.#store.ifNoneMatch(ifAbsent),
      }),
    );
  }

  /** Wait for the parts in flight and abort the upload (its parts are discarded by S3). */
  async abort(): Promise<void> {
    await Promise.allSettled(this.#inflight);
    if (this.#uploadId === undefined) return;
    await this.#store.client.send(new AbortMultipartUploadCommand({ Bucket: this.#store.bucket, Key: this.#key, UploadId: this.#uploadId })).catch(() => undefined);
    this.#uploadId = undefined;
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }
}

/** The first part buffer starts this small and doubles up to partSizeBytes (small objects stay small). */
const FIRST_BUFFER_BYTES = 64 * 1024;

/**
 * {@link S3ObjectStore.createWriter}'s writer. `bufferedBytes` / `peakBufferedBytes` report the
 * memory it holds for data (part buffers being filled, waiting or uploading), which stays within
 * max(multipartThresholdBytes, partConcurrency x partSizeBytes) + partSizeBytes.
 */
export class S3ObjectWriter extends ObjectWriterBase {
  readonly #store: S3ObjectStore;
  readonly #ifAbsent: boolean;
  #cur: Uint8Array | undefined;
  #curLen = 0;
  /** Full parts held before the total reached the multipart threshold. */
  #waiting: Uint8Array[] = [];
  #upload: MultipartUpload | undefined;
  #buffered = 0;
  #peak = 0;

  constructor(store: S3ObjectStore, path: string, ifAbsent: boolean) {
    super(path);
    this.#store = store;
    this.#ifAbsent = ifAbsent;
  }

  /** Bytes of part buffers held now (filling, waiting or in flight). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The most {@link bufferedBytes} ever held by this writer. */
  get peakBufferedBytes(): number {
    return this.#peak;
  }

  /** Parts of the multipart upload started so far (0 for a single PutObject). */
  get partsUploaded(): number {
    return this.#upload?.parts ?? 0;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    const part = this.#store.partSizeBytes;
    let off = 0;
    while (off < chunk.byteLength) {
      const need = chunk.byteLength - off;
      if (this.#cur === undefined) {
        // After the first part the object is known to be large: whole parts from the start.
        const first = this.#upload === undefined && this.#waiting.length === 0;
        this.#cur = this.#alloc(first ? Math.min(part, Math.max(FIRST_BUFFER_BYTES, need)) : part);
        this.#curLen = 0;
      } else if (this.#cur.byteLength - this.#curLen < need && this.#cur.byteLength < part) {
        const grown = this.#alloc(Math.min(part, Math.max(this.#cur.byteLength * 2, this.#curLen + need)));
        grown.set(this.#cur.subarray(0, this.#curLen));
        this.#release(this.#cur);
        this.#cur = grown;
      }
      const n = Math.min(this.#cur.byteLength - this.#curLen, need);
      this.#cur.set(chunk.subarray(off, off + n), this.#curLen);
      this.#curLen += n;
      off += n;
      if (this.#curLen === part) {
        const full = this.#cur;
        this.#cur = undefined;
        this.#curLen = 0;
        await this.#partFull(full);
      }
    }
  }

  async #partFull(full: Uint8Array): Promise<void> {
    if (this.#upload !== undefined) {
      await this.#upload.enqueue(full);
      return;
    }
    this.#waiting.push(full);
    if (this.#waiting.length * this.#store.partSizeBytes < this.#store.multipartThresholdBytes) return;
    this.#upload = new MultipartUpload(this.#store, this.path, (p) => this.#release(p));
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const p of waiting) await this.#upload.enqueue(p);
  }

  protected async finish(): Promise<void> {
    const tail = this.#cur?.subarray(0, this.#curLen);
    try {
      if (this.#upload === undefined) {
        // Below the threshold: one PutObject of everything written.
        const parts = [...this.#waiting, ...(tail === undefined ? [] : [tail])];
        const total = parts.reduce((a, p) => a + p.byteLength, 0);
        const body = parts.length === 1 ? parts[0]! : this.#join(parts, total);
        await this.#store.putObject(this.path, body, this.#ifAbsent);
      } else {
        if (tail !== undefined && tail.byteLength > 0) await this.#upload.enqueue(tail);
        this.#cur = undefined;
        await this.#upload.complete(this.#ifAbsent);
      }
    } catch (e) {
      throw mapError(e, this.path);
    }
    this.#drop();
  }

  protected async discard(): Promise<void> {
    await this.#upload?.abort();
    this.#drop();
  }

  #join(parts: readonly Uint8Array[], total: number): Uint8Array {
    const out = this.#alloc(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  #drop(): void {
    // Every part in flight has settled (complete and abort wait for them): nothing is held.
    this.#cur = undefined;
    this.#curLen = 0;
    this.#waiting = [];
    this.#buffered = 0;
  }

  #alloc(n: number): Uint8Array {
    this.#buffered += n;
    if (this.#buffered > this.#peak) this.#peak = this.#buffered;
    return new Uint8Array(n);
  }

  #release(p: Uint8Array): void {
    // Views (the tail part) release their whole buffer once: count by the buffer they view.
    this.#buffered -= p.buffer.byteLength;
  }
}

function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength) return bytes;
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** {@link S3ObjectStore.openReader}'s reader: ranged GETs into the caller's buffer, each conditional on the ETag from the open. */
class S3ObjectReader implements ObjectReader {
  readonly pinned = false;
  readonly failsOnChange: boolean;
  readonly #store: S3ObjectStore;
  readonly #etag: string | undefined;
  #closed = false;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    store: S3ObjectStore,
    readonly path: string,
    readonly size: number,
    etag: string | undefined,
  ) {
    this.#store = store;
    this.#etag = etag;
    this.failsOnChange = etag !== undefined;
  }

  async readRangesInto(ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void> {
    if (this.#closed) throw new QuiverStoreError("READER_CLOSED", this.path, "read on an object reader that was closed");
    const read = readIntoViaCoalescing(this.path, this.size, ranges, target, options, (offset, length, dest) => this.#store.readRangeInto(this.path, offset, length, dest, this.#etag));
    this.#inFlight.add(read);
    try {
      await read;
    } finally {
      this.#inFlight.delete(read);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    // Waits for the reads in flight (their outcome is theirs to report).
    await Promise.allSettled([...this.#inFlight]);
  }
}

function changed(path: string, why: string, cause?: unknown): QuiverStoreError {
  return new QuiverStoreError("OBJECT_CHANGED", path, `the object was replaced after the reader was opened: ${why}`, cause === undefined ? undefined : { cause });
}

function totalOf(contentRange: string | undefined): number | undefined {
  const m = /\/(\d+)$/.exec(contentRange ?? "");
  return m ? Number(m[1]) : undefined;
}

function outOfBounds(path: string, range: ByteRange, size: number | undefined): QuiverStoreError {
  return new QuiverStoreError("RANGE_OUT_OF_BOUNDS", path, `range ${range.offset}+${range.length} of a ${size ?? "smaller"}-byte object`);
}

function mapError(e: unknown, path: string): Error {
  if (e instanceof QuiverStoreError || e instanceof QuiverArgumentError) return e;
  const name = (e as Error)?.name;
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === "NoSuchKey" || name === "NotFound" || status === 404) return new QuiverStoreError("NOT_FOUND", path, "no such object", { cause: e });
  if (name === "PreconditionFailed" || status === 412) return new QuiverStoreError("ALREADY_EXISTS", path, "an object exists at this path", { cause: e });
  const msg = (e as Error)?.message ?? String(e);
  return new QuiverStoreError("IO_ERROR", path, `${name ?? "error"}: ${msg.slice(0, 200)}`, { cause: e });
}
