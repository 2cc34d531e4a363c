/**
 * `RowAddressSet`: a set of 64-bit row addresses (fragment id in the high 32 bits, row offset in
 * the low 32), one roaring bitmap of row offsets per fragment, or a "full fragment" marker. Its
 * byte form is spec/bitmap.md#row-address-set: the per-fragment bitmaps are CRoaring's portable
 * serialization, so any roaring library reads them.
 */
import { QuiverArgumentError, QuiverFormatError } from "@quiver/format";
import { RoaringBitmap32, roaringLibraryInitialize } from "roaring-wasm";

// The WASM module must be instantiated before any bitmap exists; codecs decode synchronously.
await roaringLibraryInitialize();

/** Limits of the row-address-set byte form (spec/bitmap.md#limits). */
export const ROW_ADDRESS_SET_LIMITS = {
  /** Containers in one portable roaring bitmap (every 16-bit key once). */
  maxContainers: 65_536,
} as const;

const COOKIE_NO_RUN = 12346;
const COOKIE_RUN = 12347;
/** Run-cookie bitmaps with fewer containers than this carry no offset header. */
const NO_OFFSET_THRESHOLD = 4;
const MASK32 = 0xffffffffn;
const SAFE_LIMIT = 1n << 53n;
/** Membership probes after which a set builds plain bit arrays. */
const DENSE_AFTER_PROBES = 4096;

function fail(code: string, message: string, offset: number, stage = "payload"): never {
  throw new QuiverFormatError(code, message, { stage, offset });
}

/**
 * Validate one portable roaring serialization that must occupy exactly `bytes`; returns its
 * cardinality. Every structural rule is checked here, before CRoaring sees the bytes: CRoaring's
 * safe deserializer bounds its reads but does not check that arrays are sorted, runs disjoint or
 * bitmap cardinalities true, and such a bitmap would answer membership wrongly.
 */
export function validatePortableRoaring(bytes: Uint8Array, base = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  let at = 0;
  const need = (size: number, what: string): void => {
    if (size > n - at) fail("TRUNCATED", `roaring ${what}: need ${size} bytes at ${at}, ${n - at} left`, base + at);
  };
  need(4, "cookie");
  const cookie = view.getUint32(0, true);
  let size: number;
  let runFlags: Uint8Array | undefined;
  if ((cookie & 0xffff) === COOKIE_RUN) {
    size = (cookie >>> 16) + 1;
    at = 4;
    const flagBytes = Math.ceil(size / 8);
    need(flagBytes, "run flags");
    runFlags = bytes.subarray(at, at + flagBytes);
    at += flagBytes;
    // Bits past `size` in the last flag byte are padding and must be zero.
    if (size % 8 !== 0 && (runFlags[flagBytes - 1]! >> (size % 8)) !== 0) fail("RESERVED_NONZERO", "roaring run-flag padding bits set", base + at - 1);
  } else if (cookie === COOKIE_NO_RUN) {
    need(8, "container count");
    size = view.getUint32(4, true);
    at = 8;
    if (size > ROW_ADDRESS_SET_LIMITS.maxContainers) fail("LIMIT_EXCEEDED", `roaring container count ${size} > 65536`, base + 4);
  } else {
    return fail("ROARING_BAD_COOKIE", `roaring cookie 0x${cookie.toString(16)} is neither 12346 nor 12347 (+ count)`, base);
  }
  need(size * 4, "descriptive header");
  const headerAt = at;
  at += size * 4;
  const hasOffsets = runFlags === undefined || size >= NO_OFFSET_THRESHOLD;
  let offsetsAt = -1;
  if (hasOffsets) {
    need(size * 4, "offset header");
    offsetsAt = at;
    at += size * 4;
  }
  let total = 0;
  let prevKey = -1;
  for (let i = 0; i < size; i++) {
    const key = view.getUint16(headerAt + i * 4, true);
    const card = view.getUint16(headerAt + i * 4 + 2, true) + 1;
    if (key <= prevKey) fail("ROARING_INVALID_CONTAINER", `roaring keys not strictly ascending at container ${i}`, base + headerAt + i * 4);
    prevKey = key;
    if (offsetsAt >= 0 && view.getUint32(offsetsAt + i * 4, true) !== at) {
      fail("ROARING_INVALID_CONTAINER", `roaring container ${i} offset ${view.getUint32(offsetsAt + i * 4, true)} != actual ${at}`, base + offsetsAt + i * 4);
    }
    const isRun = runFlags !== undefined && (runFlags[i >> 3]! & (1 << (i & 7))) !== 0;
    if (isRun) {
      need(2, "run count");
      const runs = view.getUint16(at, true);
      at += 2;
      need(runs * 4, "runs");
      let sum = 0;
      let prevEnd = -2;
      for (let r = 0; r < runs; r++) {
        const start = view.getUint16(at + r * 4, true);
        const len = view.getUint16(at + r * 4 + 2, true);
        // Runs are sorted, disjoint and not touching (a touching pair would be one run).
        if (start <= prevEnd + 1 || start + len > 0xffff) fail("ROARING_INVALID_CONTAINER", `roaring run ${r} of container ${i} overlaps, touches or overflows`, base + at + r * 4);
        prevEnd = start + len;
        sum += len + 1;
      }
      if (runs === 0 || sum !== card) fail("ROARING_INVALID_CONTAINER", `roaring run container ${i}: ${sum} values, header says ${card}`, base + at);
      at += runs * 4;
    } else if (card <= 4096) {
      need(card * 2, "array container");
      let prev = -1;
      for (let j = 0; j < card; j++) {
        const v = view.getUint16(at + j * 2, true);
        if (v <= prev) fail("ROARING_INVALID_CONTAINER", `roaring array container ${i} not strictly ascending`, base + at + j * 2);
        prev = v;
      }
      at += card * 2;
    } else {
      need(8192, "bitmap container");
      let pop = 0;
      for (let w = 0; w < 2048; w++) pop += popcount32(view.getUint32(at + w * 4, true));
      if (pop !== card) fail("ROARING_INVALID_CONTAINER", `roaring bitmap container ${i}: ${pop} bits set, header says ${card}`, base + at);
      at += 8192;
    }
    total += card;
  }
  if (at !== n) fail("TRAILING_BYTES", `roaring bitmap ends at ${at}, its slot has ${n} bytes`, base + at);
  return total;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** A fragment's row offsets, or FULL (every row of the fragment, its size unknown to the set). */
type FragmentRows = RoaringBitmap32 | typeof FULL;
const FULL = Symbol("full-fragment");

/** Membership test shared by every row-id filter: the shape ivf search's prefilter accepts. */
export interface RowIdFilter {
  has(rowId: bigint): boolean;
}

/** Rows `start..end` of a u64 row-address array given as its u32 word view (low word at 2i, high at 2i + 1). */
export interface WordRun {
  readonly words: Uint32Array;
  readonly start: number;
  readonly end: number;
}

/**
 * An immutable set of 64-bit row addresses. Operations return new sets; the per-fragment roaring
 * bitmaps live in WASM memory and are released by the garbage collector.
 */
export class RowAddressSet implements RowIdFilter {
  /** Fragment id -> rows, iterated in ascending fragment id. */
  readonly #frags: Map<number, FragmentRows>;
  #lastFrag = -1;
  #lastRows: FragmentRows | undefined;
  #probes = 0;
  #dense: Map<number, Uint32Array | typeof FULL> | undefined;

  private constructor(frags: Map<number, FragmentRows>) {
    this.#frags = frags;
  }

  /** The empty set. */
  static empty(): RowAddressSet {
    return new RowAddressSet(new Map());
  }

  /** Every row of the given fragments ("full fragment" entries). */
  static fullFragments(fragmentIds: Iterable<number>): RowAddressSet {
    const ids = [...fragmentIds];
    for (const f of ids) checkFragmentId(f);
    return new RowAddressSet(new Map([...new Set(ids)].sort((a, b) => a - b).map((f) => [f, FULL] as [number, FragmentRows])));
  }

  /** A set over ready per-fragment bitmaps (ascending fragment ids, non-empty bitmaps dropped from the result). */
  static fromBitmaps(frags: Map<number, RoaringBitmap32>): RowAddressSet {
    const out = new Map<number, FragmentRows>();
    for (const [f, b] of frags) if (!b.isEmpty) out.set(f, b);
    return new RowAddressSet(out);
  }

  /** The set of these row addresses (any order, duplicates allowed). */
  static fromRowIds(rowIds: Iterable<bigint> | BigUint64Array): RowAddressSet {
    const byFrag = new Map<number, number[]>();
    for (const id of rowIds) {
      if (typeof id !== "bigint" || id < 0n || id > 0xffffffffffffffffn) {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "rowIds", expected: "u64 bigints", given: id });
      }
      const f = Number(id >> 32n);
      let list = byFrag.get(f);
      if (list === undefined) byFrag.set(f, (list = []));
      list.push(Number(id & MASK32));
    }
    return RowAddressSet.#fromOffsets(byFrag);
  }

  /**
   * The set of row addresses `start..end` of a u64 array given as its u32 word view (low word at
   * 2i, high at 2i+1): no BigInt per row, one bitmap per run of equal fragment ids.
   */
  static fromWords(words: Uint32Array, start: number, end: number): RowAddressSet {
    if (start >= end) return RowAddressSet.empty();
    // Two passes: count rows per fragment, then fill one offset array per fragment (rows of
    // different fragments may interleave, e.g. when sorted by value) and hand each to CRoaring once.
    const first = words[2 * start + 1]!;
    let single = true;
    for (let i = start + 1; i < end; i++) {
      if (words[2 * i + 1] !== first) {
        single = false;
        break;
      }
    }
    const out = new Map<number, RoaringBitmap32>();
    if (single) {
      const lows = new Uint32Array(end - start);
      for (let i = start; i < end; i++) lows[i - start] = words[2 * i]!;
      out.set(first, bitmapOf(lows));
      return new RowAddressSet(out);
    }
    const counts = new Map<number, number>();
    for (let i = start; i < end; i++) {
      const f = words[2 * i + 1]!;
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    const arrays = new Map<number, { a: Uint32Array; n: number }>();
    for (const [f, c] of counts) arrays.set(f, { a: new Uint32Array(c), n: 0 });
    for (let i = start; i < end; i++) {
      const slot = arrays.get(words[2 * i + 1]!)!;
      slot.a[slot.n++] = words[2 * i]!;
    }
    for (const f of [...arrays.keys()].sort((x, y) => x - y)) out.set(f, bitmapOf(arrays.get(f)!.a));
    return new RowAddressSet(out);
  }

  /**
   * The set of the row addresses of several runs `words[2 * start .. 2 * end)` (u64 arrays as u32
   * word views, as {@link fromWords}): one counting pass, one fill pass and one CRoaring call per
   * fragment over all runs together, instead of a set per run and a union of them.
   */
  static fromWordRuns(runs: readonly WordRun[]): RowAddressSet {
    let total = 0;
    let minF = Infinity;
    let maxF = -1;
    for (const r of runs) {
      for (let i = r.start; i < r.end; i++) {
        const f = r.words[2 * i + 1]!;
        if (f < minF) minF = f;
        if (f > maxF) maxF = f;
      }
      total += Math.max(0, r.end - r.start);
    }
    if (total === 0) return RowAddressSet.empty();
    if (runs.length === 1) return RowAddressSet.fromWords(runs[0]!.words, runs[0]!.start, runs[0]!.end);
    const span = maxF - minF + 1;
    if (span > 1 << 16) {
      // Sparse fragment ids: fall back to one set per run.
      return RowAddressSet.union(runs.map((r) => RowAddressSet.fromWords(r.words, r.start, r.end)));
    }
    const counts = new Uint32Array(span);
    const maxOff = new Uint32Array(span);
    for (const r of runs) {
      const w = r.words;
      for (let i = r.start; i < r.end; i++) {
        const f = w[2 * i + 1]! - minF;
        counts[f]!++;
        if (w[2 * i]! > maxOff[f]!) maxOff[f] = w[2 * i]!;
      }
    }
    // Fragments with many rows over a small offset span (a wide range's rows): set bits in a plain
    // bit array and hand CRoaring one portable serialization, so bitmap containers are copied in
    // whole instead of being built value by value.
    let dense: (Uint32Array | undefined)[] | undefined;
    for (let f = 0; f < span; f++) {
      if (counts[f]! >= DENSE_BUILD_MIN_ROWS && maxOff[f]! < DENSE_BUILD_MAX_OFFSET && counts[f]! * 32 >= maxOff[f]!) {
        (dense ??= new Array<Uint32Array | undefined>(span))[f] = new Uint32Array(((maxOff[f]! >>> 16) + 1) * 2048);
      }
    }
    if (dense !== undefined) {
      for (const r of runs) {
        const w = r.words;
        for (let i = r.start; i < r.end; i++) {
          const bits = dense[w[2 * i + 1]! - minF];
          if (bits !== undefined) {
            const o = w[2 * i]!;
            bits[o >>> 5]! |= 1 << (o & 31);
          }
        }
      }
    }
    const starts = new Uint32Array(span + 1);
    for (let f = 0; f < span; f++) starts[f + 1] = starts[f]! + counts[f]!;
    const lows = new Uint32Array(total);
    const fill = starts.slice(0, span);
    for (const r of runs) {
      const w = r.words;
      for (let i = r.start; i < r.end; i++) {
        const f = w[2 * i + 1]! - minF;
        if (dense?.[f] === undefined) lows[fill[f]!++] = w[2 * i]!;
      }
    }
    const out = new Map<number, RoaringBitmap32>();
    for (let f = 0; f < span; f++) {
      if (counts[f] === 0) continue;
      const bits = dense?.[f];
      out.set(minF + f, bits !== undefined ? bitmapOfBits(bits) : bitmapOf(lows.subarray(starts[f]!, starts[f + 1]!)));
    }
    return new RowAddressSet(out);
  }

  /** Rows `[start, end)` of one fragment. */
  static fromRange(fragmentId: number, start: number, end: number): RowAddressSet {
    checkFragmentId(fragmentId);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > 2 ** 32 || start > end) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "range", expected: "0 <= start <= end <= 2^32", given: `${start}..${end}` });
    }
    if (start === end) return RowAddressSet.empty();
    const b = new RoaringBitmap32();
    b.addRange(start, end);
    b.runOptimize();
    return new RowAddressSet(new Map([[fragmentId, b]]));
  }

  static #fromOffsets(byFrag: Map<number, number[]>): RowAddressSet {
    const out = new Map<number, FragmentRows>();
    for (const f of [...byFrag.keys()].sort((a, b) => a - b)) {
      const b = new RoaringBitmap32(Uint32Array.from(byFrag.get(f)!));
      b.runOptimize();
      out.set(f, b);
    }
    return new RowAddressSet(out);
  }

  /** True when `rowId` is in the set. */
  has(rowId: bigint): boolean {
    // Below 2^53 a Number conversion is exact and splitting it allocates nothing (BigInt shifts do).
    if (rowId < SAFE_LIMIT) {
      const n = Number(rowId);
      const f = Math.floor(n / 4294967296);
      return this.hasAddress(f, n - f * 4294967296);
    }
    return this.hasAddress(Number(rowId >> 32n), Number(rowId & MASK32));
  }

  /** True when row `offset` of fragment `fragmentId` is in the set. */
  hasAddress(fragmentId: number, offset: number): boolean {
    const dense = this.#dense;
    if (dense !== undefined) {
      const d = dense.get(fragmentId);
      if (d === undefined) return false;
      if (d === FULL) return true;
      const w = offset >>> 5;
      return w < d.length && (d[w]! & (1 << (offset & 31))) !== 0;
    }
    // A set probed many times (a search prefilter) gets plain bit arrays: one array read per probe
    // instead of a call into WASM.
    if (++this.#probes === DENSE_AFTER_PROBES) this.#densify();
    let rows: FragmentRows | undefined;
    if (fragmentId === this.#lastFrag) rows = this.#lastRows;
    else {
      rows = this.#frags.get(fragmentId);
      this.#lastFrag = fragmentId;
      this.#lastRows = rows;
    }
    if (rows === undefined) return false;
    return rows === FULL || rows.has(offset);
  }

  /** Bit arrays per fragment, when every fragment's largest offset is below 2^26 (<= 8 MiB each). */
  #densify(): void {
    const out = new Map<number, Uint32Array | typeof FULL>();
    for (const [f, r] of this.#frags) {
      if (r === FULL) {
        out.set(f, FULL);
        continue;
      }
      const max = r.maximum();
      if (max >= 1 << 26) return;
      const words = new Uint32Array((max >>> 5) + 1);
      for (const v of r.toUint32Array()) words[v >>> 5]! |= 1 << (v & 31);
      out.set(f, words);
    }
    this.#dense = out;
  }

  /** True when the set has no row. */
  get isEmpty(): boolean {
    return this.#frags.size === 0;
  }

  /** True when some fragment is a full-fragment entry (its size is not known to the set). */
  get hasFullFragments(): boolean {
    for (const r of this.#frags.values()) if (r === FULL) return true;
    return false;
  }

  /** Fragment ids present, ascending. */
  fragmentIds(): number[] {
    return [...this.#frags.keys()];
  }

  /** Whether fragment `id` is a full-fragment entry. */
  isFullFragment(id: number): boolean {
    return this.#frags.get(id) === FULL;
  }

  /** Number of rows; throws when a full fragment makes it unknown (pass `fragmentRows` to count those). */
  size(fragmentRows?: (fragmentId: number) => number): number {
    let n = 0;
    for (const [f, r] of this.#frags) {
      if (r !== FULL) n += r.size;
      else if (fragmentRows !== undefined) n += fragmentRows(f);
      else throw new RangeError(`fragment ${f} is a full-fragment entry of unknown size`);
    }
    return n;
  }

  /** The row addresses, ascending (throws on a full fragment). */
  toRowIds(): BigUint64Array {
    const out = new BigUint64Array(this.size());
    let i = 0;
    for (const [f, r] of this.#frags) {
      const hi = BigInt(f) << 32n;
      for (const off of (r as RoaringBitmap32).toUint32Array()) out[i++] = hi | BigInt(off);
    }
    return out;
  }

  /** Rows in both sets. */
  and(other: RowAddressSet): RowAddressSet {
    const out = new Map<number, FragmentRows>();
    const [small, large] = this.#frags.size <= other.#frags.size ? [this, other] : [other, this];
    for (const [f, a] of small.#frags) {
      const b = large.#frags.get(f);
      if (b === undefined) continue;
      if (a === FULL) out.set(f, b);
      else if (b === FULL) out.set(f, a);
      else {
        const c = RoaringBitmap32.and(a, b);
        if (c.isEmpty) c.dispose();
        else out.set(f, c);
      }
    }
    return new RowAddressSet(sortedMap(out));
  }

  /** Rows in either set. */
  or(other: RowAddressSet): RowAddressSet {
    const out = new Map<number, FragmentRows>(this.#frags);
    for (const [f, b] of other.#frags) {
      const a = out.get(f);
      if (a === undefined) out.set(f, b);
      else if (a === FULL || b === FULL) out.set(f, FULL);
      else out.set(f, RoaringBitmap32.or(a, b));
    }
    return new RowAddressSet(sortedMap(out));
  }

  /** Union of many sets (one pass per fragment). */
  static union(sets: readonly RowAddressSet[]): RowAddressSet {
    const byFrag = new Map<number, FragmentRows[]>();
    for (const s of sets) {
      for (const [f, r] of s.#frags) {
        let list = byFrag.get(f);
        if (list === undefined) byFrag.set(f, (list = []));
        list.push(r);
      }
    }
    const out = new Map<number, FragmentRows>();
    for (const [f, list] of byFrag) {
      if (list.includes(FULL)) out.set(f, FULL);
      else if (list.length === 1) out.set(f, list[0]!);
      else {
        // Few operands: pairwise in-place ORs (roaring-wasm's orMany costs a fixed ~25 us per
        // call); many (a wide range over many pages): one orMany, measured ~1.5x faster at 25.
        if (list.length >= 8) {
          out.set(f, RoaringBitmap32.orMany(list as RoaringBitmap32[]));
        } else {
          const acc = (list[0] as RoaringBitmap32).clone();
          for (let i = 1; i < list.length; i++) acc.orInPlace(list[i] as RoaringBitmap32);
          out.set(f, acc);
        }
      }
    }
    return new RowAddressSet(sortedMap(out));
  }

  /** Rows of this set that are not in `other`. A full fragment minus a non-empty part needs the fragment's size: RangeError. */
  andNot(other: RowAddressSet): RowAddressSet {
    const out = new Map<number, FragmentRows>();
    for (const [f, a] of this.#frags) {
      const b = other.#frags.get(f);
      if (b === undefined) out.set(f, a);
      else if (b === FULL) continue;
      else if (a === FULL) throw new RangeError(`cannot subtract rows from full fragment ${f} of unknown size`);
      else {
        const c = RoaringBitmap32.andNot(a, b);
        if (c.isEmpty) c.dispose();
        else out.set(f, c);
      }
    }
    return new RowAddressSet(out);
  }

  /** True when both sets hold the same rows and the same full-fragment entries. */
  equals(other: RowAddressSet): boolean {
    if (this.#frags.size !== other.#frags.size) return false;
    for (const [f, a] of this.#frags) {
      const b = other.#frags.get(f);
      if (b === undefined) return false;
      if (a === FULL || b === FULL) {
        if (a !== b) return false;
      } else if (!a.isEqual(b)) return false;
    }
    return true;
  }

  /** Bytes of {@link serialize}'s output. */
  serializedSize(): number {
    let n = 4;
    for (const r of this.#frags.values()) n += 8 + (r === FULL ? 0 : r.getSerializationSizeInBytes("portable"));
    return n;
  }

  /** The byte form (spec/bitmap.md#row-address-set). */
  serialize(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (const r of this.#frags.values()) parts.push(r === FULL ? new Uint8Array(0) : r.serialize("portable"));
    let n = 4;
    for (const p of parts) n += 8 + p.byteLength;
    const out = new Uint8Array(n);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.#frags.size, true);
    let at = 4;
    let i = 0;
    for (const f of this.#frags.keys()) {
      const p = parts[i++]!;
      view.setUint32(at, f, true);
      view.setUint32(at + 4, p.byteLength, true);
      out.set(p, at + 8);
      at += 8 + p.byteLength;
    }
    return out;
  }

  /**
   * Decode and validate the byte form: fragment ids strictly ascending, each bitmap a valid
   * non-empty portable roaring bitmap filling exactly its declared size, no trailing bytes.
   */
  static deserialize(bytes: Uint8Array, base = 0): RowAddressSet {
    if (bytes.byteLength < 4) fail("TRUNCATED", `row-address set of ${bytes.byteLength} bytes (need 4)`, base);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(0, true);
    // Each entry takes at least 8 bytes: a count the input cannot hold is rejected before any work.
    if (count > (bytes.byteLength - 4) / 8) fail("TRUNCATED", `row-address set declares ${count} fragments in ${bytes.byteLength} bytes`, base);
    const frags = new Map<number, FragmentRows>();
    let at = 4;
    let prev = -1;
    for (let i = 0; i < count; i++) {
      if (bytes.byteLength - at < 8) fail("TRUNCATED", `fragment entry ${i} header`, base + at);
      const f = view.getUint32(at, true);
      const len = view.getUint32(at + 4, true);
      if (f <= prev) fail("ROW_ADDRESS_SET_UNSORTED", `fragment ids not strictly ascending at entry ${i}`, base + at);
      prev = f;
      at += 8;
      if (len > bytes.byteLength - at) fail("TRUNCATED", `fragment ${f}: bitmap of ${len} bytes, ${bytes.byteLength - at} left`, base + at);
      if (len === 0) frags.set(f, FULL);
      else {
        const slot = bytes.subarray(at, at + len);
        const card = validatePortableRoaring(slot, base + at);
        if (card === 0) fail("ROW_ADDRESS_SET_EMPTY_FRAGMENT", `fragment ${f}: empty bitmap (omit the entry instead)`, base + at);
        const b = RoaringBitmap32.deserialize(slot, "portable");
        if (b.size !== card) fail("ROARING_INVALID_CONTAINER", `fragment ${f}: roaring decoded ${b.size} values, expected ${card}`, base + at);
        frags.set(f, b);
      }
      at += len;
    }
    if (at !== bytes.byteLength) fail("TRAILING_BYTES", `${bytes.byteLength - at} bytes after the last fragment entry`, base + at);
    return new RowAddressSet(frags);
  }

  /** Rough bytes the set keeps alive (WASM heap + entries), for cache accounting. */
  retainedBytes(): number {
    let n = 64;
    for (const r of this.#frags.values()) n += 48 + (r === FULL ? 0 : r.getSerializationSizeInBytes("croaring"));
    return n;
  }

  /** A readable summary (never the whole set). */
  toString(): string {
    return `RowAddressSet(${this.#frags.size} fragments${this.hasFullFragments ? ", some full" : ""})`;
  }
}

/** Accumulates row addresses batch by batch into per-fragment bitmaps (memory = the compressed set). */
export class RowAddressSetBuilder {
  readonly #frags = new Map<number, RoaringBitmap32>();
  #added = 0;
  readonly #lows = new Uint32Array(4096);

  /** Add rows `start..end` of a u64 array given as its u32 word view. */
  addWords(words: Uint32Array, start: number, end: number): void {
    let i = start;
    while (i < end) {
      const f = words[2 * i + 1]!;
      let n = 0;
      while (i < end && words[2 * i + 1] === f && n < this.#lows.length) this.#lows[n++] = words[2 * i++]!;
      let b = this.#frags.get(f);
      if (b === undefined) this.#frags.set(f, (b = new RoaringBitmap32()));
      b.addMany(this.#lows.subarray(0, n));
      this.#added += n;
    }
  }

  /** Rows added so far, duplicates included. */
  get added(): number {
    return this.#added;
  }

  /** The set (the builder must not be used afterwards). */
  build(): RowAddressSet {
    for (const b of this.#frags.values()) b.runOptimize();
    return RowAddressSet.fromBitmaps(sortedMap(this.#frags));
  }
}

/** A run-optimized bitmap of these offsets (sorted first: CRoaring adds sorted input fastest). */
const DENSE_BUILD_MIN_ROWS = 4096;
const DENSE_BUILD_MAX_OFFSET = 1 << 24;

/**
 * A bitmap from a bit array (bit o set = offset o; a whole number of 2048-word keys): written as a
 * portable serialization (no run containers; bitmap containers above 4096 values, arrays below)
 * and deserialized in one call.
 */
function bitmapOfBits(bits: Uint32Array): RoaringBitmap32 {
  const keys = bits.length / 2048;
  const cards = new Uint32Array(keys);
  let size = 0;
  let bytes = 0;
  for (let k = 0; k < keys; k++) {
    let c = 0;
    for (let i = k * 2048, e = i + 2048; i < e; i++) {
      let x = bits[i]!;
      x -= (x >>> 1) & 0x55555555;
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      c += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    cards[k] = c;
    if (c > 0) {
      size++;
      bytes += c > 4096 ? 8192 : 2 * c;
    }
  }
  const head = 8 + 8 * size;
  const buf = new Uint8Array(head + bytes);
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, 12346, true);
  dv.setUint32(4, size, true);
  let slot = 0;
  let at = head;
  for (let k = 0; k < keys; k++) {
    const c = cards[k]!;
    if (c === 0) continue;
    dv.setUint16(8 + 4 * slot, k, true);
    dv.setUint16(10 + 4 * slot, c - 1, true);
    dv.setUint32(8 + 4 * size + 4 * slot, at, true);
    slot++;
    if (c > 4096) {
      buf.set(new Uint8Array(bits.buffer, bits.byteOffset + k * 8192, 8192), at);
      at += 8192;
    } else {
      for (let i = k * 2048, e = i + 2048; i < e; i++) {
        let x = bits[i]!;
        while (x !== 0) {
          const t = x & -x;
          dv.setUint16(at, ((i - k * 2048) << 5) + (31 - Math.clz32(t)), true);
          at += 2;
          x ^= t;
        }
      }
    }
  }
  const b = RoaringBitmap32.deserialize(buf, "portable");
  b.runOptimize();
  return b;
}

function bitmapOf(lows: Uint32Array): RoaringBitmap32 {
  const b = new RoaringBitmap32(sortedDistinct(lows));
  b.runOptimize();
  return b;
}

/**
 * `lows` ascending (duplicates dropped). Dense values (span below 32 bits per value, e.g. a range
 * query's rows of one fragment) go through a bit array and a word scan, O(n + span / 32), which is
 * several times faster than a typed-array sort; sparse ones are sorted.
 */
function sortedDistinct(lows: Uint32Array): Uint32Array {
  const n = lows.length;
  if (n < 256) return lows.sort();
  let min = 0xffffffff;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const v = lows[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min + 1;
  if (span > n * 32 || span > 1 << 26) return lows.sort();
  const bits = new Uint32Array((span + 31) >>> 5);
  for (let i = 0; i < n; i++) {
    const d = lows[i]! - min;
    bits[d >>> 5]! |= 1 << (d & 31);
  }
  let k = 0;
  for (let w = 0; w < bits.length; w++) {
    let x = bits[w]!;
    while (x !== 0) {
      const t = x & -x;
      lows[k++] = min + (w << 5) + (31 - Math.clz32(t));
      x ^= t;
    }
  }
  return k === n ? lows : lows.subarray(0, k);
}

function sortedMap<V>(m: Map<number, V>): Map<number, V> {
  const keys = [...m.keys()];
  for (let i = 1; i < keys.length; i++) {
    if (keys[i]! < keys[i - 1]!) return new Map(keys.sort((a, b) => a - b).map((k) => [k, m.get(k)!]));
  }
  return m;
}

function checkFragmentId(f: number): void {
  if (!Number.isInteger(f) || f < 0 || f > 0xffffffff) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "fragmentId", expected: "an integer in [0, 2^32)", given: f });
  }
}
