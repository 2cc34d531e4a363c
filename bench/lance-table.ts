/** Bench vectors as the Arrow table LanceDB ingests: an int32 `id` column (0..n-1) and a FixedSizeList<float32> `vector` column. */
import { Field, FixedSizeList, Float32, Int32, RecordBatch, Schema, Struct, Table, makeData } from "apache-arrow";

/** `n` rows of `dim` floats from `data` (row-major) as an Arrow table with ids 0..n-1; the floats are not copied. */
export function arrowTable(data: Float32Array, n: number, dim: number): Table {
  const vecType = new FixedSizeList(dim, new Field("item", new Float32(), true));
  const schema = new Schema([new Field("id", new Int32(), false), new Field("vector", vecType, false)]);
  const ids = Int32Array.from({ length: n }, (_, i) => i);
  const children = [
    makeData({ type: new Int32(), length: n, data: ids }),
    makeData({ type: vecType, length: n, child: makeData({ type: new Float32(), length: n * dim, data }) }),
  ];
  return new Table(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, children })));
}
