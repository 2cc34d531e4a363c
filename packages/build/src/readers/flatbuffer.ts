/**
 * A bounds-checked reader of FlatBuffers tables over a byte buffer (hostile input): every offset
 * is checked against the buffer before it is followed, vectors are bounded by the bytes they
 * would occupy, and nesting is bounded by the caller. Throws `BadFlatbuffer` with a short reason;
 * callers turn it into their own typed error.
 */

/** A malformed flatbuffer. */
export class BadFlatbuffer extends Error {
  override readonly name = "BadFlatbuffer";
}

/** One table of a flatbuffer. */
export class FbTable {
  private constructor(
    private readonly view: DataView,
    readonly pos: number,
    private readonly vtable: number,
    private readonly vtableSize: number,
  ) {}

  /** The root table of `bytes`. */
  static root(bytes: Uint8Array): FbTable {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return FbTable.at(view, u32(view, 0));
  }

  private static at(view: DataView, pos: number): FbTable {
    need(view, pos, 4);
    const vt = pos - view.getInt32(pos, true);
    need(view, vt, 4);
    const vtSize = view.getUint16(vt, true);
    if (vtSize < 4 || vtSize % 2 !== 0) throw new BadFlatbuffer(`vtable size ${vtSize}`);
    need(view, vt, vtSize);
    const tableSize = view.getUint16(vt + 2, true);
    need(view, pos, Math.max(4, tableSize));
    return new FbTable(view, pos, vt, vtSize);
  }

  /** Byte position of field `i`, or undefined when absent. */
  private field(i: number, size: number): number | undefined {
    const at = 4 + 2 * i;
    if (at + 2 > this.vtableSize) return undefined;
    const off = this.view.getUint16(this.vtable + at, true);
    if (off === 0) return undefined;
    need(this.view, this.pos + off, size);
    return this.pos + off;
  }

  has(i: number): boolean {
    return this.field(i, 0) !== undefined;
  }
  u8(i: number, dflt = 0): number {
    const p = this.field(i, 1);
    return p === undefined ? dflt : this.view.getUint8(p);
  }
  i16(i: number, dflt = 0): number {
    const p = this.field(i, 2);
    return p === undefined ? dflt : this.view.getInt16(p, true);
  }
  i32(i: number, dflt = 0): number {
    const p = this.field(i, 4);
    return p === undefined ? dflt : this.view.getInt32(p, true);
  }
  /** An int64 field as a number; above 2^53 is rejected. */
  i64(i: number, dflt = 0): number {
    const p = this.field(i, 8);
    if (p === undefined) return dflt;
    const v = this.view.getBigInt64(p, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw new BadFlatbuffer(`int64 field ${i} out of range`);
    return Number(v);
  }
  private target(i: number): number | undefined {
    const p = this.field(i, 4);
    if (p === undefined) return undefined;
    return p + u32(this.view, p);
  }
  table(i: number): FbTable | undefined {
    const t = this.target(i);
    return t === undefined ? undefined : FbTable.at(this.view, t);
  }
  string(i: number, maxBytes: number): string | undefined {
    const t = this.target(i);
    if (t === undefined) return undefined;
    const len = u32(this.view, t);
    if (len > maxBytes) throw new BadFlatbuffer(`string of ${len} bytes`);
    need(this.view, t + 4, len);
    return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(this.view.buffer, this.view.byteOffset + t + 4, len));
  }
  /** Length and first element position of a vector of `elemSize`-byte elements (bounded by the buffer). */
  vector(i: number, elemSize: number): { length: number; at: number } | undefined {
    const t = this.target(i);
    if (t === undefined) return undefined;
    const length = u32(this.view, t);
    need(this.view, t + 4, length * elemSize);
    return { length, at: t + 4 };
  }
  /** Tables of a vector of tables. */
  tables(i: number, max: number): FbTable[] {
    const v = this.vector(i, 4);
    if (v === undefined) return [];
    if (v.length > max) throw new BadFlatbuffer(`vector of ${v.length} tables`);
    const out: FbTable[] = [];
    for (let k = 0; k < v.length; k++) {
      const p = v.at + 4 * k;
      out.push(FbTable.at(this.view, p + u32(this.view, p)));
    }
    return out;
  }
  /** An int64 from a struct vector element (`at` from {@link vector}). */
  structI64(at: number): number {
    need(this.view, at, 8);
    const v = this.view.getBigInt64(at, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadFlatbuffer("negative or huge int64 in a struct");
    return Number(v);
  }
}

function need(view: DataView, pos: number, len: number): void {
  if (!(pos >= 0 && len >= 0 && pos + len <= view.byteLength)) throw new BadFlatbuffer(`offset ${pos}+${len} outside ${view.byteLength} bytes`);
}

function u32(view: DataView, pos: number): number {
  need(view, pos, 4);
  return view.getUint32(pos, true);
}
