/**
 * Fuzz worker: re-sealed mutations of Arrow IPC stream sections through decodeFrame +
 * readArrowSection, then every value of every column read. Usage: `<seed> <cases>`. Prints
 * `progress <i>` and a final `report <json>`. An exception other than QuiverFormatError, during
 * decode or while reading the values of a decoded table, is recorded as "other".
 */
import { type Table } from "apache-arrow";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { QuiverFormatError, arrowSection, crc32, decodeFrame, encodeFrame, readArrowSection, readJsonSection, readTypedSection } from "@quiver/format";
import * as F from "../../../../fixtures/_gen/internal/arrow-forms.js";
import { prng } from "../../../../fixtures/_gen/internal/prng.js";

const [seedArg, casesArg, onlyArg] = process.argv.slice(2);
const only = onlyArg === undefined ? -1 : Number(onlyArg);
const seed = Number(seedArg ?? 1);
const cases = Number(casesArg ?? 1000);
const rand = prng(seed);

const bases: Uint8Array[] = [
  F.plainStream(),
  F.dictionaryDeltaStream(),
  F.nullableChildrenStream(),
  F.nullsStream(),
  F.zeroRowBatchStream(),
  F.unionStream(),
  F.everyTypeStream(prng(seed + 1), 3),
  F.everyTypeStream(prng(seed + 2), 9),
];
void arrowSection;

// Every valid container and section fixture, mutated as whole frames and re-sealed.
const fixtureFrames: Uint8Array[] = [];
for (const area of ["container", "sections"]) {
  const dir = fileURLToPath(new URL(`../../../../fixtures/${area}/v1/valid/`, import.meta.url));
  for (const name of readdirSync(dir).sort()) if (name.endsWith(".bin")) fixtureFrames.push(new Uint8Array(readFileSync(dir + name)));
}

/** Recompute every CRC the container spec defines (section CRCs, then the header CRC) over possibly mutated bytes. */
function resealFrame(b: Uint8Array): Uint8Array {
  if (b.length < 64) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = v.getUint32(24, true);
  const tableStart = Math.ceil((64 + v.getUint16(20, true)) / 8) * 8;
  if (count > 4096 || tableStart + 32 * count > b.length) return b;
  for (let k = 0; k < count; k++) {
    const e = tableStart + 32 * k;
    const off = Number(v.getBigUint64(e + 8, true));
    const len = Number(v.getBigUint64(e + 16, true));
    if (off <= b.length && len <= b.length - off) v.setUint32(e + 24, crc32(b.subarray(off, off + len)), true);
  }
  const end = tableStart + 32 * count;
  let c = crc32(b.subarray(0, 28));
  c = crc32(new Uint8Array(4), c);
  c = crc32(b.subarray(32, end), c);
  v.setUint32(28, c, true);
  return b;
}

/** An exception while reading the values of a table that decoded: never acceptable. */
class ValueReadError extends Error {}

function readEverySection(frameBytes: Uint8Array): void {
  const f = decodeFrame(frameBytes);
  for (const sec of f.sections) {
    if (sec.encoding === "arrow-ipc-stream") {
      const t = readArrowSection(f, sec.id);
      try {
        readEverything(t);
      } catch (e) {
        throw new ValueReadError(String((e as Error)?.stack ?? e));
      }
    }
    else if (sec.encoding === "json") readJsonSection(f, sec.id);
    else if (sec.encoding !== "raw") readTypedSection(f, sec.id, sec.encoding as "u8");
  }
}

const INTERESTING = [0, 1, 2, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 0xfffffff8, 0xffffffff];

function mutate(b: Uint8Array): Uint8Array {
  const out = b.slice();
  const v = new DataView(out.buffer);
  const kinds = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < kinds; k++) {
    const r = rand();
    if (r < 0.3) {
      const i = Math.floor(rand() * out.length);
      out[i] = out[i]! ^ (1 << Math.floor(rand() * 8));
    } else if (r < 0.7 && out.length >= 4) {
      const at = Math.floor(rand() * (out.length / 4 - 1)) * 4;
      v.setUint32(at, INTERESTING[Math.floor(rand() * INTERESTING.length)]!, true);
    } else if (r < 0.8 && out.length >= 8) {
      const at = Math.floor(rand() * (out.length / 8 - 1)) * 8;
      v.setBigUint64(at, BigInt(INTERESTING[Math.floor(rand() * INTERESTING.length)]!) * (rand() < 0.5 ? 1n : 1n << 32n), true);
    } else if (r < 0.9) {
      out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
    } else {
      return out.subarray(0, Math.floor(rand() * out.length));
    }
  }
  return out;
}

function readEverything(t: Table): void {
  for (const row of t) JSON.stringify(row?.toJSON(), (_k, x) => (typeof x === "bigint" ? String(x) : x));
  for (let c = 0; c < t.numCols; c++) {
    const col = t.getChildAt(c)!;
    col.toArray();
    for (let i = 0; i < col.length; i++) col.get(i);
    String(col.type);
  }
}

const typed: Record<string, number> = {};
const other: string[] = [];
let accepted = 0;
for (let i = 0; i < cases; i++) {
  const fromFixture = i % 2 === 1;
  const base = fromFixture ? fixtureFrames[(i >> 1) % fixtureFrames.length]! : bases[(i >> 1) % bases.length]!;
  const bytes = mutate(base);
  if (only >= 0 && i !== only) continue;
  if (only >= 0) process.stderr.write(`base ${i % bases.length} ${Buffer.from(bytes).toString("hex")}\n`);
  // The section and header CRCs are recomputed: the Arrow walker is what has to catch the mutation.
  const frame = fromFixture ? resealFrame(bytes.slice()) : encodeFrame({ kind: 1, kindVersion: 1, sections: [{ id: 1, encoding: "arrow-ipc-stream", bytes }] });
  try {
    if (fromFixture) readEverySection(frame);
    const t = fromFixture ? undefined : readArrowSection(decodeFrame(frame), 1);
    try {
      if (t !== undefined) readEverything(t);
      accepted++;
    } catch (e) {
      if (other.length < 20) other.push(`case ${i} (seed ${seed}): reading a decoded table threw ${String((e as Error)?.stack ?? e).slice(0, 300)}`);
    }
  } catch (e) {
    // A rejection by apache-arrow itself (after the walker accepted) is counted apart: the walker missed something.
    if (e instanceof ValueReadError) {
      if (other.length < 20) other.push(`case ${i} (seed ${seed}): reading a decoded table threw ${e.message.slice(0, 300)}`);
    } else if (e instanceof QuiverFormatError) {
      const key = e.message.includes("decode failed") || e.message.includes("the decoder sees") ? `${e.code} (apache-arrow)` : e.code;
      typed[key] = (typed[key] ?? 0) + 1;
      if (key !== e.code && other.length < 20) other.push(`case ${i} (seed ${seed}): apache-arrow rejected what the walker accepted: ${e.message.slice(0, 300)}`);
    }
    else if (other.length < 20) other.push(`case ${i} (seed ${seed}): decode threw ${String((e as Error)?.stack ?? e).slice(0, 300)}`);
  }
  if (i % 50 === 0) process.stdout.write(`progress ${i}\n`);
}
process.stdout.write(`report ${JSON.stringify({ cases, accepted, typed, other, wrong: [] })}\n`);
