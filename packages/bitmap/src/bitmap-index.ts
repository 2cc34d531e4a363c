/**
 * The Bitmap index (one row-address set per distinct value, for low-cardinality columns) and the
 * LabelList index (a Bitmap over the unnested elements of a list column plus the rows whose list
 * is NULL): on-store format, bounded build, cacheable state, per-value cache entries, queries
 * (spec/bitmap.md).
 */
import { type CacheKey, type IndexCache, cacheKey, type CacheCodec, retainedBytes } from "@quiver/cache";
import {
  type Frame,
  type FrameSection,
  type SectionInput,
  QuiverArgumentError,
  QuiverFormatError,
  checkInteger,
  checkOneOf,
  checkOptions,
  crc32,
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
import { type ScalarFilter, type ScalarPredicate, type TruthSets, checkFilter, evaluateFilter } from "./filter.js";
import {
  DATA_FILE_NAME,
  INDEX_DIR,
  STATE_INFO_SECTION,
  fail,
  indexIdFromWords,
  indexIdWords,
  isIndexId,
  jsonInt,
  jsonString,
  newIndexId,
  readInfoObject,
  readRange,
  throwIfIdentityChanged,
  reclaimFiles,
  typedOf,
  u64Words,
} from "./index-file.js";
import { RowAddressSet, RowAddressSetBuilder } from "./row-address-set.js";
import { type ProbeValue, type ScalarValue, type ValueType, ValueVector, checkValueVector, isValueType, probeValue, valueEncoding } from "./values.js";

/** Container kinds (spec/registry.csv). */
export const BITMAP_INDEX_KIND = 66;
export const LABEL_LIST_INDEX_KIND = 67;
/** Payload layout version of both kinds. */
export const BITMAP_INDEX_KIND_VERSION = 1;
/** Frame type names of the index files. */
export const BITMAP_INDEX_TYPE_NAME = "bitmap-index";
export const LABEL_LIST_INDEX_TYPE_NAME = "label-list-index";
/** Cache type names. */
export const BITMAP_INDEX_STATE_TYPE_NAME = "BitmapIndexState";
export const LABEL_LIST_INDEX_STATE_TYPE_NAME = "LabelListIndexState";
export const BITMAP_VALUE_ROWS_TYPE_NAME = "BitmapValueRows";
/** Name of the index file inside the index directory. */
export const BITMAP_INDEX_FILE = "index.qvr";

/** Section ids of a Bitmap / LabelList index file (and of its cached state). */
export const BITMAP_SECTION = {
  info: 0,
  values: 1,
  valueData: 2,
  ranges: 3,
  checksums: 4,
  nullRows: 5,
  allRows: 6,
  listNulls: 7,
} as const;

/** Limits (spec/bitmap.md#limits). */
export const BITMAP_LIMITS = {
  maxValues: 1_048_576,
  maxRows: Number.MAX_SAFE_INTEGER,
} as const;

/** Which of the two index kinds. */
export type BitmapIndexKind = "bitmap" | "label-list";

/** The cacheable state of an opened Bitmap or LabelList index: everything needed to answer queries without reading the store, except the per-value sets. */
export interface BitmapIndexState {
  readonly kind: BitmapIndexKind;
  /** Index directory. */
  readonly path: string;
  readonly indexFileSize: number;
  readonly indexId: string;
  readonly valueType: ValueType;
  readonly numRows: number;
  readonly nullCount: number;
  readonly dataFile: string;
  readonly dataFileSize: number;
  /** Distinct non-null values, strictly ascending. */
  readonly values: ValueVector;
  /** Per value: offset and length of its set in the data file. */
  readonly ranges: BigUint64Array;
  /** Per value: CRC-32 of its set bytes, then a reserved 0. */
  readonly checksums: Uint32Array;
  /** Rows whose value is NULL (LabelList: rows holding a NULL element are not NULL rows). */
  readonly nullRows: RowAddressSet;
  /** Every indexed row. */
  readonly allRows: RowAddressSet;
  /** LabelList: rows whose list is NULL. */
  readonly listNulls: RowAddressSet | undefined;
}

function kindCode(kind: BitmapIndexKind): number {
  return kind === "bitmap" ? BITMAP_INDEX_KIND : LABEL_LIST_INDEX_KIND;
}

/** The sections shared by the index file and the cached state. */
function stateSections(s: BitmapIndexState): SectionInput[] {
  const info: Record<string, unknown> = {
    indexId: s.indexId,
    valueType: s.valueType,
    numValues: s.values.length,
    numRows: s.numRows,
    nullCount: s.nullCount,
    dataFile: s.dataFile,
    dataFileSize: s.dataFileSize,
  };
  const out = [
    jsonSection(BITMAP_SECTION.info, info),
    ...s.values.sections(BITMAP_SECTION.values, BITMAP_SECTION.valueData),
    typedSection(BITMAP_SECTION.ranges, "u64", s.ranges),
    typedSection(BITMAP_SECTION.checksums, "u32", s.checksums),
    rawSection(BITMAP_SECTION.nullRows, s.nullRows.serialize()),
    rawSection(BITMAP_SECTION.allRows, s.allRows.serialize()),
  ];
  if (s.listNulls !== undefined) out.push(rawSection(BITMAP_SECTION.listNulls, s.listNulls.serialize()));
  return out;
}

/** Parse and validate the index sections of a frame (index file or cached state). */
function parseStateSections(frame: Frame, kind: BitmapIndexKind, path: string, indexFileSize: number): BitmapIndexState {
  const allowed = new Set<number>([0, 1, 3, 4, 5, 6]);
  const info = readInfoObject(frame, BITMAP_SECTION.info, ["indexId", "valueType", "numValues", "numRows", "nullCount", "dataFile", "dataFileSize"]);
  if (!isIndexId(info.indexId)) fail("SCHEMA_VIOLATION", "indexId is not 32 lowercase hex digits");
  if (!isValueType(info.valueType)) fail("SCHEMA_VIOLATION", "valueType is not a value type name");
  const valueType = info.valueType;
  const numValues = jsonInt(info, "numValues", 0, BITMAP_LIMITS.maxValues);
  const numRows = jsonInt(info, "numRows", 0, BITMAP_LIMITS.maxRows);
  const nullCount = jsonInt(info, "nullCount", 0, numRows);
  const dataFile = jsonString(info, "dataFile", DATA_FILE_NAME);
  const dataFileSize = jsonInt(info, "dataFileSize", 0, Number.MAX_SAFE_INTEGER);
  if (valueType === "utf8") allowed.add(BITMAP_SECTION.valueData);
  if (kind === "label-list") allowed.add(BITMAP_SECTION.listNulls);
  for (const s of frame.sections) {
    if (!allowed.has(s.id) && s.id !== STATE_INFO_SECTION) fail("SCHEMA_VIOLATION", `unexpected section ${s.id}`, s.offset, "section-table");
  }
  const valuesSection = readTypedSection(frame, BITMAP_SECTION.values, valueEncoding(valueType));
  const data = valueType === "utf8" ? getSection(frame, BITMAP_SECTION.valueData, "raw").bytes : undefined;
  const values = new ValueVector(valueType, valuesSection as ValueVector["values"], data);
  checkValueVector(values, numValues, "strict", getSection(frame, BITMAP_SECTION.values).offset);
  const ranges = typedOf(frame, BITMAP_SECTION.ranges, "u64", numValues * 2);
  const checksums = typedOf(frame, BITMAP_SECTION.checksums, "u32", numValues * 2);
  // Per-value sets lie inside the data file, in value order, without overlap.
  let prevEnd = 0n;
  for (let i = 0; i < numValues; i++) {
    const off = ranges[2 * i]!;
    const len = ranges[2 * i + 1]!;
    if (off < prevEnd || len < 4n || off + len > BigInt(dataFileSize)) fail("SECTION_OUT_OF_BOUNDS", `value ${i}: set [${off}, +${len}) outside the data file or overlapping`, getSection(frame, BITMAP_SECTION.ranges).offset);
    if (checksums[2 * i + 1] !== 0) fail("RESERVED_NONZERO", `value ${i}: reserved checksum word is not 0`, getSection(frame, BITMAP_SECTION.checksums).offset);
    prevEnd = off + len;
  }
  const set = (id: number): RowAddressSet => {
    const s = getSection(frame, id, "raw");
    return RowAddressSet.deserialize(s.bytes, s.offset);
  };
  const nullRows = set(BITMAP_SECTION.nullRows);
  const allRows = set(BITMAP_SECTION.allRows);
  const listNulls = kind === "label-list" ? set(BITMAP_SECTION.listNulls) : undefined;
  if (allRows.hasFullFragments || nullRows.hasFullFragments || (listNulls?.hasFullFragments ?? false)) fail("INVALID_VALUE", "allRows, nullRows and listNulls hold no full-fragment entry");
  if (allRows.size() !== numRows) fail("BITMAP_STATE_MISMATCH", `allRows has ${allRows.size()} rows, numRows says ${numRows}`);
  if (nullRows.size() !== nullCount) fail("BITMAP_STATE_MISMATCH", `nullRows has ${nullRows.size()} rows, nullCount says ${nullCount}`);
  if (!nullRows.andNot(allRows).isEmpty || (listNulls !== undefined && !listNulls.andNot(allRows).isEmpty)) fail("BITMAP_STATE_MISMATCH", "null rows outside allRows");
  if (kind === "label-list" && nullCount !== 0) fail("BITMAP_STATE_MISMATCH", "a LabelList index has nullCount 0 (NULL lists are listNulls)");
  return {
    kind,
    path,
    indexFileSize,
    indexId: info.indexId,
    valueType,
    numRows,
    nullCount,
    dataFile,
    dataFileSize,
    values,
    ranges,
    checksums,
    nullRows,
    allRows,
    listNulls,
  };
}

/** Decode an index file (a frame of kind 66 or 67). */
export function decodeBitmapIndexFile(bytes: Uint8Array, path = "index"): BitmapIndexState {
  const head = decodeFrame(bytes, { maxKindVersion: BITMAP_INDEX_KIND_VERSION });
  let kind: BitmapIndexKind;
  if (head.kind === BITMAP_INDEX_KIND && head.typeName === BITMAP_INDEX_TYPE_NAME) kind = "bitmap";
  else if (head.kind === LABEL_LIST_INDEX_KIND && head.typeName === LABEL_LIST_INDEX_TYPE_NAME) kind = "label-list";
  else return fail("WRONG_KIND", `kind ${head.kind} / type name ${JSON.stringify(head.typeName.slice(0, 40))} is not a Bitmap or LabelList index`, 12, "header");
  if (head.sections.some((s) => s.id === STATE_INFO_SECTION)) fail("SCHEMA_VIOLATION", `section ${STATE_INFO_SECTION} belongs to cached states only`, undefined, "section-table");
  return parseStateSections(head, kind, path, bytes.byteLength);
}

/** Encode an index file. */
export function encodeBitmapIndexFile(state: BitmapIndexState): Uint8Array {
  return encodeFrame({
    kind: kindCode(state.kind),
    kindVersion: BITMAP_INDEX_KIND_VERSION,
    typeName: state.kind === "bitmap" ? BITMAP_INDEX_TYPE_NAME : LABEL_LIST_INDEX_TYPE_NAME,
    sections: stateSections(state),
  });
}

function stateCodec(kind: BitmapIndexKind): CacheCodec<BitmapIndexState> {
  return {
    typeName: kind === "bitmap" ? BITMAP_INDEX_STATE_TYPE_NAME : LABEL_LIST_INDEX_STATE_TYPE_NAME,
    version: 1,
    // The cached state's section CRC-32s are compared with the index file's.
    sectionChecksum: "crc32",
    encode: (s) => [...stateSections(s), jsonSection(STATE_INFO_SECTION, { path: s.path, indexFileSize: s.indexFileSize })],
    decode(frame) {
      const o = readInfoObject(frame, STATE_INFO_SECTION, ["path", "indexFileSize"]);
      const path = jsonString(o, "path", INDEX_DIR);
      const size = jsonInt(o, "indexFileSize", 0, Number.MAX_SAFE_INTEGER);
      return parseStateSections(frame, kind, path, size);
    },
    sizeOf: (s) =>
      retainedBytes([...s.values.views(), s.ranges, s.checksums]) + s.nullRows.retainedBytes() + s.allRows.retainedBytes() + (s.listNulls?.retainedBytes() ?? 0) + 512,
  };
}

/** Codec of the cached {@link BitmapIndexState} of a Bitmap index. */
export const bitmapIndexStateCodec = stateCodec("bitmap");
/** Codec of the cached state of a LabelList index. */
export const labelListIndexStateCodec = stateCodec("label-list");

/** One value's rows as cached: which index and value they belong to, and the set. */
export interface BitmapValueRows {
  readonly indexId: string;
  readonly valueIndex: number;
  /** CRC-32 of the set's byte form (the section CRC). */
  readonly crc32: number;
  readonly rows: RowAddressSet;
  readonly byteLength: number;
}

/** Section ids of a cached {@link BitmapValueRows}. */
export const VALUE_ROWS_SECTION = { header: 0, rows: 1 } as const;

/** Codec of per-value row sets: a u32 header [valueIndex, indexId as 4 words, 0, 0, 0] and the set bytes. */
export const bitmapValueRowsCodec: CacheCodec<BitmapValueRows> = {
  typeName: BITMAP_VALUE_ROWS_TYPE_NAME,
  version: 1,
  // A value's rows carry their section CRC-32 (`crc32`), checked against the index file's.
  sectionChecksum: "crc32",
  encode(v) {
    const header = new Uint32Array(8);
    header[0] = v.valueIndex;
    header.set(indexIdWords(v.indexId), 1);
    return [typedSection(VALUE_ROWS_SECTION.header, "u32", header), rawSection(VALUE_ROWS_SECTION.rows, v.rows.serialize())];
  },
  decode(frame) {
    if (frame.sections.length !== 2) fail("SCHEMA_VIOLATION", `${frame.sections.length} sections, expected 2`);
    const h = typedOf(frame, VALUE_ROWS_SECTION.header, "u32", 8);
    if (h[5] !== 0 || h[6] !== 0 || h[7] !== 0) fail("RESERVED_NONZERO", "reserved header words are not 0");
    const s = getSection(frame, VALUE_ROWS_SECTION.rows, "raw");
    return { indexId: indexIdFromWords(h, 1), valueIndex: h[0]!, crc32: s.crc32, rows: RowAddressSet.deserialize(s.bytes, s.offset), byteLength: s.length };
  },
  sizeOf: (v) => v.rows.retainedBytes() + 128,
};

/** A chunk of a scalar column: row ids and values (null/undefined = NULL). */
export interface ScalarColumnChunk {
  readonly rowIds: BigUint64Array | readonly bigint[];
  readonly values: ArrayLike<ScalarValue | null | undefined>;
}

/** A chunk of a list column: row ids and lists (null/undefined = NULL list; NULL elements are skipped). */
export interface ListColumnChunk {
  readonly rowIds: BigUint64Array | readonly bigint[];
  readonly values: ArrayLike<ArrayLike<ScalarValue | null | undefined> | null | undefined>;
}

/** Options of {@link buildBitmapIndex} / {@link buildLabelListIndex}. */
export interface BuildBitmapIndexOptions {
  readonly valueType: ValueType;
  /** Maximum distinct values (default 65,536; at most 1,048,576): a column above it is rejected, not indexed. */
  readonly maxValues?: number;
  /** Index identity, 32 lowercase hex digits (default random; fixed only for reproducible fixtures). */
  readonly indexId?: string;
}

/** What a build wrote. */
export interface BitmapBuildResult {
  /** The index identity (fresh per build): pass it as `identity` to {@link openBitmapIndex} for a zero-IO open. */
  readonly indexId: string;
  readonly numValues: number;
  readonly numRows: number;
  readonly indexFileBytes: number;
  readonly dataFileBytes: number;
}

/** Rows of one distinct value during a build: high and low words of each row address. */
interface Accum {
  readonly probe: ProbeValue;
  /** Row addresses as u32 words, low then high. */
  readonly words: number[];
}

type Chunks<T> = AsyncIterable<T> | Iterable<T>;

async function buildAny(
  store: ObjectStore,
  dir: string,
  kind: BitmapIndexKind,
  chunks: Chunks<ScalarColumnChunk | ListColumnChunk>,
  options: BuildBitmapIndexOptions,
): Promise<BitmapBuildResult> {
  checkOptions("options", options, ["valueType", "maxValues", "indexId"]);
  if (options.indexId !== undefined && !isIndexId(options.indexId)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.indexId", expected: "32 lowercase hex digits", given: options.indexId });
  const valueType = checkOneOf("options.valueType", options.valueType, Object.keys({ bool: 1, int32: 1, int64: 1, uint64: 1, float32: 1, float64: 1, utf8: 1, date32: 1, timestamp: 1 }) as ValueType[]);
  const maxValues = options.maxValues === undefined ? 65_536 : checkInteger("options.maxValues", options.maxValues, 1, BITMAP_LIMITS.maxValues);
  checkDir(dir);
  const byValue = new Map<ScalarValue, Accum>();
  const nullWords: number[] = [];
  const listNullWords: number[] = [];
  const allRows = new RowAddressSetBuilder();
  const u64 = valueEncoding(valueType) === "u64";
  /** A cheap canonical map key for values of the common JS shapes; undefined sends the value through probeValue. */
  const fastKey = (raw: unknown): ScalarValue | undefined => {
    switch (valueType) {
      case "utf8":
        return typeof raw === "string" ? raw : undefined;
      case "int32":
      case "date32":
        return typeof raw === "number" && Number.isInteger(raw) && raw >= -2147483648 && raw <= 2147483647 ? raw : undefined;
      case "float64":
        return typeof raw === "number" ? raw : undefined; // Map keys: -0 equals +0, NaN equals NaN
      case "bool":
        return typeof raw === "boolean" ? (raw ? 1 : 0) : undefined;
      default:
        return undefined;
    }
  };
  const add = (raw: ScalarValue, lo: number, hi: number, where: string): void => {
    let key = fastKey(raw);
    let probe: ProbeValue | undefined;
    if (key === undefined) {
      probe = probeValue(valueType, raw, where);
      key = u64 ? probe.big : probe.num;
    }
    let acc = byValue.get(key);
    if (acc === undefined) {
      if (byValue.size >= maxValues) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "values", expected: `at most ${maxValues} distinct values (options.maxValues)`, given: byValue.size + 1 });
      // The first occurrence of a value is fully checked (e.g. lone surrogates in strings).
      byValue.set(key, (acc = { probe: probe ?? probeValue(valueType, raw, where), words: [] }));
    }
    acc.words.push(lo, hi);
  };
  let c = 0;
  for await (const chunk of chunks as AsyncIterable<ScalarColumnChunk | ListColumnChunk>) {
    checkOptions(`chunks[${c}]`, chunk, ["rowIds", "values"]);
    const { rowIds, values } = chunk;
    if (rowIds.length !== values.length) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `chunks[${c}].values`, expected: `${rowIds.length} values (one per row id)`, given: values.length });
    if (!(rowIds instanceof BigUint64Array)) {
      rowIds.forEach((id, i) => {
        if (typeof id !== "bigint" || id < 0n || id >= 1n << 64n) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `chunks[${c}].rowIds[${i}]`, expected: "a u64 bigint", given: id });
      });
    }
    const words = u64Words(rowIds instanceof BigUint64Array ? rowIds : BigUint64Array.from(rowIds));
    allRows.addWords(words, 0, rowIds.length);
    for (let i = 0; i < rowIds.length; i++) {
      const lo = words[2 * i]!;
      const hi = words[2 * i + 1]!;
      const v = values[i];
      if (kind === "bitmap") {
        if (v === null || v === undefined) nullWords.push(lo, hi);
        else add(v as ScalarValue, lo, hi, `chunks[${c}].values[${i}]`);
      } else if (v === null || v === undefined) listNullWords.push(lo, hi);
      else {
        const list = v as ArrayLike<ScalarValue | null | undefined>;
        if (typeof list !== "object" || typeof list.length !== "number") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `chunks[${c}].values[${i}]`, expected: "a list or null", given: list });
        // A row listing a value twice is in its set once (the set dedupes).
        for (let j = 0; j < list.length; j++) {
          const e = list[j];
          if (e !== null && e !== undefined) add(e, lo, hi, `chunks[${c}].values[${i}][${j}]`);
        }
      }
    }
    c++;
  }
  const all = allRows.build();
  const numRows = allRows.added;
  if (all.size() !== numRows) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "rowIds", expected: "distinct row ids", given: numRows - all.size() });
  // Dictionary in index order.
  const accs = [...byValue.values()];
  const unsorted = ValueVector.fromProbes(valueType, accs.map((a) => a.probe));
  const order = accs.map((_, i) => i).sort((a, b) => unsorted.compareAt(a, unsorted, b));
  const values = ValueVector.fromProbes(valueType, order.map((i) => accs[i]!.probe));
  const indexId = options.indexId ?? newIndexId();
  const dataFile = `bitmaps-${indexId}.bin`;
  const parts: Uint8Array[] = [];
  const ranges = new BigUint64Array(order.length * 2);
  const checksums = new Uint32Array(order.length * 2);
  let at = 0;
  order.forEach((src, i) => {
    const a = accs[src]!;
    const bytes = RowAddressSet.fromWords(Uint32Array.from(a.words), 0, a.words.length / 2).serialize();
    parts.push(bytes);
    ranges[2 * i] = BigInt(at);
    ranges[2 * i + 1] = BigInt(bytes.byteLength);
    checksums[2 * i] = crc32(bytes);
    at += bytes.byteLength;
  });
  const data = new Uint8Array(at);
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.byteLength;
  }
  const state: BitmapIndexState = {
    kind,
    path: dir,
    indexFileSize: 0,
    indexId,
    valueType,
    numRows,
    nullCount: nullWords.length / 2,
    dataFile,
    dataFileSize: data.byteLength,
    values,
    ranges,
    checksums,
    nullRows: RowAddressSet.fromWords(Uint32Array.from(nullWords), 0, nullWords.length / 2),
    allRows: all,
    listNulls: kind === "label-list" ? RowAddressSet.fromWords(Uint32Array.from(listNullWords), 0, listNullWords.length / 2) : undefined,
  };
  const file = encodeBitmapIndexFile(state);
  // Data first, then the index file (the commit); only then are older data files reclaimed.
  await store.put(`${dir}/${dataFile}`, data);
  await store.put(`${dir}/${BITMAP_INDEX_FILE}`, file);
  await reclaimFiles(store, dir, ["bitmaps-"], new Set([dataFile]));
  return { indexId, numValues: values.length, numRows, indexFileBytes: file.byteLength, dataFileBytes: data.byteLength };
}

function checkDir(dir: unknown): asserts dir is string {
  if (typeof dir !== "string" || !INDEX_DIR.test(dir) || dir.startsWith("/") || dir.endsWith("/")) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "dir", expected: "an object path prefix without leading/trailing slash or dot segments", given: dir });
  }
}

/**
 * Build a Bitmap index over a scalar column into `dir/` (index.qvr + one data file). Memory is
 * the row addresses of the column (the output's size), never more than one copy of them.
 */
export function buildBitmapIndex(store: ObjectStore, dir: string, chunks: Chunks<ScalarColumnChunk>, options: BuildBitmapIndexOptions): Promise<BitmapBuildResult> {
  return buildAny(store, dir, "bitmap", chunks, options);
}

/** Build a LabelList index over a list column into `dir/`. */
export function buildLabelListIndex(store: ObjectStore, dir: string, chunks: Chunks<ListColumnChunk>, options: BuildBitmapIndexOptions): Promise<BitmapBuildResult> {
  return buildAny(store, dir, "label-list", chunks, options);
}

/** Read the state from the store: one GET of `dir/index.qvr`, never a HEAD. */
export async function readBitmapIndexState(store: ObjectStore, dir: string): Promise<BitmapIndexState> {
  const bytes = await store.get(`${dir}/${BITMAP_INDEX_FILE}`);
  return decodeBitmapIndexFile(bytes, dir);
}

/** Options of {@link openBitmapIndex}. */
export interface OpenBitmapIndexOptions {
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

/** Counters of an open index. */
export interface ScalarIndexCounters {
  /** Cache entries that decoded but disagreed with the state (reloaded from the store). */
  inconsistentEntries: number;
  /** Per-value sets or pages read from the store. */
  storeLoads: number;
}

/** A live Bitmap or LabelList index. */
export class BitmapIndex {
  readonly store: ObjectStore;
  readonly state: BitmapIndexState;
  readonly cache: IndexCache | undefined;
  readonly counters: ScalarIndexCounters = { inconsistentEntries: 0, storeLoads: 0 };
  readonly #keyBase: string;

  /** A live index over a state (no IO). */
  constructor(store: ObjectStore, state: BitmapIndexState, options: { cache?: IndexCache; cacheKey?: string } = {}) {
    this.store = store;
    this.state = state;
    this.cache = options.cache;
    this.#keyBase = options.cacheKey ?? state.path;
  }

  /** Bitmap or LabelList. */
  get kind(): BitmapIndexKind {
    return this.state.kind;
  }

  /** The index identity (the build's random `indexId`; part of every cache key). */
  get identity(): string {
    return this.state.indexId;
  }

  /** Every indexed row. */
  get allRows(): RowAddressSet {
    return this.state.allRows;
  }

  /** Cache key of value i's rows. */
  valueCacheKey(i: number): CacheKey<BitmapValueRows> {
    return cacheKey(`${this.#keyBase}/${this.state.kind}/${this.state.indexId}/value/${i}`, bitmapValueRowsCodec);
  }

  /** Read value i's set from the store (one ranged read) and check it against the state. */
  async readValueRows(i: number): Promise<BitmapValueRows> {
    const s = this.state;
    this.counters.storeLoads++;
    const offset = Number(s.ranges[2 * i]!);
    const length = Number(s.ranges[2 * i + 1]!);
    try {
      const bytes = await readRange(this.store, `${s.path}/${s.dataFile}`, offset, length);
      const crc = crc32(bytes);
      if (crc !== s.checksums[2 * i]) fail("CHECKSUM_MISMATCH", `value ${i}: set CRC-32 ${crc}, state says ${s.checksums[2 * i]}`, offset, "section");
      return { indexId: s.indexId, valueIndex: i, crc32: crc, rows: RowAddressSet.deserialize(bytes, offset), byteLength: length };
    } catch (cause) {
      await this.#checkIdentity(cause);
      throw cause;
    }
  }

  /** After a failed data read: IDENTITY_MISMATCH when the directory's index file was rebuilt or replaced since this state. */
  #checkIdentity(cause: unknown): Promise<void> {
    return throwIfIdentityChanged(cause, this.state.path, this.state.indexId, async () => (await readBitmapIndexState(this.store, this.state.path)).indexId);
  }

  #consistent(v: BitmapValueRows, i: number): boolean {
    const s = this.state;
    return v.indexId === s.indexId && v.valueIndex === i && v.crc32 === s.checksums[2 * i] && BigInt(v.byteLength) === s.ranges[2 * i + 1];
  }

  /** Value i's rows, through the cache; a cached entry that disagrees with the state is a counted miss that reloads. */
  async valueRows(i: number): Promise<RowAddressSet> {
    if (this.cache === undefined) return (await this.readValueRows(i)).rows;
    const key = this.valueCacheKey(i);
    const v = await this.cache.getOrInsert(key, () => this.readValueRows(i));
    if (this.#consistent(v, i)) return v.rows;
    this.counters.inconsistentEntries++;
    const fresh = await this.readValueRows(i);
    await this.cache.insert(key, fresh);
    return fresh.rows;
  }

  /** Index of `value` in the dictionary, or -1. */
  valueIndex(value: ScalarValue): number {
    const p = probeValue(this.state.valueType, value);
    const i = this.state.values.lowerBound(p, false);
    return i < this.state.values.length && this.state.values.compareProbe(i, p) === 0 ? i : -1;
  }

  async #union(indexes: number[]): Promise<RowAddressSet> {
    const sets = await Promise.all([...new Set(indexes)].filter((i) => i >= 0).map((i) => this.valueRows(i)));
    return sets.length === 1 ? sets[0]! : RowAddressSet.union(sets);
  }

  /** TRUE and UNKNOWN rows of one predicate. */
  async evaluate(p: ScalarPredicate): Promise<TruthSets> {
    const s = this.state;
    const label = s.kind === "label-list";
    const unknown = label ? s.listNulls! : s.nullRows;
    const none = RowAddressSet.empty();
    switch (p.op) {
      case "isNull":
        return { rows: unknown, unknown: none };
      case "isNotNull":
        return { rows: s.allRows.andNot(unknown), unknown: none };
      case "eq":
      case "contains":
        if (label !== (p.op === "contains")) break;
        return { rows: await this.#union([this.valueIndex(p.value)]), unknown };
      case "ne":
        if (label) break;
        return { rows: s.allRows.andNot(unknown).andNot(await this.#union([this.valueIndex(p.value)])), unknown };
      case "in":
        if (label) break;
        return { rows: await this.#union(p.values.map((v) => this.valueIndex(v))), unknown };
      case "hasAny":
        if (!label) break;
        return { rows: await this.#union(p.values.map((v) => this.valueIndex(v))), unknown };
      case "hasAll": {
        if (!label) break;
        const idx = p.values.map((v) => this.valueIndex(v));
        if (idx.includes(-1)) return { rows: none, unknown };
        const sets = await Promise.all([...new Set(idx)].map((i) => this.valueRows(i)));
        return { rows: sets.reduce((a, b) => a.and(b)), unknown };
      }
      case "range": {
        if (label) break;
        const v = s.values;
        const lo = p.lower === undefined ? 0 : v.lowerBound(probeValue(s.valueType, p.lower, "lower"), p.lowerInclusive === false);
        const hi = p.upper === undefined ? v.length : v.lowerBound(probeValue(s.valueType, p.upper, "upper"), p.upperInclusive === true);
        const idx: number[] = [];
        for (let i = lo; i < hi; i++) idx.push(i);
        return { rows: idx.length === 0 ? none : await this.#union(idx), unknown };
      }
    }
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "filter.op", expected: label ? "hasAny, hasAll, contains, isNull or isNotNull on a LabelList index" : "eq, ne, range, in, isNull or isNotNull on a Bitmap index", given: p.op });
  }

  /** Rows where `filter` is TRUE (AND/OR/NOT over this index's column; NOT ranges over allRows). */
  async query(filter: ScalarFilter): Promise<RowAddressSet> {
    checkFilter(filter);
    return (await evaluateFilter(filter, (p) => this.evaluate(p), this.state.allRows)).rows;
  }

  /** Put the state and every per-value set into the cache. */
  async prewarm(): Promise<void> {
    if (this.cache === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "cache", expected: "an index opened with a cache", given: undefined });
    await this.cache.insert(cacheKey(stateKey(this.#keyBase, this.state.kind, this.state.indexId), codecOf(this.state.kind)), this.state);
    for (let i = 0; i < this.state.values.length; i++) await this.valueRows(i);
  }
}

function codecOf(kind: BitmapIndexKind): CacheCodec<BitmapIndexState> {
  return kind === "bitmap" ? bitmapIndexStateCodec : labelListIndexStateCodec;
}

/** Cache key of a state: the identity is part of every cache key of the index. */
function stateKey(base: string, kind: BitmapIndexKind, identity: string): string {
  return `${base}/${kind}/${identity}/state`;
}

/**
 * Open a Bitmap or LabelList index. With `identity` and a cache holding that state this makes no
 * store request; otherwise one GET of the index file, whose identity is checked against
 * `identity` (IDENTITY_MISMATCH) and whose state is then cached under it. A cached state for
 * another directory, kind or identity is a counted miss that reloads.
 */
export async function openBitmapIndex(store: ObjectStore, dir: string, options: OpenBitmapIndexOptions & { kind?: BitmapIndexKind } = {}): Promise<BitmapIndex> {
  checkOptions("options", options, ["cache", "cacheKey", "kind", "identity"]);
  checkDir(dir);
  const kind = options.kind === undefined ? "bitmap" : checkOneOf("options.kind", options.kind, ["bitmap", "label-list"] as const);
  if (options.identity !== undefined && !isIndexId(options.identity)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.identity", expected: "an index identity (32 lowercase hex digits)", given: options.identity });
  const base = options.cacheKey ?? dir;
  const cache = options.cache;
  const live: { cache?: IndexCache; cacheKey: string } = { cacheKey: base };
  if (cache !== undefined) live.cache = cache;
  let inconsistent = 0;
  if (cache !== undefined && options.identity !== undefined) {
    let cached: BitmapIndexState | undefined;
    try {
      cached = await cache.get(cacheKey(stateKey(base, kind, options.identity), codecOf(kind)));
    } catch {
      cached = undefined;
    }
    if (cached !== undefined) {
      if (cached.path === dir && cached.kind === kind && cached.indexId === options.identity) return new BitmapIndex(store, cached, live);
      inconsistent++;
    }
  }
  const state = await readBitmapIndexState(store, dir);
  if (state.kind !== kind) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.kind", expected: `the index's kind (${state.kind})`, given: kind });
  if (options.identity !== undefined && state.indexId !== options.identity) {
    throw new QuiverFormatError("IDENTITY_MISMATCH", `the index at ${describeValue(dir)} has identity ${state.indexId}, the caller asked for ${options.identity}`, { stage: "identity" });
  }
  if (cache !== undefined) await cache.insert(cacheKey(stateKey(base, kind, state.indexId), codecOf(kind)), state).catch(() => undefined);
  const index = new BitmapIndex(store, state, live);
  index.counters.inconsistentEntries += inconsistent;
  return index;
}

/** Open a LabelList index (see {@link openBitmapIndex}). */
export function openLabelListIndex(store: ObjectStore, dir: string, options: OpenBitmapIndexOptions = {}): Promise<BitmapIndex> {
  return openBitmapIndex(store, dir, { ...options, kind: "label-list" });
}

/** Load the state and every per-value set into the index's cache. */
export function prewarmBitmapIndex(index: BitmapIndex): Promise<void> {
  return index.prewarm();
}

/** Frame sections of a per-value entry, for tools. */
export type { FrameSection };
