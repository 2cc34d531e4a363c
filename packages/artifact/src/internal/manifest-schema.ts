/**
 * The JSON Schema of `manifest.json` (spec/schemas/artifact-manifest.schema.json holds the same
 * document; a test keeps them equal). Embedded so the package does not read files at runtime.
 */
export const MANIFEST_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://quiver.dev/spec/schemas/artifact-manifest.schema.json",
  title: "Quiver partition artifact manifest (formats 1 and 2)",
  type: "object",
  additionalProperties: false,
  required: ["format", "version", "artifact_id", "num_partitions", "payload_schema", "bucket_policy", "buckets", "ranges", "total_rows"],
  properties: {
    format: { const: "quiver-partition-artifact" },
    version: { type: "integer", minimum: 1, maximum: 65535 },
    artifact_id: {
      description: "128-bit random id of this write, 32 lowercase hex digits; a rewritten artifact gets a new one (spec/artifact.md#identity).",
      type: "string",
      pattern: "^[0-9a-f]{32}$",
    },
    num_partitions: { type: "integer", minimum: 1, maximum: 1048576 },
    payload_schema: {
      type: "array",
      minItems: 1,
      maxItems: 64,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["name", "type"],
        properties: {
          name: { type: "string", minLength: 1, maxLength: 256 },
          type: { type: "string", maxLength: 64 },
        },
      },
    },
    bucket_policy: {
      type: "object",
      additionalProperties: false,
      required: ["kind", "num_buckets"],
      properties: {
        kind: { enum: ["hash-modulo", "range-by-partition-id", "size-balanced-range"] },
        num_buckets: { type: "integer", minimum: 1, maximum: 4096 },
        bucket_first_partition: {
          type: "array",
          maxItems: 4096,
          items: { type: "integer", minimum: 0, maximum: 1048575 },
        },
      },
    },
    buckets: {
      type: "array",
      minItems: 1,
      maxItems: 4096,
      items: { $ref: "#/definitions/file" },
    },
    ranges: {
      description:
        "The ranges table file. Format 2 (spec/artifact.md#compact-ranges-table): the compact binary table (magic QVRANGE2, ranges per bucket, then columns crc32, partition and row_count). Format 1 (spec/artifact.md#ranges-table): an Arrow IPC file of five non-null uint32 columns partition, bucket, row_offset, row_count, crc32 sorted by (bucket, row_offset). crc32 here covers the whole file.",
      type: "object",
      additionalProperties: false,
      required: ["path", "num_ranges", "byte_size", "crc32"],
      properties: {
        path: { $ref: "#/definitions/path" },
        num_ranges: { type: "integer", minimum: 0, maximum: 268435456 },
        byte_size: { type: "integer", minimum: 1, maximum: 4294967295 },
        crc32: { $ref: "#/definitions/crc32" },
      },
    },
    total_rows: { type: "integer", minimum: 0, maximum: 9007199254740991 },
  },
  definitions: {
    path: { type: "string", minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$" },
    crc32: { type: "integer", minimum: 0, maximum: 4294967295 },
    file: {
      type: "object",
      additionalProperties: false,
      required: ["path", "num_rows", "byte_size", "crc32"],
      properties: {
        path: { $ref: "#/definitions/path" },
        num_rows: { type: "integer", minimum: 0, maximum: 4294967295 },
        byte_size: { type: "integer", minimum: 1, maximum: 9007199254740991 },
        crc32: { $ref: "#/definitions/crc32" },
      },
    },
  },
} as const;
