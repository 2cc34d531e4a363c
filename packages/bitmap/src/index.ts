/**
 * @quiver/bitmap: the row-address set (64-bit row addresses as per-fragment roaring bitmaps in
 * CRoaring's portable format, with a full-fragment shortcut), the Bitmap and LabelList scalar
 * indexes over it, their cacheable state and codecs, and scalar filters evaluated to row sets.
 * Implements bitmap spec 1.1 (spec/bitmap.md) over container spec 1.0.
 */
export { RowAddressSet, RowAddressSetBuilder, ROW_ADDRESS_SET_LIMITS, type WordRun, validatePortableRoaring } from "./row-address-set.js";
export type { RowIdFilter } from "./row-address-set.js";
export {
  VALUE_TYPES,
  ValueVector,
  ValueVectorBuilder,
  checkValueVector,
  sortOrder,
  compareBytes,
  compareNumbers,
  isValueType,
  probeValue,
  valueEncoding,
  valueTypeByCode,
} from "./values.js";
export type { ProbeValue, ScalarValue, ValueType } from "./values.js";
export { FILTER_LIMITS, checkFilter, evaluateFilter, filterRows, noRows } from "./filter.js";
export type { PredicateEvaluator, ScalarFilter, ScalarPredicate, TruthSets } from "./filter.js";
export {
  DATA_FILE_NAME,
  INDEX_DIR,
  fail as throwFormatError,
  MAX_INFO_JSON_BYTES,
  STATE_INFO_SECTION,
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
export {
  BITMAP_INDEX_FILE,
  BITMAP_INDEX_KIND,
  BITMAP_INDEX_KIND_VERSION,
  BITMAP_INDEX_STATE_TYPE_NAME,
  BITMAP_INDEX_TYPE_NAME,
  BITMAP_LIMITS,
  BITMAP_SECTION,
  BITMAP_VALUE_ROWS_TYPE_NAME,
  BitmapIndex,
  LABEL_LIST_INDEX_KIND,
  LABEL_LIST_INDEX_STATE_TYPE_NAME,
  LABEL_LIST_INDEX_TYPE_NAME,
  VALUE_ROWS_SECTION,
  bitmapIndexStateCodec,
  bitmapValueRowsCodec,
  buildBitmapIndex,
  buildLabelListIndex,
  decodeBitmapIndexFile,
  encodeBitmapIndexFile,
  labelListIndexStateCodec,
  openBitmapIndex,
  openLabelListIndex,
  prewarmBitmapIndex,
  readBitmapIndexState,
} from "./bitmap-index.js";
export type {
  BitmapBuildResult,
  BitmapIndexKind,
  BitmapIndexState,
  BitmapValueRows,
  BuildBitmapIndexOptions,
  ListColumnChunk,
  OpenBitmapIndexOptions,
  ScalarColumnChunk,
  ScalarIndexCounters,
} from "./bitmap-index.js";

/** Error codes this package raises beyond the container's (spec/error-codes.csv, area `bitmap`). */
export const BITMAP_ERROR_CODES = [
  "ROARING_BAD_COOKIE",
  "ROARING_INVALID_CONTAINER",
  "ROW_ADDRESS_SET_UNSORTED",
  "ROW_ADDRESS_SET_EMPTY_FRAGMENT",
  "VALUES_UNSORTED",
  "BITMAP_STATE_MISMATCH",
] as const;
