import {
  Field,
  FixedSizeList,
  Float64,
  Int64,
  RecordBatch,
  RecordBatchFileReader,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Uint64,
  Uint8,
  makeData,
} from "apache-arrow";
import { describe, expect, it } from "vitest";
import { QuiverFormatError } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, PartitionArtifactWriter, canonicalPayloadRows, validateArtifact } from "../src/index.js";
import { type Files, retag, rewriteBucket } from "./reseal.js";
import { pqSchema } from "./helpers.js";

const M = 4;
const P = 6;

/** A small artifact (2 buckets, several ranges per bucket) as files. */
async function baseFiles(): Promise<Files> {
  const store = new MemoryObjectStore();
  const w = await PartitionArtifactWriter.create({ store, uri: "", numPartitions: P, payloadSchema: pqSchema(M), numBuckets: 2, memoryBudgetBytes: 600 });
  const n = 60;
  const ids = new Uint8Array(n * 8);
  const codes = new Uint8Array(n * M);
  for (let i = 0; i < n; i++) {
    new DataView(ids.buffer).setBigUint64(i * 8, BigInt(i), true);
    for (let j = 0; j < M; j++) codes[i * M + j] = (i * 7 + j) & 0xff;
  }
  await w.appendRows(Array.from({ length: n }, (_, i) => (i * 5) % P), [ids, codes]);
  await w.finish();
  const files: Files = {};
  for (const o of await store.list("")) files[o.path] = await store.get(o.path);
  return files;
}

async function storeOf(files: Files): Promise<MemoryObjectStore> {
  const s = new MemoryObjectStore();
  for (const [p, b] of Object.entries(files)) await s.put(p, b);
  return s;
}

async function readAll(files: Files): Promise<unknown[]> {
  const r = await PartitionArtifactReader.open(await storeOf(files), "");
  const out: unknown[] = [];
  for (let p = 0; p < r.numPartitions; p++) out.push((await r.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
  return out;
}

async function readError(files: Files): Promise<string> {
  try {
    await readAll(files);
    return "ok";
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw e;
    return e.code;
  }
}

async function codes(files: Files): Promise<string[]> {
  return [...new Set((await validateArtifact(await storeOf(files), "")).map((p) => p.code))].sort();
}

function rewriteBucket0(files: Files, edit: (batches: RecordBatch[]) => { batches: RecordBatch[] }, compress?: "lz4" | "zstd"): Files {
  return rewriteBucket(files, 0, edit, compress);
}

const codeType = (childNullable: boolean) => new FixedSizeList(M, new Field("item", new Uint8(), childNullable));

describe("bucket files other producers write (issue 15): reader and validator agree", () => {
  it("pyarrow's defaults (nullable fixed-size-list child, nullable top-level fields, no nulls) are accepted by both, rows unchanged", async () => {
    const base = await baseFiles();
    const expected = await readAll(base);
    const pyarrowish = rewriteBucket0(base, retag(new Schema([new Field("row_id", new Uint64(), true), new Field("code", codeType(true), true)])));
    expect(await codes(pyarrowish)).toEqual([]);
    expect(await readAll(pyarrowish)).toEqual(expected);
  });

  it("a null present (declared-nullable field) is rejected by both", async () => {
    const base = await baseFiles();
    const withNull = rewriteBucket0(base, (batches) => {
      const schema = new Schema([new Field("row_id", new Uint64(), true), new Field("code", codeType(false), false)]);
      return {
        schema,
        batches: batches.map((b, k) => {
          const ids = b.data.children[0]!;
          const bitmap = new Uint8Array(Math.ceil(ids.length / 8)).fill(0xff);
          if (k === 0) bitmap[0] = 0xfe;
          const idData = makeData({ type: new Uint64(), length: ids.length, nullCount: k === 0 ? 1 : 0, data: ids.values as BigUint64Array, nullBitmap: bitmap });
          return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: b.numRows, nullCount: 0, children: [idData, b.data.children[1]!] }));
        }),
      };
    });
    expect(await codes(withNull)).toEqual(["ARTIFACT_PAYLOAD_SCHEMA_MISMATCH"]);
    expect(await readError(withNull)).toBe("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH");
  });

  it("a renamed column and same-width type changes are rejected by the reader too, not only the validator (issue 8)", async () => {
    const base = await baseFiles();
    for (const schema of [
      new Schema([new Field("rowid", new Uint64(), false), new Field("code", codeType(false), false)]),
      new Schema([new Field("row_id", new Int64(), false), new Field("code", codeType(false), false)]),
      new Schema([new Field("row_id", new Float64(), false), new Field("code", codeType(false), false)]),
    ]) {
      const files = rewriteBucket0(base, retag(schema));
      expect(await codes(files), String(schema)).toEqual(["ARTIFACT_PAYLOAD_SCHEMA_MISMATCH"]);
      expect(await readError(files), String(schema)).toBe("ARTIFACT_PAYLOAD_SCHEMA_MISMATCH");
    }
  });

  it("a zero-row record batch is named with the rule it breaks", async () => {
    const base = await baseFiles();
    const files = rewriteBucket0(base, (batches) => {
      const schema = batches[0]!.schema;
      const empty = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 0, nullCount: 0, children: [makeData({ type: new Uint64(), length: 0, nullCount: 0, data: new BigUint64Array(0) }), makeData({ type: schema.fields[1]!.type as FixedSizeList, length: 0, nullCount: 0, child: makeData({ type: new Uint8(), length: 0, nullCount: 0, data: new Uint8Array(0) }) })] }));
      return { schema, batches: [batches[0]!, empty, ...batches.slice(1)] };
    });
    const problems = await validateArtifact(await storeOf(files), "");
    expect(problems[0]!.code).toBe("ARTIFACT_EMPTY_RANGE");
    expect(problems[0]!.message).toMatch(/record batch 1 of bucket .* has 0 rows: producers MUST NOT write zero-row record batches/);
    expect(await readError(files)).not.toBe("ok");
  });

  it("compressed bucket bodies are ARROW_COMPRESSED_BODY for both", async () => {
    const base = await baseFiles();
    for (const c of ["lz4", "zstd"] as const) {
      const files = rewriteBucket0(base, (batches) => ({ schema: pqSchema(M), batches }), c);
      expect(await codes(files)).toEqual(["ARROW_COMPRESSED_BODY"]);
      expect(await readError(files)).toBe("ARROW_COMPRESSED_BODY");
    }
  });
});
