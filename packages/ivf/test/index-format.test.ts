import { readFileSync } from "node:fs";
import { decodeCacheEntry, encodeCacheEntry } from "@quiver/cache";
import { QuiverFormatError, encodeFrame, jsonSection } from "@quiver/format";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import {
  COLD_OPEN_PREFIX_BYTES,
  IVF_INDEX_KIND,
  IVF_INDEX_STATE_TYPE_NAME,
  IVF_INDEX_TYPE_NAME,
  IVF_SECTION,
  PARTITION_TYPE_NAMES,
  PARTITION_VECTORS_TYPE_NAME,
  encodeIvfIndex,
  ivfIndexStateCodec,
  partitionEntryCodecs,
  partitionEntryFromSection,
  partitionVectorsCodec,
  readIvfIndexState,
  writeIvfIndex,
} from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

async function written(o: Parameters<typeof syntheticIndexInput>[0]) {
  const input = syntheticIndexInput(o);
  const inner = new MemoryObjectStore();
  const res = await writeIvfIndex(inner, "idx/index.qvr", input);
  const store = new IoStatsStore(inner);
  return { input, inner, store, res };
}

describe("IVF index file", () => {
  it("round-trips metadata, centroids, quantizer arrays and the partition table", async () => {
    const { input, store, res } = await written({ n: 500, dim: 8, numPartitions: 7, codeWidth: 8, raw: true, emptyPartition: 3 });
    const state = await readIvfIndexState(store, "idx/index.qvr", res.fileSize);
    expect(state.fileSize).toBe(res.fileSize);
    expect(state.metadata.numRows).toBe(500);
    expect(state.metadata.rawVectors).toBe(true);
    expect(Array.from(state.centroids)).toEqual(Array.from(input.centroids));
    expect(Array.from(state.quantizer.arrays.lower!)).toEqual(Array.from(input.quantizer.arrays.lower!));
    expect(state.quantizer.params).toEqual({ bits: 8 });
    const counts = new Array(7).fill(0);
    for (const p of input.partitions) counts[p]++;
    expect(state.partitions.map((p) => p.rows)).toEqual(counts);
    expect(state.partitions[3]!.rows).toBe(0);
    // Every partition is one contiguous 64-aligned range holding its row ids then its codes.
    for (const [p, loc] of state.partitions.entries()) {
      expect(loc.offset % 64).toBe(0);
      const bytes = await store.getRange("idx/index.qvr", { offset: loc.offset, length: loc.length });
      const entry = partitionEntryFromSection("sq", p, loc.rows, 8, bytes);
      const rows = [...entry.rowIds].map(Number);
      expect(rows.every((r) => input.partitions[r] === p)).toBe(true);
      expect(rows).toEqual([...rows].sort((a, b) => a - b));
      const raw = await store.getRange("idx/index.qvr", { offset: loc.raw!.offset, length: loc.raw!.length });
      const vec = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      rows.forEach((r, i) => expect(Array.from(vec.subarray(i * 8, i * 8 + 8))).toEqual(Array.from(input.vectors.subarray(r * 8, r * 8 + 8))));
    }
  });

  it("cold open of a small index is one ranged read and no HEAD when the size is known", async () => {
    const { store, res } = await written({ n: 100, dim: 8, numPartitions: 4, codeWidth: 8, raw: false });
    expect(res.fileSize).toBeLessThan(COLD_OPEN_PREFIX_BYTES);
    store.reset();
    await readIvfIndexState(store, "idx/index.qvr", res.fileSize);
    expect(store.snapshot().total).toMatchObject({ readRequests: 1, heads: 0 });
    store.reset();
    // Unknown size: the speculative 64 KiB read is refused, a whole-object get follows.
    await readIvfIndexState(store, "idx/index.qvr");
    expect(store.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
  });

  it("cold open reads the metadata past 64 KiB with one more read, and a table past 64 KiB with one more", async () => {
    // 64 partitions x dim 512 centroids = 128 KiB of metadata.
    const big = await written({ n: 200, dim: 512, numPartitions: 64, codeWidth: 512, raw: false });
    big.store.reset();
    const s1 = await readIvfIndexState(big.store, "idx/index.qvr");
    expect(s1.metadata.numPartitions).toBe(64);
    expect(big.store.snapshot().total).toMatchObject({ readRequests: 2, heads: 0 });
    // 2,500 partitions: the section table alone is 80 KiB.
    const many = await written({ n: 3000, dim: 4, numPartitions: 2500, codeWidth: 4, raw: false });
    many.store.reset();
    const s2 = await readIvfIndexState(many.store, "idx/index.qvr", many.res.fileSize);
    expect(s2.partitions.length).toBe(2500);
    expect(many.store.snapshot().total).toMatchObject({ readRequests: 3, heads: 0 });
  });

  it("rejects a frame of another kind and a truncated file with QuiverFormatError", async () => {
    const store = new MemoryObjectStore();
    await store.put("x", encodeFrame({ kind: 1, kindVersion: 1, typeName: "ivf-index", sections: [jsonSection(0, {})] }));
    await expect(readIvfIndexState(store, "x")).rejects.toMatchObject({ code: "WRONG_KIND" });
    const { bytes } = await encodeIvfIndex(syntheticIndexInput({ n: 50, dim: 4, numPartitions: 2, codeWidth: 4, raw: false }));
    await store.put("t", bytes.subarray(0, bytes.byteLength - 10));
    await expect(readIvfIndexState(store, "t")).rejects.toBeInstanceOf(QuiverFormatError);
    await expect(readIvfIndexState(store, "t", bytes.byteLength - 10)).rejects.toMatchObject({ code: "BAD_FRAME_LENGTH" });
  });

  it("rejects metadata that disagrees with the partition sections", async () => {
    const input = syntheticIndexInput({ n: 50, dim: 4, numPartitions: 2, codeWidth: 4, raw: false });
    const { bytes, metadata } = await encodeIvfIndex(input);
    // Re-encode the same sections with numRows off by one.
    const store = new MemoryObjectStore();
    await store.put("ok", bytes);
    const good = await readIvfIndexState(store, "ok");
    const bad = { ...good, metadata: { ...metadata, numRows: metadata.numRows + 1 } };
    const entry = encodeCacheEntry(ivfIndexStateCodec, bad);
    expect(() => decodeCacheEntry(ivfIndexStateCodec, entry)).toThrow(expect.objectContaining({ code: "PARTITION_LENGTH_MISMATCH" }));
  });
});

describe("cache codecs", () => {
  it("IvfIndexState round-trips with centroids and quantizer arrays viewing the cached bytes", async () => {
    const { store, res } = await written({ n: 300, dim: 16, numPartitions: 5, codeWidth: 16, raw: true });
    const state = await readIvfIndexState(store, "idx/index.qvr", res.fileSize);
    const bytes = encodeCacheEntry(ivfIndexStateCodec, state);
    const { value } = decodeCacheEntry(ivfIndexStateCodec, bytes);
    expect(value.path).toBe(state.path);
    expect(value.fileSize).toBe(state.fileSize);
    expect(value.metadata).toEqual(state.metadata);
    expect(value.partitions).toEqual(state.partitions);
    expect(Array.from(value.centroids)).toEqual(Array.from(state.centroids));
    expect(value.centroids.buffer).toBe(bytes.buffer);
    expect(value.quantizer.arrays.upper!.buffer).toBe(bytes.buffer);
  });

  it("partition entries of every kind decode zero-copy; a kind mismatch is refused", () => {
    const rowIds = BigUint64Array.from([5n, 9n, 2n ** 60n]);
    const codes = Uint8Array.from({ length: 3 * 5 }, (_, i) => i * 7);
    for (const kind of ["flat", "sq", "pq", "rabitq"] as const) {
      const codec = partitionEntryCodecs[kind];
      const bytes = encodeCacheEntry(codec, { kind, partition: 4, rows: 3, codeWidth: 5, rowIds, codes });
      const { value } = decodeCacheEntry(codec, bytes);
      expect(value).toMatchObject({ kind, partition: 4, rows: 3, codeWidth: 5 });
      expect([...value.rowIds]).toEqual([...rowIds]);
      expect([...value.codes]).toEqual([...codes]);
      expect(value.rowIds.buffer).toBe(bytes.buffer);
      expect(value.codes.buffer).toBe(bytes.buffer);
      const other = kind === "pq" ? partitionEntryCodecs.sq : partitionEntryCodecs.pq;
      expect(() => decodeCacheEntry(other, bytes)).toThrow(expect.objectContaining({ code: "WRONG_TYPE_NAME" }));
    }
    const vbytes = encodeCacheEntry(partitionVectorsCodec, { partition: 1, rows: 2, dim: 3, vectors: Float32Array.from([1, 2, 3, 4, 5, 6]) });
    const v = decodeCacheEntry(partitionVectorsCodec, vbytes).value;
    expect(Array.from(v.vectors)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(v.vectors.buffer).toBe(vbytes.buffer);
  });

  it("partition entry lengths are checked against the declared rows", () => {
    const codec = partitionEntryCodecs.pq;
    const bytes = encodeCacheEntry(codec, { kind: "pq", partition: 0, rows: 3, codeWidth: 2, rowIds: BigUint64Array.from([1n, 2n]), codes: new Uint8Array(6) });
    expect(() => decodeCacheEntry(codec, bytes)).toThrow(expect.objectContaining({ code: "PARTITION_LENGTH_MISMATCH" }));
    expect(IVF_SECTION.partitionBase).toBe(0x10000000);
  });
});

describe("spec registries", () => {
  const read = (name: string) =>
    readFileSync(new URL(`../../../spec/${name}`, import.meta.url), "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(","));
  it("spec/registry.csv lists the IVF kind and every IVF type name the code uses", () => {
    const rows = read("registry.csv");
    expect(rows).toContainEqual(["kind", IVF_INDEX_TYPE_NAME, String(IVF_INDEX_KIND), "ivf", "ivf.md"]);
    const types = rows.filter((r) => r[0] === "type" && r[3] === "ivf").map((r) => r[1]);
    for (const name of [IVF_INDEX_TYPE_NAME, IVF_INDEX_STATE_TYPE_NAME, PARTITION_VECTORS_TYPE_NAME, ...Object.values(PARTITION_TYPE_NAMES)]) expect(types).toContain(name);
  });
  it("spec/error-codes.csv defines the IVF error code", () => {
    expect(read("error-codes.csv").map((r) => r[0])).toContain("PARTITION_LENGTH_MISMATCH");
  });
});
