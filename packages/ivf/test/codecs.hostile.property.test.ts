/**
 * Hostile-but-checksummed inputs: random byte flips mostly stop at the CRC, so these properties
 * rebuild a *valid* frame around mutated section contents (bytes overwritten, sections cut or
 * grown, JSON leaves replaced with hostile values). The codecs' own validation must then reject
 * with QuiverFormatError — never another exception, never a hang. 10,000 cases per codec in CI;
 * 200,000 with QUIVER_SOAK=1.
 */
import { type CacheCodec, decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { QuiverFormatError, decodeFrame, encodeFrame, type SectionInput } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeIvfIndex, ivfIndexStateCodec, partitionEntryCodecs, partitionVectorsCodec, readIvfIndexState } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const RUNS = process.env.QUIVER_SOAK === "1" ? 200_000 : 10_000;

/** Values a lying JSON document might hold instead of the real one. */
const HOSTILE: readonly unknown[] = [null, -1, 0, 1.5, 2 ** 53, 1e308, -0, "x", "", true, [], {}, [1, 2, 3], { a: 1 }, 4294967296, 65537, NaN];

function mutateJson(value: unknown, pick: () => number): unknown {
  if (Array.isArray(value) && value.length > 0) {
    const i = Math.floor(pick() * value.length);
    const out = value.slice();
    out[i] = pick() < 0.5 ? mutateJson(value[i], pick) : HOSTILE[Math.floor(pick() * HOSTILE.length)];
    if (pick() < 0.1) out.length = Math.floor(pick() * out.length);
    return out;
  }
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    if (keys.length === 0 || pick() < 0.1) {
      // defineProperty: a plain assignment to "__proto__" would set the prototype, not add a key.
      Object.defineProperty(out, pick() < 0.5 ? "unexpected" : "__proto__", { value: 1, enumerable: true, writable: true, configurable: true });
      return out;
    }
    const k = keys[Math.floor(pick() * keys.length)]!;
    if (pick() < 0.1) delete out[k];
    else out[k] = pick() < 0.5 ? mutateJson(out[k], pick) : HOSTILE[Math.floor(pick() * HOSTILE.length)];
    return out;
  }
  return HOSTILE[Math.floor(pick() * HOSTILE.length)];
}

const mutation = fc.record({
  section: fc.nat(),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 0, maxLength: 6 }),
  resize: fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 })),
  jsonChoices: fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 8, maxLength: 8 }),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** Rebuild `entry` (a cache-entry frame) with one section's contents mutated; undefined if not encodable. */
function hostileEntry(entry: Uint8Array, m: Mutation): Uint8Array | undefined {
  const f = decodeFrame(entry);
  if (f.sections.length === 0) return undefined;
  const target = f.sections[m.section % f.sections.length]!;
  let bytes: Uint8Array;
  if (target.encoding === "json") {
    let i = 0;
    const pick = () => m.jsonChoices[i++ % m.jsonChoices.length]!;
    const doc = JSON.parse(new TextDecoder().decode(target.bytes)) as unknown;
    bytes = new TextEncoder().encode(JSON.stringify(mutateJson(doc, pick)));
  } else {
    const size = Math.max(0, target.bytes.byteLength + m.resize);
    bytes = new Uint8Array(size);
    bytes.set(target.bytes.subarray(0, Math.min(size, target.bytes.byteLength)));
    for (const [at, v] of m.edits) if (size > 0) bytes[at % size] = v;
  }
  const sections: SectionInput[] = f.sections.map((s) => ({ id: s.id, encoding: s.encoding, bytes: s === target ? bytes : s.bytes }));
  try {
    return encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, sectionChecksum: f.sectionChecksum, sections });
  } catch (e) {
    if (e instanceof QuiverFormatError && e.code === "SECTION_LENGTH_NOT_MULTIPLE") return undefined;
    throw e;
  }
}

function onlyFormatErrors(f: () => unknown): "ok" | "rejected" {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof QuiverFormatError) return "rejected";
    throw e;
  }
}

describe("codecs reject hostile but checksum-valid entries with QuiverFormatError only", () => {
  const entries: { name: string; codec: CacheCodec<unknown>; bytes: Uint8Array }[] = [];

  beforeAll(async () => {
    for (const [i, shape] of [
      { n: 40, dim: 6, numPartitions: 3, codeWidth: 5, raw: true },
      { n: 0, dim: 3, numPartitions: 2, codeWidth: 2, raw: false },
      { n: 90, dim: 12, numPartitions: 7, codeWidth: 9, raw: false, emptyPartition: 4 },
    ].entries()) {
      const { bytes } = await encodeIvfIndex(syntheticIndexInput({ ...shape, seed: i + 1 }));
      const store = new MemoryObjectStore();
      await store.put("i", bytes);
      const state = await readIvfIndexState(store, "i", bytes.byteLength);
      entries.push({ name: `state-${i}`, codec: ivfIndexStateCodec as CacheCodec<unknown>, bytes: encodeCacheEntry(ivfIndexStateCodec, state) });
    }
    for (const kind of ["flat", "sq", "pq", "rabitq"] as const) {
      const rows = 11;
      const codeWidth = kind === "flat" ? 16 : 6;
      const entry = {
        kind,
        partition: 2,
        rows,
        codeWidth,
        rowIds: BigUint64Array.from({ length: rows }, (_, i) => BigInt(i * 5 + 3)),
        codes: Uint8Array.from({ length: rows * codeWidth }, (_, i) => (i * 37) & 255),
      };
      const codec = partitionEntryCodecs[kind] as CacheCodec<unknown>;
      entries.push({ name: `partition-${kind}`, codec, bytes: encodeCacheEntry(codec, entry) });
    }
    const vectors = { partition: 1, rows: 5, dim: 4, vectors: Float32Array.from({ length: 20 }, (_, i) => i / 3) };
    entries.push({ name: "partition-vectors", codec: partitionVectorsCodec as CacheCodec<unknown>, bytes: encodeCacheEntry(partitionVectorsCodec, vectors) });
    // Every base entry decodes: the property starts from valid inputs.
    for (const e of entries) expect(onlyFormatErrors(() => decodeCacheEntry(e.codec, e.bytes)), e.name).toBe("ok");
  });

  it("state, partition and raw-vector entries", () => {
    const outcomes = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.nat(), mutation, (which, m) => {
        const e = entries[which % entries.length]!;
        const hostile = hostileEntry(e.bytes, m);
        if (hostile === undefined) return;
        outcomes[onlyFormatErrors(() => decodeCacheEntry(e.codec, hostile))]++;
      }),
      { numRuns: RUNS },
    );
    // Both outcomes happen: the property exercised the codecs' validation, not only the frame's.
    expect(outcomes.rejected).toBeGreaterThan(RUNS / 10);
    expect(outcomes.ok).toBeGreaterThan(0);
  });
});
