/**
 * The one bounds-checked Arrow IPC walker (spec/container.md#arrow-ipc-sections). Every Arrow IPC
 * message, footer and schema a Quiver reader accepts goes through here before apache-arrow sees
 * a byte: every flatbuffer offset, vtable, vector and string length, every message length, body
 * length, field node and buffer is checked against the bytes present, and every buffer of every
 * column (dictionaries, children, unions) is checked against its type's layout (lengths, offsets
 * monotone and in range, dictionary indices and union type ids valid, null counts equal to the
 * validity bitmaps), so a table decoded from walked bytes can be read without failure.
 */
import { QuiverFormatError } from "./errors.js";
import { FlatReader } from "./internal/flatbuffer.js";

/** MUST-level maxima of Arrow IPC metadata (spec/container.md#arrow-ipc-sections). */
export const MAX_ARROW_NESTING = 64;
export const MAX_ARROW_FIELDS = 65536;
export const MAX_ARROW_BATCH_ROWS = 2 ** 31 - 1;

/** Arrow metadata version V5 (flatbuffer enum value 4): the only one accepted. */
export const ARROW_METADATA_V5 = 4;

/** Kinds of Arrow type a section or bucket file may hold (spec/container.md#arrow-types). */
export type ArrowTypeKind =
  | "null" | "bool" | "int" | "float" | "decimal" | "date" | "time" | "timestamp" | "duration" | "interval"
  | "utf8" | "binary" | "large_utf8" | "large_binary" | "fixed_size_binary"
  | "list" | "large_list" | "fixed_size_list" | "struct" | "map" | "union";

/** A decoded Arrow type (only the parameters its kind has are set). */
export interface ArrowTypeInfo {
  readonly kind: ArrowTypeKind;
  readonly bitWidth?: number;
  readonly signed?: boolean;
  /** float: 0 half, 1 single, 2 double; decimal: decimal digits. */
  readonly precision?: number;
  readonly scale?: number;
  /** Date/Time/Timestamp/Duration/Interval unit (the Arrow enum value). */
  readonly unit?: number;
  readonly timezone?: string;
  readonly byteWidth?: number;
  readonly listSize?: number;
  readonly mode?: "sparse" | "dense";
  readonly typeIds?: readonly number[];
  readonly keysSorted?: boolean;
}

/** A decoded Arrow field. */
export interface ArrowFieldInfo {
  readonly name: string;
  readonly nullable: boolean;
  readonly type: ArrowTypeInfo;
  readonly children: readonly ArrowFieldInfo[];
  readonly dictionary?: { readonly id: number; readonly indexType: ArrowTypeInfo; readonly ordered: boolean };
}

/** A decoded Arrow schema. */
export interface ArrowSchemaInfo {
  readonly fields: readonly ArrowFieldInfo[];
}

/** One field node of a record batch. */
export interface ArrowFieldNode {
  readonly length: number;
  readonly nullCount: number;
}

/** A record batch's metadata: row count, field nodes, buffers and whether the body is compressed. */
export interface RecordBatchMeta {
  readonly length: number;
  readonly nodes: readonly ArrowFieldNode[];
  readonly buffers: readonly { readonly offset: number; readonly length: number }[];
  readonly compressed: boolean;
}

/** A decoded IPC message header. */
export type ArrowMessage =
  | { readonly type: "schema"; readonly bodyLength: number; readonly schema: ArrowSchemaInfo }
  | { readonly type: "record-batch"; readonly bodyLength: number; readonly batch: RecordBatchMeta }
  | { readonly type: "dictionary-batch"; readonly bodyLength: number; readonly id: number; readonly isDelta: boolean; readonly batch: RecordBatchMeta };

/** Where a message is in an IPC file (a footer Block). */
export interface ArrowBlock {
  readonly offset: number;
  readonly metaDataLength: number;
  readonly bodyLength: number;
}

/** A decoded IPC file footer. */
export interface ArrowFooter {
  readonly schema: ArrowSchemaInfo;
  readonly dictionaries: readonly ArrowBlock[];
  readonly recordBatches: readonly ArrowBlock[];
}

/** What a walked stream holds. */
export interface ArrowStreamSummary {
  readonly schema: ArrowSchemaInfo;
  /** Row count of each record batch, in order. */
  readonly batchRows: readonly number[];
  readonly numRows: number;
  readonly dictionaryBatches: number;
}

function err(code: string, message: string, stage: string, offset?: number): QuiverFormatError {
  return new QuiverFormatError(code, message, offset === undefined ? { stage } : { stage, offset });
}

// ---- schema ---------------------------------------------------------------------------------------

interface Budget {
  fields: number;
  stringBytes: number;
  readonly maxFields: number;
  readonly maxStringBytes: number;
}

function newBudget(metaLength: number): Budget {
  // Shared flatbuffer subtables could make a walk exponential; a real schema visits each field and
  // string once, so the work is bounded by the metadata's own size.
  return { fields: 0, stringBytes: 0, maxFields: Math.min(MAX_ARROW_FIELDS, Math.floor(metaLength / 8) + 1), maxStringBytes: 2 * metaLength + 1024 };
}

function readString(r: FlatReader, t: number, i: number, budget: Budget, stage: string): string | undefined {
  const s = r.stringField(t, i);
  if (s !== undefined) {
    budget.stringBytes += s.length;
    if (budget.stringBytes > budget.maxStringBytes) throw err("BAD_ARROW_IPC", "metadata strings exceed the metadata's size (shared strings)", stage);
  }
  return s;
}

function checkKeyValues(r: FlatReader, t: number, i: number, budget: Budget, stage: string): void {
  const v = r.vectorField(t, i, 4);
  if (v === undefined) return;
  for (let k = 0; k < v.length; k++) {
    const kv = r.tableAt(v, k);
    readString(r, kv, 0, budget, stage);
    readString(r, kv, 1, budget, stage);
  }
}

const unsupported = (what: string, stage: string): never => {
  throw err("ARROW_UNSUPPORTED_TYPE", `${what} is not an allowed Arrow type (spec/container.md#arrow-types)`, stage);
};

function intType(r: FlatReader, t: number | undefined, stage: string): ArrowTypeInfo {
  const bitWidth = t === undefined ? 0 : r.i32Field(t, 0, 0);
  if (bitWidth !== 8 && bitWidth !== 16 && bitWidth !== 32 && bitWidth !== 64) throw err("BAD_ARROW_IPC", `Int bitWidth ${bitWidth}`, stage);
  return { kind: "int", bitWidth, signed: t !== undefined && r.boolField(t, 1) };
}

function decodeType(r: FlatReader, tt: number, t: number | undefined, nChildren: number, stage: string): ArrowTypeInfo {
  const bad = (what: string): never => {
    throw err("BAD_ARROW_IPC", what, stage);
  };
  const children = (n: number, name: string): void => {
    if (nChildren !== n) bad(`${name} with ${nChildren} children`);
  };
  const i16 = (i: number, d: number): number => (t === undefined ? d : r.i16Field(t, i, d));
  const i32 = (i: number, d: number): number => (t === undefined ? d : r.i32Field(t, i, d));
  switch (tt) {
    case 1: children(0, "Null"); return { kind: "null" };
    case 2: children(0, "Int"); return intType(r, t, stage);
    case 3: {
      children(0, "FloatingPoint");
      const precision = i16(0, 0);
      if (precision < 0 || precision > 2) bad(`FloatingPoint precision ${precision}`);
      return { kind: "float", precision };
    }
    case 4: children(0, "Binary"); return { kind: "binary" };
    case 5: children(0, "Utf8"); return { kind: "utf8" };
    case 6: children(0, "Bool"); return { kind: "bool" };
    case 7: {
      children(0, "Decimal");
      const precision = i32(0, 0);
      const scale = i32(1, 0);
      const bitWidth = i32(2, 128);
      if (bitWidth !== 128 && bitWidth !== 256) unsupported(`Decimal of ${bitWidth} bits`, stage);
      if (precision < 1 || precision > (bitWidth === 128 ? 38 : 76) || scale > precision || scale < -precision) bad(`Decimal(${precision}, ${scale})`);
      return { kind: "decimal", precision, scale, bitWidth };
    }
    case 8: {
      children(0, "Date");
      const unit = i16(0, 1);
      if (unit !== 0 && unit !== 1) bad(`Date unit ${unit}`);
      return { kind: "date", unit };
    }
    case 9: {
      children(0, "Time");
      const unit = i16(0, 1);
      const bitWidth = i32(1, 32);
      if (!(((unit === 0 || unit === 1) && bitWidth === 32) || ((unit === 2 || unit === 3) && bitWidth === 64))) bad(`Time unit ${unit} with ${bitWidth} bits`);
      return { kind: "time", unit, bitWidth };
    }
    case 10: {
      children(0, "Timestamp");
      const unit = i16(0, 0);
      if (unit < 0 || unit > 3) bad(`Timestamp unit ${unit}`);
      const tz = t === undefined ? undefined : r.stringField(t, 1);
      return tz === undefined ? { kind: "timestamp", unit } : { kind: "timestamp", unit, timezone: tz };
    }
    case 11: {
      children(0, "Interval");
      const unit = i16(0, 0);
      if (unit < 0 || unit > 2) bad(`Interval unit ${unit}`);
      return { kind: "interval", unit };
    }
    case 12: children(1, "List"); return { kind: "list" };
    case 13: return { kind: "struct" };
    case 14: {
      const mode = i16(0, 0);
      if (mode !== 0 && mode !== 1) bad(`Union mode ${mode}`);
      // typeIds is required: apache-arrow reads an absent vector as "no type ids", other readers as 0..n-1.
      const v = t === undefined ? undefined : r.vectorField(t, 1, 4);
      if (v === undefined) bad("Union without typeIds");
      const typeIds: number[] = [];
      for (let k = 0; k < v!.length; k++) typeIds.push(r.i32(v!.start + 4 * k));
      if (typeIds.length !== nChildren) bad(`Union with ${typeIds.length} type ids for ${nChildren} children`);
      if (typeIds.some((id) => id < 0 || id > 127) || new Set(typeIds).size !== typeIds.length) bad("Union type ids are not distinct values in [0, 127]");
      return { kind: "union", mode: mode === 0 ? "sparse" : "dense", typeIds };
    }
    case 15: {
      children(0, "FixedSizeBinary");
      const byteWidth = i32(0, 0);
      if (byteWidth < 1) bad(`FixedSizeBinary byteWidth ${byteWidth}`);
      return { kind: "fixed_size_binary", byteWidth };
    }
    case 16: {
      children(1, "FixedSizeList");
      const listSize = i32(0, 0);
      if (listSize < 1) bad(`FixedSizeList listSize ${listSize}`);
      return { kind: "fixed_size_list", listSize };
    }
    case 17: children(1, "Map"); return { kind: "map", keysSorted: t !== undefined && r.boolField(t, 0) };
    case 18: {
      children(0, "Duration");
      const unit = i16(0, 1);
      if (unit < 0 || unit > 3) bad(`Duration unit ${unit}`);
      return { kind: "duration", unit };
    }
    case 19: children(0, "LargeBinary"); return { kind: "large_binary" };
    case 20: children(0, "LargeUtf8"); return { kind: "large_utf8" };
    case 21: children(1, "LargeList"); return { kind: "large_list" };
    case 22: return unsupported("RunEndEncoded", stage);
    case 23: return unsupported("BinaryView", stage);
    case 24: return unsupported("Utf8View", stage);
    case 25: return unsupported("ListView", stage);
    case 26: return unsupported("LargeListView", stage);
    default: return bad(`unknown Arrow type ${tt}`);
  }
}

function hasDictionary(f: ArrowFieldInfo): boolean {
  return f.dictionary !== undefined || f.children.some(hasDictionary);
}

function decodeField(r: FlatReader, t: number, depth: number, budget: Budget, stage: string): ArrowFieldInfo {
  if (depth > MAX_ARROW_NESTING) throw err("LIMIT_EXCEEDED", `Arrow fields nest deeper than ${MAX_ARROW_NESTING}`, stage);
  if (++budget.fields > budget.maxFields) throw err("LIMIT_EXCEEDED", `more than ${budget.maxFields} Arrow fields in ${r.byteLength} metadata bytes`, stage);
  const name = readString(r, t, 0, budget, stage) ?? "";
  const nullable = r.boolField(t, 1);
  const tt = r.u8Field(t, 2, 0);
  const typeTable = r.tableField(t, 3);
  const cv = r.vectorField(t, 5, 4);
  const children: ArrowFieldInfo[] = [];
  if (cv !== undefined) for (let k = 0; k < cv.length; k++) children.push(decodeField(r, r.tableAt(cv, k), depth + 1, budget, stage));
  checkKeyValues(r, t, 6, budget, stage);
  const type = decodeType(r, tt, typeTable, children.length, stage);
  if (type.kind === "map") {
    const entries = children[0]!;
    if (entries.type.kind !== "struct" || entries.children.length !== 2 || entries.nullable) throw err("BAD_ARROW_IPC", "Map child is not a non-nullable struct of key and value", stage);
  }
  const d = r.tableField(t, 4);
  if (d === undefined) return { name, nullable, type, children };
  const id = r.i64Field(d, 0, 0);
  const indexTable = r.tableField(d, 1);
  const indexType = indexTable === undefined ? { kind: "int" as const, bitWidth: 32, signed: true } : intType(r, indexTable, stage);
  if (r.i16Field(d, 3, 0) !== 0) throw err("BAD_ARROW_IPC", "dictionaryKind is not DenseArray", stage);
  if (children.some(hasDictionary)) unsupported("a dictionary whose values hold another dictionary", stage);
  return { name, nullable, type, children, dictionary: { id, indexType, ordered: r.boolField(d, 2) } };
}

function decodeSchemaTable(r: FlatReader, t: number, stage: string, budget: Budget): ArrowSchemaInfo {
  const endianness = r.i16Field(t, 0, 0);
  if (endianness !== 0) throw err("BAD_ARROW_IPC", endianness === 1 ? "big-endian Arrow data (only little-endian is allowed)" : `endianness ${endianness}`, stage);
  const fields: ArrowFieldInfo[] = [];
  const v = r.vectorField(t, 1, 4);
  if (v !== undefined) for (let k = 0; k < v.length; k++) fields.push(decodeField(r, r.tableAt(v, k), 1, budget, stage));
  checkKeyValues(r, t, 2, budget, stage);
  r.vectorField(t, 3, 8);
  // Fields sharing a dictionary id must agree on its value type.
  const byId = new Map<number, string>();
  const visit = (f: ArrowFieldInfo): void => {
    if (f.dictionary !== undefined) {
      const sig = arrowTypeString({ name: "", nullable: true, type: f.type, children: f.children });
      const prev = byId.get(f.dictionary.id);
      if (prev !== undefined && prev !== sig) throw err("BAD_ARROW_IPC", `dictionary ${f.dictionary.id} is used with two value types`, stage);
      byId.set(f.dictionary.id, sig);
    }
    f.children.forEach(visit);
  };
  fields.forEach(visit);
  return { fields };
}

function decodeRecordBatchTable(r: FlatReader, t: number, stage: string): RecordBatchMeta {
  const length = r.i64Field(t, 0, 0);
  if (length > MAX_ARROW_BATCH_ROWS) throw err("LIMIT_EXCEEDED", `record batch of ${length} rows > ${MAX_ARROW_BATCH_ROWS}`, stage);
  const nodes: ArrowFieldNode[] = [];
  const nv = r.vectorField(t, 1, 16);
  if (nv !== undefined) for (let k = 0; k < nv.length; k++) nodes.push({ length: r.i64(nv.start + 16 * k), nullCount: r.i64(nv.start + 16 * k + 8) });
  const buffers: { offset: number; length: number }[] = [];
  const bv = r.vectorField(t, 2, 16);
  if (bv !== undefined) for (let k = 0; k < bv.length; k++) buffers.push({ offset: r.i64(bv.start + 16 * k), length: r.i64(bv.start + 16 * k + 8) });
  const compressed = r.field(t, 3) !== undefined;
  const variadic = r.vectorField(t, 4, 8);
  if (variadic !== undefined && variadic.length > 0) throw err("BAD_ARROW_IPC", "variadic buffer counts without a view type", stage);
  return { length, nodes, buffers, compressed };
}

/**
 * Decode one IPC message's metadata flatbuffer (the bytes after the continuation marker and the
 * length), bounds-checked: version V5 (ARROW_UNSUPPORTED_METADATA otherwise), a schema, record
 * batch or dictionary batch header (Tensor messages are ARROW_UNSUPPORTED_TYPE).
 */
export function decodeArrowMessage(meta: Uint8Array, stage = "payload", base = 0): ArrowMessage {
  const r = new FlatReader(meta, stage, base);
  const root = r.root();
  const version = r.i16Field(root, 0, 0);
  if (version !== ARROW_METADATA_V5) throw err("ARROW_UNSUPPORTED_METADATA", `Arrow metadata version V${version + 1}; only V5 (Arrow 1.0 and later) is allowed`, stage, base);
  const headerType = r.u8Field(root, 1, 0);
  const header = r.tableField(root, 2);
  const bodyLength = r.i64Field(root, 3, 0);
  const budget = newBudget(meta.byteLength);
  checkKeyValues(r, root, 4, budget, stage);
  if (header === undefined && headerType >= 1 && headerType <= 3) throw err("BAD_ARROW_IPC", "message without a header", stage, base);
  switch (headerType) {
    case 1:
      return { type: "schema", bodyLength, schema: decodeSchemaTable(r, header!, stage, budget) };
    case 2: {
      const id = r.i64Field(header!, 0, 0);
      const data = r.tableField(header!, 1);
      if (data === undefined) throw err("BAD_ARROW_IPC", "dictionary batch without data", stage, base);
      return { type: "dictionary-batch", bodyLength, id, isDelta: r.boolField(header!, 2), batch: decodeRecordBatchTable(r, data, stage) };
    }
    case 3:
      return { type: "record-batch", bodyLength, batch: decodeRecordBatchTable(r, header!, stage) };
    case 4:
    case 5:
      throw err("ARROW_UNSUPPORTED_TYPE", "Tensor / SparseTensor messages are not allowed", stage, base);
    default:
      throw err("BAD_ARROW_IPC", `message header type ${headerType}`, stage, base);
  }
}

/** Decode an IPC file footer flatbuffer (schema and block lists), bounds-checked. */
export function decodeArrowFooter(footer: Uint8Array, stage = "payload", base = 0): ArrowFooter {
  const r = new FlatReader(footer, stage, base);
  const root = r.root();
  const version = r.i16Field(root, 0, 0);
  if (version !== ARROW_METADATA_V5) throw err("ARROW_UNSUPPORTED_METADATA", `Arrow footer metadata version V${version + 1}; only V5 is allowed`, stage, base);
  const st = r.tableField(root, 1);
  if (st === undefined) throw err("BAD_ARROW_IPC", "footer without a schema", stage, base);
  const budget = newBudget(footer.byteLength);
  const schema = decodeSchemaTable(r, st, stage, budget);
  const blocks = (i: number): ArrowBlock[] => {
    const v = r.vectorField(root, i, 24);
    const out: ArrowBlock[] = [];
    if (v !== undefined) for (let k = 0; k < v.length; k++) out.push({ offset: r.i64(v.start + 24 * k), metaDataLength: r.i32(v.start + 24 * k + 8), bodyLength: r.i64(v.start + 24 * k + 16) });
    return out;
  };
  const dictionaries = blocks(2);
  const recordBatches = blocks(3);
  checkKeyValues(r, root, 4, budget, stage);
  return { schema, dictionaries, recordBatches };
}

// ---- bodies ---------------------------------------------------------------------------------------

/** Bytes per value of a fixed-width type (0 for bool, which is bit-packed; -1 when not fixed-width). */
function fixedWidth(t: ArrowTypeInfo): number {
  switch (t.kind) {
    case "int":
    case "decimal":
      return t.bitWidth! / 8;
    case "float":
      return [2, 4, 8][t.precision!]!;
    case "date":
      return t.unit === 0 ? 4 : 8;
    case "time":
      return t.bitWidth! / 8;
    case "timestamp":
    case "duration":
      return 8;
    case "interval":
      return [4, 8, 16][t.unit!]!;
    case "fixed_size_binary":
      return t.byteWidth!;
    case "bool":
      return 0;
    default:
      return -1;
  }
}

/** Field-node and buffer counts, per field in depth-first order, that walk a record batch body against a schema. */
class BodyChecker {
  #node = 0;
  #buffer = 0;
  readonly #view: DataView;
  constructor(
    readonly meta: RecordBatchMeta,
    readonly body: Uint8Array,
    readonly dictionaryLength: (id: number) => number,
    readonly stage: string,
    readonly base: number,
  ) {
    this.#view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  }

  fail(what: string): never {
    throw err("BAD_ARROW_IPC", what, this.stage, this.base);
  }

  #nextNode(): ArrowFieldNode {
    const n = this.meta.nodes[this.#node++];
    if (n === undefined) this.fail(`record batch has ${this.meta.nodes.length} field nodes, the schema needs more`);
    if (n.length > MAX_ARROW_BATCH_ROWS) this.fail(`field node of ${n.length} values > ${MAX_ARROW_BATCH_ROWS}`);
    if (n.nullCount > n.length) this.fail(`field node null count ${n.nullCount} > length ${n.length}`);
    return n;
  }

  #nextBuffer(): { start: number; length: number } {
    const b = this.meta.buffers[this.#buffer++];
    if (b === undefined) this.fail(`record batch has ${this.meta.buffers.length} buffers, the schema needs more`);
    if (b.offset > this.body.byteLength || b.length > this.body.byteLength - b.offset) this.fail(`buffer ${this.#buffer - 1} (${b.offset}+${b.length}) outside a ${this.body.byteLength}-byte body`);
    if (b.length > 0 && b.offset % 8 !== 0) this.fail(`buffer ${this.#buffer - 1} at body offset ${b.offset} is not 8-byte aligned`);
    return { start: b.offset, length: b.length };
  }

  /** Validity bitmap: absent only without nulls; else ceil(n/8) bytes whose zero bits are exactly `nullCount`. */
  #validity(n: number, nullCount: number): { start: number; length: number } | undefined {
    const b = this.#nextBuffer();
    if (b.length === 0) {
      if (nullCount !== 0 && n > 0) this.fail(`${nullCount} nulls without a validity bitmap`);
      return undefined;
    }
    if (b.length < Math.ceil(n / 8)) this.fail(`validity bitmap of ${b.length} bytes for ${n} values`);
    let valid = 0;
    const full = n >>> 3;
    for (let i = 0; i < full; i++) valid += popcount8(this.body[b.start + i]!);
    if (n & 7) valid += popcount8(this.body[b.start + full]! & ((1 << (n & 7)) - 1));
    if (n - valid !== nullCount) this.fail(`field node says ${nullCount} nulls, its validity bitmap has ${n - valid}`);
    return b;
  }

  #isValid(v: { start: number } | undefined, i: number): boolean {
    return v === undefined || (this.body[v.start + (i >>> 3)]! & (1 << (i & 7))) !== 0;
  }

  /** Offsets buffer of n values (n+1 entries, or empty when n = 0): non-decreasing, from >= 0, last <= limit. */
  #offsets(n: number, width: 4 | 8, limit: number | (() => number)): number {
    const b = this.#nextBuffer();
    if (n === 0 && b.length === 0) return 0;
    if (b.length < (n + 1) * width) this.fail(`offsets buffer of ${b.length} bytes for ${n} values`);
    const read = (k: number): number => {
      if (width === 4) return this.#view.getInt32(b.start + 4 * k, true);
      const v = this.#view.getBigInt64(b.start + 8 * k, true);
      return v < -1n || v > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(v);
    };
    let prev = read(0);
    if (prev < 0) this.fail(`first offset ${prev}`);
    for (let k = 1; k <= n; k++) {
      const o = read(k);
      if (o < prev) this.fail(`offset ${k} (${o}) is below offset ${k - 1} (${prev})`);
      prev = o;
    }
    const lim = typeof limit === "number" ? limit : limit();
    if (prev > lim) this.fail(`last offset ${prev} past the ${lim} values it indexes`);
    return prev;
  }

  /** Check one field's node, buffers and children; returns its length. */
  field(f: ArrowFieldInfo, expectedLength: number | undefined, atLeast: boolean): number {
    const node = this.#nextNode();
    const n = node.length;
    if (expectedLength !== undefined && (atLeast ? n < expectedLength : n !== expectedLength)) this.fail(`field ${describeName(f.name)} has ${n} values, needs ${atLeast ? "at least " : ""}${expectedLength}`);
    if (f.dictionary !== undefined) {
      const validity = this.#validity(n, node.nullCount);
      const it = f.dictionary.indexType;
      const w = it.bitWidth! / 8;
      const b = this.#nextBuffer();
      if (b.length < n * w) this.fail(`dictionary indices of ${b.length} bytes for ${n} values`);
      const dictLen = this.dictionaryLength(f.dictionary.id);
      for (let i = 0; i < n; i++) {
        if (!this.#isValid(validity, i)) continue;
        const at = b.start + i * w;
        const v = w === 1 ? (it.signed ? this.#view.getInt8(at) : this.#view.getUint8(at))
          : w === 2 ? (it.signed ? this.#view.getInt16(at, true) : this.#view.getUint16(at, true))
          : w === 4 ? (it.signed ? this.#view.getInt32(at, true) : this.#view.getUint32(at, true))
          : Number(it.signed ? this.#view.getBigInt64(at, true) : this.#view.getBigUint64(at, true));
        if (!(v >= 0 && v < dictLen)) this.fail(`dictionary index ${v} at row ${i} outside a ${dictLen}-value dictionary ${f.dictionary.id}`);
      }
      return n;
    }
    const t = f.type;
    switch (t.kind) {
      case "null":
        return n;
      case "union": {
        if (node.nullCount !== 0) this.fail("a union field node with a nonzero null count (unions have no validity bitmap)");
        const types = this.#nextBuffer();
        if (types.length < n) this.fail(`union type ids of ${types.length} bytes for ${n} values`);
        const offsets = t.mode === "dense" ? this.#nextBuffer() : undefined;
        if (offsets !== undefined && offsets.length < 4 * n) this.fail(`dense union offsets of ${offsets.length} bytes for ${n} values`);
        const childLengths = f.children.map((c) => this.field(c, t.mode === "sparse" ? n : undefined, true));
        const index = new Int16Array(128).fill(-1);
        t.typeIds!.forEach((id, k) => (index[id] = k));
        for (let i = 0; i < n; i++) {
          const id = this.#view.getInt8(types.start + i);
          const k = id < 0 ? -1 : index[id]!;
          if (k < 0) this.fail(`union type id ${id} at row ${i} is not declared`);
          if (offsets !== undefined) {
            const o = this.#view.getInt32(offsets.start + 4 * i, true);
            if (o < 0 || o >= childLengths[k]!) this.fail(`dense union offset ${o} at row ${i} outside child ${k} of ${childLengths[k]} values`);
          }
        }
        return n;
      }
      default:
        break;
    }
    const validity = this.#validity(n, node.nullCount);
    switch (t.kind) {
      case "utf8":
      case "binary":
      case "large_utf8":
      case "large_binary": {
        const width = t.kind.startsWith("large") ? 8 : 4;
        const offsets = this.#offsetsThenData(n, width);
        void offsets;
        return n;
      }
      case "list":
      case "large_list":
      case "map": {
        let childLength = -1;
        this.#offsets(n, t.kind === "large_list" ? 8 : 4, () => {
          childLength = this.field(f.children[0]!, undefined, false);
          return childLength;
        });
        // The child is walked even when the offsets buffer is empty (n = 0).
        if (childLength < 0) this.field(f.children[0]!, undefined, false);
        return n;
      }
      case "fixed_size_list":
        this.field(f.children[0]!, n * t.listSize!, true);
        return n;
      case "struct":
        for (const c of f.children) this.field(c, n, true);
        return n;
      default: {
        const w = fixedWidth(t);
        const b = this.#nextBuffer();
        const need = w === 0 ? Math.ceil(n / 8) : n * w;
        if (b.length < need) this.fail(`field ${describeName(f.name)}: values buffer of ${b.length} bytes for ${n} values of ${w === 0 ? "1 bit" : `${w} bytes`}`);
        // Millisecond-based readings of int64 dates and timestamps must be exact binary64 integers.
        const limit = (t.kind === "date" && t.unit === 1) || (t.kind === "timestamp" && t.unit! <= 1) ? SAFE : t.kind === "timestamp" && t.unit === 2 ? SAFE * 1000n + 999n : undefined;
        if (limit !== undefined) {
          for (let i = 0; i < n; i++) {
            if (!this.#isValid(validity, i)) continue;
            const x = this.#view.getBigInt64(b.start + 8 * i, true);
            if (x > limit || x < -limit) this.fail(`field ${describeName(f.name)}: ${t.kind} value at row ${i} is outside the range of exact millisecond values`);
          }
        }
        return n;
      }
    }
  }

  #offsetsThenData(n: number, width: 4 | 8): number {
    // Arrow buffer order is offsets then data; the data buffer's length bounds the last offset.
    const offsetsIndex = this.#buffer;
    const offsetsBuf = this.meta.buffers[offsetsIndex];
    const dataBuf = this.meta.buffers[offsetsIndex + 1];
    if (offsetsBuf === undefined || dataBuf === undefined) this.fail(`record batch has ${this.meta.buffers.length} buffers, the schema needs more`);
    const dataLength = dataBuf.length;
    const last = this.#offsets(n, width, dataLength);
    this.#nextBuffer();
    return last;
  }

  /** After the walk: every node and buffer of the message was used. */
  finish(): void {
    if (this.#node !== this.meta.nodes.length || this.#buffer !== this.meta.buffers.length) {
      this.fail(`record batch has ${this.meta.nodes.length} field nodes / ${this.meta.buffers.length} buffers, the schema uses ${this.#node} / ${this.#buffer}`);
    }
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function popcount8(b: number): number {
  b = b - ((b >>> 1) & 0x55);
  b = (b & 0x33) + ((b >>> 2) & 0x33);
  return (b + (b >>> 4)) & 0x0f;
}

function describeName(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}...` : name);
}

/**
 * Check a record batch body against fields: node and buffer counts, every buffer inside the body
 * and 8-byte aligned, and every column's layout (see the module comment). Compressed bodies are
 * ARROW_COMPRESSED_BODY. `dictionaryLength(id)` gives the current length of a dictionary (throw
 * when it is not loaded).
 */
export function checkRecordBatchBody(
  fields: readonly ArrowFieldInfo[],
  meta: RecordBatchMeta,
  body: Uint8Array,
  dictionaryLength: (id: number) => number,
  stage = "payload",
  base = 0,
): void {
  if (meta.compressed) throw err("ARROW_COMPRESSED_BODY", "compressed record batch bodies (LZ4_FRAME / ZSTD) are not allowed (spec/container.md#arrow-ipc-sections)", stage, base);
  const c = new BodyChecker(meta, body, dictionaryLength, stage, base);
  for (const f of fields) c.field(f, meta.length, false);
  c.finish();
}

// ---- streams --------------------------------------------------------------------------------------

const ARROW_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];

/** True when bytes start with the Arrow IPC file magic `ARROW1`. */
export function startsWithArrowFileMagic(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 6 && ARROW_MAGIC.every((m, i) => bytes[i] === m);
}

/**
 * Read the message framing at `pos` of an IPC stream or file: `FFFFFFFF`, int32 metadata length,
 * metadata (padded so that the body starts 8-byte aligned relative to `alignBase`), body. Returns
 * the metadata bytes' range and the message end; `undefined` at an end-of-stream marker.
 */
export function readMessageFrame(bytes: Uint8Array, pos: number, limit: number, stage: string, base: number, alignBase = 0): { metaStart: number; metaLength: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (limit - pos < 4) throw err("BAD_ARROW_IPC", `${limit - pos} bytes at ${pos} are not an IPC message`, stage, base + pos);
  const first = view.getUint32(pos, true);
  if (first !== 0xffffffff) {
    if (first > 0 && first <= limit - pos - 4) throw err("ARROW_UNSUPPORTED_METADATA", `message at ${pos} has no continuation marker (pre-0.15 framing); only the current framing is allowed`, stage, base + pos);
    throw err("BAD_ARROW_IPC", `no IPC message at ${pos}`, stage, base + pos);
  }
  if (limit - pos < 8) throw err("BAD_ARROW_IPC", `message at ${pos} is cut off`, stage, base + pos);
  const metaLength = view.getInt32(pos + 4, true);
  if (metaLength === 0) return undefined;
  if (metaLength < 0 || metaLength > limit - pos - 8) throw err("BAD_ARROW_IPC", `message metadata of ${metaLength} bytes at ${pos} (${limit - pos - 8} bytes left)`, stage, base + pos);
  if ((pos + 8 + metaLength - alignBase) % 8 !== 0) throw err("BAD_ARROW_IPC", `message body at ${pos + 8 + metaLength} is not 8-byte aligned`, stage, base + pos);
  return { metaStart: pos + 8, metaLength };
}

/**
 * Walk an Arrow IPC *stream* completely (schema message first, then dictionary and record
 * batches, optional end-of-stream marker and nothing after it), checking every message as
 * described above. An IPC *file* is ARROW_FILE_NOT_STREAM. Nothing is decoded by apache-arrow.
 */
export function walkArrowStream(bytes: Uint8Array, stage = "payload", base = 0): ArrowStreamSummary {
  if (bytes.byteLength === 0) throw err("BAD_ARROW_IPC", "empty Arrow IPC stream", stage, base);
  if (startsWithArrowFileMagic(bytes)) throw err("ARROW_FILE_NOT_STREAM", "the bytes are an Arrow IPC file (ARROW1 magic), not an IPC stream", stage, base);
  let pos = 0;
  let schema: ArrowSchemaInfo | undefined;
  const batchRows: number[] = [];
  let numRows = 0;
  let dictionaryBatches = 0;
  const dictLengths = new Map<number, number>();
  const dictFields = new Map<number, ArrowFieldInfo>();
  const collect = (f: ArrowFieldInfo): void => {
    if (f.dictionary !== undefined && !dictFields.has(f.dictionary.id)) dictFields.set(f.dictionary.id, f);
    f.children.forEach(collect);
  };
  const dictionaryLength = (id: number): number => {
    const n = dictLengths.get(id);
    if (n === undefined) throw err("BAD_ARROW_IPC", `record batch uses dictionary ${id} before any dictionary batch defines it`, stage, base + pos);
    return n;
  };
  while (pos < bytes.byteLength) {
    const frame = readMessageFrame(bytes, pos, bytes.byteLength, stage, base);
    if (frame === undefined) {
      if (pos + 8 !== bytes.byteLength) throw err("BAD_ARROW_IPC", `${bytes.byteLength - pos - 8} bytes after the end-of-stream marker`, stage, base + pos + 8);
      pos += 8;
      break;
    }
    const msg = decodeArrowMessage(bytes.subarray(frame.metaStart, frame.metaStart + frame.metaLength), stage, base + frame.metaStart);
    const bodyStart = frame.metaStart + frame.metaLength;
    if (msg.bodyLength > bytes.byteLength - bodyStart) throw err("BAD_ARROW_IPC", `message body of ${msg.bodyLength} bytes at ${bodyStart} runs past the ${bytes.byteLength}-byte stream`, stage, base + pos);
    const body = bytes.subarray(bodyStart, bodyStart + msg.bodyLength);
    if (msg.type === "schema") {
      if (schema !== undefined) throw err("BAD_ARROW_IPC", `a second schema message at ${pos}`, stage, base + pos);
      if (msg.bodyLength !== 0) throw err("BAD_ARROW_IPC", "schema message with a body", stage, base + pos);
      schema = msg.schema;
      schema.fields.forEach(collect);
    } else if (schema === undefined) {
      throw err("BAD_ARROW_IPC", `the stream does not start with a schema message (found a ${msg.type} at ${pos})`, stage, base + pos);
    } else if (msg.type === "dictionary-batch") {
      const f = dictFields.get(msg.id);
      if (f === undefined) throw err("BAD_ARROW_IPC", `dictionary batch for dictionary ${msg.id}, which no field uses`, stage, base + pos);
      const valueField: ArrowFieldInfo = { name: f.name, nullable: true, type: f.type, children: f.children };
      checkRecordBatchBody([valueField], msg.batch, body, dictionaryLength, stage, base + bodyStart);
      const prev = dictLengths.get(msg.id);
      if (msg.isDelta && prev === undefined) throw err("BAD_ARROW_IPC", `delta dictionary batch for dictionary ${msg.id} before its first batch`, stage, base + pos);
      const next = (msg.isDelta ? prev! : 0) + msg.batch.length;
      if (next > MAX_ARROW_BATCH_ROWS) throw err("LIMIT_EXCEEDED", `dictionary ${msg.id} grows past ${MAX_ARROW_BATCH_ROWS} values`, stage, base + pos);
      dictLengths.set(msg.id, next);
      dictionaryBatches++;
    } else {
      checkRecordBatchBody(schema.fields, msg.batch, body, dictionaryLength, stage, base + bodyStart);
      batchRows.push(msg.batch.length);
      numRows += msg.batch.length;
    }
    pos = bodyStart + msg.bodyLength;
  }
  if (schema === undefined) throw err("BAD_ARROW_IPC", "Arrow IPC stream has no schema", stage, base);
  return { schema, batchRows, numRows, dictionaryBatches };
}

// ---- type strings ---------------------------------------------------------------------------------

const TIME_UNITS = ["s", "ms", "us", "ns"];

/** The canonical type string of a field (spec/container.md#arrow-types), e.g. `list<int32>`, `dictionary<int8, utf8>`. */
export function arrowTypeString(f: ArrowFieldInfo): string {
  const t = f.type;
  const child = (k: number): string => arrowTypeString(f.children[k]!);
  let s: string;
  switch (t.kind) {
    case "int": s = `${t.signed ? "int" : "uint"}${t.bitWidth}`; break;
    case "float": s = `float${[16, 32, 64][t.precision!]}`; break;
    case "decimal": s = `decimal${t.bitWidth}(${t.precision}, ${t.scale})`; break;
    case "date": s = t.unit === 0 ? "date32" : "date64"; break;
    case "time": s = `time${t.bitWidth}[${TIME_UNITS[t.unit!]}]`; break;
    case "timestamp": s = `timestamp[${TIME_UNITS[t.unit!]}${t.timezone === undefined ? "" : `, ${JSON.stringify(t.timezone)}`}]`; break;
    case "duration": s = `duration[${TIME_UNITS[t.unit!]}]`; break;
    case "interval": s = `interval[${["year_month", "day_time", "month_day_nano"][t.unit!]}]`; break;
    case "fixed_size_binary": s = `fixed_size_binary[${t.byteWidth}]`; break;
    case "list": s = `list<${child(0)}>`; break;
    case "large_list": s = `large_list<${child(0)}>`; break;
    case "fixed_size_list": s = `fixed_size_list<${child(0)}>[${t.listSize}]`; break;
    case "map": s = `map<${arrowTypeString(f.children[0]!.children[0]!)}, ${arrowTypeString(f.children[0]!.children[1]!)}>`; break;
    case "struct": s = `struct<${f.children.map((c) => `${JSON.stringify(c.name)}: ${arrowTypeString(c)}`).join(", ")}>`; break;
    case "union": s = `${t.mode}_union<${f.children.map((c, k) => `${t.typeIds![k]}: ${arrowTypeString(c)}`).join(", ")}>`; break;
    default: s = t.kind;
  }
  if (f.dictionary !== undefined) {
    const it = f.dictionary.indexType;
    s = `dictionary<${it.signed ? "int" : "uint"}${it.bitWidth}, ${s}>`;
  }
  return s;
}
