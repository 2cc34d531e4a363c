import type { RecordBatch } from "apache-arrow";

/**
 * Partition id -> the encoded rows of that partition, as Arrow record batches of the payload
 * schema (for IVF: `row_id` UInt64 plus one code column, e.g. FixedSizeList<UInt8>[m] for PQ,
 * FixedSizeList<Float32>[dim] for flat vectors). The IVF finalizer consumes any implementation:
 * an in-memory grouping, a {@link PartitionArtifactReader}, or the two-file shuffle baseline.
 */
export interface PartitionSource {
  /** Number of logical partitions; ids are 0..numPartitions-1. */
  readonly numPartitions: number;
  /** The payload schema's fields, as Arrow fields (shared by every batch). */
  readonly payloadSchema: import("apache-arrow").Schema;
  /** Rows in partition `p` (0 for an empty partition). */
  partitionSize(p: number): number;
  /** The rows of partition `p` only, in a stable order; yields nothing for an empty partition. */
  readPartition(p: number): AsyncIterable<RecordBatch>;
  /**
   * Optional: the same rows as `readPartition(p)`, as each payload column's row bytes (field
   * order, row-contiguous, possibly unaligned views): for a consumer that copies bytes and needs no
   * Arrow objects (the streamed index writer prefers it when present).
   */
  readPartitionColumns?(p: number): AsyncIterable<{ readonly rows: number; readonly columns: readonly Uint8Array[] }>;
}
