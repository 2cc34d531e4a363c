import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { QuiverFormatError, crc32 } from "@quiver/format";
import { MAX_CACHE_KEY_BYTES } from "./cache-key.js";
import { InflightLoads } from "./internal/inflight.js";
import type { CacheBackend, CacheEntry, CacheLogger, ErasedCodec, GetOrInsertResult } from "./types.js";

/** Magic of a disk entry file: "QVCD". */
export const DISK_ENTRY_MAGIC = Uint8Array.of(0x51, 0x56, 0x43, 0x44);
/** Version of the disk entry file layout (spec/cache.md#disk-entry-file). */
export const DISK_ENTRY_VERSION = 1;
/** Bytes of the fixed disk entry header before the key. */
export const DISK_ENTRY_HEADER_SIZE = 24;
/** File extension of disk entries. */
const ENTRY_EXT = ".qce";
/** Temp files older than this are leftovers of a crashed writer. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** Options of {@link DiskCacheBackend}. */
export interface DiskCacheBackendOptions {
  /** Directory holding the cache; created when missing; may be shared by several processes. */
  readonly directory: string;
  /** Byte capacity of the entry files; least recently accessed entries are evicted above it. Default 1 GiB. */
  readonly maxBytes?: number;
  /** Where absorbed problems are reported; default console. */
  readonly logger?: CacheLogger;
}

/** Counters of what the disk backend absorbed instead of throwing. */
export interface DiskCacheCounters {
  /** Inserts without a codec (values that cannot be persisted). */
  skippedWithoutCodec: number;
  /** Corrupt, truncated or foreign entry files found, deleted and reported as misses. */
  corruptDeleted: number;
  /** Writes that failed with an IO error and were dropped. */
  writeErrors: number;
  /** Entry files removed by capacity eviction. */
  evicted: number;
}

interface ScannedFile {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

const utf8 = new TextEncoder();

/**
 * A directory of cache-entry files shared safely by several processes: one file per key (named by
 * the SHA-256 of the key), written to a temp file and renamed into place, so a reader sees either
 * the old or the new complete file. Hits refresh the file's mtime; eviction removes the oldest
 * mtimes first. A file that fails any check is deleted and reported as a miss.
 */
export class DiskCacheBackend implements CacheBackend {
  readonly persistent = true;
  readonly directory: string;
  readonly maxBytes: number;
  readonly counters: DiskCacheCounters = { skippedWithoutCodec: 0, corruptDeleted: 0, writeErrors: 0, evicted: 0 };
  readonly #entriesDir: string;
  readonly #tmpDir: string;
  readonly #logger: CacheLogger;
  readonly #inflight = new InflightLoads();
  readonly #keyWrites = new Map<string, Promise<void>>();
  readonly #ready: Promise<void>;
  #count = 0;
  #size = 0;
  #writtenSinceScan = 0;
  #scanning: Promise<void> | undefined;

  constructor(options: DiskCacheBackendOptions) {
    this.directory = options.directory;
    this.maxBytes = options.maxBytes ?? 1024 * 1024 * 1024;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1) throw new RangeError(`maxBytes ${this.maxBytes}`);
    const entriesDir = join(this.directory, "entries");
    const tmpDir = join(this.directory, "tmp");
    this.#entriesDir = entriesDir;
    this.#tmpDir = tmpDir;
    this.#logger = options.logger ?? console;
    this.#ready = (async () => {
      await mkdir(entriesDir, { recursive: true });
      await mkdir(tmpDir, { recursive: true });
      await this.#scanAndEvict();
    })();
    // Surface the error on first use, not as an unhandled rejection.
    this.#ready.catch(() => undefined);
  }

  /** Open a backend over `directory` once its initial scan has finished. */
  static async open(options: DiskCacheBackendOptions): Promise<DiskCacheBackend> {
    const b = new DiskCacheBackend(options);
    await b.#ready;
    return b;
  }

  /** The decoded entry; a miss when absent, without a codec, or when the file fails a check (then it is deleted). */
  async get(key: string, codec?: ErasedCodec): Promise<CacheEntry | undefined> {
    await this.#ready;
    if (codec === undefined) return undefined;
    const path = this.#pathFor(key);
    let frame: Uint8Array | undefined;
    try {
      frame = await this.#readEntryFile(path, key);
    } catch (e) {
      if (e instanceof QuiverFormatError) {
        await this.#deleteCorrupt(path, e);
        return undefined;
      }
      this.#logger.warn(`quiver cache: disk read of ${path} failed: ${String(e)}`);
      return undefined;
    }
    if (frame === undefined) return undefined;
    try {
      return codec.decode(frame);
    } catch (e) {
      await this.#deleteCorrupt(path, e);
      return undefined;
    }
  }

  /** Write `codec.encode(value)` atomically; without a codec the insert is skipped and counted. */
  async insert(key: string, entry: CacheEntry, codec?: ErasedCodec): Promise<void> {
    await this.#ready;
    if (codec === undefined) {
      this.counters.skippedWithoutCodec++;
      return;
    }
    const frame = codec.encode(entry.value);
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

  /** The cached entry or the de-duplicated (in this process) result of `loader`. */
  getOrInsert(key: string, loader: () => Promise<CacheEntry>, codec?: ErasedCodec): Promise<GetOrInsertResult> {
    return this.#inflight.run(
      key,
      () => this.get(key, codec),
      loader,
      (e) => this.insert(key, e, codec),
    );
  }

  /** Delete every entry whose key starts with `prefix` (reads each file's key header). */
  async invalidatePrefix(prefix: string): Promise<void> {
    await this.#ready;
    for (const f of await this.#listEntries()) {
      let key: string | undefined;
      try {
        key = await readEntryKey(f.path);
      } catch {
        key = undefined; // unreadable header: a corrupt file, remove it too
      }
      if (key === undefined || key.startsWith(prefix)) await this.#remove(f.path, f.size);
    }
  }

  /** Delete every entry file. */
  async clear(): Promise<void> {
    await this.#ready;
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

  /** Re-read the directory (picks up other processes' writes) and evict down to capacity. */
  async refresh(): Promise<void> {
    await this.#ready;
    await this.#scanAndEvict();
  }

  /** Nothing to release (files are opened per operation). */
  async close(): Promise<void> {
    await this.#ready.catch(() => undefined);
    await this.#scanning;
  }

  #pathFor(key: string): string {
    const h = createHash("sha256").update(key, "utf8").digest("hex");
    return join(this.#entriesDir, h.slice(0, 2), h + ENTRY_EXT);
  }

  /** The frame bytes of the entry file for `key` in a buffer of their own; undefined when absent. */
  async #readEntryFile(path: string, key: string): Promise<Uint8Array | undefined> {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const st = await fh.stat();
      const size = st.size;
      const want = utf8.encode(key);
      // One read for header and key: the key we expect tells how long it should be.
      const head = await readExactly(fh, 0, Math.min(size, DISK_ENTRY_HEADER_SIZE + want.byteLength));
      const h = parseDiskEntryHeader(head, size);
      if (h.keyLength !== want.byteLength) throw new QuiverFormatError("DISK_ENTRY_KEY_MISMATCH", "the entry file holds another key", { stage: "disk-entry", offset: 8 });
      const keyBytes = head.subarray(DISK_ENTRY_HEADER_SIZE);
      if (keyBytes.byteLength !== h.keyLength) throw new QuiverFormatError("TRUNCATED", "disk entry ends inside its key", { stage: "disk-entry", offset: 24 });
      if (crc32(keyBytes) !== h.keyCrc) throw new QuiverFormatError("CHECKSUM_MISMATCH", "disk entry key CRC-32 mismatch", { stage: "disk-entry", offset: 12 });
      if (!bytesEqual(keyBytes, want)) throw new QuiverFormatError("DISK_ENTRY_KEY_MISMATCH", "the entry file holds another key", { stage: "disk-entry", offset: 24 });
      // A fresh, exactly sized buffer: decoded views then pin only the frame (size accounting).
      const frame = new Uint8Array(h.frameLength);
      await readInto(fh, DISK_ENTRY_HEADER_SIZE + h.keyLength, frame);
      // LRU by access: refresh mtime, at most once per second per file (saves a syscall on hot keys).
      const now = Date.now();
      if (now - st.mtimeMs > 1000) await fh.utimes(new Date(now), new Date(now)).catch(() => undefined);
      return frame;
    } finally {
      await fh.close();
    }
  }

  async #writeEntryFile(key: string, frame: Uint8Array): Promise<void> {
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
    try {
      const fh = await open(tmp, "w");
      try {
        await fh.writev([header, keyBytes, frame]);
      } finally {
        await fh.close();
      }
      const old = await stat(path).then((s) => s.size, () => 0);
      try {
        await rename(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        // The shard directory does not exist yet (or clear() removed it): create it, retry once.
        await mkdir(join(path, ".."), { recursive: true });
        await rename(tmp, path);
      }
      if (old === 0) this.#count++;
      this.#size += total - old;
      this.#writtenSinceScan += total;
    } catch (e) {
      this.counters.writeErrors++;
      this.#logger.warn(`quiver cache: disk write to ${path} dropped: ${String(e)}`);
      await rm(tmp, { force: true }).catch(() => undefined);
      return;
    }
    // Other processes write too: rescan when our view may be stale by a tenth of the capacity.
    if (this.#size > this.maxBytes || this.#writtenSinceScan > this.maxBytes / 10) await this.#scanAndEvict();
  }

  async #deleteCorrupt(path: string, e: unknown): Promise<void> {
    this.counters.corruptDeleted++;
    const code = e instanceof QuiverFormatError ? e.code : String(e);
    this.#logger.warn(`quiver cache: deleted unreadable entry ${path} (${code})`);
    const size = await stat(path).then((s) => s.size, () => 0);
    await this.#remove(path, size);
  }

  async #remove(path: string, size: number): Promise<void> {
    try {
      await unlink(path);
      this.#count = Math.max(0, this.#count - 1);
      this.#size = Math.max(0, this.#size - size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
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

  /** One scan at a time: recount from the directory, evict oldest-accessed down to 90 % when over capacity. */
  #scanAndEvict(): Promise<void> {
    this.#scanning ??= (async () => {
      try {
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
            await this.#remove(f.path, f.size);
            this.counters.evicted++;
          }
        }
        await this.#removeStaleTemps();
      } finally {
        this.#scanning = undefined;
      }
    })();
    return this.#scanning;
  }

  async #removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const n of await readdir(this.#tmpDir).catch(() => [] as string[])) {
      const p = join(this.#tmpDir, n);
      const s = await stat(p).catch(() => undefined);
      if (s !== undefined && now - s.mtimeMs > STALE_TEMP_MS) await rm(p, { force: true }).catch(() => undefined);
    }
  }
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
