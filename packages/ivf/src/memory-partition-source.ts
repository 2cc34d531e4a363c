/**
 * The in-memory grouping `PartitionSource` of the direct build: rows assigned to partitions are
 * grouped by a counting sort and served as Arrow record batches (`row_id` UInt64, `code`
 * FixedSizeList<UInt8>[codeWidth], optional `vector` FixedSizeList<Float32>[dim]).
 */
import type { PartitionSource } from "@quiver/artifact";
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
    const { numPartitions, partitions, codes, codeWidth } = input;
    const n = partitions.length;
    if (codes.length !== n * codeWidth) throw new RangeError(`codes has ${codes.length} bytes, expected ${n * codeWidth}`);
    if (input.vectors !== undefined && (input.dim === undefined || input.vectors.length !== n * input.dim)) throw new RangeError("vectors length does not match n * dim");
    this.numPartitions = numPartitions;
    this.#codeWidth = codeWidth;
    this.#dim = input.vectors === undefined ? undefined : input.dim;
    this.#batchRows = input.batchRows ?? 65_536;
    this.payloadSchema = ivfPayloadSchema(codeWidth, this.#dim);
    // Counting sort: stable, so rows keep their input order inside a partition.
    const starts = new Uint32Array(numPartitions + 1);
    for (let i = 0; i < n; i++) {
      const p = partitions[i]!;
      if (p >= numPartitions) throw new RangeError(`row ${i} assigned to partition ${p} of ${numPartitions}`);
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
