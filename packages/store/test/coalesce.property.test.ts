import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ByteRange, IoStatsStore, MemoryObjectStore, coalesceRanges } from "@quiver/store";

/**
 * An independent oracle of the coalescing rule, written from its statement in the README (not
 * from the implementation): sort the nonempty ranges by (offset, length, input order); a request
 * is the longest run of consecutive sorted ranges in which every range starts at most
 * `coalesceGap` bytes after the furthest end so far and whose hull stays within
 * `maxRequestBytes` (a run of one is always allowed); requests are taken left to right.
 */
function oracle(ranges: readonly ByteRange[], gap: number, maxBytes: number): { offset: number; length: number; members: number[] }[] {
  const sorted = ranges
    .map((r, i) => ({ ...r, i }))
    .filter((r) => r.length > 0)
    .sort((a, b) => a.offset - b.offset || a.length - b.length || a.i - b.i);
  const runValid = (run: typeof sorted): boolean => {
    if (run.length === 1) return true;
    if (gap < 0) return false;
    let end = run[0]!.offset + run[0]!.length;
    for (const r of run.slice(1)) {
      if (r.offset - end > gap) return false;
      end = Math.max(end, r.offset + r.length);
    }
    return end - run[0]!.offset <= maxBytes;
  };
  const out: { offset: number; length: number; members: number[] }[] = [];
  let at = 0;
  while (at < sorted.length) {
    let take = 1;
    while (at + take < sorted.length && runValid(sorted.slice(at, at + take + 1))) take++;
    const run = sorted.slice(at, at + take);
    const end = Math.max(...run.map((r) => r.offset + r.length));
    out.push({ offset: run[0]!.offset, length: end - run[0]!.offset, members: run.map((r) => r.i) });
    at += take;
  }
  return out;
}

const rangeArb: fc.Arbitrary<ByteRange> = fc.record({ offset: fc.nat({ max: 20_000 }), length: fc.oneof(fc.constant(0), fc.nat({ max: 3000 })) });
const optionsArb = fc.record({ coalesceGap: fc.integer({ min: -1, max: 4000 }), maxRequestBytes: fc.integer({ min: 1, max: 30_000 }) });

describe("coalesceRanges", () => {
  it("serves every nonempty range by exactly one request that contains it, within the gap and size rules", () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { maxLength: 40 }), optionsArb, (ranges, options) => {
        const requests = coalesceRanges(ranges, options);
        const servedBy = new Map<number, number>();
        requests.forEach((req, r) => {
          expect(req.members.length).toBeGreaterThan(0);
          for (const i of req.members) {
            expect(servedBy.has(i), `range ${i} served twice`).toBe(false);
            servedBy.set(i, r);
            const range = ranges[i]!;
            expect(range.offset).toBeGreaterThanOrEqual(req.offset);
            expect(range.offset + range.length).toBeLessThanOrEqual(req.offset + req.length);
          }
          // The request is exactly the hull of its members (no bytes beyond them are read).
          const start = Math.min(...req.members.map((i) => ranges[i]!.offset));
          const end = Math.max(...req.members.map((i) => ranges[i]!.offset + ranges[i]!.length));
          expect([req.offset, req.length]).toEqual([start, end - start]);
          // Gaps between consecutive members (by offset) never exceed coalesceGap.
          const sorted = req.members.map((i) => ranges[i]!).sort((a, b) => a.offset - b.offset);
          let reach = sorted[0]!.offset + sorted[0]!.length;
          for (const m of sorted.slice(1)) {
            expect(m.offset - reach).toBeLessThanOrEqual(options.coalesceGap);
            reach = Math.max(reach, m.offset + m.length);
          }
          if (req.members.length > 1) expect(req.length).toBeLessThanOrEqual(options.maxRequestBytes);
          if (options.coalesceGap < 0) expect(req.members.length).toBe(1);
        });
        ranges.forEach((range, i) => expect(servedBy.has(i), `range ${i}`).toBe(range.length > 0));
        for (let r = 1; r < requests.length; r++) expect(requests[r]!.offset).toBeGreaterThanOrEqual(requests[r - 1]!.offset);
      }),
      { numRuns: 10_000 },
    );
  });

  it("equals the independent oracle, request for request, for any ranges and options", () => {
    fc.assert(
      fc.property(fc.array(rangeArb, { maxLength: 40 }), optionsArb, (ranges, options) => {
        expect(coalesceRanges(ranges, options)).toEqual(oracle(ranges, options.coalesceGap, options.maxRequestBytes));
      }),
      { numRuns: 10_000 },
    );
  });

  it("merges: ranges inside one window no larger than maxRequestBytes, with gaps within coalesceGap, are one request", () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1_000_000 }),
        fc.array(fc.record({ at: fc.nat({ max: 4000 }), length: fc.integer({ min: 1, max: 1000 }) }), { minLength: 2, maxLength: 30 }),
        (base, parts) => {
          const ranges = parts.map((p) => ({ offset: base + p.at, length: p.length }));
          // Window <= 5000 bytes: every gap is < 5000 and the hull is <= 5000.
          expect(coalesceRanges(ranges, { coalesceGap: 5000, maxRequestBytes: 5000 })).toEqual([
            { offset: Math.min(...ranges.map((r) => r.offset)), length: Math.max(...ranges.map((r) => r.offset + r.length)) - Math.min(...ranges.map((r) => r.offset)), members: expect.any(Array) },
          ]);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("merges touching ranges at gap 0 and splits ranges further apart than the gap", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 100 }), (lengths, spacing) => {
        let at = 0;
        const touching = lengths.map((length) => {
          const r = { offset: at, length };
          at += length;
          return r;
        });
        at = 0;
        const apart = lengths.map((length) => {
          const r = { offset: at, length };
          at += length + spacing + 1;
          return r;
        });
        // One cheap comparison per case (expect per case dominates the cost at 10,000 runs).
        const counts = [coalesceRanges(touching, { coalesceGap: 0 }).length, coalesceRanges(apart, { coalesceGap: spacing }).length, coalesceRanges(apart, { coalesceGap: spacing + 1 }).length];
        return counts[0] === 1 && counts[1] === lengths.length && counts[2] === 1;
      }),
      { numRuns: 10_000 },
    );
  });

  it("merges exactly the ranges the rule allows (greedy, in offset order)", () => {
    const r = coalesceRanges(
      [
        { offset: 100, length: 10 },
        { offset: 0, length: 10 },
        { offset: 15, length: 5 },
        { offset: 1000, length: 10 },
      ],
      { coalesceGap: 5, maxRequestBytes: 1 << 20 },
    );
    expect(r).toEqual([
      { offset: 0, length: 20, members: [1, 2] },
      { offset: 100, length: 10, members: [0] },
      { offset: 1000, length: 10, members: [3] },
    ]);
    // A single range bigger than maxRequestBytes is still one request.
    expect(coalesceRanges([{ offset: 0, length: 100 }], { maxRequestBytes: 10 })).toEqual([{ offset: 0, length: 100, members: [0] }]);
  });
});

describe("getRanges over IoStatsStore", () => {
  it("returns the right bytes and counts one read request per merged request", async () => {
    const inner = new MemoryObjectStore();
    const data = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 13) & 0xff);
    await inner.put("obj", data);
    const store = new IoStatsStore(inner);
    const ranges = [
      { offset: 0, length: 10 },
      { offset: 20, length: 10 },
      { offset: 5000, length: 10 },
      { offset: 90_000, length: 100 },
      { offset: 90_050, length: 100 },
      { offset: 50, length: 0 },
    ];
    const got = await store.getRanges("obj", ranges, { coalesceGap: 100 });
    expect(got.map((g) => Array.from(g))).toEqual(ranges.map((r) => Array.from(data.subarray(r.offset, r.offset + r.length))));
    const s = store.snapshot();
    // [0,30) + [5000,5010) + [90000,90150): three requests, 30 + 10 + 150 bytes.
    expect(s.total.readRequests).toBe(3);
    expect(s.total.bytesRead).toBe(190);
    expect(s.perPath["obj"]!.readRequests).toBe(3);
    store.reset();
    await store.getRanges("obj", ranges, { coalesceGap: -1 });
    expect(store.snapshot().total.readRequests).toBe(5);
    store.reset();
    await store.getRanges("obj", ranges, { coalesceGap: 100_000 });
    expect(store.snapshot().total).toMatchObject({ readRequests: 1, bytesRead: 90_150 });
  });

  it("property: getRanges equals slicing the object, for any ranges and options", async () => {
    const inner = new MemoryObjectStore();
    const data = Uint8Array.from({ length: 24_000 }, (_, i) => (i * 31 + 7) & 0xff);
    await inner.put("obj", data);
    const store = new IoStatsStore(inner);
    await fc.assert(
      fc.asyncProperty(fc.array(rangeArb, { maxLength: 20 }), optionsArb, async (ranges, options) => {
        store.reset();
        const got = await store.getRanges("obj", ranges, options);
        got.forEach((g, i) => {
          const r = ranges[i]!;
          expect(Buffer.from(g).equals(Buffer.from(data.subarray(r.offset, r.offset + r.length)))).toBe(true);
        });
        expect(store.snapshot().total.readRequests).toBe(coalesceRanges(ranges, options).length);
      }),
      { numRuns: 2000 },
    );
  });
});
