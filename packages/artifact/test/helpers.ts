import { Field, FixedSizeList, RecordBatch, Schema, Struct, Uint32, Uint64, Uint8, makeData } from "apache-arrow";

/** Payload schema of IVF_PQ with m-byte codes. */
export function pqSchema(m = 16): Schema {
  return new Schema([new Field("row_id", new Uint64(), false), new Field("code", new FixedSizeList(m, new Field("item", new Uint8(), false)), false)]);
}

/** Deterministic PRNG: the repository's one mulberry32 for test and fixture data (fixtures/_gen/internal/prng.ts). */
export { prng as rng } from "../../../fixtures/_gen/internal/prng.js";

/** Code byte j of row id r: a function of both, so a misplaced row is caught. */
export function codeByte(rowId: number, j: number): number {
  return (Math.imul(rowId + 1, 2654435761) >>> (j % 24)) & 0xff ^ j;
}

/** Partition of row r in the synthetic data: skewed so some partitions are large and some empty. */
export function partitionOfRow(rowId: number, numPartitions: number, seed: number): number {
  const h = Math.imul(rowId ^ seed, 2246822519) >>> 0;
  const u = h / 4294967296;
  // Quadratic skew; every third partition (id % 3 === 2) stays empty when there are enough of them.
  let p = Math.floor(u * u * numPartitions);
  if (numPartitions >= 3 && p % 3 === 2) p -= 1;
  return p;
}

/** An input batch (payload + `_part_id`) of rows [from, from + n). */
export function inputBatch(from: number, n: number, numPartitions: number, m = 16, seed = 1): RecordBatch {
  const ids = new BigUint64Array(n);
  const parts = new Uint32Array(n);
  const codes = new Uint8Array(n * m);
  for (let i = 0; i < n; i++) {
    const r = from + i;
    ids[i] = BigInt(r);
    parts[i] = partitionOfRow(r, numPartitions, seed);
    for (let j = 0; j < m; j++) codes[i * m + j] = codeByte(r, j);
  }
  const schema = new Schema([...pqSchema(m).fields, new Field("_part_id", new Uint32(), false)]);
  const children = [
    makeData({ type: new Uint64(), length: n, nullCount: 0, data: ids }),
    makeData({ type: schema.fields[1]!.type as FixedSizeList, length: n, nullCount: 0, child: makeData({ type: new Uint8(), length: n * m, nullCount: 0, data: codes }) }),
    makeData({ type: new Uint32(), length: n, nullCount: 0, data: parts }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
}

/** Check every row of a source: right partition, right code bytes, each row exactly once. */
export async function checkExactRoundTrip(
  source: { numPartitions: number; partitionSize(p: number): number; readPartition(p: number): AsyncIterable<RecordBatch> },
  totalRows: number,
  m = 16,
  seed = 1,
): Promise<void> {
  const seen = new Uint8Array(totalRows);
  let count = 0;
  for (let p = 0; p < source.numPartitions; p++) {
    let inP = 0;
    for await (const b of source.readPartition(p)) {
      const ids = b.getChild("row_id")!.toArray() as BigUint64Array;
      const codeData = b.getChild("code")!.data[0]!;
      const codes = codeData.children[0]!.values as Uint8Array;
      const base = codeData.children[0]!.offset + codeData.offset * m;
      for (let i = 0; i < b.numRows; i++) {
        const r = Number(ids[i]);
        if (r >= totalRows || seen[r] === 1) throw new Error(`row ${r} duplicated or unknown`);
        seen[r] = 1;
        if (partitionOfRow(r, source.numPartitions, seed) !== p) throw new Error(`row ${r} read in partition ${p}`);
        for (let j = 0; j < m; j++) if (codes[base + i * m + j] !== codeByte(r, j)) throw new Error(`row ${r} code byte ${j} differs`);
      }
      inP += b.numRows;
    }
    if (inP !== source.partitionSize(p)) throw new Error(`partition ${p}: read ${inP} rows, partitionSize ${source.partitionSize(p)}`);
    count += inP;
  }
  if (count !== totalRows) throw new Error(`read ${count} rows of ${totalRows}`);
}
