/**
 * Hostile-but-checksummed inputs for the scalar codecs (the ivf harness's approach): rebuild a
 * *valid* frame around mutated section contents (bytes overwritten, sections cut or grown, JSON
 * leaves replaced with hostile values), so the codecs' own validation is what must reject, with
 * QuiverFormatError only. 10,000 cases per codec in CI; 200,000 with QUIVER_SOAK=1.
 */
import { QuiverFormatError, type SectionInput, decodeFrame, encodeFrame } from "@quiver/format";
import fc from "fast-check";
import { expect } from "vitest";

export const RUNS = process.env.QUIVER_SOAK === "1" ? 200_000 : 10_000;

/** Values a lying JSON document might hold instead of the real one. */
const HOSTILE: readonly unknown[] = [null, -1, 0, 1.5, 2 ** 53, 1e308, -0, "x", "", true, [], {}, [1, 2, 3], { a: 1 }, 4294967296, 65537, NaN];

export function mutateJson(value: unknown, pick: () => number): unknown {
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

export const mutation = fc.record({
  section: fc.nat(),
  edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 0, maxLength: 6 }),
  resize: fc.oneof(fc.constant(0), fc.integer({ min: -64, max: 64 })),
  jsonChoices: fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 8, maxLength: 8 }),
});

export type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

const BASE_FRAMES = new WeakMap<Uint8Array, ReturnType<typeof decodeFrame>>();

/** Rebuild `entry` (a cache-entry frame) with one section's contents mutated; undefined if not encodable. */
export function hostileEntry(entry: Uint8Array, m: Mutation): Uint8Array | undefined {
  // the base frame is the same for every case of a run: decode (and verify) it once
  let f = BASE_FRAMES.get(entry);
  if (f === undefined) BASE_FRAMES.set(entry, (f = decodeFrame(entry)));
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
    return encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, sections });
  } catch (e) {
    if (e instanceof QuiverFormatError && e.code === "SECTION_LENGTH_NOT_MULTIPLE") return undefined;
    throw e;
  }
}

export function onlyFormatErrors(f: () => unknown): "ok" | "rejected" {
  try {
    f();
    return "ok";
  } catch (e) {
    if (e instanceof QuiverFormatError) return "rejected";
    throw e;
  }
}


/** Run RUNS mutations of `base` through `decode`; both outcomes must occur, and only QuiverFormatError may escape. */
export function fuzzFrame(base: Uint8Array, decode: (bytes: Uint8Array) => unknown, runs = RUNS): { ok: number; rejected: number } {
  expect(onlyFormatErrors(() => decode(base))).toBe("ok");
  const outcomes = { ok: 0, rejected: 0 };
  fc.assert(
    fc.property(mutation, (m) => {
      const hostile = hostileEntry(base, m);
      if (hostile === undefined) return;
      outcomes[onlyFormatErrors(() => decode(hostile))]++;
    }),
    { numRuns: runs },
  );
  expect(outcomes.rejected).toBeGreaterThan(runs / 10);
  expect(outcomes.ok).toBeGreaterThan(0);
  return outcomes;
}

/** Raw-byte mutations (no frame around them) of `base`: flips, cuts, growth. */
export function fuzzBytes(base: Uint8Array, decode: (bytes: Uint8Array) => unknown, runs = RUNS): { ok: number; rejected: number } {
  expect(onlyFormatErrors(() => decode(base))).toBe("ok");
  const outcomes = { ok: 0, rejected: 0 };
  fc.assert(
    fc.property(mutation, (m) => {
      const size = Math.max(0, base.byteLength + m.resize);
      const bytes = new Uint8Array(size);
      bytes.set(base.subarray(0, Math.min(size, base.byteLength)));
      for (const [at, v] of m.edits) if (size > 0) bytes[at % size] = v;
      outcomes[onlyFormatErrors(() => decode(bytes))]++;
    }),
    { numRuns: runs },
  );
  expect(outcomes.rejected).toBeGreaterThan(runs / 10);
  expect(outcomes.ok).toBeGreaterThan(0);
  return outcomes;
}
