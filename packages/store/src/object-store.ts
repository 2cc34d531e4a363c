import { QuiverArgumentError } from "@quiver/format";
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
  /**
   * Optional read handle on one object, kept open across calls (see {@link ObjectReader}). Call it
   * through {@link openObjectReader}, which falls back to `head` + `getRanges` for stores without it.
   */
  openReader?(path: string): Promise<ObjectReader>;
}

/**
 * A read handle on one object: ranged reads into caller-owned buffers, with no per-call open and
 * no fresh allocation on the direct path. Whoever opens a reader closes it; `close` is idempotent,
 * waits for reads in flight, and any read after it fails with READER_CLOSED.
 *
 * Versions: a `pinned` reader reads the object version it opened (local directory: the open file,
 * which a replace or delete of the path does not change; memory: the bytes at open) until closed.
 * An unpinned reader (the fallback for stores without `openReader`) reads whatever object
 * is at the path at each request: after a replace its bytes are the new version's (callers that
 * verify checksums see a mismatch), after a delete reads fail with NOT_FOUND. `size` is the size
 * at open either way; ranges are checked against it (RANGE_OUT_OF_BOUNDS).
 */
export interface ObjectReader {
  readonly path: string;
  /** Size of the object when the reader was opened. */
  readonly size: number;
  /** True when reads see the version opened, whatever later happens at the path. */
  readonly pinned: boolean;
  /**
   * True when an unpinned reader still never returns bytes of another version: a read after the
   * object at the path was replaced fails with OBJECT_CHANGED (after a delete: NOT_FOUND), so a
   * read is never mixed (S3: `If-Match` with the ETag from the open on every ranged GET).
   */
  readonly failsOnChange?: boolean;
  /**
   * Read `ranges` into `target` back to back in input order (range i at the sum of the lengths
   * before it), coalesced by the {@link getRanges} rule, counted and delayed as `getRanges` is by
   * the wrappers. `target` must hold the sum of the lengths (INVALID_ARGUMENT otherwise).
   */
  readRangesInto(ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void>;
  /** Release the handle (idempotent; waits for reads in flight). */
  close(): Promise<void>;
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

/**
 * Validate a {@link ObjectReader.readRangesInto} call against a reader of a `size`-byte object:
 * an open reader, a Uint8Array target, valid ranges inside the object, room for all of them.
 * Returns each range's offset in the target.
 */
export function checkReadInto(path: string, size: number, closed: boolean, ranges: readonly ByteRange[], target: Uint8Array): number[] {
  if (closed) throw new QuiverStoreError("READER_CLOSED", path, "read on an object reader that was closed");
  if (!Array.isArray(ranges)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "ranges", expected: "an array of byte ranges", given: ranges });
  if (!(target instanceof Uint8Array)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "target", expected: "a Uint8Array", given: target });
  const at: number[] = [];
  let total = 0;
  for (const r of ranges) {
    if (typeof r !== "object" || r === null) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "ranges", expected: "byte ranges { offset, length }", given: r });
    checkRange(path, r);
    if (r.offset > size || r.length > size - r.offset) throw new QuiverStoreError("RANGE_OUT_OF_BOUNDS", path, `range ${r.offset}+${r.length} of a ${size}-byte object`);
    at.push(total);
    total += r.length;
  }
  if (total > target.byteLength) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "target", expected: `at least ${total} bytes (the ranges' total)`, given: `${target.byteLength} bytes` });
  }
  return at;
}

/**
 * `readRangesInto` in terms of `readRange(offset, length, dest)` (which fills `dest` with the bytes
 * at `offset`): one call per coalesced request, concurrently. A request whose members lie back to
 * back both in the object and in the target is read straight into the target; any other (gaps,
 * overlaps, out-of-order members) through one scratch buffer, then copied out.
 */
export async function readIntoViaCoalescing(
  path: string,
  size: number,
  ranges: readonly ByteRange[],
  target: Uint8Array,
  options: GetRangesOptions | undefined,
  readRange: (offset: number, length: number, dest: Uint8Array) => Promise<void>,
): Promise<void> {
  const at = checkReadInto(path, size, false, ranges, target);
  await Promise.all(
    coalesceRanges(ranges, options).map(async (req) => {
      const m = req.members;
      let direct = true;
      for (let j = 1; j < m.length && direct; j++) {
        const a = ranges[m[j - 1]!]!;
        const b = ranges[m[j]!]!;
        direct = b.offset === a.offset + a.length && at[m[j]!] === at[m[j - 1]!]! + a.length;
      }
      if (direct) return readRange(req.offset, req.length, target.subarray(at[m[0]!]!, at[m[0]!]! + req.length));
      const scratch = new Uint8Array(req.length);
      await readRange(req.offset, req.length, scratch);
      for (const i of m) target.set(scratch.subarray(ranges[i]!.offset - req.offset, ranges[i]!.offset - req.offset + ranges[i]!.length), at[i]!);
    }),
  );
}

/**
 * The reader of stores without `openReader`: `head` at open (the size), then each
 * `readRangesInto` is one `getRanges` copied into the target. Unpinned (see {@link ObjectReader}).
 */
class CoalescingObjectReader implements ObjectReader {
  readonly pinned = false;
  #closed = false;

  constructor(
    readonly store: Pick<ObjectStore, "getRanges">,
    readonly path: string,
    readonly size: number,
  ) {}

  async readRangesInto(ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void> {
    checkReadInto(this.path, this.size, this.#closed, ranges, target);
    await getRangesInto(this.store, this.path, ranges, target, options);
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

/**
 * One `getRanges` of `ranges`, copied back to back into `target` (range i at the sum of the lengths
 * before it); IO_ERROR when the store returns a range of another length. The caller has checked
 * that `target` holds them all.
 */
export async function getRangesInto(store: Pick<ObjectStore, "getRanges">, path: string, ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void> {
  const got = await store.getRanges(path, ranges, options);
  let at = 0;
  got.forEach((bytes, i) => {
    const r = ranges[i]!;
    if (bytes.byteLength !== r.length) throw new QuiverStoreError("IO_ERROR", path, `range ${r.offset}+${r.length} returned ${bytes.byteLength} bytes`);
    target.set(bytes, at);
    at += r.length;
  });
}

/** A reader of `path`: the store's own `openReader`, or the `head` + `getRanges` fallback (unpinned). NOT_FOUND when absent. */
export async function openObjectReader(store: Pick<ObjectStore, "head" | "getRanges" | "openReader">, path: string): Promise<ObjectReader> {
  checkPath(path);
  if (typeof store.openReader === "function") return store.openReader(path);
  const meta = await store.head(path);
  return new CoalescingObjectReader(store, path, meta.size);
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
