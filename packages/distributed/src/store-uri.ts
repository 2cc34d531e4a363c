/**
 * Store URIs: how a coordinator, its workers and `quiver gc` name the one shared object store.
 *
 *   memory: | memory:<name>       a process-local MemoryObjectStore (one per name; tests, examples)
 *   file:///abs/dir | /abs/dir    a LocalDirectoryStore (a directory every process can reach)
 *   s3://bucket[/prefix][?query]  an S3ObjectStore; query keys: endpoint, region, forcePathStyle,
 *                                 accessKeyId + secretAccessKey (tests; otherwise the SDK's usual
 *                                 AWS_* environment / profile chain), conditionalCreate
 *                                 ("if-none-match" | "check-then-put": servers that ignore
 *                                 If-None-Match, such as s3rver)
 */
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { QuiverArgumentError, describeValue } from "@quiver/format";
import { LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { type ConditionalCreateMode, S3ObjectStore } from "@quiver/store-s3";

/** Longest store URI accepted. */
export const MAX_STORE_URI_LENGTH = 4096;

const S3_KEYS = ["endpoint", "region", "forcePathStyle", "accessKeyId", "secretAccessKey", "sessionToken", "conditionalCreate"] as const;
const memoryStores = new Map<string, MemoryObjectStore>();

/** Options of {@link openStoreFromUri}. */
export interface StoreUriOptions {
  /** Directory a relative local path resolves against (without it a relative path is rejected). */
  readonly cwd?: string;
}

function bad(uri: string, expected: string): never {
  throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "store", expected, given: uri });
}

/** Open the object store a URI names (memory:, file://, an absolute directory, or s3://bucket/prefix?...). */
export function openStoreFromUri(uri: string, options: StoreUriOptions = {}): ObjectStore {
  if (typeof uri !== "string" || uri === "") throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "store", expected: "a store URI (memory:, file:///dir, /dir or s3://bucket/prefix)", given: uri });
  if (uri.length > MAX_STORE_URI_LENGTH) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "store", expected: `a URI of at most ${MAX_STORE_URI_LENGTH} characters`, given: uri });
  if (uri === "memory:" || uri.startsWith("memory:")) {
    const name = uri.slice("memory:".length);
    if (!/^[A-Za-z0-9._-]{0,64}$/.test(name)) bad(uri, "memory: or memory:<name> (letters, digits, . _ -)");
    let s = memoryStores.get(name);
    if (s === undefined) {
      s = new MemoryObjectStore();
      memoryStores.set(name, s);
    }
    return s;
  }
  if (uri.startsWith("file:")) {
    let dir: string;
    try {
      dir = fileURLToPath(uri);
    } catch {
      return bad(uri, "file:///absolute/dir");
    }
    return new LocalDirectoryStore(dir);
  }
  if (uri.startsWith("s3://")) return openS3(uri);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) bad(uri, "a memory:, file://, s3:// URI or a directory path");
  if (isAbsolute(uri)) return new LocalDirectoryStore(uri);
  if (options.cwd !== undefined) return new LocalDirectoryStore(resolve(options.cwd, uri));
  return bad(uri, "an absolute directory path (or a memory:, file://, s3:// URI)");
}

function openS3(uri: string): S3ObjectStore {
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    return bad(uri, "s3://bucket/prefix?endpoint=...");
  }
  const bucket = u.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) bad(uri, "s3://<bucket> with a valid bucket name (3-63 lowercase letters, digits, . -)");
  if (u.username !== "" || u.password !== "" || u.port !== "" || u.hash !== "") bad(uri, "s3://bucket/prefix without user, port or fragment");
  const q = u.searchParams;
  for (const k of q.keys()) {
    if (!(S3_KEYS as readonly string[]).includes(k)) {
      throw new QuiverArgumentError("UNKNOWN_OPTION", { argument: `store query parameter ${describeValue(k)}`, expected: `one of ${S3_KEYS.join(", ")}`, given: k });
    }
  }
  let prefix = decodeURIComponent(u.pathname.replace(/^\/+/, ""));
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  const endpoint = q.get("endpoint") ?? undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+(\/.*)?$/.test(endpoint)) bad(uri, "endpoint=http(s)://host[:port]");
  const force = q.get("forcePathStyle");
  if (force !== null && force !== "true" && force !== "false") bad(uri, "forcePathStyle=true or false");
  const mode = q.get("conditionalCreate");
  if (mode !== null && mode !== "if-none-match" && mode !== "check-then-put") bad(uri, 'conditionalCreate="if-none-match" or "check-then-put"');
  const id = q.get("accessKeyId");
  const secret = q.get("secretAccessKey");
  if ((id === null) !== (secret === null)) bad(uri, "both accessKeyId and secretAccessKey, or neither");
  const token = q.get("sessionToken");
  return new S3ObjectStore({
    bucket,
    ...(prefix === "" ? {} : { prefix }),
    ...(mode === null ? {} : { conditionalCreate: mode as ConditionalCreateMode }),
    clientConfig: {
      region: q.get("region") ?? process.env.AWS_REGION ?? "us-east-1",
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(force === null ? {} : { forcePathStyle: force === "true" }),
      ...(id === null || secret === null ? {} : { credentials: { accessKeyId: id, secretAccessKey: secret, ...(token === null ? {} : { sessionToken: token }) } }),
    },
  });
}

/** Release what a store opened from a URI holds (an S3 client); other stores need nothing. */
export function closeStore(store: ObjectStore): void {
  const c = (store as { close?: () => unknown }).close;
  if (typeof c === "function") c.call(store);
}
