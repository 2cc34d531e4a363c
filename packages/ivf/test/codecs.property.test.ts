import { decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { QuiverFormatError } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type IvfIndexState, encodeIvfIndex, ivfIndexStateCodec, partitionEntryCodecs, readIvfIndexState } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

/** Run `f`; anything thrown must be a QuiverFormatError. */
function onlyFormatErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw e;
  }
}

const shapes = fc.record({
  n: fc.integer({ min: 0, max: 120 }),
  dim: fc.integer({ min: 1, max: 12 }),
  numPartitions: fc.integer({ min: 1, max: 9 }),
  codeWidth: fc.integer({ min: 1, max: 12 }),
  raw: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1 << 30 }),
});

type Shape = typeof shapes extends fc.Arbitrary<infer T> ? T : never;

async function stateOf(shape: Shape): Promise<{ state: IvfIndexState; file: Uint8Array }> {
  const input = syntheticIndexInput({ ...shape, codeWidth: Math.min(shape.codeWidth, shape.dim * 4) });
  const { bytes } = await encodeIvfIndex(input);
  const store = new MemoryObjectStore();
  await store.put("i", bytes);
  return { state: await readIvfIndexState(store, "i", bytes.byteLength), file: bytes };
}

describe("codec properties", () => {
  it("IvfIndexState: round trip, and mutated or truncated entries only throw QuiverFormatError", async () => {
    await fc.assert(
      fc.asyncProperty(shapes, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), async (shape, flips, cut) => {
        const { state } = await stateOf(shape);
        const bytes = encodeCacheEntry(ivfIndexStateCodec, state);
        const back = decodeCacheEntry(ivfIndexStateCodec, bytes).value;
        expect(back.partitions).toEqual(state.partitions);
        expect(back.metadata).toEqual(state.metadata);
        const mutated = bytes.slice();
        for (const [at, x] of flips) mutated[at % mutated.length]! ^= x;
        onlyFormatErrors(() => decodeCacheEntry(ivfIndexStateCodec, mutated));
        onlyFormatErrors(() => decodeCacheEntry(ivfIndexStateCodec, bytes.slice(0, cut % bytes.length)));
      }),
      { numRuns: 150 },
    );
  });

  it("partition entries: round trip, and mutated or truncated entries only throw QuiverFormatError", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("flat", "sq", "pq", "rabitq" as const),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (kind, rows, codeWidth, flips, cut) => {
          const codec = partitionEntryCodecs[kind];
          const rowIds = BigUint64Array.from({ length: rows }, (_, i) => BigInt(i * 3 + 1));
          const codes = Uint8Array.from({ length: rows * codeWidth }, (_, i) => (i * 31) & 255);
          const bytes = encodeCacheEntry(codec, { kind, partition: rows, rows, codeWidth, rowIds, codes });
          const back = decodeCacheEntry(codec, bytes).value;
          expect([...back.rowIds]).toEqual([...rowIds]);
          expect([...back.codes]).toEqual([...codes]);
          const mutated = bytes.slice();
          for (const [at, x] of flips) mutated[at % mutated.length]! ^= x;
          onlyFormatErrors(() => decodeCacheEntry(codec, mutated));
          onlyFormatErrors(() => decodeCacheEntry(codec, bytes.slice(0, cut % bytes.length)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("index file: mutated or truncated files only reject with QuiverFormatError on cold open", async () => {
    await fc.assert(
      fc.asyncProperty(shapes, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), fc.nat(), async (shape, flips, cut) => {
        const { file } = await stateOf(shape);
        const store = new MemoryObjectStore();
        const mutated = file.slice();
        // Flips land in the header, table and metadata most of the time (where cold open looks).
        for (const [at, x] of flips) mutated[at % Math.min(mutated.length, 4096)]! ^= x;
        await store.put("m", mutated);
        await store.put("t", file.slice(0, cut % file.length));
        for (const [path, size] of [["m", undefined], ["m", mutated.length], ["t", undefined]] as const) {
          try {
            await readIvfIndexState(store, path, size);
          } catch (e) {
            if (!(e instanceof QuiverFormatError)) throw e;
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
