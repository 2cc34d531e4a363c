/**
 * The BTree scalar index over one column: sorted pages of (value, row id) in data files read by
 * range, and a lookup table (per-page min / max / row and NULL counts, locations, CRCs) in the
 * index file. Build from a column stream with bounded memory (sorted runs spilled to the store,
 * then merged); open cold with one GET, or from the cache with none; queries to row-address sets
 * (spec/btree.md).
 */
import { type CacheCodec, type CacheKey, type IndexCache, cacheKey, retainedBytes } from "@quiver/cache";
import type { WordRun } from "@quiver/bitmap";
import {
  type Frame,
  type SectionInput,
  QuiverArgumentError,
  QuiverFormatError,
  checkInteger,
  checkOneOf,
  checkOptions,
  describeValue,
  decodeFrame,
  encodeFrame,
  getSection,
  jsonSection,
  rawSection,
  readTypedSection,
  typedSection,
} from "@quiver/format";
import type { ObjectStore } from "@quiver/store";
import {
  DATA_FILE_NAME,
  INDEX_DIR,
  type ProbeValue,
  RowAddressSet,
  RowAddressSetBuilder,
  STATE_INFO_SECTION,
  type ScalarColumnChunk,
  type ScalarFilter,
  type ScalarIndexCounters,
  type ScalarPredicate,
  type ScalarValue,
  type TruthSets,
  type ValueType,
  VALUE_TYPES,
  ValueVector,
  ValueVectorBuilder,
  checkFilter,
  checkValueVector,
  evaluateFilter,
  throwFormatError as fail,
  isIndexId,
  jsonInt,
  jsonString,
  newIndexId,
  probeValue,
  readInfoObject,
  readRange,
  throwIfIdentityChanged,
  reclaimFiles,
  sortOrder,
  typedOf,
  u64Words,
  valueEncoding,
} from "@quiver/bitmap";
import { type BTreePage, MAX_PAGE_ROWS, btreePageCodec, decodePage, encodePage } from "./page.js";

/** Container kind and frame type name of the index file. */
export const BTREE_INDEX_KIND = 65;
export const BTREE_INDEX_TYPE_NAME = "btree-index";
export const BTREE_INDEX_KIND_VERSION = 1;
/** Cache type name of the state. */
export const BTREE_INDEX_STATE_TYPE_NAME = "BTreeIndexState";
/** Name of the index file inside the index directory. */
export const BTREE_INDEX_FILE = "index.qvr";
/** Default rows per page. */
export const DEFAULT_PAGE_SIZE = 4096;

/** Limits (spec/btree.md#limits). */
export const BTREE_LIMITS = {
  maxPages: 1_048_576,
  maxDataFiles: 65_536,
  maxPageRows: MAX_PAGE_ROWS,
} as const;

/** Section ids of the index file (and of the cached state). */
export const BTREE_SECTION = {
  info: 0,
  /** u32 per page: file, rows, nullCount, rowIds CRC, values CRC, value-data CRC, 0, 0. */
  pageInfo: 1,
  /** u64 per page: offset, length in its data file. */
  pageRanges: 2,
  mins: 3,
  minData: 4,
  maxs: 5,
  maxData: 6,
  nullRows: 7,
  allRows: 8,
} as const;

/** One data file. */
export interface BTreeDataFile {
  readonly name: string;
  readonly size: number;
}

/** The cacheable state: everything needed to answer queries without reading the store, except the pages. */
export interface BTreeIndexState {
  readonly path: string;
  readonly indexFileSize: number;
  readonly indexId: string;
  readonly valueType: ValueType;
  readonly pageSize: number;
  readonly numRows: number;
  readonly nullCount: number;
  readonly dataFiles: readonly BTreeDataFile[];
  readonly pageInfo: Uint32Array;
  readonly pageRanges: BigUint64Array;
  /** Per page the smallest and largest non-null value (a zero placeholder for an all-NULL page). */
  readonly mins: ValueVector;
  readonly maxs: ValueVector;
  readonly nullRows: RowAddressSet;
  readonly allRows: RowAddressSet;
}

const PAGE_INFO_WIDTH = 8;

function stateSections(s: BTreeIndexState): SectionInput[] {
  return [
    jsonSection(BTREE_SECTION.info, {
      indexId: s.indexId,
      valueType: s.valueType,
      pageSize: s.pageSize,
      numPages: s.pageInfo.length / PAGE_INFO_WIDTH,
      numRows: s.numRows,
      nullCount: s.nullCount,
      dataFiles: s.dataFiles.map((f) => ({ name: f.name, size: f.size })),
    }),
    typedSection(BTREE_SECTION.pageInfo, "u32", s.pageInfo),
    typedSection(BTREE_SECTION.pageRanges, "u64", s.pageRanges),
    ...s.mins.sections(BTREE_SECTION.mins, BTREE_SECTION.minData),
    ...s.maxs.sections(BTREE_SECTION.maxs, BTREE_SECTION.maxData),
    rawSection(BTREE_SECTION.nullRows, s.nullRows.serialize()),
    rawSection(BTREE_SECTION.allRows, s.allRows.serialize()),
  ];
}

function parseDataFiles(v: unknown): BTreeDataFile[] {
  if (!Array.isArray(v) || v.length > BTREE_LIMITS.maxDataFiles) fail("SCHEMA_VIOLATION", "dataFiles is not an array of at most 65536 files");
  const names = new Set<string>();
  return (v as unknown[]).map((f, i) => {
    if (f === null || typeof f !== "object" || Array.isArray(f)) fail("SCHEMA_VIOLATION", `dataFiles[${i}] is not an object`);
    const o = f as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== "name" && k !== "size") fail("SCHEMA_VIOLATION", `dataFiles[${i}]: unknown field`);
    const name = jsonString(o, "name", DATA_FILE_NAME);
    if (names.has(name)) fail("SCHEMA_VIOLATION", `dataFiles[${i}]: duplicate name`);
    names.add(name);
    return { name, size: jsonInt(o, "size", 0, Number.MAX_SAFE_INTEGER) };
  });
}

function vectorOf(frame: Frame, valuesId: number, dataId: number, type: ValueType, n: number): ValueVector {
  const vs = readTypedSection(frame, valuesId, valueEncoding(type));
  const data = type === "utf8" ? getSection(frame, dataId, "raw").bytes : undefined;
  const v = new ValueVector(type, vs as ValueVector["values"], data);
  checkValueVector(v, n, "none", getSection(frame, valuesId).offset);
  return v;
}

/** Parse and validate the index sections of a frame (index file or cached state). */
function parseStateSections(frame: Frame, path: string, indexFileSize: number): BTreeIndexState {
  const info = readInfoObject(frame, BTREE_SECTION.info, ["indexId", "valueType", "pageSize", "numPages", "numRows", "nullCount", "dataFiles"]);
  if (!isIndexId(info.indexId)) fail("SCHEMA_VIOLATION", "indexId is not 32 lowercase hex digits");
  const valueType = checkValueTypeField(info.valueType);
  const pageSize = jsonInt(info, "pageSize", 1, MAX_PAGE_ROWS);
  const numPages = jsonInt(info, "numPages", 0, BTREE_LIMITS.maxPages);
  const numRows = jsonInt(info, "numRows", 0, Number.MAX_SAFE_INTEGER);
  const nullCount = jsonInt(info, "nullCount", 0, numRows);
  const dataFiles = parseDataFiles(info.dataFiles);
  const allowed = new Set<number>([0, 1, 2, 3, 5, 7, 8, STATE_INFO_SECTION]);
  if (valueType === "utf8") [4, 6].forEach((i) => allowed.add(i));
  for (const s of frame.sections) if (!allowed.has(s.id)) fail("SCHEMA_VIOLATION", `unexpected section ${s.id}`, s.offset, "section-table");
  const pageInfo = typedOf(frame, BTREE_SECTION.pageInfo, "u32", numPages * PAGE_INFO_WIDTH);
  const pageRanges = typedOf(frame, BTREE_SECTION.pageRanges, "u64", numPages * 2);
  const mins = vectorOf(frame, BTREE_SECTION.mins, BTREE_SECTION.minData, valueType, numPages);
  const maxs = vectorOf(frame, BTREE_SECTION.maxs, BTREE_SECTION.maxData, valueType, numPages);
  const infoAt = getSection(frame, BTREE_SECTION.pageInfo).offset;
  let rows = 0;
  let nulls = 0;
  const fileEnds = new Array<bigint>(dataFiles.length).fill(0n);
  let seenAllNull = false;
  for (let p = 0; p < numPages; p++) {
    const f = pageInfo[p * PAGE_INFO_WIDTH]!;
    const r = pageInfo[p * PAGE_INFO_WIDTH + 1]!;
    const n = pageInfo[p * PAGE_INFO_WIDTH + 2]!;
    if (pageInfo[p * PAGE_INFO_WIDTH + 6] !== 0 || pageInfo[p * PAGE_INFO_WIDTH + 7] !== 0) fail("RESERVED_NONZERO", `page ${p}: reserved words`, infoAt);
    if (f >= dataFiles.length) fail("SCHEMA_VIOLATION", `page ${p}: data file ${f} of ${dataFiles.length}`, infoAt);
    if (r === 0 || r > pageSize || n > r) fail("INVALID_VALUE", `page ${p}: ${r} rows, ${n} NULL, page size ${pageSize}`, infoAt);
    const off = pageRanges[2 * p]!;
    const len = pageRanges[2 * p + 1]!;
    if (off < fileEnds[f]! || len === 0n || off + len > BigInt(dataFiles[f]!.size)) fail("SECTION_OUT_OF_BOUNDS", `page ${p}: [${off}, +${len}) outside data file ${f} or overlapping`, getSection(frame, BTREE_SECTION.pageRanges).offset);
    fileEnds[f] = off + len;
    // Pages ascend: within a page min <= max; a page's min is not below the previous page's max; all-NULL pages come last.
    const allNull = n === r;
    if (seenAllNull && !allNull) fail("PAGES_UNSORTED", `page ${p} has values after an all-NULL page`, infoAt);
    if (n > 0 && p < numPages - 1 && !allNull && pageInfo[(p + 1) * PAGE_INFO_WIDTH + 2] !== pageInfo[(p + 1) * PAGE_INFO_WIDTH + 1]) {
      fail("PAGES_UNSORTED", `page ${p} holds NULL rows but a later page holds values`, infoAt);
    }
    if (!allNull) {
      if (mins.compareAt(p, maxs, p) > 0) fail("PAGES_UNSORTED", `page ${p}: min above max`, infoAt);
      if (p > 0 && !seenAllNull && maxs.compareAt(p - 1, mins, p) > 0) fail("PAGES_UNSORTED", `page ${p}: min below page ${p - 1}'s max`, infoAt);
    }
    seenAllNull ||= allNull;
    rows += r;
    nulls += n;
  }
  if (rows !== numRows || nulls !== nullCount) fail("BTREE_STATE_MISMATCH", `pages hold ${rows} rows / ${nulls} NULL, info says ${numRows} / ${nullCount}`, infoAt);
  const set = (id: number): RowAddressSet => {
    const s = getSection(frame, id, "raw");
    return RowAddressSet.deserialize(s.bytes, s.offset);
  };
  const nullRows = set(BTREE_SECTION.nullRows);
  const allRows = set(BTREE_SECTION.allRows);
  if (allRows.hasFullFragments || nullRows.hasFullFragments) fail("INVALID_VALUE", "allRows and nullRows hold no full-fragment entry");
  if (allRows.size() !== numRows || nullRows.size() !== nullCount) fail("BTREE_STATE_MISMATCH", "allRows / nullRows sizes disagree with numRows / nullCount");
  if (!nullRows.andNot(allRows).isEmpty) fail("BTREE_STATE_MISMATCH", "NULL rows outside allRows");
  return { path, indexFileSize, indexId: info.indexId, valueType, pageSize, numRows, nullCount, dataFiles, pageInfo, pageRanges, mins, maxs, nullRows, allRows };
}

function checkValueTypeField(v: unknown): ValueType {
  if (typeof v !== "string" || !Object.hasOwn(VALUE_TYPES, v)) fail("SCHEMA_VIOLATION", "valueType is not a value type name");
  return v as ValueType;
}

/** Decode an index file (frame kind 65). */
export function decodeBTreeIndexFile(bytes: Uint8Array, path = "index"): BTreeIndexState {
  const frame = decodeFrame(bytes, { kind: BTREE_INDEX_KIND, typeName: BTREE_INDEX_TYPE_NAME, maxKindVersion: BTREE_INDEX_KIND_VERSION });
  if (frame.sections.some((s) => s.id === STATE_INFO_SECTION)) fail("SCHEMA_VIOLATION", `section ${STATE_INFO_SECTION} belongs to cached states only`, undefined, "section-table");
  return parseStateSections(frame, path, bytes.byteLength);
}

/** Encode an index file. */
export function encodeBTreeIndexFile(state: BTreeIndexState): Uint8Array {
  return encodeFrame({ kind: BTREE_INDEX_KIND, kindVersion: BTREE_INDEX_KIND_VERSION, typeName: BTREE_INDEX_TYPE_NAME, sections: stateSections(state) });
}

/** Codec of the cached {@link BTreeIndexState}: the index file's sections plus `{ path, indexFileSize }`. */
export const btreeIndexStateCodec: CacheCodec<BTreeIndexState> = {
  typeName: BTREE_INDEX_STATE_TYPE_NAME,
  version: 1,
  // The cached state's section CRC-32s are compared with the index file's.
  sectionChecksum: "crc32",
  encode: (s) => [...stateSections(s), jsonSection(STATE_INFO_SECTION, { path: s.path, indexFileSize: s.indexFileSize })],
  decode(frame) {
    const o = readInfoObject(frame, STATE_INFO_SECTION, ["path", "indexFileSize"]);
    return parseStateSections(frame, jsonString(o, "path", INDEX_DIR), jsonInt(o, "indexFileSize", 0, Number.MAX_SAFE_INTEGER));
  },
  sizeOf: (s) => retainedBytes([s.pageInfo, s.pageRanges, ...s.mins.views(), ...s.maxs.views()]) + s.nullRows.retainedBytes() + s.allRows.retainedBytes() + 512,
};

// ---------------------------------------------------------------------------------------------
// Build

/** Options of {@link buildBTreeIndex}. */
export interface BuildBTreeIndexOptions {
  readonly valueType: ValueType;
  /** Rows per page (default 4096, at most 65,536). */
  readonly pageSize?: number;
  /** Rows sorted in memory at once before a run is spilled to the store (default 262,144). */
  readonly runRows?: number;
  /** Pages per data file (default 64). */
  readonly pagesPerFile?: number;
  /** Index identity, 32 lowercase hex digits (default random; fixed only for reproducible fixtures). */
  readonly indexId?: string;
}

/** What a build wrote. */
export interface BTreeBuildResult {
  /** The index identity (fresh per build): pass it as `identity` to {@link openBTreeIndex} for a zero-IO open. */
  readonly indexId: string;
  readonly numPages: number;
  readonly numRows: number;
  readonly runsSpilled: number;
  readonly indexFileBytes: number;
  readonly dataFileBytes: number;
}

/** A block of sorted rows (a run block or a page): non-null values then NULL rows. */
interface Block {
  readonly rowIds: BigUint64Array;
  readonly values: ValueVector;
  readonly nullCount: number;
}

/** A sorted run: its blocks, in memory or spilled. */
interface Run {
  blockCount(): number;
  block(i: number): Promise<Block>;
}

function sortRun(type: ValueType, unsorted: ValueVector, ids: bigint[], nullIds: bigint[], pageSize: number): Block[] {
  const order = sortOrder(unsorted, ids);
  nullIds.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const blocks: Block[] = [];
  const n = unsorted.length;
  const total = n + nullIds.length;
  const b = new ValueVectorBuilder(type);
  for (let start = 0; start < total; start += pageSize) {
    const end = Math.min(total, start + pageSize);
    const nn = Math.max(0, Math.min(end, n) - start);
    const rowIds = new BigUint64Array(end - start);
    for (let i = 0; i < nn; i++) {
      const src = order[start + i]!;
      rowIds[i] = ids[src]!;
      b.pushFrom(unsorted, src);
    }
    for (let i = nn; i < end - start; i++) rowIds[i] = nullIds[start + i - n]!;
    blocks.push({ rowIds, values: b.build(), nullCount: end - start - nn });
  }
  return blocks;
}

/** Compare (null?, value, rowId) of row i of a and row j of b. */
function compareRows(a: Block, i: number, b: Block, j: number): number {
  const an = i >= a.rowIds.length - a.nullCount;
  const bn = j >= b.rowIds.length - b.nullCount;
  if (an !== bn) return an ? 1 : -1;
  if (!an) {
    const c = a.values.compareAt(i, b.values, j);
    if (c !== 0) return c;
  }
  const x = a.rowIds[i]!;
  const y = b.rowIds[j]!;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Build a BTree index over a column into `dir/` (index.qvr + page data files). */
export async function buildBTreeIndex(store: ObjectStore, dir: string, chunks: AsyncIterable<ScalarColumnChunk> | Iterable<ScalarColumnChunk>, options: BuildBTreeIndexOptions): Promise<BTreeBuildResult> {
  checkOptions("options", options, ["valueType", "pageSize", "runRows", "pagesPerFile", "indexId"]);
  if (options.indexId !== undefined && !isIndexId(options.indexId)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.indexId", expected: "32 lowercase hex digits", given: options.indexId });
  const valueType = checkOneOf("options.valueType", options.valueType, Object.keys(VALUE_TYPES) as ValueType[]);
  const pageSize = options.pageSize === undefined ? DEFAULT_PAGE_SIZE : checkInteger("options.pageSize", options.pageSize, 1, MAX_PAGE_ROWS);
  const runRows = options.runRows === undefined ? 262_144 : checkInteger("options.runRows", options.runRows, 1, 1 << 26);
  const pagesPerFile = options.pagesPerFile === undefined ? 64 : checkInteger("options.pagesPerFile", options.pagesPerFile, 1, BTREE_LIMITS.maxPages);
  if (typeof dir !== "string" || !INDEX_DIR.test(dir) || dir.startsWith("/") || dir.endsWith("/")) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "dir", expected: "an object path prefix without leading/trailing slash or dot segments", given: dir });
  }
  const indexId = options.indexId ?? newIndexId();
  try {
    return await buildInto(store, dir, chunks, valueType, pageSize, runRows, pagesPerFile, indexId);
  } catch (e) {
    // A failed build removes what it wrote; a crashed one leaves files the next build in `dir` reclaims.
    await reclaimFiles(store, dir, [`pages-${indexId}`, `_build-${indexId}`], new Set()).catch(() => 0);
    throw e;
  }
}

async function buildInto(
  store: ObjectStore,
  dir: string,
  chunks: AsyncIterable<ScalarColumnChunk> | Iterable<ScalarColumnChunk>,
  valueType: ValueType,
  pageSize: number,
  runRows: number,
  pagesPerFile: number,
  indexId: string,
): Promise<BTreeBuildResult> {
  const spillDir = `${dir}/_build-${indexId}`;
  const runs: Run[] = [];
  const runValues = new ValueVectorBuilder(valueType);
  let ids: bigint[] = [];
  let nullIds: bigint[] = [];
  let spilled = 0;
  const spill = async (): Promise<void> => {
    if (runValues.length + nullIds.length === 0) return;
    const blocks = sortRun(valueType, runValues.build(), ids, nullIds, pageSize);
    ids = [];
    nullIds = [];
    const path = `${spillDir}/run-${spilled++}.bin`;
    const parts = blocks.map((b, i) => encodePage({ indexId, page: i, rows: b.rowIds.length, nullCount: b.nullCount, valueType, rowIds: b.rowIds, values: b.values }));
    const offsets: number[] = [0];
    for (const p of parts) offsets.push(offsets[offsets.length - 1]! + p.byteLength);
    await store.put(path, concat(parts, offsets[offsets.length - 1]!));
    runs.push({
      blockCount: () => parts.length,
      block: async (i) => {
        const page = decodePage(await readRange(store, path, offsets[i]!, offsets[i + 1]! - offsets[i]!));
        return { rowIds: page.rowIds, values: page.values, nullCount: page.nullCount };
      },
    });
  };
  let c = 0;
  for await (const chunk of chunks) {
    checkOptions(`chunks[${c}]`, chunk, ["rowIds", "values"]);
    const { rowIds, values } = chunk;
    if (rowIds.length !== values.length) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `chunks[${c}].values`, expected: `${rowIds.length} values (one per row id)`, given: values.length });
    for (let i = 0; i < rowIds.length; i++) {
      const id = rowIds[i];
      if (typeof id !== "bigint" || id < 0n || id >= 1n << 64n) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `chunks[${c}].rowIds[${i}]`, expected: "a u64 bigint", given: id });
      const v = values[i];
      if (v === null || v === undefined) nullIds.push(id);
      else {
        runValues.push(v, `chunks[${c}].values[${i}]`);
        ids.push(id);
      }
      if (runValues.length + nullIds.length >= runRows) await spill();
    }
    c++;
  }
  // A column that fits one run is never spilled: its sorted blocks are the merge input directly.
  if (runs.length === 0) {
    const blocks = sortRun(valueType, runValues.build(), ids, nullIds, pageSize);
    runs.push({ blockCount: () => blocks.length, block: async (i) => blocks[i]! });
  } else await spill();

  // K-way merge into pages; pages fill data files of `pagesPerFile` pages each.
  const cursors = await Promise.all(runs.map(async (run) => ({ run, b: 0, i: 0, block: run.blockCount() > 0 ? await run.block(0) : undefined })));
  const live = cursors.filter((x) => x.block !== undefined);
  const heap = live.slice();
  const less = (x: (typeof live)[number], y: (typeof live)[number]): boolean => compareRows(x.block!, x.i, y.block!, y.i) < 0;
  const siftDown = (k: number): void => {
    for (;;) {
      const l = 2 * k + 1;
      if (l >= heap.length) return;
      const m = l + 1 < heap.length && less(heap[l + 1]!, heap[l]!) ? l + 1 : l;
      if (!less(heap[m]!, heap[k]!)) return;
      [heap[m], heap[k]] = [heap[k]!, heap[m]!];
      k = m;
    }
  };
  for (let k = (heap.length >> 1) - 1; k >= 0; k--) siftDown(k);

  const pageInfo: number[] = [];
  const pageRanges: bigint[] = [];
  const mins = new ValueVectorBuilder(valueType);
  const maxs = new ValueVectorBuilder(valueType);
  const dataFiles: BTreeDataFile[] = [];
  const allRows = new RowAddressSetBuilder();
  const nullRows = new RowAddressSetBuilder();
  let fileParts: Uint8Array[] = [];
  let fileBytes = 0;
  let dataBytes = 0;
  let pageNo = 0;
  let outIds: bigint[] = [];
  const out = new ValueVectorBuilder(valueType);
  let outNulls = 0;
  const zero = probeValue(valueType, valueType === "utf8" ? "" : valueType === "bool" ? false : valueEncoding(valueType) === "u64" ? 0n : 0);
  const flushFile = async (): Promise<void> => {
    if (fileParts.length === 0) return;
    const name = `pages-${indexId}-${String(dataFiles.length).padStart(5, "0")}.bin`;
    await store.put(`${dir}/${name}`, concat(fileParts, fileBytes));
    dataFiles.push({ name, size: fileBytes });
    dataBytes += fileBytes;
    fileParts = [];
    fileBytes = 0;
  };
  const emitPage = async (): Promise<void> => {
    const rows = outIds.length;
    if (rows === 0) return;
    const rowIds = BigUint64Array.from(outIds);
    const values = out.build();
    const bytes = encodePage({ indexId, page: pageNo, rows, nullCount: outNulls, valueType, rowIds, values });
    const page = decodePage(bytes);
    const words = u64Words(rowIds);
    allRows.addWords(words, 0, rows);
    nullRows.addWords(words, rows - outNulls, rows);
    pageInfo.push(dataFiles.length, rows, outNulls, page.crcs[0], page.crcs[1], page.crcs[2], 0, 0);
    pageRanges.push(BigInt(fileBytes), BigInt(bytes.byteLength));
    if (values.length > 0) {
      mins.pushFrom(values, 0);
      maxs.pushFrom(values, values.length - 1);
    } else {
      mins.pushProbe(zero);
      maxs.pushProbe(zero);
    }
    fileParts.push(bytes);
    fileBytes += bytes.byteLength;
    pageNo++;
    outIds = [];
    outNulls = 0;
    if (fileParts.length >= pagesPerFile) await flushFile();
  };
  while (heap.length > 0) {
    const top = heap[0]!;
    const b = top.block!;
    const isNull = top.i >= b.rowIds.length - b.nullCount;
    outIds.push(b.rowIds[top.i]!);
    if (isNull) outNulls++;
    else out.pushFrom(b.values, top.i);
    if (outIds.length === pageSize) await emitPage();
    top.i++;
    if (top.i >= b.rowIds.length) {
      top.b++;
      top.i = 0;
      if (top.b < top.run.blockCount()) top.block = await top.run.block(top.b);
      else {
        heap[0] = heap[heap.length - 1]!;
        heap.pop();
      }
    }
    if (heap.length > 0) siftDown(0);
  }
  await emitPage();
  await flushFile();
  const all = allRows.build();
  const numRows = all.size();
  if (numRows !== allRows.added) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "rowIds", expected: "distinct row ids", given: allRows.added - numRows });
  const nulls = nullRows.build();
  const state: BTreeIndexState = {
    path: dir,
    indexFileSize: 0,
    indexId,
    valueType,
    pageSize,
    numRows,
    nullCount: nulls.size(),
    dataFiles,
    pageInfo: Uint32Array.from(pageInfo),
    pageRanges: BigUint64Array.from(pageRanges),
    mins: mins.build(),
    maxs: maxs.build(),
    nullRows: nulls,
    allRows: all,
  };
  const file = encodeBTreeIndexFile(state);
  await store.put(`${dir}/${BTREE_INDEX_FILE}`, file);
  // After the commit: data files of older builds and every spill directory (this build's and crashed ones).
  await reclaimFiles(store, dir, ["pages-", "_build-"], new Set(dataFiles.map((f) => f.name)));
  return { indexId, numPages: pageNo, numRows, runsSpilled: spilled, indexFileBytes: file.byteLength, dataFileBytes: dataBytes };
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Open, pages, queries

/** Read the state from the store: one GET of `dir/index.qvr`, never a HEAD. */
export async function readBTreeIndexState(store: ObjectStore, dir: string): Promise<BTreeIndexState> {
  return decodeBTreeIndexFile(await store.get(`${dir}/${BTREE_INDEX_FILE}`), dir);
}

/** Options of {@link openBTreeIndex}. */
export interface OpenBTreeIndexOptions {
  readonly cache?: IndexCache;
  /** Cache key namespace (default: the directory). */
  readonly cacheKey?: string;
  /**
   * The identity (`indexId`) of the index the caller means (from the build result or its own
   * manifest). With it and a cache holding that state the open makes no store request; a cold open
   * checks that the file has this identity (IDENTITY_MISMATCH otherwise). Without it the open
   * always reads the index file (one GET) and learns the identity there.
   */
  readonly identity?: string;
}

/** Cache key of a state: the identity is part of every cache key of the index. */
function stateCacheKey(base: string, identity: string): CacheKey<BTreeIndexState> {
  return cacheKey(`${base}/btree/${identity}/state`, btreeIndexStateCodec);
}

/** A live BTree index. */
export class BTreeIndex {
  readonly store: ObjectStore;
  readonly state: BTreeIndexState;
  readonly cache: IndexCache | undefined;
  readonly counters: ScalarIndexCounters = { inconsistentEntries: 0, storeLoads: 0 };
  readonly #keyBase: string;
  readonly #pageSets = new WeakMap<BTreePage, RowAddressSet>();

  /** A live index over a state (no IO). */
  constructor(store: ObjectStore, state: BTreeIndexState, options: { cache?: IndexCache; cacheKey?: string } = {}) {
    this.store = store;
    this.state = state;
    this.cache = options.cache;
    this.#keyBase = options.cacheKey ?? state.path;
  }

  /** The index identity (the build's random `indexId`; part of every cache key). */
  get identity(): string {
    return this.state.indexId;
  }

  /** Number of pages. */
  get numPages(): number {
    return this.state.pageInfo.length / PAGE_INFO_WIDTH;
  }

  /** Every indexed row. */
  get allRows(): RowAddressSet {
    return this.state.allRows;
  }

  /** Cache key of page p. */
  pageCacheKey(p: number): CacheKey<BTreePage> {
    return cacheKey(`${this.#keyBase}/btree/${this.state.indexId}/page/${p}`, btreePageCodec);
  }

  #consistent(page: BTreePage, p: number): boolean {
    const s = this.state;
    const at = p * PAGE_INFO_WIDTH;
    return (
      page.indexId === s.indexId &&
      page.page === p &&
      page.valueType === s.valueType &&
      page.rows === s.pageInfo[at + 1] &&
      page.nullCount === s.pageInfo[at + 2] &&
      page.crcs[0] === s.pageInfo[at + 3] &&
      page.crcs[1] === s.pageInfo[at + 4] &&
      page.crcs[2] === s.pageInfo[at + 5]
    );
  }

  /** Read page p from its data file (one ranged read) and check it against the lookup table. */
  async readPage(p: number): Promise<BTreePage> {
    const s = this.state;
    if (!Number.isInteger(p) || p < 0 || p >= this.numPages) throw new RangeError(`page ${p} of ${this.numPages}`);
    this.counters.storeLoads++;
    const file = s.dataFiles[s.pageInfo[p * PAGE_INFO_WIDTH]!]!;
    const offset = Number(s.pageRanges[2 * p]!);
    try {
      const bytes = await readRange(this.store, `${s.path}/${file.name}`, offset, Number(s.pageRanges[2 * p + 1]!));
      const page = decodePage(bytes, offset);
      if (!this.#consistent(page, p)) throw new QuiverFormatError("BTREE_STATE_MISMATCH", `page ${p} in ${file.name} disagrees with the lookup table`, { stage: "payload", offset });
      return page;
    } catch (cause) {
      await this.#checkIdentity(cause);
      throw cause;
    }
  }

  /** After a failed data read: IDENTITY_MISMATCH when the directory's index file was rebuilt or replaced since this state. */
  #checkIdentity(cause: unknown): Promise<void> {
    return throwIfIdentityChanged(cause, this.state.path, this.state.indexId, async () => (await readBTreeIndexState(this.store, this.state.path)).indexId);
  }

  /** Page p through the cache; a cached page that disagrees with the lookup table is a counted miss that reloads. */
  async page(p: number): Promise<BTreePage> {
    if (this.cache === undefined) return this.readPage(p);
    const key = this.pageCacheKey(p);
    const page = await this.cache.getOrInsert(key, () => this.readPage(p));
    if (this.#consistent(page, p)) return page;
    this.counters.inconsistentEntries++;
    const fresh = await this.readPage(p);
    await this.cache.insert(key, fresh);
    return fresh;
  }

  /** The non-NULL rows of a page as a set, built once per live page object (ranges that cover whole pages union these). */
  #valueRowsOf(page: BTreePage): RowAddressSet {
    let set = this.#pageSets.get(page);
    if (set === undefined) {
      set = RowAddressSet.fromWords(u64Words(page.rowIds), 0, page.rows - page.nullCount);
      this.#pageSets.set(page, set);
    }
    return set;
  }

  /** Pages that may hold values in [lo, hi] (undefined = unbounded), by the lookup table. */
  candidatePages(lo: ProbeValue | undefined, loIncl: boolean, hi: ProbeValue | undefined, hiIncl: boolean): number[] {
    const s = this.state;
    const P = this.numPages;
    // Value pages come first; their maxima are non-decreasing, so binary-search the first page whose max reaches lo.
    let valuePages = P;
    while (valuePages > 0 && s.pageInfo[(valuePages - 1) * PAGE_INFO_WIDTH + 1] === s.pageInfo[(valuePages - 1) * PAGE_INFO_WIDTH + 2]) valuePages--;
    let first = 0;
    if (lo !== undefined) {
      let a = 0;
      let b = valuePages;
      while (a < b) {
        const m = (a + b) >>> 1;
        const c = s.maxs.compareProbe(m, lo);
        if (c < 0 || (c === 0 && !loIncl)) a = m + 1;
        else b = m;
      }
      first = a;
    }
    const out: number[] = [];
    for (let p = first; p < valuePages; p++) {
      if (hi !== undefined) {
        const c = s.mins.compareProbe(p, hi);
        if (c > 0 || (c === 0 && !hiIncl)) break;
      }
      out.push(p);
    }
    return out;
  }

  /** The runs of page rows with a value in the range (each page's bounds by binary search). */
  async #rangeRuns(lo: ProbeValue | undefined, loIncl: boolean, hi: ProbeValue | undefined, hiIncl: boolean): Promise<{ page: BTreePage; run: WordRun }[]> {
    const pages = await Promise.all(this.candidatePages(lo, loIncl, hi, hiIncl).map((p) => this.page(p)));
    const out: { page: BTreePage; run: WordRun }[] = [];
    for (const page of pages) {
      const v = page.values;
      const a = lo === undefined ? 0 : v.lowerBound(lo, !loIncl);
      const b = hi === undefined ? v.length : v.lowerBound(hi, hiIncl, a);
      if (a < b) out.push({ page, run: { words: u64Words(page.rowIds), start: a, end: b } });
    }
    return out;
  }

  /**
   * One set from the runs: whole pages reuse their cached per-page sets (a union of ready bitmaps
   * is cheaper than rebuilding them); the partial runs go into one bulk build.
   */
  #setOfRuns(runs: readonly { page: BTreePage; run: WordRun }[]): RowAddressSet {
    const parts: RowAddressSet[] = [];
    const partial: WordRun[] = [];
    for (const { page, run } of runs) {
      if (run.start === 0 && run.end === page.values.length) parts.push(this.#valueRowsOf(page));
      else partial.push(run);
    }
    if (partial.length > 0) parts.push(RowAddressSet.fromWordRuns(partial));
    return parts.length === 0 ? RowAddressSet.empty() : parts.length === 1 ? parts[0]! : RowAddressSet.union(parts);
  }

  /** Rows with a value in the range (pages via the cache). */
  async rangeRows(lo: ProbeValue | undefined, loIncl: boolean, hi: ProbeValue | undefined, hiIncl: boolean): Promise<RowAddressSet> {
    return this.#setOfRuns(await this.#rangeRuns(lo, loIncl, hi, hiIncl));
  }

  /** TRUE and UNKNOWN rows of one predicate. */
  async evaluate(p: ScalarPredicate): Promise<TruthSets> {
    const s = this.state;
    const none = RowAddressSet.empty();
    const t = s.valueType;
    switch (p.op) {
      case "isNull":
        return { rows: s.nullRows, unknown: none };
      case "isNotNull":
        return { rows: s.allRows.andNot(s.nullRows), unknown: none };
      case "eq": {
        const v = probeValue(t, p.value);
        return { rows: await this.rangeRows(v, true, v, true), unknown: s.nullRows };
      }
      case "ne": {
        const v = probeValue(t, p.value);
        return { rows: s.allRows.andNot(s.nullRows).andNot(await this.rangeRows(v, true, v, true)), unknown: s.nullRows };
      }
      case "in": {
        const probes = p.values.map((x, i) => probeValue(t, x, `values[${i}]`));
        // Every value's runs into one bulk build (a value spanning pages can repeat no row: runs are disjoint
        // unless a value is listed twice, so duplicates are dropped first).
        const runs = (await Promise.all(probes.map((v) => this.#rangeRuns(v, true, v, true)))).flat();
        const seen = new Set<string>();
        const distinct = runs.filter((r) => {
          const key = `${r.page.page}:${r.run.start}`;
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        });
        return { rows: this.#setOfRuns(distinct), unknown: s.nullRows };
      }
      case "range": {
        const lo = p.lower === undefined ? undefined : probeValue(t, p.lower, "lower");
        const hi = p.upper === undefined ? undefined : probeValue(t, p.upper, "upper");
        return { rows: await this.rangeRows(lo, p.lowerInclusive !== false, hi, p.upperInclusive === true), unknown: s.nullRows };
      }
      default:
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "filter.op", expected: "eq, ne, range, in, isNull or isNotNull on a BTree index", given: p.op });
    }
  }

  /** Rows where `filter` is TRUE (AND/OR/NOT over this column; NOT ranges over allRows). */
  async query(filter: ScalarFilter): Promise<RowAddressSet> {
    checkFilter(filter);
    return (await evaluateFilter(filter, (p) => this.evaluate(p), this.state.allRows)).rows;
  }

  /** Put the state and pages into the cache: all pages, or the first `maxPages` in value order. */
  async prewarm(options: { maxPages?: number; concurrency?: number } = {}): Promise<void> {
    checkOptions("options", options, ["maxPages", "concurrency"]);
    if (this.cache === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "cache", expected: "an index opened with a cache", given: undefined });
    const max = options.maxPages === undefined ? this.numPages : checkInteger("options.maxPages", options.maxPages, 0, this.numPages);
    const conc = options.concurrency === undefined ? 8 : checkInteger("options.concurrency", options.concurrency, 1, 256);
    await this.cache.insert(stateCacheKey(this.#keyBase, this.state.indexId), this.state);
    let next = 0;
    await Promise.all(Array.from({ length: conc }, async () => {
      while (next < max) await this.page(next++);
    }));
  }
}

/**
 * Open a BTree index. With `identity` and a cache holding that state (e.g. after a prewarm through
 * a persistent backend) this makes no store request; otherwise one GET of the index file, whose
 * identity is checked against `identity` (IDENTITY_MISMATCH) and whose state is then cached under
 * it. A cached state for another directory or identity is a counted miss that reloads.
 */
export async function openBTreeIndex(store: ObjectStore, dir: string, options: OpenBTreeIndexOptions = {}): Promise<BTreeIndex> {
  checkOptions("options", options, ["cache", "cacheKey", "identity"]);
  if (typeof dir !== "string" || !INDEX_DIR.test(dir)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "dir", expected: "an index directory", given: dir });
  if (options.identity !== undefined && !isIndexId(options.identity)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.identity", expected: "an index identity (32 lowercase hex digits)", given: options.identity });
  const base = options.cacheKey ?? dir;
  const cache = options.cache;
  let inconsistent = 0;
  if (cache !== undefined && options.identity !== undefined) {
    let cached: BTreeIndexState | undefined;
    try {
      cached = await cache.get(stateCacheKey(base, options.identity));
    } catch {
      cached = undefined;
    }
    if (cached !== undefined) {
      if (cached.path === dir && cached.indexId === options.identity) return new BTreeIndex(store, cached, { cache, cacheKey: base });
      inconsistent++;
    }
  }
  const state = await readBTreeIndexState(store, dir);
  if (options.identity !== undefined && state.indexId !== options.identity) {
    throw new QuiverFormatError("IDENTITY_MISMATCH", `the index at ${describeValue(dir)} has identity ${state.indexId}, the caller asked for ${options.identity}`, { stage: "identity" });
  }
  if (cache === undefined) return new BTreeIndex(store, state, { cacheKey: base });
  await cache.insert(stateCacheKey(base, state.indexId), state).catch(() => undefined);
  const index = new BTreeIndex(store, state, { cache, cacheKey: base });
  index.counters.inconsistentEntries += inconsistent;
  return index;
}

/** Load the state and every page into the index's cache. */
export function prewarmBTreeIndex(index: BTreeIndex, options?: { maxPages?: number }): Promise<void> {
  return index.prewarm(options);
}

/** The value of row i of a page (for tools and tests). */
export function pageValue(page: BTreePage, i: number): ScalarValue | null {
  return i >= page.rows - page.nullCount ? null : page.values.get(i);
}

