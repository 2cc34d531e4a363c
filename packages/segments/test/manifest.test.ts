/**
 * The manifest decoder treats its input as hostile: JSON via parseJsonBytes, the JSON Schema,
 * then the rules across fields, every failure a QuiverFormatError with a stable code (also for
 * fast-check's mutated manifests).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { QuiverFormatError } from "@quiver/format";
import { describe, expect, it } from "vitest";
import { SEGMENT_ERROR_CODES, SEGMENT_MANIFEST_SCHEMA, type SegmentManifest, decodeSegmentManifest, encodeSegmentManifest } from "../src/index.js";

const DIGEST = "a1".repeat(32);
function manifest(segments = 3): SegmentManifest {
  return {
    formatVersion: "1.0",
    version: 4,
    createdAt: "2026-12-01T12:00:00.000Z",
    dims: 16,
    distanceType: "l2",
    modelDigest: DIGEST,
    segments: Array.from({ length: segments }, (_, i) => ({
      segmentId: `seg-${i}`,
      shard: `shard-${i}`,
      path: `segments/seg-${i}.ivf`,
      rows: 100,
      rowIdRanges: [[String(i * 200), String(i * 200 + 60)], [String(i * 200 + 61), String(i * 200 + 101)]] as [string, string][],
      modelDigest: DIGEST,
      inputVersion: "in#1",
      indexIdentity: String(i).repeat(64),
      bytes: 4096,
    })),
  };
}
const enc = (m: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(m));
function codeOf(bytes: Uint8Array, expectedVersion = 4): string {
  try {
    decodeSegmentManifest(bytes, { expectedVersion });
    return "ok";
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw e;
    expect(e.stage).toBe("manifest");
    return e.code;
  }
}
function edited(edit: (m: Record<string, any>) => void): Uint8Array {
  const m = JSON.parse(JSON.stringify(manifest())) as Record<string, any>;
  edit(m);
  return enc(m);
}

describe("decodeSegmentManifest", () => {
  it("round-trips, joining the root to segment paths", () => {
    const m = manifest();
    const bytes = encodeSegmentManifest({ ...m, segments: m.segments.map((s) => ({ ...s, path: `idx/${s.path}` })) }, "idx");
    expect(new TextDecoder().decode(bytes)).toBe(JSON.stringify(m));
    const back = decodeSegmentManifest(bytes, { root: "idx", expectedVersion: 4 });
    expect(back.segments.map((s) => s.path)).toEqual(["idx/segments/seg-0.ivf", "idx/segments/seg-1.ivf", "idx/segments/seg-2.ivf"]);
    expect({ ...back, segments: back.segments.map((s) => ({ ...s, path: s.path.slice(4) })) }).toEqual(m);
  });

  it.each([
    ["not JSON", new TextEncoder().encode("{"), "BAD_JSON"],
    ["a BOM", new Uint8Array([0xef, 0xbb, 0xbf, ...enc(manifest())]), "BAD_JSON"],
    ["nesting deeper than 64", new TextEncoder().encode("[".repeat(100) + "]".repeat(100)), "BAD_JSON"],
    ["format 2", edited((m) => (m.formatVersion = "2.0")), "UNSUPPORTED_VERSION"],
    ["an unknown field", edited((m) => (m.extra = 1)), "SCHEMA_VIOLATION"],
    ["an unknown segment field", edited((m) => (m.segments[0].mtime = 1)), "SCHEMA_VIOLATION"],
    ["a missing field", edited((m) => delete m.dims), "SCHEMA_VIOLATION"],
    ["no segments", edited((m) => (m.segments = [])), "SCHEMA_VIOLATION"],
    ["a short digest", edited((m) => (m.segments[1].indexIdentity = "ab")), "SCHEMA_VIOLATION"],
    ["an uppercase digest", edited((m) => (m.modelDigest = DIGEST.toUpperCase())), "SCHEMA_VIOLATION"],
    ["a bound with a leading zero", edited((m) => (m.segments[0].rowIdRanges[0][0] = "00")), "SCHEMA_VIOLATION"],
    ["a bound as a number", edited((m) => (m.segments[0].rowIdRanges[0][0] = 0)), "SCHEMA_VIOLATION"],
    ["a bound above 2^64", edited((m) => (m.segments[0].rowIdRanges = [["18446744073709551616", "18446744073709551617"]])), "SEGMENT_BAD_DESCRIPTOR"],
    ["a bad segment id", edited((m) => (m.segments[0].segmentId = "-x")), "SCHEMA_VIOLATION"],
    ["an absolute path", edited((m) => (m.segments[0].path = "/etc/passwd")), "SCHEMA_VIOLATION"],
    ["a path with ..", edited((m) => (m.segments[0].path = "../other/seg.ivf")), "SCHEMA_VIOLATION"],
    ["a path under _versions/", edited((m) => (m.segments[0].path = "_versions/00000000000000000001.json")), "SCHEMA_VIOLATION"],
    ["a long shard name", edited((m) => (m.segments[0].shard = "s".repeat(257))), "LIMIT_EXCEEDED"],
    ["too many ranges in a segment", edited((m) => (m.segments[0].rowIdRanges = Array.from({ length: 65_537 }, (_, i) => [String(2 * i), String(2 * i + 1)]))), "LIMIT_EXCEEDED"],
    ["a version other than its name", edited((m) => (m.version = 5)), "SEGMENT_MANIFEST_VERSION_MISMATCH"],
    ["a date that is no date", edited((m) => (m.createdAt = "2026-13-45T99:99:99Z")), "SCHEMA_VIOLATION"],
    ["unsorted ranges", edited((m) => m.segments[0].rowIdRanges.reverse()), "SEGMENT_BAD_DESCRIPTOR"],
    ["an empty range", edited((m) => (m.segments[0].rowIdRanges = [["5", "5"]])), "SEGMENT_BAD_DESCRIPTOR"],
    ["touching ranges", edited((m) => (m.segments[0].rowIdRanges = [["0", "60"], ["60", "100"]])), "SEGMENT_BAD_DESCRIPTOR"],
    ["rows != range lengths", edited((m) => (m.segments[0].rows = 99)), "SEGMENT_ROW_COUNT_MISMATCH"],
    ["overlapping segments", edited((m) => (m.segments[1].rowIdRanges = [["50", "150"]])), "SEGMENT_ROWS_OVERLAP"],
    ["a segment of another model", edited((m) => (m.segments[2].modelDigest = "b2".repeat(32))), "SEGMENT_MODEL_MISMATCH"],
    ["duplicate segment ids", edited((m) => (m.segments[2].segmentId = "seg-0")), "SEGMENT_DUPLICATE_ID"],
    ["duplicate paths", edited((m) => (m.segments[2].path = "segments/seg-0.ivf")), "SEGMENT_DUPLICATE_PATH"],
    ["two input versions", edited((m) => (m.segments[2].inputVersion = "in#2")), "SEGMENT_INPUT_VERSION_MISMATCH"],
    ["zero rows", edited((m) => (m.segments[0].rows = 0)), "SCHEMA_VIOLATION"],
  ])("rejects %s", (_name, bytes, code) => {
    expect(codeOf(bytes)).toBe(code);
  });

  it("names the shard of a semantic problem", () => {
    expect(() => decodeSegmentManifest(edited((m) => (m.segments[1].rowIdRanges = [["50", "150"]])), { expectedVersion: 4 })).toThrow(/shard "shard-1"/);
  });

  it("spec/schemas/segment-manifest.schema.json is the schema the package enforces", () => {
    const file = JSON.parse(readFileSync(fileURLToPath(new URL("../../../spec/schemas/segment-manifest.schema.json", import.meta.url)), "utf8")) as unknown;
    expect(file).toEqual(SEGMENT_MANIFEST_SCHEMA);
  });

  it("every code of @quiver/segments is in spec/error-codes.csv, once, with area segments", () => {
    const rows = readFileSync(fileURLToPath(new URL("../../../spec/error-codes.csv", import.meta.url)), "utf8").split("\n").slice(1).map((l) => l.split(","));
    for (const c of SEGMENT_ERROR_CODES) {
      const hits = rows.filter((r) => r[0] === c);
      expect(hits, c).toHaveLength(1);
      expect(hits[0]![1], c).toBe("segments");
    }
  });
});

describe("mutated manifests (fast-check)", () => {
  const STABLE = new Set(["BAD_JSON", "SCHEMA_VIOLATION", "UNSUPPORTED_VERSION", "LIMIT_EXCEEDED", ...SEGMENT_ERROR_CODES]);
  const base = enc(manifest());
  const hostile = fc.oneof(
    fc.constantFrom(null, true, -1, 0, 1.5, 2 ** 53, "", "0", "18446744073709551615", "x".repeat(300), [], {}, [["1", "0"]], "../x", DIGEST),
    fc.string({ maxLength: 12 }),
    fc.integer(),
  );

  it("a byte-level mutation decodes to a manifest or fails with a stable code (2,000 cases)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat(base.length), { nil: undefined }), (flips, cut) => {
        const b = base.slice(0, cut ?? base.length);
        for (const [at, v] of flips) if (at < b.length) b[at] = v;
        expect(STABLE.has(codeOf(b)) || codeOf(b) === "ok").toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("a field-level mutation decodes to a manifest or fails with a stable code (2,000 cases)", () => {
    const paths: (string | number)[][] = [["formatVersion"], ["version"], ["createdAt"], ["dims"], ["distanceType"], ["modelDigest"], ["segments"]];
    for (let i = 0; i < 3; i++) {
      for (const k of ["segmentId", "shard", "path", "rows", "rowIdRanges", "modelDigest", "inputVersion", "indexIdentity", "bytes"]) paths.push(["segments", i, k]);
      paths.push(["segments", i, "rowIdRanges", 0], ["segments", i, "rowIdRanges", 1, 0], ["segments", i, "rowIdRanges", 0, 1]);
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), hostile, fc.boolean()), { minLength: 1, maxLength: 3 }), (edits) => {
        const m = JSON.parse(JSON.stringify(manifest())) as Record<string, unknown>;
        for (const [path, value, remove] of edits) {
          let o = m as Record<string | number, unknown>;
          for (const key of path.slice(0, -1)) {
            const next = o[key];
            if (typeof next !== "object" || next === null) return;
            o = next as Record<string | number, unknown>;
          }
          const last = path[path.length - 1]!;
          if (remove) delete o[last];
          // a fresh copy: the hostile constants are shared instances, and writing one into itself made a cycle JSON cannot encode
          else o[last] = typeof value === "object" && value !== null ? structuredClone(value) : value;
        }
        const code = codeOf(enc(m));
        expect(STABLE.has(code) || code === "ok", code).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
