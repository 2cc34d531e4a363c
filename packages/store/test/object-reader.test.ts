/**
 * LocalDirectoryStore's object reader (the shared contract is in the conformance suite, run by
 * every store): `syncReads` readers read the same bytes as the thread-pool ones, both hold exactly
 * one descriptor from open to close (counted in /proc/self/fd), and the option is validated.
 */
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QuiverArgumentError } from "@quiver/format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SYNC_READ_MAX_BYTES, LocalDirectoryStore, openObjectReader } from "../src/index.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-reader-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const openFds = () => readdirSync("/proc/self/fd").length;

describe("LocalDirectoryStore object readers", () => {
  it("syncReads and thread-pool readers read the same bytes; each holds one descriptor until close", async () => {
    const data = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 13 + 7) & 0xff);
    const ranges = [
      { offset: 5, length: 16_384 },
      { offset: 16_389, length: 16_384 },
      { offset: 200_000, length: 99_999 },
      { offset: 100, length: 50 },
    ];
    const total = ranges.reduce((a, r) => a + r.length, 0);
    const got: Uint8Array[] = [];
    // all on the thread pool, all synchronous, the default (small ones synchronous), a limit between the sizes
    const variants = [{ syncReads: false }, { syncReads: true }, {}, { syncReadMaxBytes: 20_000 }];
    for (const [i, options] of variants.entries()) {
      const store = new LocalDirectoryStore(join(root, `s${i}`), options);
      await store.put("obj", data);
      const before = openFds();
      const reader = await openObjectReader(store, "obj");
      expect(reader.pinned).toBe(true);
      expect(openFds()).toBe(before + 1);
      const target = new Uint8Array(total);
      for (const coalesceGap of [0, -1, 1 << 20]) {
        await reader.readRangesInto(ranges, target, { coalesceGap });
        let at = 0;
        for (const r of ranges) {
          expect(target.subarray(at, at + r.length)).toEqual(data.subarray(r.offset, r.offset + r.length));
          at += r.length;
        }
      }
      got.push(target.slice());
      await reader.close();
      expect(openFds()).toBe(before);
    }
    for (const g of got.slice(1)) expect(g).toEqual(got[0]);
  });

  it("syncReads must be a boolean, syncReadMaxBytes a byte count, and not both", () => {
    expect(() => new LocalDirectoryStore(root, { syncReads: "yes" as unknown as boolean })).toThrow(QuiverArgumentError);
    expect(() => new LocalDirectoryStore(root, { syncReadMaxBytes: -1 })).toThrow(/syncReadMaxBytes/);
    expect(() => new LocalDirectoryStore(root, { syncReadMaxBytes: 1.5 })).toThrow(/syncReadMaxBytes/);
    expect(() => new LocalDirectoryStore(root, { syncReads: true, syncReadMaxBytes: 10 })).toThrow(/syncReadMaxBytes/);
    expect(new LocalDirectoryStore(root).syncReadMaxBytes).toBe(DEFAULT_SYNC_READ_MAX_BYTES);
    expect(new LocalDirectoryStore(root, { syncReads: true }).syncReadMaxBytes).toBe(Infinity);
    expect(new LocalDirectoryStore(root, { syncReads: false }).syncReadMaxBytes).toBe(0);
  });
});
