import { QuiverFormatError } from "../errors.js";

/**
 * The one bounds-checked reader for all byte access in Quiver decoders. Every read checks that
 * `[at, at + size)` lies inside the input before touching it; 64-bit values come back as numbers
 * only when they are exact (<= Number.MAX_SAFE_INTEGER), otherwise the read fails.
 */
export class ByteCursor {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly length: number;
  /** Reported position of the input within an enclosing object (for error offsets). */
  readonly base: number;

  constructor(bytes: Uint8Array, base = 0) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.length = bytes.byteLength;
    this.base = base;
  }

  /** Throws TRUNCATED unless `[at, at + size)` lies inside the input. */
  require(at: number, size: number, stage: string, what: string): void {
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(size) || at < 0 || size < 0) {
      throw new QuiverFormatError("LIMIT_EXCEEDED", `${what}: position ${at}+${size} is not a safe integer range`, {
        stage,
        offset: this.base,
      });
    }
    if (at > this.length || size > this.length - at) {
      throw new QuiverFormatError(
        "TRUNCATED",
        `${what}: need bytes [${at}, ${at + size}) but input has ${this.length}`,
        { stage, offset: this.base + Math.min(at, this.length) },
      );
    }
  }

  u8(at: number, stage: string, what: string): number {
    this.require(at, 1, stage, what);
    return this.view.getUint8(at);
  }

  u16(at: number, stage: string, what: string): number {
    this.require(at, 2, stage, what);
    return this.view.getUint16(at, true);
  }

  u32(at: number, stage: string, what: string): number {
    this.require(at, 4, stage, what);
    return this.view.getUint32(at, true);
  }

  i32(at: number, stage: string, what: string): number {
    this.require(at, 4, stage, what);
    return this.view.getInt32(at, true);
  }

  f32(at: number, stage: string, what: string): number {
    this.require(at, 4, stage, what);
    return this.view.getFloat32(at, true);
  }

  f64(at: number, stage: string, what: string): number {
    this.require(at, 8, stage, what);
    return this.view.getFloat64(at, true);
  }

  /** Unsigned 64-bit little-endian value as an exact BigInt. */
  u64Big(at: number, stage: string, what: string): bigint {
    this.require(at, 8, stage, what);
    return this.view.getBigUint64(at, true);
  }

  /** Unsigned 64-bit value as a number; LIMIT_EXCEEDED when above 2^53 - 1. */
  u64(at: number, stage: string, what: string): number {
    const v = this.u64Big(at, stage, what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new QuiverFormatError("LIMIT_EXCEEDED", `${what}: ${v} exceeds 2^53-1`, { stage, offset: this.base + at });
    }
    return Number(v);
  }

  /** A view (no copy) of `[at, at + size)`. */
  slice(at: number, size: number, stage: string, what: string): Uint8Array {
    this.require(at, size, stage, what);
    return this.bytes.subarray(at, at + size);
  }

  /** True when every byte in `[at, at + size)` is zero. */
  isZero(at: number, size: number, stage: string, what: string): boolean {
    this.require(at, size, stage, what);
    for (let i = at; i < at + size; i++) if (this.bytes[i] !== 0) return false;
    return true;
  }
}

/** Round `n` up to a multiple of `alignment` (a power of two); exact for safe integers. */
export function alignUp(n: number, alignment: number): number {
  const r = n % alignment;
  return r === 0 ? n : n + (alignment - r);
}
