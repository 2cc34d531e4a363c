import { readdirSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isQuiverArgumentError } from "@quiver/format";
import { encodeIvfIndex, openVectorIndex } from "@quiver/ivf";
import { PartitionArtifactReader } from "@quiver/artifact";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { describe, expect, it } from "vitest";
import { buildIndex, buildIndexInMemory, encodeNpyF32, writeIvfIndexStreamed } from "../src/index.js";
import { FAST, smallData, tempDir } from "./helpers.js";

const DIM = 16;

describe("buildIndex (streaming pipeline)", () => {
  it("with the in-memory path's model gives a byte-identical index (stated equivalence)", async () => {
    const vectors = smallData(3000, DIM);
    const store = new MemoryObjectStore();
    const mem = await buildIndexInMemory({ store, path: "mem.qvr", vectors, dim: DIM, ...FAST });
    // the streaming path, fed the same model, in batches far smaller than the input
    const streamed = await buildIndex({ input: { vectors, dim: DIM }, store, path: "stream.qvr", model: mem.model, threads: 1, memoryBudgetBytes: 64 * 1024 * 1024 });
    expect(streamed.phases.map((p) => `${p.phase}:${p.status}`)).toEqual(["sample:skipped", "train-ivf:skipped", "train-quantizer:skipped", "assign-encode:ran", "finalize:ran"]);
    const a = await store.get("mem.qvr");
    const b = await store.get("stream.qvr");
    expect(b.byteLength).toBe(a.byteLength);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
  });

  it("spills the finalize of a non-local store into tempDir (removed after), and checks tempDir before any work", async () => {
    const vectors = smallData(3000, DIM);
    const spill = await tempDir("quiver-spill-");
    try {
      const store = new MemoryObjectStore();
      const seen: string[][] = [];
      await buildIndex({
        input: { vectors, dim: DIM }, store, path: "spilled.qvr", ...FAST, tempDir: spill.dir,
        // synchronously, while the finalize's spill file exists
        onProgress: (e) => void (e.phase === "finalize" ? seen.push(readdirSync(spill.dir)) : undefined),
      });
      const reference = await buildIndex({ input: { vectors, dim: DIM }, store, path: "reference.qvr", ...FAST });
      expect(Buffer.compare(Buffer.from(await store.get("spilled.qvr")), Buffer.from(await store.get("reference.qvr")))).toBe(0);
      expect(seen.flat().some((f) => f.startsWith("quiver-index-spill-"))).toBe(true);
      expect(await readdir(spill.dir)).toEqual([]);
      const before = (await store.list("")).length;
      const missing = join(spill.dir, "no-such-dir");
      const err = await buildIndex({ input: { vectors, dim: DIM }, store, path: "never.qvr", ...FAST, tempDir: missing }).catch((e: unknown) => e);
      expect(isQuiverArgumentError(err) && err.argument === "options.tempDir").toBe(true);
      expect((await store.list("")).length).toBe(before);
      const empty = await buildIndex({ input: { vectors, dim: DIM }, store, path: "never.qvr", ...FAST, tempDir: "" }).catch((e: unknown) => e);
      expect(isQuiverArgumentError(empty) && empty.argument === "options.tempDir").toBe(true);
    } finally {
      await spill.cleanup();
    }
  });

  it("trains when no model is given, with LanceDB defaults, and the index answers queries", async () => {
    const vectors = smallData(3000, DIM);
    const store = new MemoryObjectStore();
    const r = await buildIndex({ input: { vectors, dim: DIM }, store, path: "i.qvr", threads: 1, maxIterations: 8, quantizerSampleSize: 2048 });
    expect(r.options.distanceType).toBe("l2");
    expect(r.options.quantizer).toBe("pq");
    expect(r.options.numSubVectors).toBe(1); // dim 16 -> dim/16
    expect(r.options.numPartitions).toBe(1); // 3000 rows / 8192 target, at least 1
    // IVF's own cap: the lower of maxIterations and 12 unless given
    expect([r.options.maxIterations, r.options.ivfMaxIterations]).toEqual([8, 8]);
    expect(r.phases.map((p) => p.status)).toEqual(["ran", "ran", "ran", "ran", "ran"]);
    const index = await openVectorIndex(store, "i.qvr");
    const hits = await index.search(vectors.subarray(5 * DIM, 6 * DIM), { k: 3, nprobes: 1, refineFactor: 5 });
    expect(hits[0]!.id).toBe(5);
    // state is reclaimed after the commit
    expect(await store.list("i.qvr.build/")).toEqual([]);
  });

  it("user uint64 ids flow through to search results", async () => {
    const vectors = smallData(2000, DIM);
    const ids = new BigUint64Array(2000);
    for (let i = 0; i < 2000; i++) ids[i] = 10n ** 15n + BigInt(i) * 7n + 2n ** 60n;
    const store = new MemoryObjectStore();
    await buildIndex({ input: { vectors, dim: DIM, ids }, store, path: "ids.qvr", ...FAST });
    const index = await openVectorIndex(store, "ids.qvr");
    const hits = await index.search(vectors.subarray(42 * DIM, 43 * DIM), { k: 1, nprobes: 8, refineFactor: 10 });
    expect(BigInt(hits[0]!.id)).toBe(ids[42]);
  });

  it("the streamed write equals the in-memory encoder for the artifact's partitions", async () => {
    const vectors = smallData(1500, DIM);
    const { dir, cleanup } = await tempDir();
    try {
      const store = new LocalDirectoryStore(dir);
      const r = await buildIndex({ input: { vectors, dim: DIM }, store, path: "x.qvr", ...FAST, keepState: true });
      const source = await PartitionArtifactReader.open(store, "x.qvr.build/artifact");
      const { bytes } = await encodeIvfIndex({ dim: DIM, distance: "l2", centroids: r.model.centroids, quantizer: r.model.quantizer, codeWidth: r.metadata.quantizer.codeWidth, source });
      expect(Buffer.compare(Buffer.from(bytes), await readFile(join(dir, "x.qvr")))).toBe(0);
      // and over a non-local store (one put)
      const mem = new MemoryObjectStore();
      await writeIvfIndexStreamed(mem, "y", { dim: DIM, distance: "l2", centroids: r.model.centroids, quantizer: r.model.quantizer, codeWidth: r.metadata.quantizer.codeWidth, source });
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(await mem.get("y")))).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it("reads an .npy file in batches smaller than the file", async () => {
    const vectors = smallData(2500, DIM);
    const { dir, cleanup } = await tempDir();
    try {
      const file = join(dir, "v.npy");
      await writeFile(file, encodeNpyF32(vectors, 2500, DIM));
      const store = new MemoryObjectStore();
      const fromFile = await buildIndex({ input: file, store, path: "f.qvr", ...FAST });
      const fromMem = await buildIndex({ input: { vectors, dim: DIM }, store, path: "m.qvr", ...FAST });
      expect(fromFile.numRows).toBe(2500);
      expect(Buffer.compare(Buffer.from(await store.get("f.qvr")), Buffer.from(await store.get("m.qvr")))).toBe(0);
    } finally {
      await cleanup();
    }
  });

  it("accepts precomputed assignments with a model, and they decide the partitions", async () => {
    const vectors = smallData(1000, DIM);
    const store = new MemoryObjectStore();
    const base = await buildIndexInMemory({ store, path: "b", vectors, dim: DIM, ...FAST });
    const assignments = new Uint32Array(1000).map((_, i) => i % 8);
    const r = await buildIndex({ input: { vectors, dim: DIM }, store, path: "pre", model: base.model, partitionAssignments: assignments, threads: 1 });
    const index = await openVectorIndex(store, "pre");
    expect(index.state.partitions.map((p) => p.rows)).toEqual([125, 125, 125, 125, 125, 125, 125, 125]);
    expect(r.numRows).toBe(1000);
  });
});

describe("buildIndex argument validation", () => {
  const store = new MemoryObjectStore();
  const input = { vectors: new Float32Array(64), dim: 16 };
  const cases: [string, Record<string, unknown>, string][] = [
    ["unknown option", { numProbes: 3 }, "UNKNOWN_OPTION"],
    ["case typo suggests the name", { numpartitions: 3 }, "UNKNOWN_OPTION"],
    ["unknown quantizer", { quantizer: "ivf_hnsw" }, "INVALID_ARGUMENT"],
    ["unknown distance", { distanceType: "euclid" }, "INVALID_ARGUMENT"],
    ["zero partitions", { numPartitions: 0 }, "INVALID_ARGUMENT"],
    ["too many partitions", { numPartitions: 70_000 }, "ARGUMENT_LIMIT_EXCEEDED"],
    ["budget below the minimum", { memoryBudgetBytes: 1000 }, "INVALID_ARGUMENT"],
    ["sub-vectors not dividing dim", { numSubVectors: 3 }, "INVALID_ARGUMENT"],
    ["assignments without a model", { partitionAssignments: new Uint32Array(4) }, "MISSING_ARGUMENT"],
  ];
  for (const [name, extra, code] of cases) {
    it(`${name} -> ${code}`, async () => {
      const err = await buildIndex({ input, store, path: "v", ...extra } as never).catch((e: unknown) => e);
      expect(isQuiverArgumentError(err, code as never)).toBe(true);
    });
  }

  it("a NaN row is rejected naming the row and column", async () => {
    const v = smallData(100, 16);
    v[37 * 16 + 3] = Number.NaN;
    const err = (await buildIndex({ input: { vectors: v, dim: 16 }, store, path: "n", ...FAST }).catch((e: unknown) => e)) as { code: string; row: number; column: string };
    expect(err.code).toBe("INPUT_NON_FINITE");
    expect(err.row).toBe(37);
    expect(err.column).toBe("vector");
  });
});

describe("buildIndex from an Arrow IPC file", () => {
  it("uses the named vector column and carries the id column through to search", async () => {
    const { fileURLToPath } = await import("node:url");
    const { fixtureIds, fixtureVectors } = await import("./fixtures/generate.js");
    const file = fileURLToPath(new URL("./fixtures/vectors.arrow", import.meta.url));
    const store = new MemoryObjectStore();
    const r = await buildIndex({ input: file, column: "embedding", idColumn: "id", store, path: "a.qvr", numPartitions: 2, threads: 1, quantizer: "flat" });
    expect(r.numRows).toBe(40);
    const index = await openVectorIndex(store, "a.qvr");
    const hits = await index.search(fixtureVectors().subarray(3 * 8, 4 * 8), { k: 1, nprobes: 2 });
    expect(BigInt(hits[0]!.id)).toBe(fixtureIds()[3]);
  });
});
