/**
 * One BTree page: up to `pageSize` rows sorted by (value, row id), NULL rows last (by row id). The
 * same sections form the page frame in a data file and the cached `BTreePage` entry, so a cached
 * page is checked against the lookup table by its section CRCs (spec/btree.md#page).
 */
import { type CacheCodec, retainedBytes } from "@quiver/cache";
import { type Frame, type SectionInput, decodeFrame, encodeFrame, getSection, readTypedSection, typedSection } from "@quiver/format";
import { type ValueType, VALUE_TYPES, ValueVector, checkValueVector, throwFormatError as fail, indexIdFromWords, indexIdWords, typedOf, valueEncoding, valueTypeByCode } from "@quiver/bitmap";

/** Container kind and frame type name of a page frame (spec/registry.csv). */
export const BTREE_PAGE_KIND = 64;
export const BTREE_PAGE_TYPE_NAME = "btree-page";
export const BTREE_PAGE_KIND_VERSION = 1;
/** Cache type name of a page entry. */
export const BTREE_PAGE_CACHE_TYPE_NAME = "BTreePage";
/** Largest page (rows). */
export const MAX_PAGE_ROWS = 65_536;

/** Section ids of a page. */
export const PAGE_SECTION = { header: 0, rowIds: 1, values: 2, valueData: 3 } as const;

/** A decoded page. */
export interface BTreePage {
  readonly indexId: string;
  readonly page: number;
  readonly rows: number;
  readonly nullCount: number;
  readonly valueType: ValueType;
  /** rows row ids: non-null rows in value order, then NULL rows. */
  readonly rowIds: BigUint64Array;
  /** rows - nullCount values, non-decreasing. */
  readonly values: ValueVector;
  /** CRC-32 of the rowIds, values and (utf8) value-data sections; 0 for an absent section. */
  readonly crcs: readonly [number, number, number];
}

/** The sections of a page. */
export function pageSections(p: Omit<BTreePage, "crcs">): SectionInput[] {
  const header = new Uint32Array(8);
  header[0] = p.page;
  header[1] = p.rows;
  header[2] = p.nullCount;
  header[3] = VALUE_TYPES[p.valueType];
  header.set(indexIdWords(p.indexId), 4);
  return [typedSection(PAGE_SECTION.header, "u32", header), typedSection(PAGE_SECTION.rowIds, "u64", p.rowIds), ...p.values.sections(PAGE_SECTION.values, PAGE_SECTION.valueData)];
}

/** Encode a page frame (as written to a data file). */
export function encodePage(p: Omit<BTreePage, "crcs">): Uint8Array {
  return encodeFrame({ kind: BTREE_PAGE_KIND, kindVersion: BTREE_PAGE_KIND_VERSION, typeName: BTREE_PAGE_TYPE_NAME, sections: pageSections(p) });
}

/** Parse and validate the page sections of a frame (a page frame or a cached entry). */
export function parsePageSections(frame: Frame): BTreePage {
  const h = typedOf(frame, PAGE_SECTION.header, "u32", 8);
  const [page, rows, nullCount, typeCode] = [h[0]!, h[1]!, h[2]!, h[3]!];
  const valueType = valueTypeByCode(typeCode);
  if (valueType === undefined) fail("SCHEMA_VIOLATION", `value type code ${typeCode} is not defined`, getSection(frame, 0).offset);
  if (rows === 0 || rows > MAX_PAGE_ROWS) fail("LIMIT_EXCEEDED", `page of ${rows} rows (1..${MAX_PAGE_ROWS})`);
  if (nullCount > rows) fail("INVALID_VALUE", `nullCount ${nullCount} > rows ${rows}`);
  const expected = valueType === "utf8" ? 4 : 3;
  if (frame.sections.length !== expected) fail("SCHEMA_VIOLATION", `${frame.sections.length} sections, expected ${expected}`, undefined, "section-table");
  const rowIds = typedOf(frame, PAGE_SECTION.rowIds, "u64", rows);
  const vs = readTypedSection(frame, PAGE_SECTION.values, valueEncoding(valueType));
  const dataSection = valueType === "utf8" ? getSection(frame, PAGE_SECTION.valueData, "raw") : undefined;
  const values = new ValueVector(valueType, vs as ValueVector["values"], dataSection?.bytes);
  const valuesAt = getSection(frame, PAGE_SECTION.values).offset;
  checkValueVector(values, rows - nullCount, "sorted", valuesAt);
  // Row ids ascend within a run of equal values and across the NULL rows; distinct throughout is checked by the build.
  const nonNull = rows - nullCount;
  for (let i = 1; i < nonNull; i++) {
    if (rowIds[i]! <= rowIds[i - 1]! && values.compareAt(i - 1, values, i) === 0) fail("VALUES_UNSORTED", `row ${i}: row ids of equal values not ascending`, valuesAt);
  }
  for (let i = nonNull + 1; i < rows; i++) if (rowIds[i]! <= rowIds[i - 1]!) fail("VALUES_UNSORTED", `NULL row ${i}: row ids not ascending`, valuesAt);
  const crcs: [number, number, number] = [getSection(frame, PAGE_SECTION.rowIds).crc32, getSection(frame, PAGE_SECTION.values).crc32, dataSection?.crc32 ?? 0];
  return { indexId: indexIdFromWords(h, 4), page, rows, nullCount, valueType, rowIds, values, crcs };
}

/** Decode a page frame read from a data file. */
export function decodePage(bytes: Uint8Array, baseOffset = 0): BTreePage {
  return parsePageSections(decodeFrame(bytes, { kind: BTREE_PAGE_KIND, typeName: BTREE_PAGE_TYPE_NAME, maxKindVersion: BTREE_PAGE_KIND_VERSION, baseOffset }));
}

/** Codec of a cached page: the page sections, the values viewed zero-copy. */
export const btreePageCodec: CacheCodec<BTreePage> = {
  typeName: BTREE_PAGE_CACHE_TYPE_NAME,
  version: 1,
  // Pages carry their sections' CRC-32s (`crcs`), checked against the index file's page entry.
  sectionChecksum: "crc32",
  encode: (p) => pageSections(p),
  decode: (frame) => parsePageSections(frame),
  sizeOf: (p) => retainedBytes([p.rowIds, ...p.values.views()]) + 256,
};
