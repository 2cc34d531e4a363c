import { QuiverStoreError, isStoreError } from "./errors.js";
import type { ObjectWriter } from "./object-writer.js";

/** A byte range `[offset, offset + length)` of an object. */
export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** What `head` and `list` report about an object. */
export interface ObjectMeta {
  readonly path: string;
  readonly size: number;
}

/** Options of {@link ObjectStore.getRanges}. */
export interface GetRangesOptions {
  /**
   * Two ranges (sorted by offset) are fetched by one request when the gap between the end of one
   * and the start of the next is at most this many bytes; the gap bytes are read and discarded.
   * Default {@link DEFAULT_COALESCE_GAP} (1 MiB). 0 merges only touching or overlapping ranges;
   * a negative value disables coalescing.
   */
  readonly coalesceGap?: number;
  /** A merged request never grows past this many bytes (default 64 MiB); single ranges may. */
  readonly maxRequestBytes?: number;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /**
   * Durable put: when the call resolves the object survives a power loss (local: fsync the file,
   * rename, fsync the directory). Default: the store's own default (atomic, not durable, for
   * {@link LocalDirectoryStore}; object stores such as S3 are always durable).
   */
  readonly durable?: boolean;
  /**
   * Create only: the put fails with ALREADY_EXISTS when an object is at `path`, atomically (two
   * racing creates: exactly one succeeds). The commit point of a writer that must never replace.
   */
  readonly ifAbsent?: boolean;
}

/**
 * Object names (any path segment) starting with this are reserved for the temp files of
 * in-flight writes: every store rejects them on put, copy and rename (INVALID_PATH), so that no
 * store lists what another hides.
 */
export const RESERVED_TEMP_PREFIX = ".quiver-tmp-";

/** Default coalescing gap of {@link ObjectStore.getRanges}: 1 MiB. */
export const DEFAULT_COALESCE_GAP = 1024 * 1024;
/** Default cap on a coalesced request: 64 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;

/**
 * Object storage as Quiver uses it. Paths are `/`-separated keys with no leading slash, no empty,
 * `.` or `..` segments; a segment starting with {@link RESERVED_TEMP_PREFIX} cannot be written. Returned byte arrays are owned by the caller and start at byteOffset 0 of
 * their own buffer (so typed-array and Arrow views of them are aligned).
 */
export interface ObjectStore {
  /** Whole object. NOT_FOUND when absent. */
  get(path: string): Promise<Uint8Array>;
  /** One byte range; RANGE_OUT_OF_BOUNDS when it does not lie inside the object. */
  getRange(path: string, range: ByteRange): Promise<Uint8Array>;
  /** Several ranges of one object, coalesced into as few requests as the rule allows; results in input order. */
  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]>;
  /** Size of an object. NOT_FOUND when absent. */
  head(path: string): Promise<ObjectMeta>;
  /** Atomic put: a concurrent reader sees the old object or the new one, never a part. */
  put(path: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Optional streaming write (sequential appends, one atomic commit honouring `options` as `put`
   * does; nothing visible before the commit; abort leaves nothing). Call it through
   * `openObjectWriter`, which falls back to buffering + one `put` for stores without it.
   */
  createWriter?(path: string, options?: PutOptions): Promise<ObjectWriter>;
  /** Objects whose path starts with `prefix`, sorted by path. */
  list(prefix: string): Promise<ObjectMeta[]>;
  /** Delete; deleting an absent object is not an error. */
  delete(path: string): Promise<void>;
  /** Copy `from` to `to` (atomic at `to`). */
  copy(from: string, to: string): Promise<void>;
  /** Move `from` to `to` (atomic at `to`; `from` is gone afterwards). */
  rename(from: string, to: string): Promise<void>;
}

/** One coalesced request and the input ranges it serves. */
export interface CoalescedRequest {
  readonly offset: number;
  readonly length: number;
  /** Indexes into the input ranges served by this request. */
  readonly members: readonly number[];
}

/**
 * The coalescing rule of {@link ObjectStore.getRanges}: sort ranges by offset; walk them and extend
 * the current request with the next range when `next.offset - current.end <= coalesceGap` and the
 * extended request stays within `maxRequestBytes`; otherwise start a new request. Zero-length
 * ranges are served without any request.
 */
export function coalesceRanges(ranges: readonly ByteRange[], options: GetRangesOptions = {}): CoalescedRequest[] {
  const gap = options.coalesceGap ?? DEFAULT_COALESCE_GAP;
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const order = ranges
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.length > 0)
    .sort((a, b) => a.r.offset - b.r.offset || a.r.length - b.r.length);
  const out: { offset: number; end: number; members: number[] }[] = [];
  for (const { r, i } of order) {
    const cur = out[out.length - 1];
    const end = r.offset + r.length;
    if (cur !== undefined && gap >= 0 && r.offset - cur.end <= gap && Math.max(cur.end, end) - cur.offset <= maxBytes) {
      cur.end = Math.max(cur.end, end);
      cur.members.push(i);
    } else {
      out.push({ offset: r.offset, end, members: [i] });
    }
  }
  return out.map((c) => ({ offset: c.offset, length: c.end - c.offset, members: c.members }));
}

/** Validate a range's numbers (not its bounds against an object). */
export function checkRange(path: string, range: ByteRange): void {
  if (!Number.isSafeInteger(range.offset) || !Number.isSafeInteger(range.length) || range.offset < 0 || range.length < 0) {
    throw new QuiverStoreError("INVALID_RANGE", path, `range ${range.offset}+${range.length} is not a non-negative safe integer range`);
  }
}

/** Validate a path (see {@link ObjectStore}). */
export function checkPath(path: string): void {
  if (!isValidPath(path)) {
    throw new QuiverStoreError("INVALID_PATH", path, "paths are /-separated, relative, with no empty, '.' or '..' segments");
  }
}

/** Validate a path that is about to be written: {@link checkPath}, and no reserved temp-file segment. */
export function checkWritablePath(path: string): void {
  checkPath(path);
  if (path.split("/").some((seg) => seg.startsWith(RESERVED_TEMP_PREFIX))) {
    throw new QuiverStoreError("INVALID_PATH", path, `names starting with ${RESERVED_TEMP_PREFIX} are reserved for temp files`);
  }
}

/**
 * Validate a `list` prefix: the part up to its last `/` must be a valid path (so a prefix can never
 * walk outside the store), and the whole prefix must be relative and free of NUL. `""` lists all.
 */
export function checkPrefix(prefix: string): void {
  const slash = prefix.lastIndexOf("/");
  if (prefix.startsWith("/") || prefix.includes("\0") || (slash >= 0 && !isValidPath(prefix.slice(0, slash)))) {
    throw new QuiverStoreError("INVALID_PATH", prefix, "a list prefix is a valid path, optionally followed by / and a partial segment");
  }
}

function isValidPath(path: string): boolean {
  return !(path.length === 0 || path.startsWith("/") || path.split("/").some((s) => s === "" || s === "." || s === "..") || path.includes("\0"));
}

/**
 * `getRanges` in terms of `getRange`: coalesce, issue one `getRange` per merged request
 * (concurrently), then slice the results back into the input order. Every store and wrapper
 * uses this, so the coalescing rule is the same everywhere and wrappers count real requests.
 */
export async function getRangesViaCoalescing(
  store: Pick<ObjectStore, "getRange">,
  path: string,
  ranges: readonly ByteRange[],
  options?: GetRangesOptions,
): Promise<Uint8Array[]> {
  for (const r of ranges) checkRange(path, r);
  const requests = coalesceRanges(ranges, options);
  const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
  await Promise.all(
    requests.map(async (req) => {
      const data = await store.getRange(path, { offset: req.offset, length: req.length });
      for (const i of req.members) {
        const r = ranges[i]!;
        out[i] = req.members.length === 1 ? data : data.slice(r.offset - req.offset, r.offset - req.offset + r.length);
      }
    }),
  );
  return out;
}

/** Copy `data` into a fresh buffer that starts at byteOffset 0. */
export function ownedCopy(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength);
  out.set(data);
  return out;
}

/** The object's bytes, or undefined when it does not exist (any other store error is thrown). */
export async function getIfExists(store: Pick<ObjectStore, "get">, path: string): Promise<Uint8Array | undefined> {
  try {
    return await store.get(path);
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
}

/** The object's metadata, or undefined when it does not exist (any other store error is thrown). */
export async function headIfExists(store: Pick<ObjectStore, "head">, path: string): Promise<ObjectMeta | undefined> {
  try {
    return await store.head(path);
  } catch (e) {
    if (isStoreError(e, "NOT_FOUND")) return undefined;
    throw e;
  }
}
