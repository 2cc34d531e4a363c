import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { QuiverFormatError, arrowTypeString, decodeFrame, encodeFrame, getSection, readArrowSection, readJsonSection, walkArrowStream } from "@quiver/format";
import { cases } from "../../../fixtures/_gen/areas/container.js";
import { cases as sectionCases } from "../../../fixtures/_gen/areas/sections.js";
import { hex } from "./frame-bytes.js";

/**
 * The container fixtures agree with this decoder: each invalid case raises exactly its
 * `{ code, stage }`, each valid case decodes to its expected canonical form (computed by the
 * generator from the placement rules, not by decoding) and re-encodes byte-exactly.
 */
const all = cases();

function canonical(bytes: Uint8Array): unknown {
  const f = decodeFrame(bytes);
  return {
    frameLength: String(f.frameLength),
    kind: f.kind,
    kindVersion: f.kindVersion,
    sections: f.sections.map((s) => ({
      bytes: hex(s.bytes),
      crc32: s.crc32.toString(16).padStart(8, "0"),
      encoding: s.encoding,
      id: s.id,
      length: String(s.length),
      offset: String(s.offset),
    })),
    typeName: f.typeName,
    versionMajor: f.versionMajor,
    versionMinor: f.versionMinor,
  };
}

describe("container fixtures", () => {
  it("has at least 4 valid and 14 invalid cases with unique names and descriptions", () => {
    expect(all.filter((c) => c.validity === "valid").length).toBeGreaterThanOrEqual(4);
    expect(all.filter((c) => c.validity === "invalid").length).toBeGreaterThanOrEqual(14);
    expect(new Set(all.map((c) => c.name)).size).toBe(all.length);
    expect(new Set(all.map((c) => c.description)).size).toBe(all.length);
    for (const c of all) {
      expect(c.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(c.area).toBe("container");
      expect(c.operation).toBe("decode-frame");
    }
  });

  it("is deterministic", () => {
    const again = cases();
    expect(again.map((c) => hex(c.bin!))).toEqual(all.map((c) => hex(c.bin!)));
    expect(JSON.stringify(again.map((c) => c.expected ?? c.error))).toBe(JSON.stringify(all.map((c) => c.expected ?? c.error)));
  });

  for (const c of all) {
    if (c.validity === "valid") {
      it(`valid/${c.name} decodes to its expected value and re-encodes byte-exactly`, () => {
        expect(canonical(c.bin!)).toEqual(c.expected);
        const f = decodeFrame(c.bin!);
        const again = encodeFrame({ kind: f.kind, kindVersion: f.kindVersion, typeName: f.typeName, versionMinor: f.versionMinor, sections: f.sections });
        expect(hex(again)).toBe(hex(c.bin!));
      });
    } else {
      it(`invalid/${c.name} raises ${c.error!.code} at ${c.error!.stage}`, () => {
        let err: unknown;
        try {
          decodeFrame(c.bin!);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(QuiverFormatError);
        const e = err as QuiverFormatError;
        expect({ code: e.code, stage: e.stage }).toEqual(c.error);
      });
    }
  }

  for (const c of sectionCases()) {
    it(`${c.validity}/${c.name} (${c.operation}) gives its expected result`, () => {
      const run = (): unknown => {
        const frame = decodeFrame(c.bin!);
        if (c.operation === "read-json-section") return { value: readJsonSection(frame, 1) };
        const t = readArrowSection(frame, 1);
        // Every value of a decoded table reads.
        for (const row of t) JSON.stringify(row?.toJSON(), (_k, v) => (typeof v === "bigint" ? String(v) : v));
        const w = walkArrowStream(getSection(frame, 1, "arrow-ipc-stream").bytes);
        return { batchRows: w.batchRows, fields: w.schema.fields.map((f) => ({ name: f.name, nullable: f.nullable, type: arrowTypeString(f) })), numRows: t.numRows };
      };
      if (c.validity === "valid") expect(run()).toEqual(c.expected);
      else {
        let err: unknown;
        try {
          run();
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(QuiverFormatError);
        expect({ code: (err as QuiverFormatError).code, stage: (err as QuiverFormatError).stage }).toEqual(c.error);
      }
    });
  }

  it("the frozen Arrow IPC stream decodes to the table it describes", () => {
    const c = all.find((x) => x.name === "arrow-ipc-stream")!;
    const t = readArrowSection(decodeFrame(c.bin!), 1);
    expect(t.numRows).toBe(4);
    expect(Array.from(t.getChild("id")!.toArray() as Int32Array)).toEqual([0, 1, 2, 3]);
    expect(Array.from(t.getChild("x")!.toArray() as Float32Array)).toEqual([0.5, 1.5, -2, 1024]);
  });

  it("the worked hex example in spec/container.md is the base-three-sections fixture", () => {
    const md = readFileSync(fileURLToPath(new URL("../../../spec/container.md", import.meta.url)), "utf8");
    const example = md.slice(md.indexOf("## Worked example"));
    let dumped = "";
    for (const m of example.matchAll(/^([0-9a-f]{4}): ((?:[0-9a-f]{2} {1,2}){15}[0-9a-f]{2})/gm)) {
      expect(Number.parseInt(m[1]!, 16)).toBe(dumped.length / 2);
      dumped += m[2]!.replaceAll(" ", "");
    }
    const c = all.find((x) => x.name === "base-three-sections")!;
    expect(dumped).toBe(hex(c.bin!));
    expect(example).toContain(JSON.stringify(c.expected, null, 2).split("\n")[1]!);
  });

  it("every fixture's spec anchor is a heading of spec/container.md", () => {
    const md = readFileSync(fileURLToPath(new URL("../../../spec/container.md", import.meta.url)), "utf8");
    // GitHub-style slugs: lowercase, spaces to hyphens, punctuation dropped.
    const anchors = new Set([...md.matchAll(/^#{2,3} (.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, "").replaceAll(" ", "-")));
    for (const m of md.matchAll(/\{#([a-z0-9-]+)\}/g)) anchors.add(m[1]!);
    for (const c of [...all, ...sectionCases()]) {
      const [page, anchor] = c.spec.split("#");
      expect(page).toBe("container.md");
      expect(anchors.has(anchor!), `${c.name}: #${anchor}`).toBe(true);
    }
  });
});
