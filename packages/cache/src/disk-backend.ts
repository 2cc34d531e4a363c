import { createHash, randomBytes } from "node:crypto";
import { type Stats, closeSync, fstatSync, openSync, readSync, readvSync, statSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes, writeFile, type FileHandle } from "node:fs/promises";
import { join, sep } from "node:path";
import { QuiverArgumentError, QuiverFormatError, checkInteger, checkOptions, crc32 } from "@quiver/format";
import { MAX_CACHE_KEY_BYTES } from "./cache-key.js";
import { LoadDeduplicator } from "./load-deduplicator.js";
import type { CacheBackend, CacheEntry, CacheLogger, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Magic of a disk entry file: "QVCD". */
export const DISK_ENTRY_MAGIC = Uint8Array.of(0x51, 0x56, 0x43, 0x44);
/** Version of the disk entry file layout (spec/cache.md#disk-entry-file). */
export const DISK_ENTRY_VERSION = 1;
/** Bytes of the fixed disk entry header before the key. */
export const DISK_ENTRY_HEADER_SIZE = 24;
/** Default age after which a temp file under `tmp/` is a crashed writer's leftover: 1 hour. */
export const DEFAULT_DISK_TEMP_MAX_AGE_MS = 60 * 60 * 1000;
/** File extension of disk entries. */
const ENTRY_EXT = ".qce";
/**
 * Share of the capacity that all processes together may write between two scans: each process
 * rescans after `WRITE_SLACK * maxBytes / writers` bytes, so the directory stays within about
 * `(1 + WRITE_SLACK) * maxBytes` however many processes write (spec/cache.md#disk).
 */
const WRITE_SLACK = 0.05;
/** A writer's heartbeat file older than this belongs to a process that stopped writing. */
const WRITER_STALE_MS = 60 * 1000;
/** How often a writing process refreshes its heartbeat. */
const HEARTBEAT_EVERY_MS = 10 * 1000;
/** How long a backend whose directory could not be created waits before trying again. */
const DIRECTORY_RETRY_MS = 1000;
/**
 * Default largest entry file read with synchronous calls. From the page cache a synchronous
 * open + fstat + readv + close costs ~6 µs against ~40-250 µs for the same four calls through
 * libuv's thread pool (bench/reopen.bench.ts), and a 2 MiB read blocks the event loop for about
 * as long as copying 2 MiB; larger entries are read asynchronously. 2 MiB, not 1: an entry of
 * 1 MiB of values is a file just over 1 MiB (frame, header, key), which a 1 MiB bound sent through
 * the thread pool (bench/cache-decode.bench.ts, disk backend rows: a repeat get of such an entry
 * took 0.97 ms asynchronously against 0.15 ms synchronously, its bare read 0.08 ms).
 */
export const DEFAULT_DISK_SYNC_READ_MAX_BYTES = 2 * 1024 * 1024;
/**
 * A backend made with `new` starts its directory scan (a stat per entry file, for the size count
 * and eviction) this long after opening, or at its first write, so that a reopen's first reads do
 * not compete with it for the thread pool. `DiskCacheBackend.open` scans before it resolves.
 */
const INITIAL_SCAN_DELAY_MS = 1000;
/** Hits refresh an entry's mtime (its LRU clock) at most this often. */
const TOUCH_EVERY_MS = 1000;

/** Options of {@link DiskCacheBackend}. */
export interface DiskCacheBackendOptions {
  /** Directory holding the cache; created when missing; may be shared by several processes. */
  readonly directory: string;
  /** Byte capacity of the entry files; least recently accessed entries are evicted above it. Default 1 GiB. */
  readonly maxBytes?: number;
  /** Temp files older than this (by mtime) are removed on open and on every rescan. Default 1 hour. */
  readonly tempFileMaxAgeMs?: number;
  /** Where absorbed problems are reported; default console. */
  readonly logger?: CacheLogger;
  /**
   * Entry files up to this many bytes are read with synchronous file calls (no thread-pool round
   * trips); larger ones asynchronously. 0 reads everything asynchronously. Default 2 MiB.
   */
  readonly syncReadMaxBytes?: number;
}

/** Counters of what the disk backend absorbed instead of throwing. */
export interface DiskCacheCounters {
  /** Inserts without a codec (values that cannot be persisted). */
  skippedWithoutCodec: number;
  /** Hits served from a value this process decoded from the same, unchanged entry file (one stat, no read). */
  rememberedHits: number;
  /** Corrupt, truncated or foreign entry files found, deleted and reported as misses. */
  corruptDeleted: number;
  /** Writes that failed (IO error, short write, full disk, no directory) and were dropped; the old entry is kept. */
  writeErrors: number;
  /** Reads that failed with an IO error and were reported as misses. */
  readErrors: number;
  /** Attempts to create the cache directory that failed (every operation is then a miss / a dropped write). */
  directoryErrors: number;
  /** Entry files this process removed by capacity eviction (not files another process removed first). */
  evicted: number;
  /** Stale temp files this process removed. */
  tempFilesRemoved: number;
}

interface ScannedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

const utf8 = new TextEncoder();

/**
 * A directory of cache-entry files shared safely by several processes: one file per key (named by
 * the SHA-256 of the key), written to a temp file, checked for its full length and renamed into
 * place, so a reader sees either the old or the new complete file. Hits refresh the file's mtime;
 * eviction removes the oldest mtimes first. A file that fails any check is deleted and reported as
 * a miss. A directory that cannot be created or written makes every operation a miss or a dropped
 * write (counted), never an exception.
 *
 * Not durable: a cache entry may be lost on power failure (it is reloaded from the store); an
 * entry is never visible partially, because the rename happens only after the whole file is written.
 */
export class DiskCacheBackend implements CacheBackend {
  readonly persistent = true;
  readonly directory: string;
  readonly maxBytes: number;
  readonly tempFileMaxAgeMs: number;
  readonly syncReadMaxBytes: number;
  readonly counters: DiskCacheCounters = {
    skippedWithoutCodec: 0,
    corruptDeleted: 0,
    writeErrors: 0,
    readErrors: 0,
    directoryErrors: 0,
    evicted: 0,
    tempFilesRemoved: 0,
    rememberedHits: 0,
  };
  readonly #entriesDir: string;
  readonly #tmpDir: string;
  readonly #writersDir: string;
  readonly #heartbeat: string;
  readonly #logger: CacheLogger;
  readonly #loads = new LoadDeduplicator();
  /** The entry file's stat from the synchronous read of the current get (read and decode never interleave with another get). */
  #readStat: Stats | undefined;
  readonly #keyWrites = new Map<string, Promise<void>>();
  #ready: Promise<boolean>;
  #readyAt = 0;
  #count = 0;
  #size = 0;
  #writtenSinceScan = 0;
  #heartbeatAt = 0;
  #scanning: Promise<void> | undefined;
  /** Entry files whose mtime a hit should refresh (written in the background, off the read path). */
  readonly #touches = new Set<string>();
  #touching: Promise<void> | undefined;
  #scanned = false;
  /** When synchronous reads started holding the event loop without it turning (undefined: it has turned since). */
  #heldSince: number | undefined;
  #initialScanTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the directory set-up succeeded: reads then skip awaiting it. */
  #readyOk = false;
  /** True while a directory set-up runs (reads do not wait for it, see `get`). */
  #settingUp = true;
  /** Header + key buffer of synchronous reads (grown to the longest key read). */
  #head = new Uint8Array(DISK_ENTRY_HEADER_SIZE + 256);

  constructor(options: DiskCacheBackendOptions) {
    checkOptions("DiskCacheBackend options", options, ["directory", "maxBytes", "tempFileMaxAgeMs", "logger", "syncReadMaxBytes"]);
    if (typeof options.directory !== "string" || options.directory === "") {
      throw new QuiverArgumentError(options.directory === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", {
        argument: "options.directory",
        expected: "a non-empty path string",
        given: options.directory,
      });
    }
    this.directory = options.directory;
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    checkInteger("options.maxBytes", this.maxBytes, 1, Number.MAX_SAFE_INTEGER);
    this.tempFileMaxAgeMs = options.tempFileMaxAgeMs ?? DEFAULT_DISK_TEMP_MAX_AGE_MS;
    checkInteger("options.tempFileMaxAgeMs", this.tempFileMaxAgeMs, 0, Number.MAX_SAFE_INTEGER);
    this.syncReadMaxBytes = options.syncReadMaxBytes ?? DEFAULT_DISK_SYNC_READ_MAX_BYTES;
    checkInteger("options.syncReadMaxBytes", this.syncReadMaxBytes, 0, 1 << 30);
    this.#entriesDir = join(this.directory, "entries");
    this.#tmpDir = join(this.directory, "tmp");
    this.#writersDir = join(this.directory, "writers");
    this.#heartbeat = join(this.#writersDir, `${process.pid}-${randomBytes(6).toString("hex")}`);
    this.#logger = options.logger ?? console;
    this.#ready = this.#setUp();
  }

  /** Open a backend over `directory` once its initial scan has finished (never rejects on IO errors). */
  static async open(options: DiskCacheBackendOptions): Promise<DiskCacheBackend> {
    const b = new DiskCacheBackend(options);
    if (await b.#ready) await b.#ensureScanned();
    return b;
  }

  /** True when the directory exists and the initial scan ran; false while degraded. */
  async isAvailable(): Promise<boolean> {
    return this.#available();
  }

  /** The decoded entry; a miss when absent, without a codec, when the file fails a check (then deleted), or on an IO error. */
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    const pending = this.#loads.peek(key);
    if (pending !== undefined) return pending;
    if (codec === undefined) return undefined;
    // The usual case (directory set up) awaits nothing before the synchronous read. While the
    // set-up still runs (a backend just made), a read does not wait for its directory creations and
    // heartbeat write: an entry file either exists or is a miss. Only a set-up known to have
    // failed makes the read wait for (and retry) it.
    if (!this.#readyOk && !this.#settingUp && !(await this.#available())) return undefined;
    const info = this.#infoFor(key);
    const path = info.path;
    let frame: Uint8Array | undefined;
    try {
      const held = this.#yieldIfHeld();
      if (held !== undefined) await held;
      const remembered = this.#remembered(info, codec);
      if (remembered !== undefined) return remembered;
      this.#readStat = undefined;
      // A codec that copies what it keeps may get a view of the shared read buffer (no allocation
      // per hit; a verified-before entry is compared there and never copied). Nothing awaits
      // between that read and the decode below, so the buffer cannot be overwritten meanwhile.
      let small = codec.copiesInput === true ? this.#readEntryFast(path, info.keyBytes) : RECHECK;
      if (small === RECHECK) small = this.#readEntryFileSync(path, info.keyBytes);
      frame = small === LARGE ? await this.#readEntryFile(path, key) : small;
    } catch (e) {
      if (e instanceof QuiverFormatError) {
        await this.#deleteCorrupt(path, e);
        return undefined;
      }
      this.counters.readErrors++;
      this.#logger.warn(`quiver cache: disk read of ${path} failed: ${describeError(e)}`);
      return undefined;
    }
    if (frame === undefined) return undefined;
    try {
      const entry = codec.decode(frame);
      this.#remember(info, codec, entry);
      return entry;
    } catch (e) {
      await this.#deleteCorrupt(path, e);
      return undefined;
    }
  }

  /** Write `codec.encode(value)` atomically; without a codec the insert is skipped and counted. Never throws on IO errors. */
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    if (codec === undefined) {
      this.counters.skippedWithoutCodec++;
      return;
    }
    const frame = codec.encode(entry.value);
    if (!(await this.#available())) {
      this.counters.writeErrors++;
      return;
    }
    // Serialise writes of one key in this process so that the size bookkeeping (stat old, rename new) is exact.
    const prev = this.#keyWrites.get(key) ?? Promise.resolve();
    const next = prev.then(() => this.#writeEntryFile(key, frame));
    this.#keyWrites.set(key, next);
    try {
      await next;
    } finally {
      if (this.#keyWrites.get(key) === next) this.#keyWrites.delete(key);
    }
  }

  /** The cached entry or the de-duplicated (in this process) result of `loader`; the write happens in the background. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#loads.getOrInsert(this, key, loader, codec);
  }

  /** Delete every entry whose key starts with `prefix` (reads each file's key header). */
  async invalidatePrefix(prefix: string): Promise<void> {
    if (!(await this.#available())) return;
    await this.#loads.flush();
    for (const f of await this.#listEntries()) {
      let key: string | undefined;
      try {
        key = await readEntryKey(f.path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // removed meanwhile
        key = undefined; // unreadable header: a corrupt file, remove it too
      }
      if (key === undefined || key.startsWith(prefix)) await this.#remove(f.path, f.size);
    }
  }

  /** Delete every entry file. */
  async clear(): Promise<void> {
    if (!(await this.#available())) return;
    await this.#loads.flush();
    for (const f of await this.#listEntries()) await this.#remove(f.path, f.size);
    this.#count = 0;
    this.#size = 0;
  }

  /** Entry files as of the last scan plus this process's writes since. */
  approxEntryCount(): number {
    return this.#count;
  }

  /** Bytes of entry files as of the last scan plus this process's writes since. */
  approxSizeBytes(): number {
    return this.#size;
  }

  /** Re-read the directory (picks up other processes' writes), evict down to capacity, reclaim stale temp files. */
  async refresh(): Promise<void> {
    if (!(await this.#available())) return;
    await this.#scanAndEvict();
  }

  /**
   * Remove temp files under `tmp/` whose mtime is older than `olderThanMs` (default
   * `tempFileMaxAgeMs`). A live writer's temp file is younger: its mtime moves while it is written.
   * Returns how many were removed.
   */
  async reclaimTempFiles(olderThanMs = this.tempFileMaxAgeMs): Promise<number> {
    checkInteger("olderThanMs", olderThanMs, 0, Number.MAX_SAFE_INTEGER);
    const now = Date.now();
    let removed = 0;
    for (const n of await readdir(this.#tmpDir).catch(() => [] as string[])) {
      const p = join(this.#tmpDir, n);
      const s = await stat(p).catch(() => undefined);
      if (s === undefined || !s.isFile() || (olderThanMs > 0 && now - s.mtimeMs < olderThanMs)) continue;
      try {
        await unlink(p);
        removed++;
      } catch {
        // removed by another process meanwhile
      }
    }
    this.counters.tempFilesRemoved += removed;
    return removed;
  }

  /** Wait until the background writes of `getOrInsert` started so far have finished. */
  async flush(): Promise<void> {
    await this.#loads.flush();
    await this.#flushTouches();
  }

  /** Wait for background writes, then release this process's writer registration. */
  async close(): Promise<void> {
    await this.#loads.flush();
    await Promise.all([...this.#keyWrites.values()]).catch(() => undefined);
    await this.#ready;
    if (this.#initialScanTimer !== undefined) clearTimeout(this.#initialScanTimer);
    this.#initialScanTimer = undefined;
    await this.#scanning;
    await this.#flushTouches();
    await rm(this.#heartbeat, { force: true }).catch(() => undefined);
  }

  async #setUp(): Promise<boolean> {
    this.#settingUp = true;
    try {
      await mkdir(this.#entriesDir, { recursive: true });
      await mkdir(this.#tmpDir, { recursive: true });
      await mkdir(this.#writersDir, { recursive: true });
      await writeFile(this.#heartbeat, "");
      this.#heartbeatAt = Date.now();
      this.#readyOk = true;
      this.#settingUp = false;
    } catch (e) {
      this.#settingUp = false;
      this.counters.directoryErrors++;
      this.#readyAt = Date.now();
      this.#logger.warn(`quiver cache: disk cache directory ${this.directory} is unusable, every operation is a miss: ${describeError(e)}`);
      return false;
    }
    // The size scan (a stat per entry file) runs later, in the background: reads need only the
    // directory, so a reopen does not pay for listing every entry (eviction follows the scan).
    if (!this.#scanned && this.#initialScanTimer === undefined) {
      this.#initialScanTimer = setTimeout(() => {
        this.#initialScanTimer = undefined;
        void this.#scanAndEvict();
      }, INITIAL_SCAN_DELAY_MS);
      this.#initialScanTimer.unref();
    }
    return true;
  }

  /** Whether the directory is usable; a failed set-up is retried at most every few seconds. */
  async #available(): Promise<boolean> {
    const ok = await this.#ready;
    if (ok) return true;
    if (Date.now() - this.#readyAt < DIRECTORY_RETRY_MS) return false;
    this.#readyAt = Date.now();
    this.#ready = this.#setUp();
    return this.#ready;
  }

  #pathFor(key: string): string {
    return this.#infoFor(key).path;
  }

  #infoFor(key: string): NamedKey {
    // One memo per process (a backend made for one reopen does not hash every key again): the
    // file name by key, with the full path for the entries directory it was last used with
    // (backends of one directory share it; another directory recomputes the path, not the hash).
    let named = namedKeys.get(key);
    if (named === undefined) {
      const h = createHash("sha256").update(key, "utf8").digest("hex");
      const relative = join(h.slice(0, 2), h + ENTRY_EXT);
      named = { relative, keyBytes: utf8.encode(key), entriesDir: this.#entriesDir, path: `${this.#entriesDir}${sep}${relative}` };
      if (namedKeys.size >= KEY_INFO_MAX) namedKeys.clear();
      namedKeys.set(key, named);
    } else if (named.entriesDir !== this.#entriesDir) {
      named.entriesDir = this.#entriesDir;
      named.path = `${this.#entriesDir}${sep}${named.relative}`;
    }
    return named;
  }

  /**
   * The value decoded before (by any backend of this process) from this key's entry file, when
   * that file is provably the one it was decoded from: the same path, codec, inode, size, mtime
   * and ctime, and the value still alive (held weakly). One stat instead of open + read + close +
   * key check + compare: the fixed cost of a reopen's entry reads. A file changed in place gets a
   * new ctime (no user-space call sets it), a replaced one a new inode; and a value is remembered
   * only from a file whose ctime was older than {@link QUIET_MS} when it was read, so a change
   * after the read cannot share its (coarse-clock) timestamp. Undefined: read the file.
   */
  #remembered(info: NamedKey, codec: ErasedCodec): CacheEntry | undefined {
    const m = info.memo;
    if (m === undefined) return undefined;
    const value = m.path === info.path && m.codec === (codec.source ?? codec) ? m.value.deref() : undefined;
    if (value === undefined) {
      info.memo = undefined;
      return undefined;
    }
    let st: Stats | undefined;
    try {
      st = statSync(info.path, { throwIfNoEntry: false });
    } catch {
      st = undefined;
    }
    if (st === undefined || st.ino !== m.ino || st.size !== m.size || st.mtimeMs !== m.mtimeMs || st.ctimeMs !== m.ctimeMs) {
      info.memo = undefined;
      return undefined;
    }
    this.counters.rememberedHits++;
    this.#touchOnce(info.path);
    return { value, sizeBytes: m.sizeBytes };
  }

  /** Remembers `entry` as decoded from the file the synchronous read just read (see {@link #remembered}). */
  #remember(info: NamedKey, codec: ErasedCodec, entry: CacheEntry): void {
    const st = this.#readStat;
    this.#readStat = undefined;
    const value = entry.value;
    if (st === undefined || typeof value !== "object" || value === null || Date.now() - st.ctimeMs <= QUIET_MS) {
      info.memo = undefined;
      return;
    }
    if (rememberedByPath.size >= KEY_INFO_MAX) rememberedByPath.clear();
    rememberedByPath.set(info.path, info);
    info.memo = { path: info.path, codec: codec.source ?? codec, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, value: new WeakRef(value), sizeBytes: entry.sizeBytes };
  }

  /**
   * The fast read of a hit: open, one read into the shared read buffer, close (no fstat, no
   * allocation). The read returns the whole file when it is shorter than the buffer; the header
   * must then declare exactly the bytes read and hold `want`. Anything else (a file as large as the
   * buffer, a short read, a bad header) is RECHECK: {@link #readEntryFileSync} decides with an
   * fstat, so this path never deletes an entry. Undefined when absent. The result views the shared
   * buffer: valid until the next read.
   */
  #readEntryFast(path: string, want: Uint8Array): Uint8Array | undefined | typeof RECHECK | typeof LARGE {
    if (this.syncReadMaxBytes === 0) return LARGE;
    const fd = openForReadSync(path);
    if (fd === undefined) return undefined;
    let got: number;
    let st: Stats;
    try {
      got = readSync(fd, readBuffer, 0, readBuffer.byteLength, 0);
      st = fstatSync(fd);
    } finally {
      closeSync(fd);
    }
    if (got >= readBuffer.byteLength) return RECHECK;
    const headLength = Math.min(got, DISK_ENTRY_HEADER_SIZE + want.byteLength);
    try {
      const h = parseDiskEntryHeader(readBuffer.subarray(0, headLength), got);
      checkEntryKey(h, readBuffer.subarray(0, headLength), want);
    } catch {
      return RECHECK;
    }
    this.#readStat = st;
    this.#touchOnce(path);
    // Starts after the header and key: never the whole buffer, so a copying codec copies it.
    return readBuffer.subarray(headLength, got);
  }

  /**
   * The frame bytes of the entry file for `key` read with synchronous calls (one readv for header,
   * key and frame), undefined when absent, or LARGE when the file is over `syncReadMaxBytes` (the
   * caller then reads it asynchronously). Checks exactly what {@link #readEntryFile} checks.
   */
  #readEntryFileSync(path: string, want: Uint8Array): Uint8Array | undefined | typeof LARGE {
    if (this.syncReadMaxBytes === 0) return LARGE;
    const fd = openForReadSync(path);
    if (fd === undefined) return undefined;
    try {
      const st = fstatSync(fd);
      if (st.size > this.syncReadMaxBytes) return LARGE;
      const headLength = Math.min(st.size, DISK_ENTRY_HEADER_SIZE + want.byteLength);
      if (this.#head.byteLength < headLength) this.#head = new Uint8Array(headLength);
      const head = this.#head.subarray(0, headLength);
      // A fresh, exactly sized buffer (bounded by the file size): decoded views then pin only the frame.
      const frame = new Uint8Array(st.size - headLength);
      const got = readvSync(fd, [head, frame], 0);
      if (got !== st.size) throw new QuiverFormatError("TRUNCATED", `read ${got} of ${st.size} bytes`, { stage: "disk-entry", offset: got });
      const h = parseDiskEntryHeader(head, st.size);
      checkEntryKey(h, head, want);
      this.#readStat = st;
      // Later hits of files this size fit the fast path's buffer (bounded by syncReadMaxBytes + 1).
      if (st.size >= readBuffer.byteLength) readBuffer = new Uint8Array(Math.max(st.size + 1, Math.min(2 * readBuffer.byteLength, this.syncReadMaxBytes + 1)));
      this.#touch(path, st.mtimeMs);
      return frame;
    } finally {
      closeSync(fd);
    }
  }

  /** The frame bytes of the entry file for `key` in a buffer of their own; undefined when absent. */
  async #readEntryFile(path: string, key: string): Promise<Uint8Array | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
      throw e;
    }
    try {
      const st = await fh.stat();
      const size = st.size;
      const want = utf8.encode(key);
      // One read for header and key: the key we expect tells how long it should be.
      const head = await readExactly(fh, 0, Math.min(size, DISK_ENTRY_HEADER_SIZE + want.byteLength));
      const h = parseDiskEntryHeader(head, size);
      checkEntryKey(h, head, want);
      // A fresh, exactly sized buffer: decoded views then pin only the frame (size accounting).
      const frame = new Uint8Array(h.frameLength);
      await readInto(fh, DISK_ENTRY_HEADER_SIZE + h.keyLength, frame);
      this.#touch(path, st.mtimeMs);
      return frame;
    } finally {
      await fh.close();
    }
  }

  /**
   * Synchronous reads resolve as microtasks: a loop of gets would never let the event loop turn
   * (timers, IO, child processes). Yield once the reads have held it for over a millisecond.
   */
  #yieldIfHeld(): Promise<void> | undefined {
    const now = performance.now();
    if (this.#heldSince === undefined) {
      this.#heldSince = now;
      setImmediate(() => (this.#heldSince = undefined));
      return undefined;
    }
    if (now - this.#heldSince > 1) return new Promise<void>((resolve) => setImmediate(resolve));
    return undefined;
  }

  /**
   * LRU by access: a hit refreshes the file's mtime, at most once per second per file, in the
   * background (batched after the current turn), so a read never waits for a metadata write.
   * Scans wait for pending refreshes before they pick what to evict.
   */
  #touch(path: string, mtimeMs: number): void {
    const now = Date.now();
    if (now - mtimeMs <= TOUCH_EVERY_MS) return;
    touchedAt.set(path, now);
    this.#queueTouch(path);
  }

  /**
   * The fast path's LRU refresh without an fstat: at most once per second per file and process
   * (remembered across backends of the process), so the mtime trails the last hit by about a second
   * as with {@link #touch}.
   */
  #touchOnce(path: string): void {
    const now = Date.now();
    if (now - (touchedAt.get(path) ?? 0) <= TOUCH_EVERY_MS) return;
    if (touchedAt.size >= KEY_INFO_MAX) touchedAt.clear();
    touchedAt.set(path, now);
    this.#queueTouch(path);
  }

  #queueTouch(path: string): void {
    this.#touches.add(path);
    this.#touching ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const paths = [...this.#touches];
      this.#touches.clear();
      const now = new Date();
      await Promise.all(paths.map((p) => touchFile(p, now)));
      this.#touching = undefined;
      // Hits during the writes above wait for the next batch.
      if (this.#touches.size > 0) this.#queueTouch(this.#touches.values().next().value!);
    });
  }

  /** Wait until the mtime refreshes of hits so far are written. */
  async #flushTouches(): Promise<void> {
    while (this.#touching !== undefined) await this.#touching;
  }

  async #writeEntryFile(key: string, frame: Uint8Array): Promise<void> {
    // The size bookkeeping below starts from a scan of the directory.
    await this.#ensureScanned();
    const keyBytes = utf8.encode(key);
    if (keyBytes.byteLength > MAX_CACHE_KEY_BYTES) throw new RangeError(`cache key longer than ${MAX_CACHE_KEY_BYTES} bytes`);
    const header = new Uint8Array(DISK_ENTRY_HEADER_SIZE);
    const v = new DataView(header.buffer);
    header.set(DISK_ENTRY_MAGIC, 0);
    v.setUint32(4, DISK_ENTRY_VERSION, true);
    v.setUint32(8, keyBytes.byteLength, true);
    v.setUint32(12, crc32(keyBytes), true);
    v.setBigUint64(16, BigInt(frame.byteLength), true);
    const total = header.byteLength + keyBytes.byteLength + frame.byteLength;
    const path = this.#pathFor(key);
    const tmp = join(this.#tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}.tmp`);
    let old = 0;
    try {
      const fh = await open(tmp, "w");
      try {
        await writeFully(fh, [header, keyBytes, frame], total);
        // The length on disk is what the rename publishes: check it, whatever the writes reported.
        const written = (await fh.stat()).size;
        if (written !== total) throw new Error(`short write: ${written} of ${total} bytes on disk`);
      } finally {
        await fh.close();
      }
      old = await stat(path).then((s) => s.size, () => 0);
      try {
        await rename(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        // The shard directory does not exist yet (or clear() removed it): create it, retry once.
        await mkdir(join(path, ".."), { recursive: true });
        await rename(tmp, path);
      }
    } catch (e) {
      this.counters.writeErrors++;
      this.#logger.warn(`quiver cache: disk write to ${path} dropped (the previous entry, if any, is kept): ${describeError(e)}`);
      await rm(tmp, { force: true }).catch(() => undefined);
      return;
    }
    if (old === 0) this.#count++;
    this.#size += total - old;
    this.#writtenSinceScan += total;
    await this.#beat();
    // Other processes write too: rescan once this process has written its share of the slack.
    if (this.#size > this.maxBytes || this.#writtenSinceScan > (WRITE_SLACK * this.maxBytes) / (await this.#writerCount())) {
      await this.#scanAndEvict();
    }
  }

  /** Refresh this process's heartbeat (so other writers count it) at most every few seconds. */
  async #beat(): Promise<void> {
    const now = Date.now();
    if (now - this.#heartbeatAt < HEARTBEAT_EVERY_MS) return;
    this.#heartbeatAt = now;
    const t = new Date(now);
    await utimes(this.#heartbeat, t, t).catch(() => writeFile(this.#heartbeat, "").catch(() => undefined));
  }

  /** Processes registered as writers of this directory (at least this one). */
  async #writerCount(): Promise<number> {
    const names = await readdir(this.#writersDir).catch(() => [] as string[]);
    return Math.max(1, names.length);
  }

  async #deleteCorrupt(path: string, e: unknown): Promise<void> {
    this.counters.corruptDeleted++;
    const code = e instanceof QuiverFormatError ? e.code : describeError(e);
    this.#logger.warn(`quiver cache: deleted unreadable entry ${path} (${code})`);
    const size = await stat(path).then((s) => s.size, () => 0);
    await this.#remove(path, size);
  }

  /** Unlink an entry file; true when this call removed it (false when it was already gone). */
  async #remove(path: string, size: number): Promise<boolean> {
    try {
      await unlink(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return false;
      this.#logger.warn(`quiver cache: could not remove ${path}: ${describeError(e)}`);
      return false;
    }
    this.#count = Math.max(0, this.#count - 1);
    this.#size = Math.max(0, this.#size - size);
    return true;
  }

  async #listEntries(): Promise<ScannedFile[]> {
    const out: ScannedFile[] = [];
    let shards: string[];
    try {
      shards = await readdir(this.#entriesDir);
    } catch {
      return out;
    }
    for (const shard of shards) {
      let names: string[];
      try {
        names = await readdir(join(this.#entriesDir, shard));
      } catch {
        continue; // not a directory, or removed meanwhile
      }
      for (const n of names) {
        if (!n.endsWith(ENTRY_EXT)) continue; // not ours: leave it alone
        const p = join(this.#entriesDir, shard, n);
        try {
          const s = await stat(p);
          if (s.isFile()) out.push({ path: p, size: s.size, mtimeMs: s.mtimeMs });
        } catch {
          // removed by another process meanwhile
        }
      }
    }
    return out;
  }

  /** Run the first directory scan now unless one has finished. */
  async #ensureScanned(): Promise<void> {
    while (!this.#scanned) await this.#scanAndEvict();
  }

  /** One scan at a time: recount from the directory, evict oldest-accessed down to 90 % when over capacity. */
  #scanAndEvict(): Promise<void> {
    if (this.#initialScanTimer !== undefined) clearTimeout(this.#initialScanTimer);
    this.#initialScanTimer = undefined;
    this.#scanning ??= (async () => {
      try {
        await this.#flushTouches();
        const files = await this.#listEntries();
        let size = 0;
        for (const f of files) size += f.size;
        this.#count = files.length;
        this.#size = size;
        this.#writtenSinceScan = 0;
        if (size > this.maxBytes) {
          const target = Math.floor(this.maxBytes * 0.9);
          files.sort((a, b) => a.mtimeMs - b.mtimeMs);
          for (const f of files) {
            if (this.#size <= target) break;
            if (await this.#remove(f.path, f.size)) this.counters.evicted++;
            else this.#size = Math.max(0, this.#size - f.size); // another process removed it: gone all the same
          }
        }
        await this.reclaimTempFiles();
        await this.#reclaimHeartbeats();
      } catch (e) {
        this.#logger.warn(`quiver cache: disk cache scan failed: ${describeError(e)}`);
      } finally {
        this.#scanned = true;
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  /** Remove heartbeats of writers that stopped (crashed without close) and refresh our own. */
  async #reclaimHeartbeats(): Promise<void> {
    const now = Date.now();
    for (const n of await readdir(this.#writersDir).catch(() => [] as string[])) {
      const p = join(this.#writersDir, n);
      if (p === this.#heartbeat) continue;
      const s = await stat(p).catch(() => undefined);
      if (s !== undefined && now - s.mtimeMs > WRITER_STALE_MS) await rm(p, { force: true }).catch(() => undefined);
    }
    this.#heartbeatAt = 0;
    await this.#beat();
  }
}

/** An entry's file path and key bytes. */
interface KeyInfo {
  readonly path: string;
  readonly keyBytes: Uint8Array;
}

/** A key's entry file name and UTF-8 bytes, with its path under the entries directory it was last resolved for. */
interface NamedKey extends KeyInfo {
  readonly relative: string;
  entriesDir: string;
  path: string;
  /** The value last decoded from the entry file and the file's identity then (see `#remembered`). */
  memo?: RememberedEntry | undefined;
}

/** A decoded value (held weakly) and the stat of the file it was decoded from. */
interface RememberedEntry {
  readonly path: string;
  readonly codec: object;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly value: WeakRef<object>;
  readonly sizeBytes: number;
}

/**
 * A value is remembered only from an entry file whose ctime was at least this old when it was
 * read: far above the granularity of file timestamps (the kernel's coarse clock, a few ms), so any
 * change after the read gets another ctime.
 */
const QUIET_MS = 100;

/** Keys whose path a backend remembers before it starts over. */
const KEY_INFO_MAX = 16_384;

/** Marks an entry file too large for the synchronous read path. */
const LARGE = Symbol("large");
/** Marks a fast read that could not decide (see `#readEntryFast`): read again with an fstat. */
const RECHECK = Symbol("recheck");

/**
 * The fast path's read buffer, shared by every backend of the process (reads and the decode of
 * what they read are synchronous, so they never interleave). It grows to one byte more than the
 * largest entry file read synchronously, so at most `syncReadMaxBytes + 1` bytes (2 MiB by default).
 */
let readBuffer = new Uint8Array(64 * 1024);
/** Entry file names (relative to `entries/`), key bytes and last full path by key, for every backend of the process (cleared when full). */
const namedKeys = new Map<string, NamedKey>();
/** Keys with a remembered value, by entry file path (cleared when full), so a touch can carry the memo over. */
const rememberedByPath = new Map<string, NamedKey>();
/** When this process last refreshed an entry file's mtime, by path (cleared when full). */
const touchedAt = new Map<string, number>();

/**
 * Refreshes an entry file's mtime (LRU by access). The file's ctime changes with it, which would
 * end a remembered value's memo (see `#remembered`): when the file still matched the memo just
 * before the touch and is the same file with the touch's mtime right after (to the ms: utimes takes seconds as a double), the memo takes the
 * new times. (A change in place between those two stats within one timestamp tick is then noticed
 * only once the remembered value dies; what is served meanwhile is the value verified before.)
 */
async function touchFile(path: string, now: Date): Promise<void> {
  const named = rememberedByPath.get(path);
  let m = named?.memo;
  try {
    if (m !== undefined && m.path === path) {
      const before = await stat(path);
      if (before.ino !== m.ino || before.size !== m.size || before.mtimeMs !== m.mtimeMs || before.ctimeMs !== m.ctimeMs) m = undefined;
    } else m = undefined;
    await utimes(path, now, now);
    if (m !== undefined && named!.memo === m) {
      const after = await stat(path);
      named!.memo = after.ino === m.ino && after.size === m.size && Math.abs(after.mtimeMs - now.getTime()) < 1 ? { ...m, mtimeMs: after.mtimeMs, ctimeMs: after.ctimeMs } : undefined;
    }
  } catch {
    if (named !== undefined && named.memo === m) named.memo = undefined;
  }
}

/**
 * A read-only descriptor of `path`, or undefined when there is no such file (an absent entry:
 * ENOENT, or ENOTDIR when a directory on the path is missing or is a file, as while a backend's
 * directory is still being set up or could not be).
 */
function openForReadSync(path: string): number | undefined {
  try {
    return openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

/** The key checks of an entry file: length, CRC-32 and bytes of the stored key against the expected one. */
function checkEntryKey(h: DiskEntryHeader, head: Uint8Array, want: Uint8Array): void {
  if (h.keyLength !== want.byteLength) throw new QuiverFormatError("DISK_ENTRY_KEY_MISMATCH", "the entry file holds another key", { stage: "disk-entry", offset: 8 });
  const keyBytes = head.subarray(DISK_ENTRY_HEADER_SIZE);
  if (keyBytes.byteLength !== h.keyLength) throw new QuiverFormatError("TRUNCATED", "disk entry ends inside its key", { stage: "disk-entry", offset: 24 });
  if (crc32(keyBytes) !== h.keyCrc) throw new QuiverFormatError("CHECKSUM_MISMATCH", "disk entry key CRC-32 mismatch", { stage: "disk-entry", offset: 12 });
  if (!bytesEqual(keyBytes, want)) throw new QuiverFormatError("DISK_ENTRY_KEY_MISMATCH", "the entry file holds another key", { stage: "disk-entry", offset: 24 });
}

/** Write every buffer completely: writev may write less than asked (a nearly full disk); continue, and fail on no progress. */
async function writeFully(fh: FileHandle, buffers: Uint8Array[], total: number): Promise<void> {
  let done = 0;
  let rest = buffers.filter((b) => b.byteLength > 0);
  while (done < total) {
    const { bytesWritten } = await fh.writev(rest, done);
    if (bytesWritten <= 0) throw new Error(`short write: ${done} of ${total} bytes written, then no progress`);
    done += bytesWritten;
    let skip = bytesWritten;
    const next: Uint8Array[] = [];
    for (const b of rest) {
      if (skip >= b.byteLength) {
        skip -= b.byteLength;
        continue;
      }
      next.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    rest = next;
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message.slice(0, 200)}`;
  return typeof e;
}

interface DiskEntryHeader {
  readonly keyLength: number;
  readonly keyCrc: number;
  readonly frameLength: number;
}

/** Validate the fixed header of a disk entry file of `fileSize` bytes (QuiverFormatError otherwise). */
export function parseDiskEntryHeader(header: Uint8Array, fileSize: number): DiskEntryHeader {
  const stage = "disk-entry";
  if (header.byteLength < DISK_ENTRY_HEADER_SIZE) {
    throw new QuiverFormatError("TRUNCATED", `disk entry of ${header.byteLength} bytes, header needs ${DISK_ENTRY_HEADER_SIZE}`, { stage, offset: 0 });
  }
  for (let i = 0; i < 4; i++) {
    if (header[i] !== DISK_ENTRY_MAGIC[i]) throw new QuiverFormatError("BAD_MAGIC", "not a Quiver disk cache entry", { stage, offset: 0 });
  }
  const v = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const version = v.getUint32(4, true);
  if (version !== DISK_ENTRY_VERSION) throw new QuiverFormatError("UNSUPPORTED_VERSION", `disk entry version ${version}`, { stage, offset: 4 });
  const keyLength = v.getUint32(8, true);
  if (keyLength > MAX_CACHE_KEY_BYTES) throw new QuiverFormatError("LIMIT_EXCEEDED", `key of ${keyLength} bytes`, { stage, offset: 8 });
  const frameLength = v.getBigUint64(16, true);
  const expected = BigInt(DISK_ENTRY_HEADER_SIZE + keyLength) + frameLength;
  if (expected !== BigInt(fileSize)) {
    const code = expected > BigInt(fileSize) ? "TRUNCATED" : "TRAILING_BYTES";
    throw new QuiverFormatError(code, `header declares ${expected} bytes, file has ${fileSize}`, { stage, offset: 16 });
  }
  return { keyLength, keyCrc: v.getUint32(12, true), frameLength: Number(frameLength) };
}

async function readEntryKey(path: string): Promise<string> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const h = parseDiskEntryHeader(await readExactly(fh, 0, Math.min(size, DISK_ENTRY_HEADER_SIZE)), size);
    const keyBytes = await readExactly(fh, DISK_ENTRY_HEADER_SIZE, h.keyLength);
    if (crc32(keyBytes) !== h.keyCrc) throw new QuiverFormatError("CHECKSUM_MISMATCH", "disk entry key CRC-32 mismatch", { stage: "disk-entry", offset: 12 });
    return new TextDecoder().decode(keyBytes);
  } finally {
    await fh.close();
  }
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  await readInto(fh, position, out);
  return out;
}

async function readInto(fh: FileHandle, position: number, out: Uint8Array): Promise<void> {
  let done = 0;
  while (done < out.byteLength) {
    const { bytesRead } = await fh.read(out, done, out.byteLength - done, position + done);
    if (bytesRead === 0) throw new QuiverFormatError("TRUNCATED", `file ended after ${position + done} bytes`, { stage: "disk-entry", offset: position + done });
    done += bytesRead;
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
