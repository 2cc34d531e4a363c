import { type RecordBatch, RecordBatchStreamWriter, type Schema, Table, tableToIPC } from "apache-arrow";
import { Footer, FileBlock } from "apache-arrow/ipc/metadata/file";
import { MetadataVersion } from "apache-arrow/enum";
import { type ArrowSchemaInfo, QuiverFormatError, arrowTypeString, crc32, crc32Combine, decodeArrowFooter, decodeArrowMessage, readMessageFrame } from "@quiver/format";

/** "ARROW1" plus two padding bytes: the Arrow IPC file's leading magic. */
const LEADING_MAGIC = new Uint8Array([0x41, 0x52, 0x52, 0x4f, 0x57, 0x31, 0, 0]);
const TRAILING_MAGIC = LEADING_MAGIC.subarray(0, 6);
const EOS = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
/** Bytes after the footer: int32 footer length + "ARROW1". */
export const FILE_TRAILER_SIZE = 10;
/** MUST-level maximum of one bucket file's footer (and so of its record batch count). */
export const MAX_FOOTER_BYTES = 256 * 1024 * 1024;

/** Where a record batch message lives in an Arrow IPC file. */
export interface BatchBlock {
  readonly offset: number;
  readonly metaDataLength: number;
  readonly bodyLength: number;
}

/** Somewhere a file's bytes go, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** The IPC stream bytes of a schema message (no batches, no end-of-stream marker). */
export function schemaMessageBytes(schema: Schema): Uint8Array {
  const stream = tableToIPC(new Table(schema), "stream");
  return stream.subarray(0, messageEnd(stream, 0, stream.byteLength));
}

/** End offset of the IPC message starting at `pos` (continuation, length, metadata, body). */
function messageEnd(bytes: Uint8Array, pos: number, limit: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (limit - pos < 8 || view.getUint32(pos, true) !== 0xffffffff) {
    throw new QuiverFormatError("BAD_ARROW_IPC", `no IPC message at ${pos}`, { stage: "bucket", offset: pos });
  }
  const metaLen = view.getInt32(pos + 4, true);
  if (metaLen <= 0 || metaLen > limit - pos - 8) throw new QuiverFormatError("BAD_ARROW_IPC", `message metadata of ${metaLen} bytes at ${pos}`, { stage: "bucket", offset: pos });
  const msg = decodeMessage(bytes.subarray(pos + 8, pos + 8 + metaLen), pos);
  const end = pos + 8 + metaLen + msg.bodyLength;
  if (end > limit) throw new QuiverFormatError("BAD_ARROW_IPC", `message body at ${pos} runs past ${limit}`, { stage: "bucket", offset: pos });
  return end;
}

function decodeMessage(meta: Uint8Array, pos: number): { bodyLength: number } {
  // format's bounds-checked walker: no apache-arrow decoding of metadata anywhere in this package.
  return decodeArrowMessage(meta, "bucket", pos);
}

/**
 * Writes one Arrow IPC file incrementally with bounded memory: each `append` serialises its
 * batches and hands the bytes to the sink at once; the footer (block list) is written by
 * `finish`. Also keeps the running size and CRC-32 of everything written.
 */
export class ArrowFileAppender {
  readonly #sink: ByteSink;
  readonly #schema: Schema;
  readonly #schemaLen: number;
  readonly #blocks: FileBlock[] = [];
  #size = 0;
  #crc = 0;
  #rows = 0;

  constructor(schema: Schema, sink: ByteSink) {
    this.#schema = schema;
    this.#sink = sink;
    this.#schemaLen = schemaMessageBytes(schema).byteLength;
  }

  get byteSize(): number {
    return this.#size;
  }
  get crc32(): number {
    return this.#crc;
  }
  get numRows(): number {
    return this.#rows;
  }
  get numBatches(): number {
    return this.#blocks.length;
  }

  async #write(bytes: Uint8Array): Promise<void> {
    this.#crc = crc32(bytes, this.#crc);
    this.#size += bytes.byteLength;
    await this.#sink.write(bytes);
  }

  /** Start the file: magic and schema. */
  async start(): Promise<void> {
    await this.#write(LEADING_MAGIC);
    await this.#write(schemaMessageBytes(this.#schema));
  }

  /**
   * Append record batches, one IPC message each, in order. Returns the CRC-32 of each batch's
   * message bytes (`[block.offset, block.offset + metaDataLength + bodyLength)`), computed from the
   * bytes as they are written, so a writer never re-reads its output.
   */
  async append(batches: readonly RecordBatch[]): Promise<number[]> {
    if (batches.length === 0) return [];
    const stream = RecordBatchStreamWriter.writeAll(batches as RecordBatch[]).toUint8Array(true);
    const bodyEnd = stream.byteLength - EOS.byteLength;
    let pos = this.#schemaLen;
    const base = this.#size - this.#schemaLen;
    const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
    const crcs: number[] = [];
    // The written bytes are exactly the messages back to back: the file's running CRC is combined
    // from theirs, so each byte goes through the CRC once.
    let crc = this.#crc;
    for (const b of batches) {
      const end = messageEnd(stream, pos, bodyEnd);
      const metaLen = 8 + view.getInt32(pos + 4, true);
      this.#blocks.push(new FileBlock(metaLen, end - pos - metaLen, base + pos));
      const c = crc32(stream.subarray(pos, end));
      crcs.push(c);
      crc = crc32Combine(crc, c, end - pos);
      this.#rows += b.numRows;
      pos = end;
    }
    this.#crc = crc;
    this.#size += bodyEnd - this.#schemaLen;
    await this.#sink.write(stream.subarray(this.#schemaLen, bodyEnd));
    return crcs;
  }

  /**
   * Append record batch messages already encoded back to back in `bytes` (each as `append` would
   * write it: continuation marker, padded metadata, 8-aligned body), with each message's metadata
   * and body lengths and row count. Returns each message's CRC-32, as `append` does.
   */
  async appendEncoded(bytes: Uint8Array, messages: readonly { readonly metaDataLength: number; readonly bodyLength: number; readonly rows: number }[]): Promise<number[]> {
    let total = 0;
    for (const m of messages) total += m.metaDataLength + m.bodyLength;
    if (total !== bytes.byteLength) throw new QuiverFormatError("INVALID_VALUE", `${messages.length} messages of ${total} bytes in ${bytes.byteLength} bytes`, { stage: "write" });
    const crcs: number[] = [];
    let crc = this.#crc;
    let pos = 0;
    for (const m of messages) {
      const len = m.metaDataLength + m.bodyLength;
      this.#blocks.push(new FileBlock(m.metaDataLength, m.bodyLength, this.#size + pos));
      const c = crc32(bytes.subarray(pos, pos + len));
      crcs.push(c);
      crc = crc32Combine(crc, c, len);
      this.#rows += m.rows;
      pos += len;
    }
    this.#crc = crc;
    this.#size += total;
    await this.#sink.write(bytes);
    return crcs;
  }

  /** End the file: end-of-stream marker, footer, footer length, magic. */
  async finish(): Promise<void> {
    const footer = Footer.encode(new Footer(this.#schema, MetadataVersion.V5, this.#blocks, []));
    const trailer = new Uint8Array(FILE_TRAILER_SIZE);
    new DataView(trailer.buffer).setInt32(0, footer.byteLength, true);
    trailer.set(TRAILING_MAGIC, 4);
    await this.#write(EOS);
    await this.#write(footer);
    await this.#write(trailer);
  }
}

/** Footer length from the file's last 10 bytes; checks the trailing magic. */
export function footerLength(trailer: Uint8Array, fileSize: number): number {
  if (trailer.byteLength !== FILE_TRAILER_SIZE || fileSize < LEADING_MAGIC.byteLength + FILE_TRAILER_SIZE) {
    throw new QuiverFormatError("BAD_ARROW_IPC", `a ${fileSize}-byte file is too small for an Arrow IPC file`, { stage: "bucket" });
  }
  for (let i = 0; i < 6; i++) {
    if (trailer[4 + i] !== TRAILING_MAGIC[i]) throw new QuiverFormatError("BAD_ARROW_IPC", "no trailing ARROW1 magic", { stage: "bucket", offset: fileSize - 6 });
  }
  const len = new DataView(trailer.buffer, trailer.byteOffset, 4).getInt32(0, true);
  if (len <= 0 || len > MAX_FOOTER_BYTES || len > fileSize - LEADING_MAGIC.byteLength - FILE_TRAILER_SIZE) {
    throw new QuiverFormatError("BAD_ARROW_IPC", `footer length ${len} in a ${fileSize}-byte file`, { stage: "bucket", offset: fileSize - 10 });
  }
  return len;
}

/**
 * Decode a footer with format's bounds-checked walker (no apache-arrow): its schema and record
 * batch blocks, each inside the file's message area and 8-aligned. Dictionary blocks are not
 * allowed in bucket files or the ranges table (BAD_ARROW_IPC).
 */
export function decodeFileFooter(footerBytes: Uint8Array, fileSize: number, stage = "bucket"): { blocks: BatchBlock[]; schema: ArrowSchemaInfo } {
  const messagesEnd = fileSize - FILE_TRAILER_SIZE - footerBytes.byteLength;
  const footer = decodeArrowFooter(footerBytes, stage, messagesEnd);
  if (footer.dictionaries.length > 0) throw new QuiverFormatError("BAD_ARROW_IPC", `footer lists ${footer.dictionaries.length} dictionary batches; dictionaries are not allowed here`, { stage });
  const blocks = footer.recordBatches.map(({ offset, metaDataLength, bodyLength }, i) => {
    if (offset < LEADING_MAGIC.byteLength || metaDataLength < 8 || offset % 8 !== 0 || metaDataLength > messagesEnd - offset || bodyLength > messagesEnd - offset - metaDataLength) {
      throw new QuiverFormatError("BAD_ARROW_IPC", `record batch block ${i} (${offset}+${metaDataLength}+${bodyLength}) lies outside the file's ${messagesEnd} message bytes`, { stage });
    }
    return { offset, metaDataLength, bodyLength };
  });
  return { blocks, schema: footer.schema };
}

/** The record batch blocks of a footer (see {@link decodeFileFooter}). */
export function decodeFooterBlocks(footerBytes: Uint8Array, fileSize: number, stage = "bucket"): BatchBlock[] {
  return decodeFileFooter(footerBytes, fileSize, stage).blocks;
}

/** Where a file's head (magic + schema message) ends: the first record batch, or the end-of-stream marker. */
export function fileHeadEnd(blocks: readonly BatchBlock[], fileSize: number, footerLength: number): number {
  return blocks.length > 0 ? blocks[0]!.offset : fileSize - FILE_TRAILER_SIZE - footerLength - EOS.byteLength;
}

/** MUST-level bound of a file head beyond the footer's length (the schema message repeats the footer's schema). */
export const MAX_HEAD_EXTRA_BYTES = 64 * 1024;

/**
 * Check the parts of an Arrow IPC file that no footer block covers: `head` = bytes [0, headEnd)
 * (`ARROW1\0\0`, then exactly one schema message describing the footer's schema: same field
 * names and type strings) and `eos` = the 8 bytes before the footer (the end-of-stream marker).
 * So every byte of a file is checked by someone: blocks by their ranges, these here.
 */
export function checkFileFrame(head: Uint8Array, eos: Uint8Array, footerSchema: ArrowSchemaInfo, stage = "bucket"): void {
  const fail = (what: string): never => {
    throw new QuiverFormatError("BAD_ARROW_IPC", `file head: ${what}`, { stage });
  };
  if (head.byteLength < LEADING_MAGIC.byteLength || LEADING_MAGIC.some((b, i) => head[i] !== b)) fail("no leading ARROW1 magic");
  if (eos.byteLength !== EOS.byteLength || EOS.some((b, i) => eos[i] !== b)) fail("no end-of-stream marker before the footer");
  // apache-arrow JS writes no schema message after the magic (the footer carries the schema); others do.
  if (head.byteLength === LEADING_MAGIC.byteLength) return;
  const frame = readMessageFrame(head, LEADING_MAGIC.byteLength, head.byteLength, stage, 0);
  if (frame === undefined) return fail("end-of-stream marker where the schema message belongs");
  const msg = decodeArrowMessage(head.subarray(frame.metaStart, frame.metaStart + frame.metaLength), stage, frame.metaStart);
  if (msg.type !== "schema" || msg.bodyLength !== 0) fail(`the first message is a ${msg.type} with a ${msg.bodyLength}-byte body, not the schema`);
  if (frame.metaStart + frame.metaLength !== head.byteLength) fail(`${head.byteLength - frame.metaStart - frame.metaLength} bytes between the schema message and the first record batch`);
  const s = (msg as { schema: ArrowSchemaInfo }).schema;
  const same = s.fields.length === footerSchema.fields.length && s.fields.every((f, i) => f.name === footerSchema.fields[i]!.name && arrowTypeString(f) === arrowTypeString(footerSchema.fields[i]!));
  if (!same) fail("the schema message and the footer describe different schemas");
}

/** The record batch blocks of a whole Arrow IPC file, parsed by format's bounds-checked walker (trailer, footer; BAD_ARROW_IPC). */
export function fileBlocks(bytes: Uint8Array, stage = "bucket"): BatchBlock[] {
  const size = bytes.byteLength;
  const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
  return decodeFileFooter(bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE), size, stage).blocks;
}
