/**
 * @quiver/btree: the BTree scalar index (sorted pages of (value, row id) read by range, a lookup
 * table of per-page min / max / NULL counts), its bounded-memory build, cacheable state and page
 * codecs, and queries evaluated to row-address sets.
 * Implements btree spec 1.1 (spec/btree.md) over container spec 1.0 and the row-address set of
 * spec/bitmap.md.
 */
export {
  BTREE_PAGE_CACHE_TYPE_NAME,
  BTREE_PAGE_KIND,
  BTREE_PAGE_KIND_VERSION,
  BTREE_PAGE_TYPE_NAME,
  MAX_PAGE_ROWS,
  PAGE_SECTION,
  btreePageCodec,
  decodePage,
  encodePage,
  pageSections,
  parsePageSections,
} from "./page.js";
export type { BTreePage } from "./page.js";
export {
  BTREE_INDEX_FILE,
  BTREE_INDEX_KIND,
  BTREE_INDEX_KIND_VERSION,
  BTREE_INDEX_STATE_TYPE_NAME,
  BTREE_INDEX_TYPE_NAME,
  BTREE_LIMITS,
  BTREE_SECTION,
  BTreeIndex,
  DEFAULT_PAGE_SIZE,
  btreeIndexStateCodec,
  buildBTreeIndex,
  decodeBTreeIndexFile,
  encodeBTreeIndexFile,
  openBTreeIndex,
  pageValue,
  prewarmBTreeIndex,
  readBTreeIndexState,
} from "./btree-index.js";
export type { BTreeBuildResult, BTreeDataFile, BTreeIndexState, BuildBTreeIndexOptions, OpenBTreeIndexOptions } from "./btree-index.js";

/** Error codes this package raises beyond the container's and the bitmap package's (spec/error-codes.csv, area `btree`). */
export const BTREE_ERROR_CODES = ["PAGES_UNSORTED", "BTREE_STATE_MISMATCH"] as const;
