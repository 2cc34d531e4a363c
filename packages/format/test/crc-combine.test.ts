import fc from "fast-check";
import { crc32, crc32Combine } from "../src/index.js";
import { describe, expect, it } from "vitest";

describe("crc32Combine", () => {
  it("gives the CRC-32 of the concatenation", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        const ab = new Uint8Array(a.length + b.length);
        ab.set(a);
        ab.set(b, a.length);
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(ab));
      }),
      { numRuns: 2000 },
    );
  });

  it("is associative for lengths past 2^32 bytes (no 32-bit length arithmetic)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 }), (a, b, c, lb, lc) => {
        expect(crc32Combine(crc32Combine(a, b, lb), c, lc)).toBe(crc32Combine(a, crc32Combine(b, c, lc), lb + lc));
      }),
      { numRuns: 300 },
    );
  });

  it("a 64 MiB zero run matches the streamed CRC", () => {
    const zeros = new Uint8Array(1 << 20);
    const head = crc32(new Uint8Array([1, 2, 3]));
    let running = head;
    let tail = 0;
    for (let i = 0; i < 64; i++) {
      running = crc32(zeros, running);
      tail = crc32(zeros, tail);
    }
    expect(crc32Combine(head, tail, 64 << 20)).toBe(running);
  });
});
