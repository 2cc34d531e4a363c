/**
 * Fuzz worker: the re-sealing mutator over artifacts (every valid artifact fixture plus freshly
 * written ones). Each case mutates one file (bucket bytes, ranges table bytes or values, manifest
 * values), re-seals every size and CRC the spec defines, then runs validateArtifact and the reader
 * (open + every partition). Usage: `<seed> <cases>`; prints `progress <i>` and `report <json>`.
 * Outcomes: typed (QuiverFormatError / problems with codes), other (any other exception), wrong
 * (validator and reader disagree, or a validated artifact reads rows other than apache-arrow's own
 * reading of the same bucket files).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RecordBatchFileReader } from "apache-arrow";
import { QuiverFormatError } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, PartitionArtifactWriter, canonicalPayloadRows, decodeRangesTable, encodeCompactRanges, encodeRangesTable, validateArtifact } from "../../src/index.js";
import { type Files, manifestOf, reseal } from "../reseal.js";
import { pqSchema } from "../helpers.js";

const [seedArg, casesArg, onlyArg] = process.argv.slice(2);
const only = onlyArg === undefined ? -1 : Number(onlyArg);
const seed = Number(seedArg ?? 1);
const cases = Number(casesArg ?? 1000);
let state = seed >>> 0 || 1;
const rand = (): number => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)]!;

function readDir(dir: string, prefix = ""): Files {
  const out: Files = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, readDir(p, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = new Uint8Array(readFileSync(p));
  }
  return out;
}

async function fresh(P: number, rows: number, buckets: number, budget: number): Promise<Files> {
  const store = new MemoryObjectStore();
  const w = await PartitionArtifactWriter.create({ store, uri: "", numPartitions: P, payloadSchema: pqSchema(4), numBuckets: buckets, memoryBudgetBytes: budget });
  const ids = new Uint8Array(rows * 8);
  const codes = new Uint8Array(rows * 4);
  for (let i = 0; i < rows; i++) {
    new DataView(ids.buffer).setBigUint64(i * 8, BigInt(i * 3), true);
    for (let j = 0; j < 4; j++) codes[i * 4 + j] = (i * 11 + j * 3) & 0xff;
  }
  await w.appendRows(Array.from({ length: rows }, (_, i) => (i * 7 + (i >> 2)) % P), [ids, codes]);
  await w.finish();
  const files: Files = {};
  for (const o of await store.list("")) files[o.path] = await store.get(o.path);
  return files;
}

const INTERESTING = [0, 1, 2, 3, 8, 0x7f, 0xff, 0x100, 0xffff, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 0xfffffff0, 0xffffffff];

function mutateBytes(b: Uint8Array, footerBias: boolean): Uint8Array {
  const out = b.slice();
  const v = new DataView(out.buffer);
  const r = rand();
  if (footerBias && out.length > 16) {
    // The issue-8 hang: a u32 of the footer rewritten (footer = the bytes before the 10-byte trailer).
    const footerLen = Math.max(4, Math.min(out.length - 16, v.getInt32(out.length - 10, true)));
    const at = out.length - 10 - footerLen + Math.floor(rand() * Math.max(1, footerLen - 4));
    v.setUint32(at, pick([1, 2 ** 30, 2 ** 31 - 1, ...INTERESTING]), true);
  } else if (r < 0.35) {
    const i = Math.floor(rand() * out.length);
    out[i] = out[i]! ^ (1 << Math.floor(rand() * 8));
  } else if (r < 0.85 && out.length >= 8) {
    v.setUint32(Math.floor(rand() * (out.length - 4)), pick(INTERESTING), true);
  } else if (r < 0.95) {
    out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  } else {
    return out.subarray(0, Math.floor(rand() * out.length));
  }
  return out;
}

function mutateJson(value: unknown): unknown {
  // Replace one leaf (or one member) somewhere in the manifest.
  const paths: (string | number)[][] = [];
  const walk = (x: unknown, path: (string | number)[]): void => {
    paths.push(path);
    if (Array.isArray(x)) x.forEach((y, i) => walk(y, [...path, i]));
    else if (typeof x === "object" && x !== null) for (const [k, y] of Object.entries(x)) walk(y, [...path, k]);
  };
  walk(value, []);
  const path = pick(paths.slice(1));
  const copy = JSON.parse(JSON.stringify(value)) as Record<string | number, unknown>;
  let parent: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  const old = parent[key];
  const choices: unknown[] = [0, 1, -1, 2 ** 32, 2 ** 53, 1.5, "x", null, [], {}, "manifest.json", "ranges.arrow", "buckets/bucket-00000.arrow"];
  if (typeof old === "number") choices.push(old + 1, old - 1, old * 2);
  if (rand() < 0.1 && !Array.isArray(parent)) delete parent[key];
  else parent[key] = pick(choices);
  return copy;
}

function mutate(files: Files): Files {
  const m = manifestOf(files);
  const r = rand();
  if (r < 0.55) {
    const rec = pick(m.buckets);
    return reseal({ ...files, [rec.path]: mutateBytes(files[rec.path]!, rand() < 0.3) });
  }
  if (r < 0.7) return reseal({ ...files, [m.ranges.path]: mutateBytes(files[m.ranges.path]!, false) }, true);
  if (r < 0.85) {
    const cols = decodeRangesTable(files[m.ranges.path]!);
    const arrays = [cols.partition, cols.bucket, cols.rowOffset, cols.rowCount, cols.crc32].map((c) => Uint32Array.from(c));
    if (arrays[0]!.length > 0) arrays[Math.floor(rand() * 4)]![Math.floor(rand() * arrays[0]!.length)] = pick([0, 1, 2, 5, 0xffffffff, 2 ** 31]);
    const [partition, bucket, rowOffset, rowCount, crc32] = arrays as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
    // Re-encoded as the artifact's format encodes it (format 2 cannot state row_offset: that mutation is a no-op there).
    const encoded = m.version === 1 ? encodeRangesTable({ partition, bucket, rowOffset, rowCount, crc32 }) : encodeCompactRanges({ partition, bucket, rowCount, crc32 }, m.buckets.length, m.num_partitions);
    return reseal({ ...files, [m.ranges.path]: encoded }, true);
  }
  return { ...files, "manifest.json": new TextEncoder().encode(JSON.stringify(mutateJson(m))) };
}

async function storeOf(files: Files): Promise<MemoryObjectStore> {
  const s = new MemoryObjectStore();
  for (const [p, b] of Object.entries(files)) await s.put(p, b);
  return s;
}

/** Rows per partition as apache-arrow reads the (validated) bucket files: the oracle. */
function oracle(files: Files): unknown[] {
  const m = manifestOf(files);
  const rowsOf = m.buckets.map((b) => [...RecordBatchFileReader.from(files[b.path]!)].flatMap((batch) => canonicalPayloadRows(batch)));
  const cols = decodeRangesTable(files[m.ranges.path]!);
  const parts: unknown[][] = Array.from({ length: m.num_partitions }, () => []);
  for (let i = 0; i < cols.partition.length; i++) parts[cols.partition[i]!]!.push(...rowsOf[cols.bucket[i]!]!.slice(cols.rowOffset[i]!, cols.rowOffset[i]! + cols.rowCount[i]!));
  return parts;
}

const root = fileURLToPath(new URL("../../../../fixtures/artifact/v1/valid/", import.meta.url));
const bases: Files[] = [];
// Valid artifacts only (the validate-* fixtures are invalid artifacts given to validate-artifact).
for (const name of readdirSync(root)) if (!name.startsWith("validate-") && statSync(join(root, name)).isDirectory()) bases.push(readDir(join(root, name)));
bases.push(await fresh(5, 24, 2, 300), await fresh(3, 10, 1, 1 << 16), await fresh(7, 40, 3, 500));

const typed: Record<string, number> = {};
const other: string[] = [];
const wrong: string[] = [];
let accepted = 0;
const count = (k: string): void => void (typed[k] = (typed[k] ?? 0) + 1);
for (let i = 0; i < cases; i++) {
  const files = mutate(bases[i % bases.length]!);
  if (only >= 0 && i !== only) continue;
  if (only >= 0) {
    const base = bases[i % bases.length]!;
    for (const [p, b] of Object.entries(files)) {
      const o = base[p];
      if (o === undefined || o.length !== b.length) process.stderr.write(`${p}: length ${o?.length} -> ${b.length}\n`);
      else for (let k = 0; k < b.length; k++) if (o[k] !== b[k]) process.stderr.write(`${p}: byte ${k} ${o[k]} -> ${b[k]}\n`);
    }
  }
  try {
    const store = await storeOf(files);
    let problems: { code: string }[];
    try {
      problems = await validateArtifact(store, "");
    } catch (e) {
      other.length < 20 && other.push(`case ${i} (seed ${seed}): validateArtifact threw ${String((e as Error)?.stack ?? e).slice(0, 400)}`);
      continue;
    }
    for (const p of problems) if (typeof p.code !== "string") other.push(`case ${i}: problem without a code`);
    let rows: unknown[] | undefined;
    let readCode: string | undefined;
    try {
      const r = await PartitionArtifactReader.open(store, "");
      // Every bucket's footer (and head), including buckets no partition reads: what the validator checks too.
      await r.loadFooters();
      const all: unknown[] = [];
      for (let p = 0; p < r.numPartitions; p++) all.push((await r.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
      rows = all;
    } catch (e) {
      if (e instanceof QuiverFormatError) readCode = e.code;
      else {
        other.length < 20 && other.push(`case ${i} (seed ${seed}): reader threw ${String((e as Error)?.stack ?? e).slice(0, 400)}`);
        continue;
      }
    }
    if (problems.length === 0 && rows === undefined) wrong.length < 20 && wrong.push(`case ${i} (seed ${seed}): validator found nothing, reader failed with ${readCode}`);
    // Stated exception (spec/artifact.md#reading): a reader does not check whole-file CRC-32s.
    else if (problems.length > 0 && rows !== undefined && problems.every((p) => p.code === "CHECKSUM_MISMATCH" && (p as { stage?: string }).stage === "bucket")) count("CHECKSUM_MISMATCH (validator only, stated)");
    else if (problems.length > 0 && rows !== undefined) wrong.length < 20 && wrong.push(`case ${i} (seed ${seed}): reader read every partition, validator reported ${problems.map((p) => `${p.code} ${(p as { message?: string }).message?.slice(0, 200)}`).join(",")}`);
    else if (problems.length === 0) {
      if (JSON.stringify(rows) !== JSON.stringify(oracle(files))) wrong.length < 20 && wrong.push(`case ${i} (seed ${seed}): validated artifact reads rows other than apache-arrow's reading`);
      accepted++;
    } else count(problems[0]!.code);
  } catch (e) {
    other.length < 20 && other.push(`case ${i} (seed ${seed}): harness: ${String((e as Error)?.stack ?? e).slice(0, 400)}`);
  }
  if (i % 20 === 0) process.stdout.write(`progress ${i}\n`);
}
process.stdout.write(`report ${JSON.stringify({ cases, accepted, typed, other, wrong })}\n`);
