/** Index of the low / high u32 half of a u64 in a Uint32Array view (platform byte order). */
const LO = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HI = 1 - LO;

const halves = new WeakMap<BigUint64Array, Uint32Array>();

/** The u32 halves view of a row-id array (made once per array) for {@link TopKCandidates.offerAt}. */
export function idHalves(ids: BigUint64Array): Uint32Array {
  let v = halves.get(ids);
  if (v === undefined) halves.set(ids, (v = new Uint32Array(ids.buffer, ids.byteOffset, ids.length * 2)));
  return v;
}

/**
 * Bounded selection of the best `capacity` candidates by (distance, rowId): a max-heap whose root
 * is the worst kept candidate, so most rows are rejected by one comparison and no allocation.
 */
export class TopKCandidates {
  readonly capacity: number;
  size = 0;
  readonly distances: Float64Array;
  readonly rowIds: BigUint64Array;
  /** Caller-defined tags (e.g. probe slot and row index), two per candidate. */
  readonly tagA: Int32Array;
  readonly tagB: Int32Array;
  /** The row ids as u32 halves: the heap moves ids without making a BigInt per move. */
  readonly #ids32: Uint32Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.distances = new Float64Array(capacity);
    this.rowIds = new BigUint64Array(capacity);
    this.#ids32 = new Uint32Array(this.rowIds.buffer);
    this.tagA = new Int32Array(capacity);
    this.tagB = new Int32Array(capacity);
  }

  /** Distance of the worst kept candidate, or +Infinity while not full. */
  threshold(): number {
    return this.size < this.capacity ? Number.POSITIVE_INFINITY : this.distances[0]!;
  }

  #worse(i: number, j: number): boolean {
    const di = this.distances[i]!;
    const dj = this.distances[j]!;
    if (di !== dj) return di > dj;
    // equal distances: by row id, compared as u32 halves (no BigInt made)
    const w = this.#ids32;
    const hi = w[2 * i + HI]!;
    const hj = w[2 * j + HI]!;
    return hi > hj || (hi === hj && w[2 * i + LO]! > w[2 * j + LO]!);
  }

  /**
   * {@link offer} of row `i` of a partition whose row ids are `ids32` (the u32 halves of its
   * BigUint64Array, see {@link idHalves}): the id is compared and copied as halves, so no BigInt
   * is made per candidate (one per offered row was most of a scan's remaining garbage).
   */
  offerAt(d: number, ids32: Uint32Array, i: number, a: number, b: number): void {
    if (this.capacity === 0) return;
    const w = this.#ids32;
    const lo = ids32[2 * i + LO]!;
    const hi = ids32[2 * i + HI]!;
    if (this.size < this.capacity) {
      let at = this.size++;
      this.distances[at] = d;
      w[2 * at + LO] = lo;
      w[2 * at + HI] = hi;
      this.tagA[at] = a;
      this.tagB[at] = b;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!this.#worse(at, parent)) break;
        this.#swap(at, parent);
        at = parent;
      }
      return;
    }
    const root = this.distances[0]!;
    if (d > root) return;
    if (d === root) {
      const rh = w[HI]!;
      if (hi > rh || (hi === rh && lo >= w[LO]!)) return;
    }
    this.distances[0] = d;
    w[LO] = lo;
    w[HI] = hi;
    this.tagA[0] = a;
    this.tagB[0] = b;
    this.#siftDown(0, this.size);
  }

  #swap(i: number, j: number): void {
    const d = this.distances[i]!;
    this.distances[i] = this.distances[j]!;
    this.distances[j] = d;
    const w = this.#ids32;
    const lo = w[2 * i]!;
    const hi = w[2 * i + 1]!;
    w[2 * i] = w[2 * j]!;
    w[2 * i + 1] = w[2 * j + 1]!;
    w[2 * j] = lo;
    w[2 * j + 1] = hi;
    const a = this.tagA[i]!;
    this.tagA[i] = this.tagA[j]!;
    this.tagA[j] = a;
    const b = this.tagB[i]!;
    this.tagB[i] = this.tagB[j]!;
    this.tagB[j] = b;
  }

  /** Offer a candidate whose distance already passed `d <= threshold()`; `rowId` is read lazily by the caller. */
  offer(d: number, rowId: bigint, a: number, b: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let i = this.size++;
      this.distances[i] = d;
      this.rowIds[i] = rowId;
      this.tagA[i] = a;
      this.tagB[i] = b;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.#worse(i, parent)) break;
        this.#swap(i, parent);
        i = parent;
      }
      return;
    }
    const root = this.distances[0]!;
    if (d > root || (d === root && rowId >= this.rowIds[0]!)) return;
    this.distances[0] = d;
    this.rowIds[0] = rowId;
    this.tagA[0] = a;
    this.tagB[0] = b;
    this.#siftDown(0, this.size);
  }

  /** Restores the heap below slot i within the first n slots. */
  #siftDown(i: number, n: number): void {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < n && this.#worse(l, w)) w = l;
      if (r < n && this.#worse(r, w)) w = r;
      if (w === i) break;
      this.#swap(i, w);
      i = w;
    }
  }

  /**
   * Sorts the kept candidates in place, best first (by distance, then row id): slot i is then
   * the i-th best. Heap sort, so no allocation; no candidate may be offered afterwards until
   * {@link reset}.
   */
  sortInPlace(): void {
    for (let end = this.size - 1; end > 0; end--) {
      this.#swap(0, end);
      this.#siftDown(0, end);
    }
  }

  /** Empties the candidates (the storage is kept for reuse). */
  reset(): void {
    this.size = 0;
  }

  /** Indexes of the kept candidates, best first (sorted by distance, then row id). */
  sortedOrder(): number[] {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((i, j) => {
      const d = this.distances[i]! - this.distances[j]!;
      if (d !== 0) return d;
      const a = this.rowIds[i]!;
      const b = this.rowIds[j]!;
      return a < b ? -1 : a > b ? 1 : 0;
    });
    return order;
  }
}
