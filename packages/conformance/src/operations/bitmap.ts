/**
 * Bitmap / LabelList / row-address-set conformance operations (spec/bitmap.md):
 * - `decode-row-address-set`: raw bytes (.bin) -> `{ fragments: [{ id, full } | { id, full, cardinality, offsets }] }`,
 *   offsets as the lowercase hex of the ascending u32 little-endian row offsets.
 * - `decode-bitmap-index`: an index file (kind 66 / 67) or a cached state entry (kind 16) -> the canonical state summary.
 * - `decode-bitmap-value-rows`: a cached per-value entry -> `{ valueIndex, indexId, rows }`.
 * - `query-bitmap`: a directory holding an index (index.qvr + data file) and `input`
 *   `{ kind: "bitmap" | "label-list", filter }` -> `{ rows: [decimal row addresses, ascending] }`.
 */
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type BitmapIndexState,
  RowAddressSet,
  type ScalarFilter,
  type ScalarValue,
  type ValueType,
  type ValueVector,
  bitmapIndexStateCodec,
  bitmapValueRowsCodec,
  decodeBitmapIndexFile,
  labelListIndexStateCodec,
  openBitmapIndex,
} from "@quiver/bitmap";
import { decodeCacheEntry } from "@quiver/cache";
import { inspectFrameHeader } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { bytesToHex } from "../canonical-json.js";
import type { OperationFn } from "../operation.js";

function needBin(bin: Uint8Array | undefined, op: string): Uint8Array {
  if (bin === undefined) throw new Error(`${op} needs a single-file fixture (.bin)`);
  return bin;
}

/** Canonical JSON of a value: 64-bit integers as bigint (decimal strings), floats as the hex of their little-endian bits. */
export function canonicalScalar(v: ValueVector, i: number): unknown {
  if (v.type === "float32" || v.type === "float64") {
    const a = v.values as Float32Array | Float64Array;
    return bytesToHex(new Uint8Array(a.buffer, a.byteOffset + i * a.BYTES_PER_ELEMENT, a.BYTES_PER_ELEMENT));
  }
  return v.get(i);
}

/** The values of a vector, canonical. */
export function canonicalValues(v: ValueVector): unknown[] {
  return Array.from({ length: v.length }, (_, i) => canonicalScalar(v, i));
}

/** Canonical summary of a row-address set. */
export function rowSetSummary(s: RowAddressSet): unknown {
  return {
    fragments: s.fragmentIds().map((id) => {
      if (s.isFullFragment(id)) return { full: true, id };
      const part = s.and(RowAddressSet.fullFragments([id]));
      const offsets = Uint32Array.from(part.toRowIds(), (x) => Number(x & 0xffffffffn));
      return { cardinality: offsets.length, full: false, id, offsets: bytesToHex(new Uint8Array(offsets.buffer)) };
    }),
  };
}

/** True when the frame's kind field (offset 12) says cache entry (16); decoders verify the whole frame afterwards. */
export function isCacheEntry(bin: Uint8Array): boolean {
  return bin.byteLength >= 16 && new DataView(bin.buffer, bin.byteOffset, bin.byteLength).getUint32(12, true) === 16;
}

function rows(s: RowAddressSet): bigint[] {
  return Array.from(s.toRowIds());
}

function stateSummary(s: BitmapIndexState): unknown {
  return {
    kind: s.kind,
    indexId: s.indexId,
    valueType: s.valueType,
    numRows: s.numRows,
    nullCount: s.nullCount,
    dataFile: s.dataFile,
    dataFileSize: BigInt(s.dataFileSize),
    values: canonicalValues(s.values),
    sets: Array.from({ length: s.values.length }, (_, i) => ({ offset: s.ranges[2 * i]!, length: s.ranges[2 * i + 1]!, crc32: s.checksums[2 * i]! })),
    nullRows: rows(s.nullRows),
    allRows: rows(s.allRows),
    ...(s.listNulls === undefined ? {} : { listNulls: rows(s.listNulls) }),
  };
}

/** A filter from canonical JSON: for 64-bit value types, decimal strings become bigints. */
export function filterFromJson(type: ValueType, f: unknown): ScalarFilter {
  const big = type === "int64" || type === "uint64" || type === "timestamp";
  const conv = (v: unknown): unknown => (big && typeof v === "string" && /^-?\d+$/.test(v) ? BigInt(v) : v);
  const walk = (x: unknown): unknown => {
    if (x === null || typeof x !== "object" || Array.isArray(x)) return x;
    const o = { ...(x as Record<string, unknown>) };
    if (o.filters !== undefined) o.filters = (o.filters as unknown[]).map(walk);
    if (o.filter !== undefined) o.filter = walk(o.filter);
    for (const k of ["value", "lower", "upper"]) if (o[k] !== undefined) o[k] = conv(o[k]);
    if (Array.isArray(o.values)) o.values = o.values.map(conv) as ScalarValue[];
    return o;
  };
  return walk(f) as ScalarFilter;
}

/** Load every file of a fixture directory into a memory store under `prefix/`. */
export async function storeOfDir(dir: string, prefix: string): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  for (const name of await readdir(dir)) await store.put(`${prefix}/${name}`, new Uint8Array(await readFile(join(dir, name))));
  return store;
}

/** Conformance operations of the bitmap area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "decode-row-address-set": async (fixture) => rowSetSummary(RowAddressSet.deserialize(needBin(fixture.bin, "decode-row-address-set"))),
  "decode-bitmap-index": async (fixture) => {
    const bin = needBin(fixture.bin, "decode-bitmap-index");
    if (!isCacheEntry(bin)) return stateSummary(decodeBitmapIndexFile(bin, "index"));
    const codec = inspectFrameHeader(bin, {}).typeName === labelListIndexStateCodec.typeName ? labelListIndexStateCodec : bitmapIndexStateCodec;
    const d = decodeCacheEntry(codec, bin);
    return { path: d.value.path, indexFileSize: BigInt(d.value.indexFileSize), ...(stateSummary(d.value) as object) };
  },
  "decode-bitmap-value-rows": async (fixture) => {
    const d = decodeCacheEntry(bitmapValueRowsCodec, needBin(fixture.bin, "decode-bitmap-value-rows"));
    return { indexId: d.value.indexId, rows: rows(d.value.rows), valueIndex: d.value.valueIndex };
  },
  "query-bitmap": async (fixture) => {
    if (fixture.dir === undefined) throw new Error("query-bitmap needs a directory fixture");
    const input = fixture.input as { kind: "bitmap" | "label-list"; filter: unknown };
    const index = await openBitmapIndex(await storeOfDir(fixture.dir, "ix"), "ix", { kind: input.kind });
    return { rows: rows(await index.query(filterFromJson(index.state.valueType, input.filter))) };
  },
};
