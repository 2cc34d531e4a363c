import { QuiverStoreError } from "./errors.js";
import {
  type ByteRange,
  type GetRangesOptions,
  type ObjectMeta,
  type ObjectReader,
  type ObjectStore,
  type PutOptions,
  checkPath,
  checkPrefix,
  checkWritablePath,
  checkRange,
  getRangesViaCoalescing,
  readIntoViaCoalescing,
  ownedCopy,
} from "./object-store.js";
import { type ObjectWriter, ObjectWriterBase, checkWriterArguments, joinChunks } from "./object-writer.js";

/** An in-process object store. Puts replace a map entry in one step, so they are atomic. */
export class MemoryObjectStore implements ObjectStore {
  readonly #objects = new Map<string, Uint8Array>();

  async get(path: string): Promise<Uint8Array> {
    return ownedCopy(this.#object(path));
  }

  async getRange(path: string, range: ByteRange): Promise<Uint8Array> {
    checkRange(path, range);
    const obj = this.#object(path);
    if (range.offset > obj.byteLength || range.length > obj.byteLength - range.offset) {
      throw new QuiverStoreError("RANGE_OUT_OF_BOUNDS", path, `range ${range.offset}+${range.length} of a ${obj.byteLength}-byte object`);
    }
    return ownedCopy(obj.subarray(range.offset, range.offset + range.length));
  }

  getRanges(path: string, ranges: readonly ByteRange[], options?: GetRangesOptions): Promise<Uint8Array[]> {
    return getRangesViaCoalescing(this, path, ranges, options);
  }

  /** A reader pinned to the object's bytes at open (a later put or delete replaces the map entry, not these bytes). */
  async openReader(path: string): Promise<ObjectReader> {
    return new MemoryObjectReader(path, this.#object(path));
  }

  async head(path: string): Promise<ObjectMeta> {
    return { path, size: this.#object(path).byteLength };
  }

  async put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    checkWritablePath(path);
    this.#commit(path, ownedCopy(data), options.ifAbsent === true);
  }

  /** A writer whose chunks are copied and joined at commit; the commit is one map update (atomic). */
  async createWriter(path: string, options: PutOptions = {}): Promise<ObjectWriter> {
    checkWriterArguments(path, options);
    return new MemoryObjectWriter(path, (data) => this.#commit(path, data, options.ifAbsent === true));
  }

  #commit(path: string, data: Uint8Array, ifAbsent: boolean): void {
    if (ifAbsent && this.#objects.has(path)) throw new QuiverStoreError("ALREADY_EXISTS", path, "an object exists at this path");
    this.#objects.set(path, data);
  }

  async list(prefix: string): Promise<ObjectMeta[]> {
    checkPrefix(prefix);
    const out: ObjectMeta[] = [];
    for (const [path, data] of this.#objects) if (path.startsWith(prefix)) out.push({ path, size: data.byteLength });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async delete(path: string): Promise<void> {
    checkPath(path);
    this.#objects.delete(path);
  }

  async copy(from: string, to: string): Promise<void> {
    checkWritablePath(to);
    this.#objects.set(to, this.#object(from));
  }

  async rename(from: string, to: string): Promise<void> {
    checkWritablePath(to);
    const obj = this.#object(from);
    this.#objects.set(to, obj);
    if (from !== to) this.#objects.delete(from);
  }

  #object(path: string): Uint8Array {
    checkPath(path);
    const obj = this.#objects.get(path);
    if (obj === undefined) throw new QuiverStoreError("NOT_FOUND", path, "no such object");
    return obj;
  }
}

class MemoryObjectWriter extends ObjectWriterBase {
  readonly #commit: (data: Uint8Array) => void;
  #chunks: Uint8Array[] = [];

  constructor(path: string, commit: (data: Uint8Array) => void) {
    super(path);
    this.#commit = commit;
  }

  protected async writeChunk(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength > 0) this.#chunks.push(chunk.slice());
  }

  protected async finish(): Promise<void> {
    const data = joinChunks(this.#chunks, this.bytesWritten);
    this.#chunks = [];
    this.#commit(data);
  }

  protected async discard(): Promise<void> {
    this.#chunks = [];
  }
}

/** {@link MemoryObjectStore.openReader}'s reader: copies out of the bytes it pinned. */
class MemoryObjectReader implements ObjectReader {
  readonly pinned = true;
  readonly size: number;
  #bytes: Uint8Array | undefined;

  constructor(
    readonly path: string,
    bytes: Uint8Array,
  ) {
    this.#bytes = bytes;
    this.size = bytes.byteLength;
  }

  async readRangesInto(ranges: readonly ByteRange[], target: Uint8Array, options?: GetRangesOptions): Promise<void> {
    const bytes = this.#bytes;
    if (bytes === undefined) throw new QuiverStoreError("READER_CLOSED", this.path, "read on an object reader that was closed");
    await readIntoViaCoalescing(this.path, this.size, ranges, target, options, async (offset, length, dest) => dest.set(bytes.subarray(offset, offset + length)));
  }

  async close(): Promise<void> {
    this.#bytes = undefined;
  }
}
