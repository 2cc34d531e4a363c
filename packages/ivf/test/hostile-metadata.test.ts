/**
 * Issue 8, "other hostile-input defects" in IVF: deep JSON, huge strings, non-finite centroids and
 * non-orthogonal RaBitQ rotations are QuiverFormatErrors with bounded messages, never a crash.
 */
import { type SectionInput, encodeFrame, inspectFrameHeader, typedSection } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { IVF_SECTION, type QuantizerMetadata, encodeIvfIndex, readIvfIndexState, trainQuantizer, validateQuantizerMetadata } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

async function validFile(): Promise<Uint8Array> {
  return (await encodeIvfIndex(syntheticIndexInput({ n: 40, dim: 4, numPartitions: 2, codeWidth: 4, raw: false }))).bytes;
}

function reencode(file: Uint8Array, edit: (s: SectionInput[]) => SectionInput[]): Uint8Array {
  const h = inspectFrameHeader(file);
  const sections: SectionInput[] = h.sections.map((s) => ({ id: s.id, encoding: s.encoding, bytes: file.subarray(s.offset, s.offset + s.length) }));
  return encodeFrame({ kind: h.kind, kindVersion: h.kindVersion, typeName: h.typeName, sections: edit(sections) });
}

function withMetadataText(file: Uint8Array, edit: (json: string) => string): Uint8Array {
  return reencode(file, (s) => s.map((x) => (x.id === IVF_SECTION.metadata ? { ...x, bytes: new TextEncoder().encode(edit(new TextDecoder().decode(x.bytes))) } : x)));
}

async function open(bytes: Uint8Array): Promise<unknown> {
  const store = new MemoryObjectStore();
  await store.put("i", bytes);
  try {
    await readIvfIndexState(store, "i", bytes.byteLength);
    return undefined;
  } catch (e) {
    return e;
  }
}

describe("hostile IVF metadata", () => {
  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  it.each([
    ["distance", (j: string) => j.replace('"distance":"l2"', `"distance":${deep(5000)}`)],
    ["quantizer.kind", (j: string) => j.replace(/"kind":"[a-z]+"/, `"kind":${deep(5000)}`)],
    ["a param value", (j: string) => j.replace('"params":{', `"params":{"x":${deep(5000)},`)],
  ])("5,000-deep JSON in %s is BAD_JSON, not a stack overflow", async (_what, edit) => {
    const e = await open(withMetadataText(await validFile(), edit));
    expect(e).toMatchObject({ name: "QuiverFormatError", code: "BAD_JSON" });
  });

  it("JSON 64 deep is parsed and then rejected by the schema, with a bounded message", async () => {
    const e = await open(withMetadataText(await validFile(), (j) => j.replace('"distance":"l2"', `"distance":${deep(63)}`)));
    expect(e).toMatchObject({ code: "SCHEMA_VIOLATION", stage: "metadata" });
    expect((e as Error).message.length).toBeLessThan(200);
  });

  it("a 100,000-character distance is quoted as a short prefix", async () => {
    const e = await open(withMetadataText(await validFile(), (j) => j.replace('"distance":"l2"', `"distance":"${"x".repeat(100_000)}"`)));
    expect(e).toMatchObject({ code: "SCHEMA_VIOLATION", stage: "metadata" });
    expect((e as Error).message.length).toBeLessThan(200);
  });

  it("dim 0 is below the minimum (INVALID_VALUE), dim 65,537 above the maximum (LIMIT_EXCEEDED)", async () => {
    const file = await validFile();
    expect(await open(withMetadataText(file, (j) => j.replace('"dim":4', '"dim":0')))).toMatchObject({ code: "INVALID_VALUE", stage: "metadata" });
    expect(await open(withMetadataText(file, (j) => j.replace('"dim":4', '"dim":65537')))).toMatchObject({ code: "LIMIT_EXCEEDED", stage: "metadata" });
  });

  it.each([Number.NaN, Infinity, -Infinity])("a centroid of %d is INVALID_VALUE", async (v) => {
    const file = await validFile();
    const h = inspectFrameHeader(file);
    const c = h.sections.find((s) => s.id === IVF_SECTION.centroids)!;
    const centroids = new Float32Array(file.slice(c.offset, c.offset + c.length).buffer);
    centroids[3] = v;
    const e = await open(reencode(file, (s) => s.map((x) => (x.id === IVF_SECTION.centroids ? typedSection(x.id, "f32", centroids) : x))));
    expect(e).toMatchObject({ name: "QuiverFormatError", code: "INVALID_VALUE", stage: "payload" });
  });
});

describe("RaBitQ rotation orthogonality", () => {
  const dim = 16;
  const trained = trainQuantizer("rabitq", new Float32Array(dim * 4), 4, dim, { distance: "l2", seed: 7, ivfCentroids: new Float32Array(dim), numPartitions: 1 }).metadata;
  const withRotation = (rotation: Float32Array): QuantizerMetadata => ({ ...trained, arrays: { rotation } });

  it("the trained rotation passes", () => {
    expect(() => validateQuantizerMetadata(trained)).not.toThrow();
  });

  it("a row scaled by 1.01 is rejected", () => {
    const r = (trained.arrays.rotation as Float32Array).slice();
    for (let t = 0; t < dim; t++) r[3 * dim + t] = r[3 * dim + t]! * 1.01;
    expect(() => validateQuantizerMetadata(withRotation(r))).toThrow(expect.objectContaining({ code: "BAD_QUANTIZER_METADATA" }));
  });

  it("unit rows and unit columns that are not orthogonal are rejected (the probes catch it)", () => {
    // (1/sqrt 2) * circulant(1, 1, 0, ..., 0): every row and column has norm 1, rows overlap.
    const r = new Float32Array(dim * dim);
    for (let i = 0; i < dim; i++) {
      r[i * dim + i] = Math.SQRT1_2;
      r[i * dim + ((i + 1) % dim)] = Math.SQRT1_2;
    }
    expect(() => validateQuantizerMetadata(withRotation(r))).toThrow(/probe/);
  });

  it("a permutation with signs (orthogonal) passes", () => {
    const r = new Float32Array(dim * dim);
    for (let i = 0; i < dim; i++) r[i * dim + ((i * 5) % dim)] = i % 3 === 0 ? -1 : 1;
    expect(() => validateQuantizerMetadata(withRotation(r))).not.toThrow();
  });
});
