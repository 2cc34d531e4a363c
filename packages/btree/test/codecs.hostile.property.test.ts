import { decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, it } from "vitest";
import { type BTreeIndex, btreeIndexStateCodec, btreePageCodec, buildBTreeIndex, decodeBTreeIndexFile, decodePage, openBTreeIndex } from "../src/index.js";
import { column } from "./helpers.js";
import { fuzzFrame } from "./hostile.js";

const store = new MemoryObjectStore();
const indexes: Record<string, BTreeIndex> = {};
beforeAll(async () => {
  for (const type of ["utf8", "int64", "float32"] as const) {
    const col = column(type, 40, 4, 0.2, 12);
    await buildBTreeIndex(store, `h/${type}`, [col], { valueType: type, pageSize: 8, pagesPerFile: 3 });
    indexes[type] = await openBTreeIndex(store, `h/${type}`);
  }
});

describe("BTree decoders reject hostile but checksum-valid inputs with QuiverFormatError only", () => {
  for (const type of ["utf8", "int64", "float32"] as const) {
    it(`cached state (${type})`, () => {
      fuzzFrame(encodeCacheEntry(btreeIndexStateCodec, indexes[type]!.state), (b) => decodeCacheEntry(btreeIndexStateCodec, b));
    });
  }
  it("index file (utf8)", async () => {
    const bytes = await store.get("h/utf8/index.qvr");
    fuzzFrame(bytes, (b) => decodeBTreeIndexFile(b));
  });
  it("page frame and cached page (utf8 with NULLs, int64)", async () => {
    const last = indexes.utf8!.numPages - 1;
    const s = indexes.utf8!.state;
    const file = s.dataFiles[s.pageInfo[last * 8]!]!;
    const raw = await store.getRange(`h/utf8/${file.name}`, { offset: Number(s.pageRanges[2 * last]!), length: Number(s.pageRanges[2 * last + 1]!) });
    fuzzFrame(raw, (b) => decodePage(b));
    fuzzFrame(encodeCacheEntry(btreePageCodec, await indexes.int64!.readPage(1)), (b) => decodeCacheEntry(btreePageCodec, b));
  });
});
