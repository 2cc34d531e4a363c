/**
 * The in-memory grouping `PartitionSource` of the direct build: rows assigned to partitions are
 * grouped by a counting sort and served as Arrow record batches (`row_id` UInt64, `code`
 * FixedSizeList<UInt8>[codeWidth], optional `vector` FixedSizeList<Float32>[dim]).
 */
import type { PartitionSource } from "@quiver/artifact";
import { QuiverArgumentError, checkInteger, checkOptions } from "@quiver/format";
import { Field, FixedSizeList, Float32, RecordBatch, Schema, Struct, Uint64, Uint8, makeData } from "apache-arrow";

/** Input of {@link InMemoryPartitionSource}. */
export interface InMemoryPartitionInput {
  readonly numPartitions: number;
  /** Partition of each row (n entries, each < numPartitions). */
  readonly partitions: Uint32Array;
  /** Encoded rows, n * codeWidth bytes, in row order. */
  readonly codes: Uint8Array;
  readonly codeWidth: number;
  /** Row ids (default: the row index). */
  readonly rowIds?: BigUint64Array;
  /** Raw vectors (n * dim) to store for refine; omitted when the index keeps no raw vectors. */
  readonly vectors?: Float32Array;
  readonly dim?: number;
  /** Rows per record batch (default 65,536). */
  readonly batchRows?: number;
}

/** Field names of the IVF payload schema. */
export const PAYLOAD_FIELDS = { rowId: "row_id", code: "code", vector: "vector" } as const;

/** Payload schema of IVF partitions: row_id, code[, vector]. */
export function ivfPayloadSchema(codeWidth: number, dim?: number): Schema {
  const fields: Field[] = [
    new Field(PAYLOAD_FIELDS.rowId, new Uint64(), false),
    new Field(PAYLOAD_FIELDS.code, new FixedSizeList(codeWidth, new Field("item", new Uint8(), false)), false),
  ];
  if (dim !== undefined) fields.push(new Field(PAYLOAD_FIELDS.vector, new FixedSizeList(dim, new Field("item", new Float32(), false)), false));
  return new Schema(fields);
}

/** A record batch of the IVF payload schema over the given arrays (no copy). */
export function ivfPayloadBatch(schema: Schema, rowIds: BigUint64Array, codes: Uint8Array, codeWidth: number, vectors?: Float32Array, dim?: number): RecordBatch {
  const n = rowIds.length;
  const codeType = schema.fields[1]!.type as FixedSizeList<Uint8>;
  const children = [
    makeData({ type: new Uint64(), length: n, data: rowIds }),
    makeData({ type: codeType, length: n, child: makeData({ type: new Uint8(), length: n * codeWidth, data: codes }) }),
  ];
  if (vectors !== undefined && dim !== undefined) {
    const vecType = schema.fields[2]!.type as FixedSizeList<Float32>;
    children.push(makeData({ type: vecType, length: n, child: makeData({ type: new Float32(), length: n * dim, data: vectors }) }) as never);
  }
  const data = makeData({ type: new Struct(schema.fields), length: n, children: children as never });
  return new RecordBatch(schema, data);
}

/** Groups assigned, encoded rows by partition in memory. */
export class InMemoryPartitionSource implements PartitionSource {
  readonly numPartitions: number;
  readonly payloadSchema: Schema;
  readonly #starts: Uint32Array;
  readonly #rowIds: BigUint64Array;
  readonly #codes: Uint8Array;
  readonly #vectors: Float32Array | undefined;
  readonly #codeWidth: number;
  readonly #dim: number | undefined;
  readonly #batchRows: number;

  constructor(input: InMemoryPartitionInput) {
    checkOptions("input", input, ["numPartitions", "partitions", "codes", "codeWidth", "rowIds", "vectors", "dim", "batchRows"]);
    if (input === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "input", expected: "an InMemoryPartitionInput", given: input });
    const numPartitions = checkInteger("input.numPartitions", input.numPartitions, 1, 65_536);
    const codeWidth = checkInteger("input.codeWidth", input.codeWidth, 1, 65_536 * 4);
    const { partitions, codes } = input;
    if (!(partitions instanceof Uint32Array)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.partitions", expected: "a Uint32Array", given: partitions });
    const n = partitions.length;
    if (!(codes instanceof Uint8Array) || codes.length !== n * codeWidth) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.codes", expected: `a Uint8Array of n x codeWidth = ${n * codeWidth} bytes`, given: codes });
    if (input.rowIds !== undefined && (!(input.rowIds instanceof BigUint64Array) || input.rowIds.length !== n)) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.rowIds", expected: `a BigUint64Array of ${n} row ids`, given: input.rowIds });
    }
    if (input.vectors !== undefined) {
      const dim = checkInteger("input.dim", input.dim, 1, 65_536);
      if (!(input.vectors instanceof Float32Array) || input.vectors.length !== n * dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "input.vectors", expected: `a Float32Array of n x dim = ${n * dim} values`, given: input.vectors });
    }
    if (input.batchRows !== undefined) checkInteger("input.batchRows", input.batchRows, 1, 1 << 24);
    this.numPartitions = numPartitions;
    this.#codeWidth = codeWidth;
    this.#dim = input.vectors === undefined ? undefined : input.dim;
    this.#batchRows = input.batchRows ?? 65_536;
    this.payloadSchema = ivfPayloadSchema(codeWidth, this.#dim);
    // Counting sort: stable, so rows keep their input order inside a partition.
    const starts = new Uint32Array(numPartitions + 1);
    for (let i = 0; i < n; i++) {
      const p = partitions[i]!;
      if (p >= numPartitions) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `input.partitions[${i}]`, expected: `a partition below numPartitions = ${numPartitions}`, given: p });
      starts[p + 1]!++;
    }
    for (let p = 0; p < numPartitions; p++) starts[p + 1]! += starts[p]!;
    const cursor = starts.slice(0, numPartitions);
    const rowIds = new BigUint64Array(n);
    const grouped = new Uint8Array(n * codeWidth);
    const dim = this.#dim;
    const vectors = input.vectors !== undefined && dim !== undefined ? new Float32Array(n * dim) : undefined;
    for (let i = 0; i < n; i++) {
      const p = partitions[i]!;
      const at = cursor[p]!++;
      rowIds[at] = input.rowIds === undefined ? BigInt(i) : input.rowIds[i]!;
      grouped.set(codes.subarray(i * codeWidth, (i + 1) * codeWidth), at * codeWidth);
      if (vectors !== undefined && dim !== undefined) vectors.set(input.vectors!.subarray(i * dim, (i + 1) * dim), at * dim);
    }
    this.#starts = starts;
    this.#rowIds = rowIds;
    this.#codes = grouped;
    this.#vectors = vectors;
  }

  /** Rows in partition p. */
  partitionSize(p: number): number {
    return this.#starts[p + 1]! - this.#starts[p]!;
  }

  /** The rows of partition p as record batches of at most `batchRows` rows. */
  async *readPartition(p: number): AsyncIterable<RecordBatch> {
    const start = this.#starts[p]!;
    const end = this.#starts[p + 1]!;
    const cw = this.#codeWidth;
    const dim = this.#dim;
    for (let s = start; s < end; s += this.#batchRows) {
      const e = Math.min(end, s + this.#batchRows);
      yield ivfPayloadBatch(
        this.payloadSchema,
        this.#rowIds.subarray(s, e),
        this.#codes.subarray(s * cw, e * cw),
        cw,
        this.#vectors === undefined || dim === undefined ? undefined : this.#vectors.subarray(s * dim, e * dim),
        dim,
      );
    }
  }
}
