import { QuiverFormatError } from "@quiver/format";

/**
 * A bounds-checked reader of the few flatbuffer tables Quiver needs from Arrow IPC metadata (the
 * file footer's block list and a record batch message's nodes and buffers). apache-arrow's own
 * decoder trusts vector lengths (a flipped bit can make it loop for billions of steps), so
 * untrusted metadata is read here and every offset and length is checked before use.
 */
export class FlatReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #stage: string;

  constructor(bytes: Uint8Array, stage: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#stage = stage;
  }

  #fail(what: string, at: number): never {
    throw new QuiverFormatError("BAD_ARROW_IPC", `flatbuffer: ${what} at ${at}`, { stage: this.#stage, offset: at });
  }

  #need(at: number, n: number): void {
    if (!Number.isSafeInteger(at) || at < 0 || n > this.#bytes.byteLength - at) this.#fail(`${n} bytes out of bounds`, at);
  }

  /** Position of the root table. */
  root(): number {
    this.#need(0, 4);
    const t = this.#view.getUint32(0, true);
    this.#need(t, 4);
    return t;
  }

  /** Absolute position of field `i` of the table at `t`, or undefined when absent. */
  field(t: number, i: number): number | undefined {
    this.#need(t, 4);
    const vt = t - this.#view.getInt32(t, true);
    this.#need(vt, 4);
    const vtSize = this.#view.getUint16(vt, true);
    const slot = 4 + 2 * i;
    if (slot + 2 > vtSize) return undefined;
    this.#need(vt, slot + 2);
    const fo = this.#view.getUint16(vt + slot, true);
    if (fo === 0) return undefined;
    this.#need(t + fo, 1);
    return t + fo;
  }

  /** The table or vector an offset field at `pos` points to. */
  deref(pos: number): number {
    this.#need(pos, 4);
    const target = pos + this.#view.getUint32(pos, true);
    this.#need(target, 4);
    return target;
  }

  /** A vector of `elemSize`-byte structs at `pos` (after deref): start of elements and count, bounds-checked. */
  vector(pos: number, elemSize: number): { start: number; length: number } {
    this.#need(pos, 4);
    const length = this.#view.getUint32(pos, true);
    this.#need(pos + 4, length * elemSize);
    return { start: pos + 4, length };
  }

  u8(pos: number): number {
    this.#need(pos, 1);
    return this.#view.getUint8(pos);
  }

  i32(pos: number): number {
    this.#need(pos, 4);
    return this.#view.getInt32(pos, true);
  }

  /** A little-endian int64 that must be a non-negative safe integer. */
  i64(pos: number): number {
    this.#need(pos, 8);
    const v = this.#view.getBigInt64(pos, true);
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) this.#fail(`int64 ${v} is not a non-negative safe integer`, pos);
    return Number(v);
  }
}

/** Record batch blocks of an Arrow IPC file footer (Footer.recordBatches, 24-byte Block structs). */
export function footerBlocks(footer: Uint8Array): { offset: number; metaDataLength: number; bodyLength: number }[] {
  const r = new FlatReader(footer, "bucket");
  const root = r.root();
  const f = r.field(root, 3);
  if (f === undefined) return [];
  const { start, length } = r.vector(r.deref(f), 24);
  const out = [];
  for (let i = 0; i < length; i++) {
    const at = start + i * 24;
    out.push({ offset: r.i64(at), metaDataLength: r.i32(at + 8), bodyLength: r.i64(at + 16) });
  }
  return out;
}

/** What a record batch message's metadata says: row count, field nodes and body buffers. */
export interface RecordBatchMeta {
  readonly length: number;
  readonly nodes: { length: number; nullCount: number }[];
  readonly buffers: { offset: number; length: number }[];
}

/** Decode a record batch message's metadata flatbuffer (no compression, no variadic buffers). */
export function recordBatchMeta(meta: Uint8Array): RecordBatchMeta {
  const r = new FlatReader(meta, "bucket");
  const msg = r.root();
  const ht = r.field(msg, 1);
  if (ht === undefined || r.u8(ht) !== 3) throw new QuiverFormatError("BAD_ARROW_IPC", "message is not a record batch", { stage: "bucket" });
  const hf = r.field(msg, 2);
  if (hf === undefined) throw new QuiverFormatError("BAD_ARROW_IPC", "record batch message without header", { stage: "bucket" });
  const rb = r.deref(hf);
  const lf = r.field(rb, 0);
  const length = lf === undefined ? 0 : r.i64(lf);
  if (r.field(rb, 3) !== undefined) throw new QuiverFormatError("BAD_ARROW_IPC", "compressed record batch bodies are not allowed", { stage: "bucket" });
  const nodes = [];
  const nf = r.field(rb, 1);
  if (nf !== undefined) {
    const v = r.vector(r.deref(nf), 16);
    for (let i = 0; i < v.length; i++) nodes.push({ length: r.i64(v.start + i * 16), nullCount: r.i64(v.start + i * 16 + 8) });
  }
  const buffers = [];
  const bf = r.field(rb, 2);
  if (bf !== undefined) {
    const v = r.vector(r.deref(bf), 16);
    for (let i = 0; i < v.length; i++) buffers.push({ offset: r.i64(v.start + i * 16), length: r.i64(v.start + i * 16 + 8) });
  }
  return { length, nodes, buffers };
}
