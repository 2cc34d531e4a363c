/**
 * BTree conformance operations (spec/btree.md):
 * - `decode-btree-index`: an index file (kind 65) or a cached `BTreeIndexState` entry (kind 16) -> the canonical state summary.
 * - `decode-btree-page`: a page frame (kind 64) or a cached `BTreePage` entry -> `{ page, rows, nullCount, valueType, indexId, rowIds, values }`.
 * - `query-btree`: a directory holding an index (index.qvr + page data files) and `input` `{ filter }`
 *   -> `{ rows: [decimal row addresses, ascending] }`.
 * Values are canonical as in the bitmap operations (64-bit integers as decimal strings, floats as hex bits).
 */
import { type BTreeIndexState, type BTreePage, btreeIndexStateCodec, btreePageCodec, decodeBTreeIndexFile, decodePage, openBTreeIndex } from "@quiver/btree";
import { decodeCacheEntry } from "@quiver/cache";
import type { OperationFn } from "../operation.js";
import { canonicalScalar, canonicalValues, filterFromJson, isCacheEntry, storeOfDir } from "./bitmap.js";

function needBin(bin: Uint8Array | undefined, op: string): Uint8Array {
  if (bin === undefined) throw new Error(`${op} needs a single-file fixture (.bin)`);
  return bin;
}

function stateSummary(s: BTreeIndexState): unknown {
  const P = s.pageInfo.length / 8;
  return {
    indexId: s.indexId,
    valueType: s.valueType,
    pageSize: s.pageSize,
    numRows: s.numRows,
    nullCount: s.nullCount,
    dataFiles: s.dataFiles.map((f) => ({ name: f.name, size: BigInt(f.size) })),
    pages: Array.from({ length: P }, (_, p) => {
      const allNull = s.pageInfo[p * 8 + 1] === s.pageInfo[p * 8 + 2];
      return {
        file: s.pageInfo[p * 8]!,
        rows: s.pageInfo[p * 8 + 1]!,
        nullCount: s.pageInfo[p * 8 + 2]!,
        crc32: [s.pageInfo[p * 8 + 3]!, s.pageInfo[p * 8 + 4]!, s.pageInfo[p * 8 + 5]!],
        offset: s.pageRanges[2 * p]!,
        length: s.pageRanges[2 * p + 1]!,
        min: allNull ? null : canonicalScalar(s.mins, p),
        max: allNull ? null : canonicalScalar(s.maxs, p),
      };
    }),
    nullRows: Array.from(s.nullRows.toRowIds()),
    allRows: Array.from(s.allRows.toRowIds()),
  };
}

function pageSummary(p: BTreePage): unknown {
  return { indexId: p.indexId, nullCount: p.nullCount, page: p.page, rowIds: Array.from(p.rowIds), rows: p.rows, valueType: p.valueType, values: canonicalValues(p.values) };
}

/** Conformance operations of the btree area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "decode-btree-index": async (fixture) => {
    const bin = needBin(fixture.bin, "decode-btree-index");
    if (!isCacheEntry(bin)) return stateSummary(decodeBTreeIndexFile(bin, "index"));
    const d = decodeCacheEntry(btreeIndexStateCodec, bin);
    return { indexFileSize: BigInt(d.value.indexFileSize), path: d.value.path, ...(stateSummary(d.value) as object) };
  },
  "decode-btree-page": async (fixture) => {
    const bin = needBin(fixture.bin, "decode-btree-page");
    return pageSummary(isCacheEntry(bin) ? decodeCacheEntry(btreePageCodec, bin).value : decodePage(bin));
  },
  "query-btree": async (fixture) => {
    if (fixture.dir === undefined) throw new Error("query-btree needs a directory fixture");
    const input = fixture.input as { filter: unknown };
    const index = await openBTreeIndex(await storeOfDir(fixture.dir, "ix"), "ix");
    return { rows: Array.from((await index.query(filterFromJson(index.state.valueType, input.filter))).toRowIds()) };
  },
};
