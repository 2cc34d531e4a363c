/**
 * The JSON Schema of a segment manifest (spec/schemas/segment-manifest.schema.json holds the same
 * object; a test keeps them equal). Shape and limits only: the rules across fields (version vs
 * object name, canonical ranges, digests agreeing, unique ids and paths, disjoint rows) are
 * checked after it (spec/segments.md#manifest-validation).
 */
export const SEGMENT_MANIFEST_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://quiver.dev/spec/schemas/segment-manifest.schema.json",
  title: "Quiver segment manifest (format 1)",
  type: "object",
  additionalProperties: false,
  required: ["formatVersion", "version", "createdAt", "dims", "distanceType", "modelDigest", "segments"],
  properties: {
    formatVersion: { type: "string", pattern: "^1\\.(0|[1-9][0-9]{0,3})$" },
    version: { type: "integer", minimum: 1, maximum: 9007199254740991 },
    createdAt: { type: "string", minLength: 20, maxLength: 30, pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$" },
    dims: { type: "integer", minimum: 1, maximum: 65536 },
    distanceType: { enum: ["l2", "cosine", "dot"] },
    modelDigest: { type: "string", pattern: "^[0-9a-f]{64}$" },
    segments: {
      type: "array",
      minItems: 1,
      maxItems: 100000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["segmentId", "shard", "path", "rows", "rowIdRanges", "modelDigest", "inputVersion", "indexIdentity", "bytes"],
        properties: {
          segmentId: { type: "string", pattern: "^[a-z0-9][a-z0-9._-]{0,127}$" },
          shard: { type: "string", minLength: 1, maxLength: 256 },
          path: { type: "string", minLength: 1, maxLength: 1024 },
          rows: { type: "integer", minimum: 1, maximum: 9007199254740991 },
          rowIdRanges: {
            type: "array",
            minItems: 1,
            maxItems: 65536,
            items: {
              type: "array",
              minItems: 2,
              maxItems: 2,
              items: { type: "string", pattern: "^(0|[1-9][0-9]{0,19})$" },
            },
          },
          modelDigest: { type: "string", pattern: "^[0-9a-f]{64}$" },
          inputVersion: { type: "string", minLength: 1, maxLength: 1024 },
          indexIdentity: { type: "string", pattern: "^[0-9a-f]{64}$" },
          bytes: { type: "integer", minimum: 1, maximum: 9007199254740991 },
        },
      },
    },
  },
} as const;
