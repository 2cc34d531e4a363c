import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { QuiverFormatError } from "@quiver/format";
import { describe, expect, it } from "vitest";
import { buildIndexInMemory, decodeModelFile, encodeModelFile } from "../src/index.js";
import { MemoryObjectStore } from "@quiver/store";
import { FAST, smallData } from "./helpers.js";

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fileURLToPath(new URL(`../../../fixtures/model/v1/valid/${name}.bin`, import.meta.url))));

describe("model file", () => {
  it("a trained model round-trips byte for byte, for every quantizer", async () => {
    for (const quantizer of ["pq", "sq", "flat", "rabitq"] as const) {
      const r = await buildIndexInMemory({ store: new MemoryObjectStore(), path: "x", vectors: smallData(800, 16), dim: 16, ...FAST, quantizer });
      const bytes = encodeModelFile(r.model);
      const back = decodeModelFile(bytes);
      expect(back.quantizer?.kind).toBe(quantizer);
      expect(Buffer.compare(Buffer.from(encodeModelFile(back)), Buffer.from(bytes))).toBe(0);
    }
  });

  it("hostile bytes: any byte flip yields the model or a QuiverFormatError, never another exception", () => {
    const files = [fixture("model-centroids-only"), fixture("model-sq")];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (f, at, x) => {
        const b = files[f]!.slice();
        b[at % b.length]! ^= x;
        try {
          decodeModelFile(b);
        } catch (e) {
          if (!(e instanceof QuiverFormatError)) throw e;
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it("a model-file error carries a stable code and stage", () => {
    const b = fixture("model-centroids-only").slice(0, 100);
    const e = (() => {
      try {
        decodeModelFile(b);
      } catch (x) {
        return x as QuiverFormatError;
      }
    })();
    expect(e).toBeInstanceOf(QuiverFormatError);
    expect(typeof e!.code).toBe("string");
  });
});
