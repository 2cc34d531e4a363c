/**
 * Container-frame conformance operations (spec/container.md):
 * - `decode-frame`: fixture bytes -> the canonical decoded frame (errors propagate as QuiverFormatError).
 * - `encode-frame`: the canonical decoded frame (as `input`) -> `{ bytes: "<hex>" }`.
 * - `read-arrow-section`: a frame whose section 1 is arrow-ipc-stream -> `{ batchRows, fields, numRows }`
 *   (spec/container.md#arrow-ipc-sections; fields as `{ name, nullable, type }` with the type strings).
 * - `read-json-section`: a frame whose section 1 is json -> `{ value }` (spec/container.md#json-sections).
 */
import {
  type Frame,
  QuiverFormatError,
  SECTION_ENCODINGS,
  type SectionEncoding,
  arrowTypeString,
  decodeFrame,
  encodeFrame,
  getSection,
  readArrowSection,
  readJsonSection,
  walkArrowStream,
} from "@quiver/format";
import { bytesToHex, canonicalJson, hexToBytes } from "../canonical-json.js";
import type { OperationFixture, OperationFn } from "../operation.js";

/** One section of the canonical decoded frame. */
export interface CanonicalFrameSection {
  readonly bytes: string;
  readonly crc32: string;
  readonly encoding: SectionEncoding;
  readonly id: number;
  readonly length: string;
  readonly offset: string;
}

/** The canonical decoded frame: 64-bit values as decimal strings, bytes as lowercase hex, CRCs as 8 hex digits. */
export interface CanonicalFrame {
  readonly frameLength: string;
  readonly kind: number;
  readonly kindVersion: number;
  readonly sections: readonly CanonicalFrameSection[];
  readonly typeName: string;
  readonly versionMajor: number;
  readonly versionMinor: number;
}

/** The canonical form of a decoded frame. */
export function canonicalFrame(frame: Frame): CanonicalFrame {
  return {
    frameLength: String(frame.frameLength),
    kind: frame.kind,
    kindVersion: frame.kindVersion,
    sections: frame.sections.map((s) => ({
      bytes: bytesToHex(s.bytes),
      crc32: (s.crc32 >>> 0).toString(16).padStart(8, "0"),
      encoding: s.encoding,
      id: s.id,
      length: String(s.length),
      offset: String(s.offset),
    })),
    typeName: frame.typeName,
    versionMajor: frame.versionMajor,
    versionMinor: frame.versionMinor,
  };
}

function badInput(message: string): never {
  throw new QuiverFormatError("INVALID_VALUE", `encode-frame input: ${message}`, { stage: "encode" });
}

function field<T>(o: Record<string, unknown>, key: string, check: (v: unknown) => v is T, what: string): T {
  const v = o[key];
  if (!check(v)) badInput(`${key} is not ${what}`);
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isString = (v: unknown): v is string => typeof v === "string";
const isEncoding = (v: unknown): v is SectionEncoding => typeof v === "string" && Object.hasOwn(SECTION_ENCODINGS, v);

/** Encode the canonical frame; the result must decode back to exactly the input (else INVALID_VALUE). */
function encodeCanonicalFrame(input: unknown): Uint8Array {
  if (!isObject(input)) badInput("not an object");
  const rawSections = input["sections"];
  if (!Array.isArray(rawSections)) badInput("sections is not an array");
  const sections = rawSections.map((s: unknown, i) => {
    if (!isObject(s)) badInput(`sections[${i}] is not an object`);
    const hex = field(s, "bytes", isString, "a hex string");
    let bytes: Uint8Array;
    try {
      bytes = hexToBytes(hex);
    } catch {
      badInput(`sections[${i}].bytes is not hex`);
    }
    return { id: field(s, "id", isInt, "an integer"), encoding: field(s, "encoding", isEncoding, "a section encoding"), bytes };
  });
  if (field(input, "versionMajor", isInt, "an integer") !== 1) badInput("versionMajor is not 1");
  const bytes = encodeFrame({
    kind: field(input, "kind", isInt, "an integer"),
    kindVersion: field(input, "kindVersion", isInt, "an integer"),
    typeName: field(input, "typeName", isString, "a string"),
    versionMinor: field(input, "versionMinor", isInt, "an integer"),
    sections,
  });
  // Offsets, lengths, CRCs and frameLength follow from the placement rules; a mismatch means the input is not canonical.
  if (canonicalJson(canonicalFrame(decodeFrame(bytes))) !== canonicalJson(input)) {
    badInput("offsets, lengths, CRCs or frameLength do not follow the placement rules");
  }
  return bytes;
}

function requireBin(fixture: OperationFixture): Uint8Array {
  if (fixture.bin === undefined) throw new Error("decode-frame needs a single-file fixture (.bin)");
  return fixture.bin;
}

/** Conformance operations of the container area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "decode-frame": async (fixture) => canonicalFrame(decodeFrame(requireBin(fixture))),
  "encode-frame": async (fixture) => ({ bytes: bytesToHex(encodeCanonicalFrame(fixture.input)) }),
  "read-arrow-section": async (fixture) => {
    const frame = decodeFrame(requireBin(fixture));
    // readArrowSection walks the stream and decodes it; the summary comes from the same walk.
    const table = readArrowSection(frame, 1);
    const summary = walkArrowStream(getSection(frame, 1, "arrow-ipc-stream").bytes);
    return {
      batchRows: summary.batchRows,
      fields: summary.schema.fields.map((f) => ({ name: f.name, nullable: f.nullable, type: arrowTypeString(f) })),
      numRows: table.numRows,
    };
  },
  "read-json-section": async (fixture) => ({ value: readJsonSection(decodeFrame(requireBin(fixture)), 1) }),
};
