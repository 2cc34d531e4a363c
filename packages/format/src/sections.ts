import { type Table, tableFromIPC, tableToIPC, RecordBatch, Table as ArrowTable } from "apache-arrow";
import { walkArrowStream } from "./arrow-ipc.js";
import { QuiverFormatError } from "./errors.js";
import { type FrameSection, type SectionInput, copyBytes, getSection } from "./frame.js";
import type { SectionEncoding } from "./layout.js";

/** Typed arrays a section can hold, by encoding. */
export interface TypedArrayByEncoding {
  u8: Uint8Array;
  u16: Uint16Array;
  u32: Uint32Array;
  u64: BigUint64Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}
/** Encodings that map to a typed array. */
export type TypedEncoding = keyof TypedArrayByEncoding;

const CTORS = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  u64: BigUint64Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;

/** A raw byte section. */
export function rawSection(id: number, bytes: Uint8Array): SectionInput {
  return { id, encoding: "raw", bytes };
}

/** A typed-array section (little-endian, as on every platform Node supports). */
export function typedSection<E extends TypedEncoding>(id: number, encoding: E, array: TypedArrayByEncoding[E]): SectionInput {
  return { id, encoding, bytes: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) };
}

/** A UTF-8 JSON section. */
export function jsonSection(id: number, value: unknown): SectionInput {
  return { id, encoding: "json", bytes: new TextEncoder().encode(JSON.stringify(value)) };
}

/** An Arrow IPC stream section holding a table or a single record batch. */
export function arrowSection(id: number, data: Table | RecordBatch): SectionInput {
  const table = data instanceof RecordBatch ? new ArrowTable(data) : data;
  return { id, encoding: "arrow-ipc-stream", bytes: tableToIPC(table, "stream") };
}

/**
 * A typed view of a section (no copy). The frame's sections are 64-byte aligned and decodeFrame
 * guarantees an 8-byte-aligned input, so the view is always legal for frames from decodeFrame.
 */
export function readTypedSection<E extends TypedEncoding>(
  frame: { readonly sections: readonly FrameSection[] },
  id: number,
  encoding: E,
): TypedArrayByEncoding[E] {
  const s = getSection(frame, id, encoding);
  return typedView(s.bytes, encoding, s.offset);
}

/** View bytes as a typed array; copies only when the bytes are not aligned for the element type. */
export function typedView<E extends TypedEncoding>(bytes: Uint8Array, encoding: E, offsetForErrors = 0): TypedArrayByEncoding[E] {
  const Ctor = CTORS[encoding];
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new QuiverFormatError("SECTION_LENGTH_NOT_MULTIPLE", `${bytes.byteLength} bytes is not a multiple of ${size}`, {
      stage: "payload",
      offset: offsetForErrors,
    });
  }
  const src = bytes.byteOffset % size === 0 ? bytes : copyBytes(bytes);
  return new Ctor(src.buffer as ArrayBuffer, src.byteOffset, src.byteLength / size) as TypedArrayByEncoding[E];
}

/** Parse a JSON section (BAD_JSON on invalid UTF-8 or JSON). */
export function readJsonSection(frame: { readonly sections: readonly FrameSection[] }, id: number): unknown {
  const s = getSection(frame, id, "json");
  return parseJsonBytes(s.bytes, s.offset);
}

/** One strict decoder for every JSON section (decode without `stream` keeps no state between calls). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Maximum nesting depth of any JSON document Quiver parses (objects and arrays), spec/README.md. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parse UTF-8 JSON bytes, failing with BAD_JSON: invalid UTF-8, a byte-order mark (forbidden by the
 * spec; TextDecoder would otherwise strip it silently), invalid JSON, or nesting deeper than
 * MAX_JSON_DEPTH (checked by a linear scan before JSON.parse, so no deep value is ever built).
 */
export function parseJsonBytes(bytes: Uint8Array, offsetForErrors = 0): unknown {
  const depthAt = jsonDepthViolation(bytes, MAX_JSON_DEPTH);
  if (depthAt >= 0) {
    throw new QuiverFormatError("BAD_JSON", `JSON nests deeper than ${MAX_JSON_DEPTH} levels`, { stage: "payload", offset: offsetForErrors + depthAt });
  }
  try {
    return JSON.parse(strictUtf8.decode(bytes));
  } catch (cause) {
    const detail = String((cause as Error)?.message ?? cause).slice(0, 120);
    throw new QuiverFormatError("BAD_JSON", `section is not UTF-8 JSON: ${detail}`, { stage: "payload", offset: offsetForErrors, cause });
  }
}

/** Byte position where `[`/`{` nesting first exceeds `max` (outside strings), or -1. */
export function jsonDepthViolation(bytes: Uint8Array, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === 0x5c) i++; // backslash: skip the escaped byte
      else if (b === 0x22) inString = false;
    } else if (b === 0x22) inString = true;
    else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return i;
    } else if (b === 0x5d || b === 0x7d) depth--;
  }
  return -1;
}

/**
 * Read an Arrow IPC stream section as a Table. The bytes are walked first by the bounds-checked
 * IPC walker (`walkArrowStream`: stream framing, every message, every buffer of every column), so
 * apache-arrow only ever sees validated bytes and reading the returned table's values cannot fail.
 * Zero-copy: the columns' buffers are views of the frame bytes (Arrow JS copies any message body
 * that is not 8-byte aligned; sections are 64-byte aligned, so it never does for frames from
 * decodeFrame). Errors: ARROW_FILE_NOT_STREAM, ARROW_UNSUPPORTED_METADATA, ARROW_UNSUPPORTED_TYPE,
 * ARROW_COMPRESSED_BODY, LIMIT_EXCEEDED or BAD_ARROW_IPC, stage `payload`.
 */
export function readArrowSection(frame: { readonly sections: readonly FrameSection[] }, id: number): Table {
  const s = getSection(frame, id, "arrow-ipc-stream");
  return decodeArrowIpc(s.bytes, s.offset);
}

/** Decode Arrow IPC *stream* bytes into a Table after walking them (see {@link readArrowSection}). */
export function decodeArrowIpc(bytes: Uint8Array, offsetForErrors = 0): Table {
  const summary = walkArrowStream(bytes, "payload", offsetForErrors);
  let table: Table;
  try {
    table = tableFromIPC(bytes);
  } catch (cause) {
    throw new QuiverFormatError("BAD_ARROW_IPC", `Arrow IPC decode failed: ${String((cause as Error)?.message ?? cause).slice(0, 120)}`, {
      stage: "payload",
      offset: offsetForErrors,
      cause,
    });
  }
  // The walker and apache-arrow must agree on what the stream holds.
  if (table.numRows !== summary.numRows || table.schema.fields.length !== summary.schema.fields.length || table.batches.length !== Math.max(1, summary.batchRows.length)) {
    throw new QuiverFormatError("BAD_ARROW_IPC", `Arrow IPC stream: the decoder sees ${table.numRows} rows in ${table.batches.length} batches, the walker ${summary.numRows} in ${summary.batchRows.length}`, { stage: "payload", offset: offsetForErrors });
  }
  return table;
}

/** Encoding of a section as written. */
export type { SectionEncoding };
