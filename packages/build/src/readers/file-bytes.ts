/** Positional reads of a local file (or of bytes already in memory) with exact lengths. */
import { open } from "node:fs/promises";

/** An open file: its size and bounded reads. */
export class FileBytes {
  private constructor(
    readonly path: string,
    readonly size: number,
    private readonly readAt: (buf: Uint8Array, at: number, length: number, position: number) => Promise<number>,
    private readonly closeFn: () => Promise<void>,
  ) {}

  static async open(path: string): Promise<FileBytes> {
    const fh = await open(path, "r");
    const st = await fh.stat();
    return new FileBytes(path, st.size, async (buf, at, length, position) => (await fh.read(buf, at, length, position)).bytesRead, () => fh.close());
  }

  /** Bytes already in memory (a committed object read from a store) behind the same interface. */
  static fromBytes(name: string, bytes: Uint8Array): FileBytes {
    return new FileBytes(name, bytes.byteLength, async (buf, at, length, position) => {
      const n = Math.max(0, Math.min(length, bytes.byteLength - position));
      buf.set(bytes.subarray(position, position + n), at);
      return n;
    }, async () => {});
  }

  /** Read `length` bytes at `offset` (fewer at the end of the file) into a fresh array. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const r = await this.readAt(buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return got === n ? buf : buf.subarray(0, got);
  }

  /** Read up to `buf.byteLength` bytes at `offset` into `buf` (fewer at the end of the file); the count read. */
  async readInto(buf: Uint8Array, offset: number): Promise<number> {
    const n = Math.max(0, Math.min(buf.byteLength, this.size - offset));
    let got = 0;
    while (got < n) {
      const r = await this.readAt(buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return got;
  }

  async close(): Promise<void> {
    await this.closeFn();
  }
}
