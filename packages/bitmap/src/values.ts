/**
 * Scalar value types shared by the BTree and Bitmap indexes: their codes, their total order
 * (spec/btree.md#value-order), and `ValueVector`, a sorted-or-not vector of non-null values stored
 * as one typed section (plus a data section for utf8), viewed zero-copy when decoded.
 */
import { QuiverArgumentError, QuiverFormatError, type SectionInput, type TypedEncoding, describeValue, rawSection, typedSection } from "@quiver/format";

/** Value types and their codes (spec/btree.md#value-types). */
export const VALUE_TYPES = {
  bool: 1,
  int32: 2,
  int64: 3,
  uint64: 4,
  float32: 5,
  float64: 6,
  utf8: 7,
  date32: 8,
  timestamp: 9,
} as const;

/** A value type name. */
export type ValueType = keyof typeof VALUE_TYPES;
/** A non-null value in JS: number (int32, date32, float32, float64), bigint (int64, uint64, timestamp), string, boolean. */
export type ScalarValue = number | bigint | string | boolean;

const TYPE_BY_CODE = new Map<number, ValueType>(Object.entries(VALUE_TYPES).map(([k, v]) => [v, k as ValueType]));

/** The value type with this code, or undefined. */
export function valueTypeByCode(code: number): ValueType | undefined {
  return TYPE_BY_CODE.get(code);
}

/** True when `name` is a value type name. */
export function isValueType(name: unknown): name is ValueType {
  return typeof name === "string" && Object.hasOwn(VALUE_TYPES, name);
}

/** Section encoding of a value type's values section (utf8: u32 offsets, with a raw data section). */
export function valueEncoding(type: ValueType): TypedEncoding {
  switch (type) {
    case "bool":
      return "u8";
    case "int32":
    case "date32":
      return "i32";
    case "int64":
    case "uint64":
    case "timestamp":
      return "u64";
    case "float32":
      return "f32";
    case "float64":
      return "f64";
    case "utf8":
      return "u32";
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const F32 = new Float32Array(1);

/** Compare two numbers in index order: -0 equals +0, every NaN equals every NaN and is above +Infinity. */
export function compareNumbers(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0;
  const an = a !== a;
  const bn = b !== b;
  return an === bn ? 0 : an ? 1 : -1;
}

/** Compare UTF-8 byte strings (equals Unicode code-point order). */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const la = aEnd - aStart;
  const lb = bEnd - bStart;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** A query value prepared for comparisons against a vector of `type` (strings are encoded once). */
export interface ProbeValue {
  readonly type: ValueType;
  readonly num: number;
  readonly big: bigint;
  readonly bytes: Uint8Array;
}

/**
 * Check and prepare a query or build value of `type`. Integer types take a number or bigint that
 * fits; floats take a number (float32 values are rounded to float32, -0 becomes +0, NaN canonical).
 */
export function probeValue(type: ValueType, value: unknown, argument = "value"): ProbeValue {
  const bad = (expected: string): never => {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected, given: value });
  };
  switch (type) {
    case "bool":
      if (typeof value !== "boolean") bad("a boolean");
      return { type, num: value ? 1 : 0, big: 0n, bytes: EMPTY };
    case "int32":
    case "date32": {
      const v = typeof value === "bigint" ? Number(value) : value;
      if (typeof v !== "number" || !Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) bad("an int32");
      return { type, num: v as number, big: 0n, bytes: EMPTY };
    }
    case "int64":
    case "timestamp": {
      const v = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof v !== "bigint" || v < -(2n ** 63n) || v >= 2n ** 63n) bad("an int64 (bigint or safe integer)");
      return { type, num: 0, big: BigInt.asUintN(64, v as bigint), bytes: EMPTY };
    }
    case "uint64": {
      const v = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
      if (typeof v !== "bigint" || v < 0n || v >= 2n ** 64n) bad("a uint64 (bigint or safe integer)");
      return { type, num: 0, big: v as bigint, bytes: EMPTY };
    }
    case "float32":
    case "float64": {
      if (typeof value !== "number") bad("a number");
      let v = value as number;
      if (type === "float32") {
        F32[0] = v;
        v = F32[0];
      }
      if (v === 0) v = 0;
      if (v !== v) v = NaN;
      return { type, num: v, big: 0n, bytes: EMPTY };
    }
    case "utf8": {
      if (typeof value !== "string") bad("a string");
      if (LONE_SURROGATE.test(value as string)) bad("a well-formed string (no lone surrogates)");
      return { type, num: 0, big: 0n, bytes: utf8Encoder.encode(value as string) };
    }
  }
}
const EMPTY = new Uint8Array(0);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Signed compare of two u64 bit patterns as int64. */
function compareI64Bits(a: bigint, b: bigint): number {
  const sa = BigInt.asIntN(64, a);
  const sb = BigInt.asIntN(64, b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Non-null values of one type, as stored: `values` (typed) and, for utf8, `data` (offsets into it). */
export class ValueVector {
  readonly type: ValueType;
  /** bool: u8, int32/date32: i32, 64-bit ints: u64 bits, floats: f32/f64, utf8: u32 offsets (length + 1). */
  readonly values: Uint8Array | Int32Array | BigUint64Array | Float32Array | Float64Array | Uint32Array;
  /** utf8 bytes (empty for other types). */
  readonly data: Uint8Array;
  readonly length: number;

  constructor(type: ValueType, values: ValueVector["values"], data: Uint8Array = EMPTY) {
    this.type = type;
    this.values = values;
    this.data = data;
    this.length = type === "utf8" ? Math.max(0, values.length - 1) : values.length;
  }

  /** Build a vector from JS values (each checked with {@link probeValue}). */
  static from(type: ValueType, items: readonly ScalarValue[]): ValueVector {
    const probes = items.map((v, i) => probeValue(type, v, `values[${i}]`));
    return ValueVector.fromProbes(type, probes);
  }

  /** Build a vector from prepared values. */
  static fromProbes(type: ValueType, probes: readonly ProbeValue[]): ValueVector {
    const n = probes.length;
    switch (type) {
      case "bool":
        return new ValueVector(type, Uint8Array.from(probes, (p) => p.num));
      case "int32":
      case "date32":
        return new ValueVector(type, Int32Array.from(probes, (p) => p.num));
      case "int64":
      case "uint64":
      case "timestamp": {
        const a = new BigUint64Array(n);
        for (let i = 0; i < n; i++) a[i] = probes[i]!.big;
        return new ValueVector(type, a);
      }
      case "float32":
        return new ValueVector(type, Float32Array.from(probes, (p) => p.num));
      case "float64":
        return new ValueVector(type, Float64Array.from(probes, (p) => p.num));
      case "utf8": {
        const offsets = new Uint32Array(n + 1);
        let total = 0;
        for (let i = 0; i < n; i++) {
          total += probes[i]!.bytes.byteLength;
          offsets[i + 1] = total;
        }
        const data = new Uint8Array(total);
        for (let i = 0; i < n; i++) data.set(probes[i]!.bytes, offsets[i]!);
        return new ValueVector(type, offsets, data);
      }
    }
  }

  /** Compare element i with a prepared value. */
  compareProbe(i: number, p: ProbeValue): number {
    switch (this.type) {
      case "bool":
      case "int32":
      case "date32": {
        const a = (this.values as Int32Array)[i]!;
        return a < p.num ? -1 : a > p.num ? 1 : 0;
      }
      case "int64":
      case "timestamp":
        return compareI64Bits((this.values as BigUint64Array)[i]!, p.big);
      case "uint64": {
        const a = (this.values as BigUint64Array)[i]!;
        return a < p.big ? -1 : a > p.big ? 1 : 0;
      }
      case "float32":
      case "float64":
        return compareNumbers((this.values as Float64Array)[i]!, p.num);
      case "utf8": {
        const o = this.values as Uint32Array;
        return compareBytes(this.data, o[i]!, o[i + 1]!, p.bytes, 0, p.bytes.byteLength);
      }
    }
  }

  /** Compare element i with element j of `other` (same type). */
  compareAt(i: number, other: ValueVector, j: number): number {
    switch (this.type) {
      case "bool":
      case "int32":
      case "date32": {
        const a = (this.values as Int32Array)[i]!;
        const b = (other.values as Int32Array)[j]!;
        return a < b ? -1 : a > b ? 1 : 0;
      }
      case "int64":
      case "timestamp":
        return compareI64Bits((this.values as BigUint64Array)[i]!, (other.values as BigUint64Array)[j]!);
      case "uint64": {
        const a = (this.values as BigUint64Array)[i]!;
        const b = (other.values as BigUint64Array)[j]!;
        return a < b ? -1 : a > b ? 1 : 0;
      }
      case "float32":
      case "float64":
        return compareNumbers((this.values as Float64Array)[i]!, (other.values as Float64Array)[j]!);
      case "utf8": {
        const a = this.values as Uint32Array;
        const b = other.values as Uint32Array;
        return compareBytes(this.data, a[i]!, a[i + 1]!, other.data, b[j]!, b[j + 1]!);
      }
    }
  }

  /** Element i as a prepared value. */
  probeAt(i: number): ProbeValue {
    switch (this.type) {
      case "int64":
      case "uint64":
      case "timestamp":
        return { type: this.type, num: 0, big: (this.values as BigUint64Array)[i]!, bytes: EMPTY };
      case "utf8": {
        const o = this.values as Uint32Array;
        return { type: this.type, num: 0, big: 0n, bytes: this.data.subarray(o[i]!, o[i + 1]!) };
      }
      default:
        return { type: this.type, num: (this.values as Float64Array)[i]!, big: 0n, bytes: EMPTY };
    }
  }

  /** Element i as a JS value. */
  get(i: number): ScalarValue {
    switch (this.type) {
      case "bool":
        return (this.values as Uint8Array)[i] === 1;
      case "int64":
      case "timestamp":
        return BigInt.asIntN(64, (this.values as BigUint64Array)[i]!);
      case "uint64":
        return (this.values as BigUint64Array)[i]!;
      case "utf8": {
        const o = this.values as Uint32Array;
        return utf8Decoder.decode(this.data.subarray(o[i]!, o[i + 1]!));
      }
      default:
        return (this.values as Float64Array)[i]!;
    }
  }

  /** First index whose value is >= p (or > p when `after`), in a vector sorted ascending within [lo, hi). */
  lowerBound(p: ProbeValue, after: boolean, lo = 0, hi = this.length): number {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.compareProbe(mid, p);
      if (c < 0 || (after && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Sections: `valuesId` (typed) and, for utf8, `dataId` (raw). */
  sections(valuesId: number, dataId: number): SectionInput[] {
    const out: SectionInput[] = [typedSection(valuesId, valueEncoding(this.type), this.values as never)];
    if (this.type === "utf8") out.push(rawSection(dataId, this.data));
    return out;
  }

  /** Views kept alive (for cache size accounting). */
  views(): ArrayBufferView[] {
    return this.type === "utf8" ? [this.values, this.data] : [this.values];
  }
}

function formatFail(code: string, message: string, offset?: number): never {
  throw new QuiverFormatError(code, message, offset === undefined ? { stage: "payload" } : { stage: "payload", offset });
}

/**
 * Check a decoded vector: bool bytes are 0/1; utf8 offsets start at 0, never decrease, end at the
 * data length, cut only at character starts, and the data is UTF-8. With `order` "sorted" values
 * must be non-decreasing, "strict" strictly increasing (dictionaries). O(n), no allocation per element.
 */
export function checkValueVector(v: ValueVector, expectedLength: number, order: "none" | "sorted" | "strict", offset?: number): void {
  if (v.type === "utf8") {
    const o = v.values as Uint32Array;
    if (o.length !== expectedLength + 1) formatFail("SCHEMA_VIOLATION", `utf8 offsets: ${o.length} entries, expected ${expectedLength + 1}`, offset);
    if (o[0] !== 0) formatFail("INVALID_VALUE", "utf8 offsets do not start at 0", offset);
    for (let i = 1; i < o.length; i++) if (o[i]! < o[i - 1]!) formatFail("INVALID_VALUE", `utf8 offset ${i} decreases`, offset);
    if (o[o.length - 1] !== v.data.byteLength) formatFail("INVALID_VALUE", `utf8 offsets end at ${o[o.length - 1]}, data has ${v.data.byteLength} bytes`, offset);
    for (let i = 0; i < o.length - 1; i++) {
      const at = o[i]!;
      if (at < v.data.byteLength && (v.data[at]! & 0xc0) === 0x80) formatFail("INVALID_VALUE", `utf8 value ${i} starts inside a character`, offset);
    }
    try {
      utf8Decoder.decode(v.data);
    } catch {
      formatFail("INVALID_VALUE", "utf8 data is not valid UTF-8", offset);
    }
  } else {
    if (v.values.length !== expectedLength) formatFail("SCHEMA_VIOLATION", `${v.values.length} values, expected ${expectedLength}`, offset);
    if (v.type === "bool") for (const b of v.values as Uint8Array) if (b > 1) formatFail("INVALID_VALUE", `bool value ${b}`, offset);
    if (v.type === "int32" || v.type === "date32") {
      // nothing: every i32 is legal
    }
  }
  if (order === "none") return;
  for (let i = 1; i < v.length; i++) {
    const c = v.compareAt(i - 1, v, i);
    if (c > 0 || (order === "strict" && c === 0)) formatFail("VALUES_UNSORTED", `value ${i} is ${order === "strict" ? "not above" : "below"} value ${i - 1}`, offset);
  }
}

/** A short description of a value for messages. */
export function describeScalar(v: unknown): string {
  return describeValue(v);
}

/**
 * Builds a value vector element by element without an object per element: checked and
 * canonicalized values go into a plain array (numbers or bigints) or, for utf8, a byte buffer.
 */
export class ValueVectorBuilder {
  readonly type: ValueType;
  #nums: number[] = [];
  #bigs: bigint[] = [];
  #offsets: number[] = [0];
  #bytes = new Uint8Array(1024);
  #byteLength = 0;
  #length = 0;

  constructor(type: ValueType) {
    this.type = type;
  }

  get length(): number {
    return this.#length;
  }

  /** Check and append a JS value (as {@link probeValue} would accept it). */
  push(value: unknown, argument = "value"): void {
    switch (this.type) {
      case "int32":
      case "date32":
        if (typeof value === "number" && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
          this.#nums.push(value);
          this.#length++;
          return;
        }
        break;
      case "float64":
        if (typeof value === "number") {
          this.#nums.push(value === 0 ? 0 : value !== value ? NaN : value);
          this.#length++;
          return;
        }
        break;
      case "bool":
        if (typeof value === "boolean") {
          this.#nums.push(value ? 1 : 0);
          this.#length++;
          return;
        }
        break;
      case "utf8":
        if (typeof value === "string" && !LONE_SURROGATE.test(value)) {
          this.#appendBytes(utf8Encoder.encode(value));
          return;
        }
        break;
      default:
        break;
    }
    const p = probeValue(this.type, value, argument);
    this.pushProbe(p);
  }

  /** Append a prepared value. */
  pushProbe(p: ProbeValue): void {
    if (this.type === "utf8") return this.#appendBytes(p.bytes);
    if (valueEncoding(this.type) === "u64") this.#bigs.push(p.big);
    else this.#nums.push(p.num);
    this.#length++;
  }

  /** Append element i of a vector of the same type. */
  pushFrom(v: ValueVector, i: number): void {
    if (this.type === "utf8") {
      const o = v.values as Uint32Array;
      return this.#appendBytes(v.data.subarray(o[i]!, o[i + 1]!));
    }
    if (valueEncoding(this.type) === "u64") this.#bigs.push((v.values as BigUint64Array)[i]!);
    else this.#nums.push((v.values as Float64Array)[i]!);
    this.#length++;
  }

  #appendBytes(b: Uint8Array): void {
    if (this.#byteLength + b.byteLength > this.#bytes.byteLength) {
      const next = new Uint8Array(Math.max(this.#bytes.byteLength * 2, this.#byteLength + b.byteLength));
      next.set(this.#bytes.subarray(0, this.#byteLength));
      this.#bytes = next;
    }
    this.#bytes.set(b, this.#byteLength);
    this.#byteLength += b.byteLength;
    this.#offsets.push(this.#byteLength);
    this.#length++;
  }

  /** The vector (the builder is reset). */
  build(): ValueVector {
    let v: ValueVector;
    switch (this.type) {
      case "bool":
        v = new ValueVector(this.type, Uint8Array.from(this.#nums));
        break;
      case "int32":
      case "date32":
        v = new ValueVector(this.type, Int32Array.from(this.#nums));
        break;
      case "float32":
        v = new ValueVector(this.type, Float32Array.from(this.#nums));
        break;
      case "float64":
        v = new ValueVector(this.type, Float64Array.from(this.#nums));
        break;
      case "utf8":
        v = new ValueVector(this.type, Uint32Array.from(this.#offsets), this.#bytes.slice(0, this.#byteLength));
        break;
      default:
        v = new ValueVector(this.type, BigUint64Array.from(this.#bigs));
    }
    this.#nums = [];
    this.#bigs = [];
    this.#offsets = [0];
    this.#bytes = new Uint8Array(1024);
    this.#byteLength = 0;
    this.#length = 0;
    return v;
  }
}

/** The order permutation of a vector (ties by `ids`, ascending), with comparators specialized by type. */
export function sortOrder(v: ValueVector, ids: readonly bigint[]): number[] {
  const order = Array.from({ length: v.length }, (_, i) => i);
  const tie = (a: number, b: number): number => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0);
  switch (v.type) {
    case "bool":
    case "int32":
    case "date32": {
      const a = v.values as Int32Array;
      order.sort((x, y) => a[x]! - a[y]! || tie(x, y));
      break;
    }
    case "float32":
    case "float64": {
      const a = v.values as Float64Array;
      order.sort((x, y) => compareNumbers(a[x]!, a[y]!) || tie(x, y));
      break;
    }
    default:
      order.sort((x, y) => v.compareAt(x, v, y) || tie(x, y));
  }
  return order;
}
