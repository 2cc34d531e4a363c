/**
 * Raw row-group checksums (spec/ivf.md#raw-row-group-checksums): refine's partial raw reads are
 * verified. A byte flipped inside one raw vector of a kind version 3 file whose container CRCs and
 * identity are all re-sealed is caught by the row-group CRC alone (typed error cold, never a
 * changed refine result); a corrupted cache entry is a counted miss that reloads; kind version 2
 * files still search identically (refine from whole verified raw sections).
 */
import { readFileSync } from "node:fs";
import { IndexCache } from "@quiver/cache";
import { QuiverFormatError, encodeFrame, inspectFrameHeader, jsonSection, parseJsonBytes, typedView, type SectionInput } from "@quiver/format";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  IVF_INDEX_KIND,
  IVF_INDEX_TYPE_NAME,
  IVF_SECTION,
  IvfVectorIndex,
  type PartitionLocation,
  computeIndexIdentity,
  computeRawRowGroupChecksums,
  encodeIvfIndex,
  openVectorIndex,
  parseIvfIndexMetadata,
  rawRowGroupRowsFor,
  rawRowGroupTable,
  readIvfIndexState,
} from "../src/index.js";
import { firstBadRawRowGroup, rawRowGroupMatches } from "../src/raw-row-groups.js";
import { syntheticIndexInput } from "./helpers.js";

const PATH = "idx";
const fixturesDir = new URL("../../../fixtures/ivf/v1/", import.meta.url);

/** Re-encode a file with edited sections; every container CRC recomputed, then the identity recomputed and written in. */
function resealed(file: Uint8Array, edit: (s: SectionInput[]) => SectionInput[]): Uint8Array {
  const h = inspectFrameHeader(file);
  const sections = edit(h.sections.map((s) => ({ id: s.id, encoding: s.encoding, bytes: file.slice(s.offset, s.offset + s.length) })));
  const sealed = encodeFrame({ kind: IVF_INDEX_KIND, kindVersion: h.kindVersion, typeName: IVF_INDEX_TYPE_NAME, sections });
  const h2 = inspectFrameHeader(sealed);
  const bytesOf = (id: number): Uint8Array | undefined => {
    const s = h2.sections.find((x) => x.id === id);
    return s === undefined ? undefined : sealed.slice(s.offset, s.offset + s.length);
  };
  const meta = parseIvfIndexMetadata(parseJsonBytes(bytesOf(IVF_SECTION.metadata)!));
  const rows = typedView(bytesOf(IVF_SECTION.rowCounts)!, "u32");
  const partitions: PartitionLocation[] = Array.from({ length: meta.numPartitions }, (_, p) => {
    const s = h2.sections.find((x) => x.id === IVF_SECTION.partitionBase + p)!;
    const r = h2.sections.find((x) => x.id === IVF_SECTION.rawVectorBase + p);
    return { rows: rows[p]!, offset: s.offset, length: s.length, crc32: s.crc32, ...(r === undefined ? {} : { raw: { offset: r.offset, length: r.length, crc32: r.crc32 } }) };
  });
  const table = bytesOf(IVF_SECTION.rawRowGroupChecksums);
  const identity = computeIndexIdentity({
    metadata: meta,
    centroids: typedView(bytesOf(IVF_SECTION.centroids)!, "f32"),
    arrays: meta.quantizer.arrays.map((a, i) => typedView(bytesOf(IVF_SECTION.quantizerArrayBase + i)!, a.encoding)),
    partitions,
    ...(table === undefined ? {} : { rawRowGroupCrcs: typedView(table, "u32") }),
  });
  const withIdentity = sections.map((x) => (x.id === IVF_SECTION.metadata ? jsonSection(IVF_SECTION.metadata, { ...(JSON.parse(new TextDecoder().decode(x.bytes)) as object), identity }) : x));
  return encodeFrame({ kind: IVF_INDEX_KIND, kindVersion: h.kindVersion, typeName: IVF_INDEX_TYPE_NAME, sections: withIdentity });
}

/** Flip one bit of raw-vector byte `at` of partition p. */
function flipRaw(file: Uint8Array, p: number, at: number): Uint8Array {
  return resealed(file, (s) =>
    s.map((x) => {
      if (x.id !== IVF_SECTION.rawVectorBase + p) return x;
      const bytes = x.bytes.slice();
      bytes[at] = bytes[at]! ^ 0x04;
      return { ...x, bytes };
    }),
  );
}

async function storeWith(file: Uint8Array): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  await store.put(PATH, file);
  return store;
}

// dim 96: 42 rows per 16 KiB row group; 600 rows over 3 partitions -> several groups each.
const DIM = 96;
const input = syntheticIndexInput({ n: 600, dim: DIM, numPartitions: 3, codeWidth: DIM, raw: true, seed: 77 });
const REFINE = { k: 5, nprobes: 3, refineFactor: 200 } as const; // every row is a candidate
const queries = Array.from({ length: 6 }, (_, i) => input.vectors.slice(i * 37 * DIM, (i * 37 + 1) * DIM).map((x) => x + 0.01));

describe("kind version 3 raw row groups", () => {
  it("the writer records rawRowGroupRows and one CRC-32 per row group, each matching its bytes", async () => {
    const { bytes, metadata } = await encodeIvfIndex(input);
    expect(inspectFrameHeader(bytes).kindVersion).toBe(3);
    expect(metadata.rawRowGroupRows).toBe(rawRowGroupRowsFor(DIM));
    expect(rawRowGroupRowsFor(DIM)).toBe(42);
    const state = await readIvfIndexState(await storeWith(bytes), PATH);
    const table = state.rawRowGroups!;
    expect(table.rowsPerGroup).toBe(42);
    state.partitions.forEach((loc, p) => {
      expect(table.first[p + 1]! - table.first[p]!).toBe(Math.ceil(loc.rows / 42));
      const raw = bytes.subarray(loc.raw!.offset, loc.raw!.offset + loc.raw!.length);
      expect(firstBadRawRowGroup(table, p, raw, DIM)).toBe(-1);
    });
  });

  it("a byte flipped in one raw vector, every container CRC and the identity re-sealed: refine raises RAW_ROW_GROUP_CHECKSUM_MISMATCH cold; plain search is unaffected", async () => {
    const { bytes } = await encodeIvfIndex(input);
    const clean = await storeWith(bytes);
    const state = await readIvfIndexState(clean, PATH);
    const p = state.partitions.findIndex((l) => l.rows > 100);
    const row = 90; // row group 2 of partition p
    const bad = flipRaw(bytes, p, row * DIM * 4 + 5);
    const store = await storeWith(bad);
    // The file opens: only the row-group CRC disagrees with the bytes.
    const badState = await readIvfIndexState(store, PATH);
    expect(badState.metadata.identity).not.toBe(state.metadata.identity);
    const expectedPlain = await (await openVectorIndex(clean, PATH)).search(queries[0]!, { k: 5, nprobes: 3 });
    for (const open of [() => openVectorIndex(store, PATH, { onWarning: () => undefined }), async () => new IvfVectorIndex(store, badState), async () => new IvfVectorIndex(store, badState, { cache: IndexCache.inMemory() })]) {
      const index = await open();
      expect(await index.search(queries[0]!, { k: 5, nprobes: 3 })).toEqual(expectedPlain);
      const err = await index.search(queries[0]!, REFINE).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(QuiverFormatError);
      expect(err).toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH", stage: "checksum", offset: badState.partitions[p]!.raw!.offset + 84 * DIM * 4 });
    }
    // Whole-section reads (prewarm, loadPartitionVectors) check the row groups too.
    await expect(new IvfVectorIndex(store, badState).readPartitionVectors(p)).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH" });
    await expect((await openVectorIndex(store, PATH, { cache: IndexCache.inMemory() })).prewarm()).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH" });
  });

  it("a corrupted raw-vector cache entry is a counted miss that reloads from the store, never a changed refine result", async () => {
    const { bytes } = await encodeIvfIndex(input);
    const reference = await (await openVectorIndex(await storeWith(bytes), PATH)).searchBatch(queries, REFINE);
    const cache = IndexCache.inMemory();
    const io = new IoStatsStore(await storeWith(bytes));
    const index = await openVectorIndex(io, PATH, { cache });
    // A forged entry: the right shape, one float changed (as if re-sealed in a persistent backend).
    const p = 1;
    const good = await index.readPartitionVectors(p);
    const forged = { ...good, vectors: good.vectors.slice() };
    forged.vectors[7 * DIM + 3] = forged.vectors[7 * DIM + 3]! + 0.5;
    await cache.insert(index.vectorsCacheKey(p), forged);
    const before = io.snapshot().total.readRequests;
    expect(await index.searchBatch(queries, REFINE)).toEqual(reference);
    expect(index.cacheRejects().vectors).toBeGreaterThan(0);
    expect(io.snapshot().total.readRequests).toBeGreaterThan(before);
    // The row groups read instead are cached: a second pass is all hits.
    const stats1 = index.cacheStats().rawRows;
    expect(stats1.misses).toBeGreaterThan(0);
    expect(await index.searchBatch(queries, REFINE)).toEqual(reference);
    expect(index.cacheStats().rawRows.hits).toBeGreaterThan(stats1.hits);
  });

  it("kind version 2 files still open and search identically (plain and refine), through whole verified raw sections", async () => {
    const v3 = (await encodeIvfIndex(input)).bytes;
    const v2 = (await encodeIvfIndex({ ...input, kindVersion: 2 })).bytes;
    expect(inspectFrameHeader(v2).kindVersion).toBe(2);
    const s2 = await readIvfIndexState(await storeWith(v2), PATH);
    expect(s2.rawRowGroups).toBeUndefined();
    expect(s2.metadata.rawRowGroupRows).toBeUndefined();
    for (const opts of [REFINE, { k: 10, nprobes: 2, refineFactor: 3 }, { k: 10, nprobes: 2 }]) {
      const a = await (await openVectorIndex(await storeWith(v3), PATH)).searchBatch(queries, opts);
      const b = await (await openVectorIndex(await storeWith(v2), PATH)).searchBatch(queries, opts);
      expect(b).toEqual(a);
    }
    // A v2 refine reads each candidate partition's raw section once, then serves from the row cache.
    const io = new IoStatsStore(await storeWith(v2));
    const index = await openVectorIndex(io, PATH);
    await index.search(queries[0]!, REFINE);
    const reads = io.snapshot().total.readRequests;
    await index.search(queries[0]!, REFINE);
    expect(io.snapshot().total.readRequests).toBe(reads);
  });

  it("the committed v2 and v3 fixtures answer the same refine search", async () => {
    const hits = [];
    for (const name of ["ivf-search-file-refine", "ivf-search-file-refine-v2"]) {
      const bin = new Uint8Array(readFileSync(new URL(`valid/${name}.bin`, fixturesDir)));
      const side = JSON.parse(readFileSync(new URL(`valid/${name}.json`, fixturesDir), "utf8")) as { input: { query: string; k: number; nprobes: number; refineFactor: number }; expected: { hits: { rowId: string; distance: string }[] } };
      const q = new Float32Array(new Uint8Array(Buffer.from(side.input.query, "hex")).buffer);
      const index = await openVectorIndex(await storeWith(bin), PATH, { fileSize: bin.byteLength });
      const got = (await index.search(q, { k: side.input.k, nprobes: side.input.nprobes, refineFactor: side.input.refineFactor, idType: "bigint" })).map((h) => ({ rowId: String(h.id), distance: h.distance.toFixed(4) }));
      expect(got).toEqual(side.expected.hits);
      hits.push(got);
    }
    expect(hits[1]).toEqual(hits[0]);
  });
});

describe("row-group checksums, property", () => {
  it("every row group verifies, and any single-byte change of the raw vectors is detected in the group that holds it (10,000 cases)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (dim, rowCounts, G, seed, where, xor) => {
          // Small dims and groups keep the 10,000 cases cheap and give several groups per partition.
          let s = seed;
          const raws = rowCounts.map((rows) => {
            const b = new Uint8Array(rows * dim * 4);
            for (let i = 0; i < b.length; i++) b[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
            return b;
          });
          const parts = raws.map((raw, p) => computeRawRowGroupChecksums(raw, rowCounts[p]!, dim, G));
          const all = new Uint32Array(parts.reduce((n, a) => n + a.length, 0));
          let at = 0;
          for (const a of parts) {
            all.set(a, at);
            at += a.length;
          }
          const table = rawRowGroupTable(G, rowCounts, all, "payload");
          raws.forEach((raw, p) => expect(firstBadRawRowGroup(table, p, raw, dim)).toBe(-1));
          const total = raws.reduce((n, r) => n + r.byteLength, 0);
          if (total === 0) return;
          // one byte of all the raw sections, changed
          let off = where % total;
          let p = 0;
          while (off >= raws[p]!.byteLength) off -= raws[p++]!.byteLength;
          const raw = raws[p]!.slice();
          raw[off] = raw[off]! ^ xor;
          const g = Math.floor(off / (G * dim * 4));
          expect(firstBadRawRowGroup(table, p, raw, dim)).toBe(g);
          const groupBytes = raw.subarray(g * G * dim * 4, Math.min(raw.byteLength, (g + 1) * G * dim * 4));
          expect(rawRowGroupMatches(table, p, g, groupBytes)).toBe(false);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it("end to end over random dims and rows: a flipped raw byte in a re-sealed file fails refine with the typed error, the clean file answers (40 cases)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 700 }), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 3 }), fc.nat(), fc.integer({ min: 1, max: 1000 }), async (dim, n, P, where, seed) => {
        const inp = syntheticIndexInput({ n, dim, numPartitions: P, codeWidth: dim, raw: true, seed });
        const { bytes } = await encodeIvfIndex(inp);
        const state = await readIvfIndexState(await storeWith(bytes), PATH);
        const q = inp.vectors.slice(0, dim);
        const opts = { k: 3, nprobes: P, refineFactor: Math.ceil(n / 3) + 1 };
        await (await openVectorIndex(await storeWith(bytes), PATH)).search(q, opts);
        const withRows = state.partitions.map((l, p) => ({ l, p })).filter(({ l }) => l.rows > 0);
        const { l, p } = withRows[where % withRows.length]!;
        const bad = flipRaw(bytes, p, where % l.raw!.length);
        const index = await openVectorIndex(await storeWith(bad), PATH, { onWarning: () => undefined });
        await expect(index.search(q, opts)).rejects.toMatchObject({ code: "RAW_ROW_GROUP_CHECKSUM_MISMATCH", stage: "checksum" });
      }),
      { numRuns: 40 },
    );
  });
});
