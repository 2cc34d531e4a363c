import { describe, expect, it } from "vitest";
import { decodeCacheEntry, testVectorsCodec } from "@quiver/cache";
import { isQuiverFormatError } from "@quiver/format";
import { cases } from "../../../fixtures/_gen/areas/cache.js";

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

describe("cache fixtures (fixtures/_gen/areas/cache.ts) against the reference codec", () => {
  const all = cases();
  it("has unique names and both kinds of cases", () => {
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    expect(all.filter((c) => c.validity === "valid").length).toBeGreaterThanOrEqual(3);
    expect(all.filter((c) => c.validity === "invalid").length).toBeGreaterThanOrEqual(8);
  });
  it("is deterministic", () => {
    const again = cases();
    for (const [i, c] of all.entries()) expect(Buffer.from(again[i]!.bin!).equals(Buffer.from(c.bin!)), c.name).toBe(true);
  });
  for (const c of all) {
    it(`${c.validity}/${c.name}`, () => {
      if (c.validity === "valid") {
        const d = decodeCacheEntry(testVectorsCodec, c.bin!);
        const data = d.value.data;
        const got = { typeName: testVectorsCodec.typeName, version: d.version, value: { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex"), dims: d.value.dims, id: d.value.id } };
        expect(canonical(got)).toBe(canonical(c.expected));
      } else {
        let err: unknown;
        try {
          decodeCacheEntry(testVectorsCodec, c.bin!);
        } catch (e) {
          err = e;
        }
        expect(isQuiverFormatError(err), String(err)).toBe(true);
        expect({ code: (err as { code: string }).code, stage: (err as { stage: string }).stage }).toEqual(c.error);
      }
    });
  }
});
