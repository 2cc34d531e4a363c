import { QuiverFormatError } from "../errors.js";

/**
 * A bounds-checked reader of flatbuffer tables (the encoding of Arrow IPC metadata). Every offset,
 * vtable, vector length and string length is checked against the bytes present before it is
 * used, so hostile metadata can only produce a `QuiverFormatError` (code BAD_ARROW_IPC), never an
 * out-of-bounds read, a huge loop or a huge allocation. Offsets to tables and vectors are unsigned
 * and point forward, so no walk can cycle; vtables are checked separately.
 */
export class FlatReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #stage: string;
  readonly #base: number;

  /** `base` is added to error offsets (the metadata's position in the enclosing input). */
  constructor(bytes: Uint8Array, stage: string, base = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#stage = stage;
    this.#base = base;
  }

  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** Throw BAD_ARROW_IPC naming the position. */
  fail(what: string, at: number): never {
    throw new QuiverFormatError("BAD_ARROW_IPC", `flatbuffer: ${what} at ${this.#base + at}`, { stage: this.#stage, offset: this.#base + at });
  }

  #need(at: number, n: number): void {
    if (!Number.isSafeInteger(at) || at < 0 || !(n >= 0) || n > this.#bytes.byteLength - at) this.fail(`${n} bytes out of bounds`, at);
  }

  /** Position of the root table. */
  root(): number {
    this.#need(0, 4);
    const t = this.#view.getUint32(0, true);
    this.#need(t, 4);
    return t;
  }

  /** Absolute position of field `i` of the table at `t`, or undefined when absent (vtable checked). */
  field(t: number, i: number): number | undefined {
    this.#need(t, 4);
    const vt = t - this.#view.getInt32(t, true);
    this.#need(vt, 4);
    const vtSize = this.#view.getUint16(vt, true);
    const tableSize = this.#view.getUint16(vt + 2, true);
    // apache-arrow's flatbuffers reads vtable entries as int16: values >= 2^15 would mean something else there.
    if (vtSize < 4 || vtSize % 2 !== 0 || vtSize >= 0x8000 || tableSize >= 0x8000) this.fail(`vtable size ${vtSize} / table size ${tableSize}`, vt);
    this.#need(vt, vtSize);
    this.#need(t, tableSize);
    const slot = 4 + 2 * i;
    if (slot + 2 > vtSize) return undefined;
    const fo = this.#view.getUint16(vt + slot, true);
    if (fo === 0) return undefined;
    if (fo < 4 || fo >= tableSize) this.fail(`field ${i} offset ${fo} outside its ${tableSize}-byte table`, t);
    return t + fo;
  }

  /** The table or vector an offset field at `pos` points to. */
  deref(pos: number): number {
    this.#need(pos, 4);
    const off = this.#view.getUint32(pos, true);
    // apache-arrow's flatbuffers reads offsets as int32: 2^31 and above would point backwards there.
    if (off >= 0x80000000) this.fail(`offset ${off}`, pos);
    const target = pos + off;
    this.#need(target, 4);
    return target;
  }

  /** A vector of `elemSize`-byte elements at `pos` (after deref): start of elements and count, bounds-checked. */
  vector(pos: number, elemSize: number): { start: number; length: number } {
    this.#need(pos, 4);
    const length = this.#view.getUint32(pos, true);
    if (length >= 0x80000000 || length > Math.floor((this.#bytes.byteLength - pos - 4) / elemSize)) this.fail(`vector of ${length} x ${elemSize} bytes out of bounds`, pos);
    return { start: pos + 4, length };
  }

  /** The vector an offset field (table field position) points to. */
  vectorField(t: number, i: number, elemSize: number): { start: number; length: number } | undefined {
    const f = this.field(t, i);
    return f === undefined ? undefined : this.vector(this.deref(f), elemSize);
  }

  /** The table an offset field points to, or undefined. */
  tableField(t: number, i: number): number | undefined {
    const f = this.field(t, i);
    return f === undefined ? undefined : this.deref(f);
  }

  /** Element `k` of a vector of tables (offsets). */
  tableAt(v: { start: number }, k: number): number {
    return this.deref(v.start + 4 * k);
  }

  /** A string field as UTF-8 bytes' decoded text (bounds-checked; invalid UTF-8 is BAD_ARROW_IPC). */
  stringField(t: number, i: number): string | undefined {
    const f = this.field(t, i);
    if (f === undefined) return undefined;
    const v = this.vector(this.deref(f), 1);
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(this.#bytes.subarray(v.start, v.start + v.length));
    } catch {
      return this.fail("string is not UTF-8", v.start);
    }
  }

  u8(pos: number): number {
    this.#need(pos, 1);
    return this.#view.getUint8(pos);
  }
  i16(pos: number): number {
    this.#need(pos, 2);
    return this.#view.getInt16(pos, true);
  }
  i32(pos: number): number {
    this.#need(pos, 4);
    return this.#view.getInt32(pos, true);
  }

  /** A little-endian int64 that must be a non-negative safe integer. */
  i64(pos: number): number {
    this.#need(pos, 8);
    const v = this.#view.getBigInt64(pos, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`int64 ${v} is not a non-negative safe integer`, pos);
    return Number(v);
  }

  /** Scalar field helpers with the flatbuffer default when absent. */
  u8Field(t: number, i: number, dflt: number): number {
    const f = this.field(t, i);
    return f === undefined ? dflt : this.u8(f);
  }
  i16Field(t: number, i: number, dflt: number): number {
    const f = this.field(t, i);
    return f === undefined ? dflt : this.i16(f);
  }
  i32Field(t: number, i: number, dflt: number): number {
    const f = this.field(t, i);
    return f === undefined ? dflt : this.i32(f);
  }
  i64Field(t: number, i: number, dflt: number): number {
    const f = this.field(t, i);
    return f === undefined ? dflt : this.i64(f);
  }
  boolField(t: number, i: number): boolean {
    const f = this.field(t, i);
    return f !== undefined && this.u8(f) !== 0;
  }
}
