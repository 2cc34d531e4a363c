/**
 * Pieces shared by the scalar index formats (Bitmap, LabelList and, through this package, BTree):
 * index identities, the info JSON of a cached state, ranged data reads, and the reclaiming of
 * data files a newer commit no longer references.
 */
import { randomBytes } from "node:crypto";
import { type Frame, QuiverFormatError, describeValue, getSection, parseJsonBytes, readTypedSection, typedView } from "@quiver/format";
import { type ObjectStore, isStoreError } from "@quiver/store";

/** A fresh 128-bit index identity as 32 lowercase hex digits. */
export function newIndexId(): string {
  return randomBytes(16).toString("hex");
}

const HEX32 = /^[0-9a-f]{32}$/;

/** True when `id` is 32 lowercase hex digits. */
export function isIndexId(id: unknown): id is string {
  return typeof id === "string" && HEX32.test(id);
}

/** The identity as four u32 words (little-endian byte order of the hex bytes). */
export function indexIdWords(id: string): [number, number, number, number] {
  const b = Buffer.from(id, "hex");
  return [b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12)];
}

/** Inverse of {@link indexIdWords}. */
export function indexIdFromWords(w: ArrayLike<number>, at: number): string {
  const b = Buffer.alloc(16);
  for (let i = 0; i < 4; i++) b.writeUInt32LE(w[at + i]!, i * 4);
  return b.toString("hex");
}

/** Throw a QuiverFormatError (payload stage unless given). */
export function fail(code: string, message: string, offset?: number, stage = "payload"): never {
  throw new QuiverFormatError(code, message, offset === undefined ? { stage } : { stage, offset });
}

/** Maximum bytes of a JSON section of a scalar index (spec/btree.md#limits). */
export const MAX_INFO_JSON_BYTES = 65_536;

/** Read a JSON object section with exactly the allowed keys (null prototype). */
export function readInfoObject(frame: Frame, id: number, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
  const s = getSection(frame, id, "json");
  if (s.length > MAX_INFO_JSON_BYTES) fail("LIMIT_EXCEEDED", `JSON section ${id} of ${s.length} bytes (max ${MAX_INFO_JSON_BYTES})`, s.offset);
  const doc = parseJsonBytes(s.bytes, s.offset);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) fail("SCHEMA_VIOLATION", `section ${id} is not a JSON object`, s.offset);
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (!required.includes(k) && !optional.includes(k)) fail("SCHEMA_VIOLATION", `section ${id}: unknown field ${JSON.stringify(k.slice(0, 40))}`, s.offset);
    out[k] = v;
  }
  for (const k of required) if (!(k in out)) fail("SCHEMA_VIOLATION", `section ${id}: missing field ${k}`, s.offset);
  return out;
}

/** Require a safe integer in [min, max] from a JSON field. */
export function jsonInt(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) fail("SCHEMA_VIOLATION", `${key} is not an integer`);
  if (v < min || v > max) fail(v > max ? "LIMIT_EXCEEDED" : "INVALID_VALUE", `${key} ${v} outside [${min}, ${max}]`);
  return v;
}

/** Require a string matching `re` from a JSON field. */
export function jsonString(o: Record<string, unknown>, key: string, re: RegExp): string {
  const v = o[key];
  if (typeof v !== "string" || v.length > 4096 || !re.test(v)) fail("SCHEMA_VIOLATION", `${key} is not a valid string`);
  return v;
}

/** File names of data files: `[a-z0-9._-]`, 1..128 chars. */
export const DATA_FILE_NAME = /^[a-z0-9._-]{1,128}$/;
/** Object path pattern of an index directory (no leading or trailing slash, no `..`). */
export const INDEX_DIR = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[^\0]{1,1024}$/;

/** Section of the cached state holding `{ path, indexFileSize }`. */
export const STATE_INFO_SECTION = 15;

/** A typed section of a frame, with its length checked. */
export function typedOf<E extends "u32" | "u64">(frame: Frame, id: number, enc: E, length: number): E extends "u32" ? Uint32Array : BigUint64Array {
  const a = readTypedSection(frame, id, enc);
  if (a.length !== length) fail("SCHEMA_VIOLATION", `section ${id}: ${a.length} values, expected ${length}`, getSection(frame, id).offset);
  return a as never;
}

/** One ranged read where a range past the object's end is TRUNCATED (the file is shorter than the state says). */
export async function readRange(store: ObjectStore, path: string, offset: number, length: number): Promise<Uint8Array> {
  try {
    return await store.getRange(path, { offset, length });
  } catch (cause) {
    if (!isStoreError(cause, "RANGE_OUT_OF_BOUNDS")) throw cause;
    throw new QuiverFormatError("TRUNCATED", `${path}: bytes [${offset}, +${length}) are past the end of the object`, { stage: "section", offset, cause });
  }
}

/**
 * Delete objects under `dir/` whose names start with one of `prefixes` and are not in `keep`
 * (data files of older commits, and build spill files). Runs only after the new index file is
 * committed, so committed data is never deleted before its replacement is durable.
 */
export async function reclaimFiles(store: ObjectStore, dir: string, prefixes: readonly string[], keep: ReadonlySet<string>): Promise<number> {
  let n = 0;
  for (const meta of await store.list(`${dir}/`)) {
    const name = meta.path.slice(dir.length + 1);
    if (keep.has(name) || !prefixes.some((p) => name.startsWith(p))) continue;
    await store.delete(meta.path);
    n++;
  }
  return n;
}

/** View a u64 array as u32 words (low word first on little-endian), no copy. */
export function u64Words(a: BigUint64Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
}

/** The typed view of a raw byte range (copies only when misaligned). */
export { typedView };

/**
 * After a failed data read of an index opened from a state: when the directory's index file now has
 * another identity (the index was rebuilt or replaced since that state was taken), that is the
 * error, IDENTITY_MISMATCH. Returns quietly when the identity is unchanged or cannot be read (the
 * caller then rethrows its own error). One rule for every scalar index (spec/bitmap.md, spec/btree.md).
 */
export async function throwIfIdentityChanged(cause: unknown, path: string, expected: string, readCurrent: () => Promise<string>): Promise<void> {
  let current: string;
  try {
    current = await readCurrent();
  } catch {
    return;
  }
  if (current !== expected) {
    throw new QuiverFormatError("IDENTITY_MISMATCH", `the index at ${describeValue(path)} now has identity ${current}, not ${expected}`, { stage: "identity", cause });
  }
}
