/**
 * @quiver/store: object storage as Quiver uses it, with honest IO accounting.
 */
export { QuiverStoreError, isStoreError } from "./errors.js";
export type { StoreErrorCode } from "./errors.js";
export {
  coalesceRanges,
  getRangesViaCoalescing,
  getIfExists,
  headIfExists,
  checkPath,
  checkPrefix,
  checkRange,
  checkWritablePath,
  RESERVED_TEMP_PREFIX,
  DEFAULT_COALESCE_GAP,
  DEFAULT_MAX_REQUEST_BYTES,
  openObjectReader,
  readIntoViaCoalescing,
  checkReadInto,
  getRangesInto,
} from "./object-store.js";
export type { ObjectReader, ObjectStore, ByteRange, ObjectMeta, GetRangesOptions, CoalescedRequest, PutOptions } from "./object-store.js";
export { openObjectWriter, ObjectWriterBase, BufferingObjectWriter, checkWriterArguments, joinChunks } from "./object-writer.js";
export type { ObjectWriter, StreamingObjectStore } from "./object-writer.js";
export { MemoryObjectStore } from "./memory-store.js";
export { LocalDirectoryStore, TEMP_FILE_PREFIX, DEFAULT_TEMP_MAX_AGE_MS, DEFAULT_SYNC_READ_MAX_BYTES } from "./local-store.js";
export type { LocalDirectoryStoreOptions, TempReclaimResult } from "./local-store.js";
export { IoStatsStore, ForwardingReader } from "./io-stats-store.js";
export type { IoCounters, IoStatsSnapshot } from "./io-stats-store.js";
export { LatencyStore } from "./latency-store.js";
export type { LatencyModel } from "./latency-store.js";
