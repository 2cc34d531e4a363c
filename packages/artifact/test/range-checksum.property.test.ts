import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QuiverFormatError, crc32 } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { type ArtifactManifest, PartitionArtifactReader, PartitionArtifactWriter, canonicalPayloadRows, validateArtifact } from "../src/index.js";
import { inputBatch, pqSchema } from "./helpers.js";

const P = 12;
const ROWS = 600;

/** Every partition's rows in canonical form, or the error code its read threw. */
async function readAll(store: MemoryObjectStore): Promise<(unknown[] | string)[]> {
  const r = await PartitionArtifactReader.open(store, "a");
  const out: (unknown[] | string)[] = [];
  for (let p = 0; p < r.numPartitions; p++) {
    try {
      out.push((await r.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
    } catch (e) {
      if (!(e instanceof QuiverFormatError)) throw e;
      out.push(e.code);
    }
  }
  return out;
}

describe("per-range CRC-32 properties", () => {
  it("a bit flipped anywhere in a bucket file, whole-file CRC re-sealed: each partition reads byte-exact or throws, never wrong rows", async () => {
    const store = new MemoryObjectStore();
    const w = await PartitionArtifactWriter.create({ store, uri: "a", numPartitions: P, payloadSchema: pqSchema(8), numBuckets: 2, memoryBudgetBytes: 4096 });
    await w.append(inputBatch(0, ROWS, P, 8));
    const m: ArtifactManifest = await w.finish();
    const files = new Map<string, Uint8Array>();
    for (const o of await store.list("a/")) files.set(o.path, await store.get(o.path));
    const good = await readAll(store);
    expect(good.every((x) => Array.isArray(x))).toBe(true);
    // rows compared as JSON (strings and integers: exact), a deep toEqual per case cost more than the read
    const goodJson = good.map((x) => JSON.stringify(x));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: m.buckets.length - 1 }), fc.nat(), fc.integer({ min: 0, max: 7 }), async (b, at, bit) => {
        const path = `a/${m.buckets[b]!.path}`;
        const bytes = files.get(path)!.slice();
        const i = at % bytes.byteLength;
        bytes[i] = bytes[i]! ^ (1 << bit);
        const s = new MemoryObjectStore();
        for (const [p, f] of files) await s.put(p, f);
        await s.put(path, bytes);
        const sealed = { ...m, buckets: m.buckets.map((x, k) => (k === b ? { ...x, crc32: crc32(bytes) } : x)) };
        await s.put("a/manifest.json", new TextEncoder().encode(JSON.stringify(sealed)));
        let got: (unknown[] | string)[];
        try {
          got = await readAll(s);
        } catch (e) {
          // Footer / trailer damage fails the open or the footer load: an error, never rows.
          if (!(e instanceof QuiverFormatError)) throw e;
          return;
        }
        got.forEach((x, p) => {
          if (typeof x !== "string") expect(JSON.stringify(x), `partition ${p}`).toBe(goodJson[p]);
        });
        // Whenever a read failed, the validator finds a problem too.
        if (got.some((x) => typeof x === "string")) expect((await validateArtifact(s, "a")).length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
