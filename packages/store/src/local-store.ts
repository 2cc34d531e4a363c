import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as nodePath from "node:path";
import { QuiverStoreError } from "./errors.js";
import {
  type ByteRange,
  type GetRangesOptions,
  type ObjectMeta,
  type ObjectStore,
  checkPath,
  checkPrefix,
  checkRange,
  getRangesViaCoalescing,
} from "./object-store.js";

/** Temporary files of in-flight puts start with this; `list` never reports them. */
export const TEMP_FILE_PREFIX = ".quiver-tmp-";

/**
 * An object store over a local directory. A put writes a temporary file next to the target and
 * renames it over the target (rename is atomic on POSIX file systems), so readers see the old or
 * the new object. A reader holds its file descriptor, so a concurrent replace never tears a read.
 */
export class LocalDirectoryStore implements ObjectStore {
  readonly root: string;

  constructor(root: string) {
    this.root = nodePath.resolve(root);
  }

  /** Absolute file-system path of an object. */
  filePath(path: string): string {
    checkPath(path);
    return nodePath.join(this.root, ...path.split("/"));
  }

  async get(path: string): Promise<Uint8Array> {
    return this.#withFile(path, (fh, size) => readExactly(fh, path, 0, size));
  }

  async getRange(path: string, range: ByteRange): Promise<Uint8Array> {
    checkRange(path, range);
    return this.#withFile(path, async (fh, size) => {
      if (range.offset > size || range.length > size - range.offset) {
        throw new QuiverStoreError("RANGE_OUT_OF_BOUNDS", path, `range ${range.offset}+${range.length} of a ${size}-byte object`);
      }
      return readExactly(fh, path, range.offset, range.length);
    });
  }

  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]> {
    return getRangesViaCoalescing(this, path, ranges, options);
  }

  async head(path: string): Promise<ObjectMeta> {
    try {
      const st = await fs.stat(this.filePath(path));
      if (!st.isFile()) throw new QuiverStoreError("NOT_FOUND", path, "not a file");
      return { path, size: st.size };
    } catch (e) {
      throw mapError(e, path);
    }
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const target = this.filePath(path);
    const tmp = tempPathFor(target);
    try {
      await fs.mkdir(nodePath.dirname(target), { recursive: true });
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw mapError(e, path);
    }
  }

  async list(prefix: string): Promise<ObjectMeta[]> {
    checkPrefix(prefix);
    const out: ObjectMeta[] = [];
    // Walk only the directory the prefix points into, not the whole root.
    const slash = prefix.lastIndexOf("/");
    const startRel = slash < 0 ? "" : prefix.slice(0, slash);
    const walk = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(rel === "" ? this.root : nodePath.join(this.root, ...rel.split("/")), { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT" || (e as NodeJS.ErrnoException).code === "ENOTDIR") return;
        throw mapError(e, rel);
      }
      for (const ent of entries) {
        if (ent.name.startsWith(TEMP_FILE_PREFIX)) continue;
        const p = rel === "" ? ent.name : `${rel}/${ent.name}`;
        if (ent.isDirectory()) {
          if (p.startsWith(prefix) || prefix.startsWith(`${p}/`)) await walk(p);
        } else if (ent.isFile() && p.startsWith(prefix)) {
          try {
            const st = await fs.stat(nodePath.join(this.root, ...p.split("/")));
            out.push({ path: p, size: st.size });
          } catch {
            // Deleted between readdir and stat: not listed.
          }
        }
      }
    };
    await walk(startRel);
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    const file = this.filePath(path);
    try {
      await fs.unlink(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // Absent, or a directory (a prefix of other objects, not an object): nothing to delete.
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR" || code === "EPERM") {
        if (code !== "EPERM" || (await fs.stat(file).catch(() => undefined))?.isDirectory() === true) return;
      }
      throw mapError(e, path);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const src = this.filePath(from);
    const target = this.filePath(to);
    const tmp = tempPathFor(target);
    try {
      await fs.mkdir(nodePath.dirname(target), { recursive: true });
      await fs.copyFile(src, tmp);
      await fs.rename(tmp, target);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw mapError(e, from);
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.filePath(from);
    const target = this.filePath(to);
    try {
      // Check the source first so a missing one is NOT_FOUND without creating directories.
      const st = await fs.stat(source);
      if (!st.isFile()) throw new QuiverStoreError("NOT_FOUND", from, "not a file");
      await fs.mkdir(nodePath.dirname(target), { recursive: true });
      await fs.rename(source, target);
    } catch (e) {
      throw mapError(e, from);
    }
  }

  /** Open the object's file (size from the open descriptor, so a concurrent replace cannot change it). */
  async #withFile<T>(path: string, fn: (fh: fs.FileHandle, size: number) => Promise<T>): Promise<T> {
    const file = this.filePath(path);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, "r");
    } catch (e) {
      throw mapError(e, path);
    }
    try {
      const st = await fh.stat();
      // open(2) succeeds on a directory; a directory is a prefix of objects, not an object.
      if (!st.isFile()) throw new QuiverStoreError("NOT_FOUND", path, "not a file");
      return await fn(fh, st.size);
    } catch (e) {
      throw mapError(e, path);
    } finally {
      await fh.close();
    }
  }
}

function tempPathFor(target: string): string {
  return nodePath.join(nodePath.dirname(target), `${TEMP_FILE_PREFIX}${process.pid}-${randomBytes(6).toString("hex")}-${nodePath.basename(target)}`);
}

async function readExactly(fh: fs.FileHandle, path: string, offset: number, length: number): Promise<Uint8Array> {
  // allocUnsafeSlow: never from the shared pool, so byteOffset is 0 and views are aligned.
  const buf = Buffer.allocUnsafeSlow(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
    if (bytesRead === 0) throw new QuiverStoreError("IO_ERROR", path, `object shrank while reading (${done} of ${length} bytes)`);
    done += bytesRead;
  }
  return new Uint8Array(buf.buffer, 0, length);
}

function mapError(e: unknown, path: string): Error {
  if (e instanceof QuiverStoreError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") return new QuiverStoreError("NOT_FOUND", path, "no such object", { cause: e });
  return new QuiverStoreError("IO_ERROR", path, (e as Error).message, { cause: e });
}
