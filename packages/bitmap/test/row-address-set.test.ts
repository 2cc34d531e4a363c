import { QuiverFormatError } from "@quiver/format";
import fc from "fast-check";
import { RoaringBitmap32 } from "roaring-wasm";
import { describe, expect, it } from "vitest";
import { RowAddressSet, validatePortableRoaring } from "../src/index.js";

const addr = (f: number, o: number): bigint => (BigInt(f) << 32n) | BigInt(o);

function codeOf(f: () => unknown): string {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof QuiverFormatError) return e.code;
    throw e;
  }
}

describe("RowAddressSet", () => {
  it("splits addresses into fragment (high 32) and offset (low 32) and round-trips", () => {
    const ids = [addr(0, 5), addr(0, 1), addr(3, 0), addr(3, 4_000_000_000), addr(0xffffffff, 0xffffffff)];
    const s = RowAddressSet.fromRowIds(ids);
    expect(s.fragmentIds()).toEqual([0, 3, 0xffffffff]);
    expect(Array.from(s.toRowIds())).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    for (const id of ids) expect(s.has(id)).toBe(true);
    expect(s.has(addr(0, 2))).toBe(false);
    expect(s.has(addr(1, 5))).toBe(false);
    const back = RowAddressSet.deserialize(s.serialize());
    expect(back.equals(s)).toBe(true);
    expect(s.serialize().byteLength).toBe(s.serializedSize());
  });

  it("the byte form is u32 count, then per fragment u32 id, u32 size, portable roaring bytes", () => {
    const s = RowAddressSet.fromRowIds([addr(7, 1), addr(7, 2)]);
    const b = s.serialize();
    const v = new DataView(b.buffer);
    expect(v.getUint32(0, true)).toBe(1);
    expect(v.getUint32(4, true)).toBe(7);
    const size = v.getUint32(8, true);
    const roaring = b.subarray(12, 12 + size);
    expect(Array.from(RoaringBitmap32.deserialize(roaring, "portable").toArray())).toEqual([1, 2]);
    expect(12 + size).toBe(b.byteLength);
  });

  it("full-fragment entries have size 0 and contain every offset", () => {
    const s = RowAddressSet.fullFragments([2, 9]).or(RowAddressSet.fromRowIds([addr(4, 1)]));
    const b = s.serialize();
    expect(Array.from(b.subarray(0, 12))).toEqual([3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    const back = RowAddressSet.deserialize(b);
    expect(back.isFullFragment(2)).toBe(true);
    expect(back.has(addr(9, 123456))).toBe(true);
    expect(back.has(addr(4, 2))).toBe(false);
    expect(() => back.size()).toThrow(RangeError);
    expect(back.size(() => 10)).toBe(21);
    expect(back.and(RowAddressSet.fromRowIds([addr(2, 3), addr(4, 1), addr(5, 0)])).toRowIds()).toEqual(new BigUint64Array([addr(2, 3), addr(4, 1)]));
    expect(() => back.andNot(RowAddressSet.fromRowIds([addr(2, 3)]))).toThrow(RangeError);
  });

  it("set algebra matches JS sets", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200_000 })), { maxLength: 300 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200_000 })), { maxLength: 300 }), (a, b) => {
        const A = a.map(([f, o]) => addr(f, o));
        const B = b.map(([f, o]) => addr(f, o));
        const sa = RowAddressSet.fromRowIds(A);
        const sb = RowAddressSet.fromRowIds(B);
        const ja = new Set(A);
        const jb = new Set(B);
        const sorted = (xs: Iterable<bigint>) => [...xs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        expect(Array.from(sa.and(sb).toRowIds())).toEqual(sorted([...ja].filter((x) => jb.has(x))));
        expect(Array.from(sa.or(sb).toRowIds())).toEqual(sorted(new Set([...ja, ...jb])));
        expect(Array.from(sa.andNot(sb).toRowIds())).toEqual(sorted([...ja].filter((x) => !jb.has(x))));
        expect(Array.from(RowAddressSet.union([sa, sb, sa]).toRowIds())).toEqual(sorted(new Set([...ja, ...jb])));
        expect(RowAddressSet.deserialize(sa.serialize()).equals(sa)).toBe(true);
        const words = new Uint32Array(new BigUint64Array(A).buffer);
        expect(RowAddressSet.fromWords(words, 0, A.length).equals(sa)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("membership stays exact after the set switches to plain bit arrays (many probes)", () => {
    const ids = Array.from({ length: 3000 }, (_, i) => addr(i % 5, (i * 7919) % 200_000));
    const set = RowAddressSet.fromRowIds(ids).or(RowAddressSet.fullFragments([9]));
    const truth = new Set(ids);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5000; i++) {
        const id = addr(i % 11, (i * 104_729) % 210_000);
        expect(set.has(id)).toBe(truth.has(id) || i % 11 === 9);
      }
      for (const id of ids.slice(0, 500)) expect(set.has(id)).toBe(true);
    }
    expect(set.has(addr(9, 4_000_000_000))).toBe(true);
    expect(set.has(addr(0, 4_000_000_000))).toBe(false);
    expect(set.has((1n << 63n) | 5n)).toBe(false);
  });

  it("rejects unsorted fragments, empty bitmaps, trailing bytes, truncation", () => {
    const good = RowAddressSet.fromRowIds([addr(1, 1), addr(2, 2)]).serialize();
    const v = new DataView(good.buffer);
    const swapped = good.slice();
    new DataView(swapped.buffer).setUint32(4, 5, true);
    expect(codeOf(() => RowAddressSet.deserialize(swapped))).toBe("ROW_ADDRESS_SET_UNSORTED");
    expect(codeOf(() => RowAddressSet.deserialize(new Uint8Array([...good, 0])))).toBe("TRAILING_BYTES");
    for (let cut = 0; cut < good.byteLength; cut++) expect(codeOf(() => RowAddressSet.deserialize(good.subarray(0, cut)))).not.toBe("ok");
    const empty = new RoaringBitmap32().serialize("portable");
    const withEmpty = new Uint8Array(12 + empty.byteLength);
    const w = new DataView(withEmpty.buffer);
    w.setUint32(0, 1, true);
    w.setUint32(8, empty.byteLength, true);
    withEmpty.set(empty, 12);
    expect(codeOf(() => RowAddressSet.deserialize(withEmpty))).toBe("ROW_ADDRESS_SET_EMPTY_FRAGMENT");
    expect(v.getUint32(0, true)).toBe(2);
  });

  it("validates portable roaring structure before CRoaring sees it", () => {
    const b = new RoaringBitmap32([1, 5, 9]).serialize("portable");
    expect(validatePortableRoaring(b)).toBe(3);
    const unsorted = b.slice();
    // array container values start after cookie(4) + count(4) + header(4) + offsets(4) = 16
    unsorted[16] = 9;
    expect(codeOf(() => validatePortableRoaring(unsorted))).toBe("ROARING_INVALID_CONTAINER");
    const badCookie = b.slice();
    badCookie[0] = 0;
    expect(codeOf(() => validatePortableRoaring(badCookie))).toBe("ROARING_BAD_COOKIE");
    const run = new RoaringBitmap32();
    run.addRange(0, 100_000);
    run.runOptimize();
    const rb = run.serialize("portable");
    expect(validatePortableRoaring(rb)).toBe(100_000);
    const dense = new RoaringBitmap32();
    for (let i = 0; i < 60_000; i += 2) dense.add(i);
    const db = dense.serialize("portable");
    expect(validatePortableRoaring(db)).toBe(30_000);
    const flipped = db.slice();
    flipped[db.byteLength - 100]! ^= 0x01;
    expect(codeOf(() => validatePortableRoaring(flipped))).toBe("ROARING_INVALID_CONTAINER");
  });
});

describe("bulk construction from runs of row-address words", () => {
  const toWords = (ids: bigint[]) => new Uint32Array(BigUint64Array.from(ids).buffer);
  // Fragments near each other (the dense path) or far apart (the fallback), offsets dense (the
  // bit-array sort) or sparse (the typed-array sort), runs overlapping or not.
  const idArb = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2000 })),
    fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })),
  ).map(([f, o]) => addr(f, o));
  it("equals the union of the runs' sets (1,000 cases)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(idArb, { maxLength: 700 }), fc.nat(), fc.nat()), { maxLength: 6 }), (parts) => {
        const runs = parts.map(([ids, a, b]) => {
          const start = ids.length === 0 ? 0 : a % (ids.length + 1);
          const end = ids.length === 0 ? 0 : start + (b % (ids.length - start + 1));
          return { ids, run: { words: toWords(ids), start, end } };
        });
        const expected = new Set<bigint>();
        for (const { ids, run } of runs) for (let i = run.start; i < run.end; i++) expected.add(ids[i]!);
        const got = RowAddressSet.fromWordRuns(runs.map((r) => r.run));
        expect(Array.from(got.toRowIds())).toEqual([...expected].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
      }),
      { numRuns: 1000 },
    );
  });
  it("a dense run of one fragment with duplicates (bit-array path)", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => addr(2, (i * 7919) % 3000));
    const got = RowAddressSet.fromWordRuns([{ words: toWords(ids), start: 0, end: 2500 }, { words: toWords(ids), start: 2000, end: 5000 }]);
    expect(got.size()).toBe(3000);
    expect(got.equals(RowAddressSet.fromRange(2, 0, 3000))).toBe(true);
  });
  it("many rows of one fragment over a small span (bit-array portable path): bitmap and array containers", () => {
    // Key 0 dense (bitmap container), key 1 sparse (array container), key 2 empty, key 3 a few rows.
    const offsets = [
      ...Array.from({ length: 9000 }, (_, i) => (i * 7) % 65536),
      ...Array.from({ length: 300 }, (_, i) => 65536 + i * 101),
      ...[3 * 65536 + 5, 3 * 65536 + 65535],
    ];
    const other = Array.from({ length: 50 }, (_, i) => addr(9, i * 3));
    const ids = [...offsets.map((o) => addr(4, o)), ...other];
    const perm = ids.map((_, i) => ids[(i * 7919) % ids.length]!);
    const got = RowAddressSet.fromWordRuns([{ words: toWords(perm), start: 0, end: 4000 }, { words: toWords(perm), start: 4000, end: perm.length }]);
    const expected = RowAddressSet.fromRowIds(ids);
    expect(got.equals(expected)).toBe(true);
    expect(got.size()).toBe(new Set(ids).size);
    expect(RowAddressSet.deserialize(got.serialize()).equals(expected)).toBe(true);
  });
  it("a union of many sets (orMany path) equals pairwise ors", () => {
    const sets = Array.from({ length: 12 }, (_, k) => RowAddressSet.fromRowIds(Array.from({ length: 300 }, (_, i) => addr(i % 3, (i * 31 + k * 977) % 20_000))));
    expect(RowAddressSet.union(sets).equals(sets.reduce((a, b) => a.or(b)))).toBe(true);
  });
});
