import { decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { RoaringBitmap32 } from "roaring-wasm";
import { beforeAll, describe, it } from "vitest";
import { addr, column } from "../../btree/test/helpers.js";
import { fuzzBytes, fuzzFrame } from "../../btree/test/hostile.js";
import {
  type BitmapIndex,
  RowAddressSet,
  bitmapIndexStateCodec,
  bitmapValueRowsCodec,
  buildBitmapIndex,
  buildLabelListIndex,
  decodeBitmapIndexFile,
  labelListIndexStateCodec,
  openBitmapIndex,
  openLabelListIndex,
  validatePortableRoaring,
} from "../src/index.js";

const store = new MemoryObjectStore();
let bitmap: BitmapIndex;
let labels: BitmapIndex;
beforeAll(async () => {
  await buildBitmapIndex(store, "h/b", [column("utf8", 60, 9, 0.2, 6)], { valueType: "utf8" });
  bitmap = await openBitmapIndex(store, "h/b");
  const rowIds = Array.from({ length: 30 }, (_, i) => addr(i % 3, i));
  await buildLabelListIndex(store, "h/l", [{ rowIds, values: rowIds.map((_, i) => (i % 7 === 0 ? null : [i % 4, (i * 3) % 5])) }], { valueType: "int32" });
  labels = await openLabelListIndex(store, "h/l");
});

describe("Bitmap decoders reject hostile but checksum-valid inputs with QuiverFormatError only", () => {
  it("cached Bitmap state", () => fuzzFrame(encodeCacheEntry(bitmapIndexStateCodec, bitmap.state), (b) => decodeCacheEntry(bitmapIndexStateCodec, b)));
  it("cached LabelList state", () => fuzzFrame(encodeCacheEntry(labelListIndexStateCodec, labels.state), (b) => decodeCacheEntry(labelListIndexStateCodec, b)));
  it("index file", async () => fuzzFrame(await store.get("h/b/index.qvr"), (b) => decodeBitmapIndexFile(b)));
  it("cached per-value rows", async () => fuzzFrame(encodeCacheEntry(bitmapValueRowsCodec, await labels.readValueRows(1)), (b) => decodeCacheEntry(bitmapValueRowsCodec, b)));
  it("row-address set bytes (array, run and bitmap containers, a full fragment)", () => {
    const dense = new RoaringBitmap32();
    for (let i = 0; i < 20_000; i += 3) dense.add(i);
    const ids = [...dense.toArray().map((o) => addr(4, o)), addr(1, 7), addr(1, 70_000), ...Array.from({ length: 3000 }, (_, i) => addr(2, 100 + i))];
    const set = RowAddressSet.fromRowIds(ids).or(RowAddressSet.fullFragments([3]));
    fuzzBytes(set.serialize(), (b) => RowAddressSet.deserialize(b));
  });
  it("portable roaring bytes alone", () => {
    const b = new RoaringBitmap32([1, 2, 3, 1000, 65_536, 70_000]);
    b.addRange(100_000, 100_500);
    b.runOptimize();
    fuzzBytes(b.serialize("portable"), (x) => validatePortableRoaring(x));
  });
});
