/**
 * @quiver/format: the Quiver container frame (spec/container.md), the bounds-checked cursor,
 * `QuiverFormatError`, CRC-32, and Arrow IPC / typed-array sections.
 * Implements container spec 1.1 (1.0 plus XXH3-64 section checksums for cache entries).
 */
export { QuiverFormatError, FORMAT_ERROR_CODES, isQuiverFormatError } from "./errors.js";
export type { FormatErrorCode, DecodeStage, QuiverFormatErrorOptions } from "./errors.js";
export { crc32, crc32Combine, xxh3_64, XXH3_IMPLEMENTATION, XXH3_KERNEL_MAX_BYTES } from "./checksum.js";
export {
  QuiverArgumentError,
  ARGUMENT_ERROR_CODES,
  isQuiverArgumentError,
  describeValue,
  checkOptions,
  checkInteger,
  checkOneOf,
} from "./arguments.js";
export type { ArgumentErrorCode, QuiverArgumentErrorOptions } from "./arguments.js";
export { ByteCursor, alignUp } from "./internal/cursor.js";
export {
  FRAME_HEADER,
  SECTION_ENTRY,
  SECTION_ENCODINGS,
  FRAME_MAGIC,
  FRAME_VERSION_MAJOR,
  FRAME_VERSION_MINOR,
  SECTION_ALIGNMENT,
  MAX_SECTION_COUNT,
  MAX_TYPE_NAME_LENGTH,
  sectionEncodingByCode,
  tableEnd,
} from "./layout.js";
export type { Layout, LayoutField, FieldType, SectionEncoding } from "./layout.js";
export {
  encodeFrame,
  decodeFrame,
  decodeFirstFrame,
  inspectFrameHeader,
  frameTableLength,
  verifySection,
  getSection,
  copyBytes,
  FRAME_HEADER_SIZE,
  SECTION_CHECKSUM_CODES,
  XXH3_SECTION_KINDS,
} from "./frame.js";
export type { Frame, FrameHeader, FrameInput, FrameSection, SectionInput, DecodeFrameOptions, SectionChecksum } from "./frame.js";
export {
  rawSection,
  typedSection,
  jsonSection,
  arrowSection,
  readTypedSection,
  readJsonSection,
  readArrowSection,
  decodeArrowIpc,
  parseJsonBytes,
  jsonDepthViolation,
  MAX_JSON_DEPTH,
  typedView,
} from "./sections.js";
export type { TypedArrayByEncoding, TypedEncoding } from "./sections.js";
export {
  walkArrowStream,
  decodeArrowMessage,
  decodeArrowFooter,
  checkRecordBatchBody,
  readMessageFrame,
  startsWithArrowFileMagic,
  arrowTypeString,
  MAX_ARROW_NESTING,
  MAX_ARROW_FIELDS,
  MAX_ARROW_BATCH_ROWS,
  ARROW_METADATA_V5,
} from "./arrow-ipc.js";
export type {
  ArrowTypeKind,
  ArrowTypeInfo,
  ArrowFieldInfo,
  ArrowSchemaInfo,
  ArrowFieldNode,
  RecordBatchMeta,
  ArrowMessage,
  ArrowBlock,
  ArrowFooter,
  ArrowStreamSummary,
} from "./arrow-ipc.js";
export { FlatReader } from "./internal/flatbuffer.js";
