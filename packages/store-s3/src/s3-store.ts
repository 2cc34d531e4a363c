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
  type ObjectStore,
  type PutOptions,
  QuiverStoreError,
  checkPath,
  checkPrefix,
  checkRange,
  checkWritablePath,
  getRangesViaCoalescing,
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
  /** Parts uploaded at once; default 4. Memory held by an upload is the caller's bytes plus nothing per part (parts are views). */
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

  async head(path: string): Promise<ObjectMeta> {
    checkPath(path);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path) }));
      return { path, size: r.ContentLength ?? 0 };
    } catch (e) {
      throw mapError(e, path);
    }
  }

  /** Single PutObject below the multipart threshold, a multipart upload above it. S3 puts are always durable. */
  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    checkWritablePath(path);
    checkOptions("put options", options, ["durable", "ifAbsent"]);
    const ifAbsent = options.ifAbsent === true;
    if (ifAbsent && this.conditionalCreate === "check-then-put") {
      const exists = await this.head(path).then(
        () => true,
        (e) => {
          if (e instanceof QuiverStoreError && e.code === "NOT_FOUND") return false;
          throw e;
        },
      );
      if (exists) throw new QuiverStoreError("ALREADY_EXISTS", path, "an object exists at this path");
    }
    const ifNoneMatch = ifAbsent && this.conditionalCreate === "if-none-match" ? "*" : undefined;
    try {
      if (data.byteLength >= this.multipartThresholdBytes) await this.#multipart(path, data, ifNoneMatch);
      else await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.keyOf(path), Body: data, ContentLength: data.byteLength, ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}) }));
    } catch (e) {
      throw mapError(e, path);
    }
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

  async #multipart(path: string, data: Uint8Array, ifNoneMatch: string | undefined): Promise<void> {
    const Key = this.keyOf(path);
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }));
    const UploadId = created.UploadId!;
    try {
      const count = Math.ceil(data.byteLength / this.partSizeBytes);
      const etags: string[] = new Array(count);
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < count; i = next++) {
          const part = data.subarray(i * this.partSizeBytes, Math.min(data.byteLength, (i + 1) * this.partSizeBytes));
          const r = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key, UploadId, PartNumber: i + 1, Body: part, ContentLength: part.byteLength }));
          etags[i] = r.ETag!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
          ...(ifNoneMatch ? { IfNoneMatch: ifNoneMatch } : {}),
        }),
      );
    } catch (e) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })).catch(() => undefined);
      throw e;
    }
  }
}

function owned(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength) return bytes;
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
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
