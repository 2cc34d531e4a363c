#!/usr/bin/env node
// A minimal, independent Quiver conformance adapter: plain Node.js, no dependencies, nothing
// imported from the Quiver repository. It implements the container frame decoder (spec/container.md)
// as the operation "decode-frame" and declares every other operation unsupported ("*"). It exists
// to prove that the CLI contract (conformance/README.md) is enough to test an outside implementation:
// it reads nothing but the fixture file it is handed (no catalog, no sidecar, no repository path).
//
//   node adapter.mjs capabilities
//   node adapter.mjs decode <fixture.bin> --operation decode-frame
import { readFileSync, statSync } from "node:fs";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const HEADER_SIZE = 64;
const ENTRY_SIZE = 32;
const ALIGN = 64;
const MAX_TYPE_NAME = 255;
const MAX_SECTIONS = 1048576;
// code -> [name, element size]
const ENCODINGS = new Map([
  [0, ["raw", 1]], [1, ["u8", 1]], [2, ["u16", 2]], [3, ["u32", 4]], [4, ["u64", 8]],
  [5, ["i32", 4]], [6, ["f32", 4]], [7, ["f64", 8]], [8, ["arrow-ipc-stream", 1]], [9, ["json", 1]],
]);

class Rejection extends Error {
  constructor(code, stage) {
    super(`${code} (${stage})`);
    this.code = code;
    this.stage = stage;
  }
}
const reject = (code, stage) => { throw new Rejection(code, stage); };

// CRC-32/ISO-HDLC: reflected polynomial 0xEDB88320, init and xorout 0xFFFFFFFF.
const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(parts) {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const alignUp = (n, a) => (n % a === 0 ? n : n + (a - (n % a)));
const allZero = (b, from, to) => { for (let i = from; i < to; i++) if (b[i] !== 0) return false; return true; };
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function decodeFrame(b) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // Fixed header, in the normative check order.
  if (b.length < HEADER_SIZE) reject("TRUNCATED", "header");
  if (b[0] !== 0x51 || b[1] !== 0x56 || b[2] !== 0x52 || b[3] !== 0x46) reject("BAD_MAGIC", "header");
  const versionMajor = v.getUint16(4, true);
  if (versionMajor !== 1) reject("UNSUPPORTED_VERSION", "header");
  const versionMinor = v.getUint16(6, true);
  // flags: bits 0-23 undefined; byte 11 is section_checksum (0 CRC-32, 1 XXH3-64, kind 16 only).
  if ((v.getUint32(8, true) & 0x00ffffff) !== 0) reject("UNSUPPORTED_FLAGS", "header");
  const sectionChecksum = b[11];
  if (sectionChecksum > 1) reject("UNKNOWN_CHECKSUM_ALGORITHM", "header");
  if (sectionChecksum === 1 && v.getUint32(12, true) !== 16) reject("CHECKSUM_ALGORITHM_NOT_ALLOWED", "header");
  // This adapter verifies CRC-32 sections only; it declines an XXH3-64 frame rather than misread it.
  if (sectionChecksum === 1) throw new Error("XXH3-64 section checksums are not implemented by minimal-frame");
  if (v.getUint16(22, true) !== 0 || !allZero(b, 40, 64)) reject("RESERVED_NONZERO", "header");
  const nameLength = v.getUint16(20, true);
  if (nameLength > MAX_TYPE_NAME) reject("LIMIT_EXCEEDED", "header");
  const count = v.getUint32(24, true);
  if (count > MAX_SECTIONS) reject("LIMIT_EXCEEDED", "header");
  const frameLengthBig = v.getBigUint64(32, true);
  if (frameLengthBig > MAX_SAFE) reject("LIMIT_EXCEEDED", "header");
  const frameLength = Number(frameLengthBig);
  const tableStart = alignUp(HEADER_SIZE + nameLength, 8);
  const tableEnd = tableStart + count * ENTRY_SIZE;
  if (frameLength < tableEnd) reject("BAD_FRAME_LENGTH", "header");
  // Header CRC over [0, table_end) with the CRC field itself read as zero.
  if (b.length < tableEnd) reject("TRUNCATED", "section-table");
  const crc = crc32([b.subarray(0, 28), new Uint8Array(4), b.subarray(32, tableEnd)]);
  if (crc !== v.getUint32(28, true)) reject("HEADER_CHECKSUM_MISMATCH", "checksum");
  let typeName = "";
  for (let i = HEADER_SIZE; i < HEADER_SIZE + nameLength; i++) {
    const ch = String.fromCharCode(b[i]);
    if (!/^[A-Za-z0-9._:-]$/.test(ch)) reject("BAD_TYPE_NAME", "type-name");
    typeName += ch;
  }
  if (!allZero(b, HEADER_SIZE + nameLength, tableStart)) reject("RESERVED_NONZERO", "type-name");
  // Section table.
  const sections = [];
  const ids = new Set();
  let prevOffset = -1;
  let prevEnd = tableEnd;
  for (let i = 0; i < count; i++) {
    const at = tableStart + i * ENTRY_SIZE;
    const id = v.getUint32(at, true);
    const code = b[at + 4];
    if (!allZero(b, at + 5, at + 8) || v.getUint32(at + 28, true) !== 0) reject("RESERVED_NONZERO", "section-table");
    const enc = ENCODINGS.get(code);
    if (enc === undefined) reject("UNKNOWN_SECTION_ENCODING", "section-table");
    if (ids.has(id)) reject("DUPLICATE_SECTION_ID", "section-table");
    ids.add(id);
    const offBig = v.getBigUint64(at + 8, true);
    if (offBig > MAX_SAFE) reject("LIMIT_EXCEEDED", "section-table");
    const lenBig = v.getBigUint64(at + 16, true);
    if (lenBig > MAX_SAFE) reject("LIMIT_EXCEEDED", "section-table");
    const offset = Number(offBig);
    const length = Number(lenBig);
    if (offset > frameLength || length > frameLength - offset || offset < tableEnd) reject("SECTION_OUT_OF_BOUNDS", "section-table");
    if (offset % ALIGN !== 0) reject("SECTION_MISALIGNED", "section-table");
    if (offset < prevOffset) reject("SECTION_UNSORTED", "section-table");
    if (offset < prevEnd) reject("SECTION_OVERLAP", "section-table");
    if (offset !== alignUp(prevEnd, ALIGN)) reject("SECTION_GAP", "section-table");
    if (length % enc[1] !== 0) reject("SECTION_LENGTH_NOT_MULTIPLE", "section-table");
    sections.push({ id, encoding: enc[0], offset, length, crc32: v.getUint32(at + 24, true) });
    prevOffset = offset;
    prevEnd = offset + length;
  }
  if (prevEnd !== frameLength) reject("BAD_FRAME_LENGTH", "section-table");
  // Body: padding, then each section's CRC.
  if (b.length < frameLength) reject("TRUNCATED", "section");
  prevEnd = tableEnd;
  const out = [];
  for (const s of sections) {
    if (!allZero(b, prevEnd, s.offset)) reject("SECTION_GAP", "section");
    const bytes = b.subarray(s.offset, s.offset + s.length);
    if (crc32([bytes]) !== s.crc32) reject("CHECKSUM_MISMATCH", "checksum");
    out.push({
      bytes: hex(bytes),
      crc32: s.crc32.toString(16).padStart(8, "0"),
      encoding: s.encoding,
      id: s.id,
      length: String(s.length),
      offset: String(s.offset),
    });
    prevEnd = s.offset + s.length;
  }
  if (b.length !== frameLength) reject("TRAILING_BYTES", "header");
  return { frameLength: String(frameLength), kind: v.getUint32(12, true), kindVersion: v.getUint32(16, true), sections: out, typeName, versionMajor, versionMinor };
}

const OPERATIONS = { "decode-frame": decodeFrame };
const UNSUPPORTED_REASON = "minimal-frame implements only the container frame decoder";

function main(argv) {
  const [command, path] = argv;
  const opAt = argv.indexOf("--operation");
  const operation = opAt >= 0 ? argv[opAt + 1] : undefined;
  if (command === "capabilities") {
    // "*": every operation not listed in `operations` (encode-frame included) is declared unsupported.
    return JSON.stringify({ name: "minimal-frame", version: "1.1.0", operations: Object.keys(OPERATIONS), unsupported: [{ operation: "*", reason: UNSUPPORTED_REASON }] });
  }
  if (command === "decode" && path !== undefined && operation !== undefined) {
    const fn = OPERATIONS[operation];
    if (fn === undefined) throw new Error(`unsupported operation ${operation}`);
    if (!statSync(path).isFile()) throw new Error(`${path} is not a file`);
    try {
      return JSON.stringify(fn(new Uint8Array(readFileSync(path))));
    } catch (e) {
      if (e instanceof Rejection) return JSON.stringify({ error: { code: e.code, stage: e.stage } });
      throw e;
    }
  }
  throw new Error(`usage: adapter.mjs capabilities | decode <fixture> --operation <op>`);
}

try {
  process.stdout.write(main(process.argv.slice(2)) + "\n");
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
