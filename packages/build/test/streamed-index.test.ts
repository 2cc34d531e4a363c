/**
 * The streamed index write on stores other than the local directory: one pass over the source into
 * a local spill file streamed through the store's object writer (the default), or two passes. A
 * store without createWriter still gets the identical bytes; the spill file is removed on success
 * and on failure, and a dead writer's is reclaimed; a source whose bytes change between the two
 * passes aborts the write (nothing visible).
 */
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PartitionArtifactReader, type PartitionSource } from "@quiver/artifact";
import { encodeIvfIndex } from "@quiver/ivf";
import { IoStatsStore, MemoryObjectStore, type ObjectStore, isStoreError } from "@quiver/store";
import type { RecordBatch } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { buildIndex, writeIvfIndexStreamed } from "../src/index.js";
import { FAST, smallData } from "./helpers.js";

const DIM = 16;

async function fixture() {
  const store = new MemoryObjectStore();
  const r = await buildIndex({ input: { vectors: smallData(2000, DIM), dim: DIM }, store, path: "x.qvr", ...FAST, keepState: true });
  const source = await PartitionArtifactReader.open(store, "x.qvr.build/artifact");
  const input = { dim: DIM, distance: "l2" as const, centroids: r.model.centroids, quantizer: r.model.quantizer, codeWidth: r.metadata.quantizer.codeWidth, source };
  return { store, input, reference: (await encodeIvfIndex(input)).bytes };
}

describe("writeIvfIndexStreamed through an object writer", () => {
  it("a store without createWriter (buffering fallback) gets the identical bytes in one put", async () => {
    const { input, reference } = await fixture();
    const mem = new MemoryObjectStore();
    const putOnly = { put: (p: string, d: Uint8Array, o?: object) => mem.put(p, d, o) } as unknown as ObjectStore;
    const io = new IoStatsStore(putOnly);
    for (const mode of ["spill", "two-pass"] as const) {
      io.reset();
      const w = await writeIvfIndexStreamed(io, `y-${mode}.qvr`, input, undefined, { mode });
      expect(w.sourcePasses).toBe(mode === "spill" ? 1 : 2);
      expect(io.snapshot().total).toMatchObject({ writes: 1, bytesWritten: reference.byteLength });
      expect(Buffer.compare(Buffer.from(reference), Buffer.from(await mem.get(`y-${mode}.qvr`)))).toBe(0);
    }
  });

  it("reads the artifact once in spill mode (half the requests of two-pass) and leaves no spill file", async () => {
    const { store, input, reference } = await fixture();
    const requests: Record<string, number> = {};
    for (const mode of ["spill", "two-pass"] as const) {
      const io = new IoStatsStore(store);
      const reader = await PartitionArtifactReader.open(io, "x.qvr.build/artifact");
      const source = reader.sequentialSource();
      const spill = await mkdtemp(join(tmpdir(), "qvr-spill-"));
      const out = new MemoryObjectStore();
      io.reset();
      await writeIvfIndexStreamed(out, "i.qvr", { ...input, source }, undefined, { mode, tempDir: spill });
      requests[mode] = source.cost.requests;
      expect(source.cost.requests).toBeLessThan(io.snapshot().total.readRequests); // the rest: bucket footers, read once
      expect(await readdir(spill)).toEqual([]);
      expect(Buffer.compare(Buffer.from(reference), Buffer.from(await out.get("i.qvr")))).toBe(0);
    }
    expect(requests["spill"]).toBeGreaterThan(0);
    expect(requests["two-pass"]).toBe(2 * requests["spill"]!);
  });

  it("a failing source leaves nothing (no object, no spill file); a dead writer's spill file is reclaimed, a live one's kept", async () => {
    const { input } = await fixture();
    const spill = await mkdtemp(join(tmpdir(), "qvr-spill-"));
    // pid 2^22 + 1 is above Linux's pid_max limit, so no such process exists; our own parent is alive
    await writeFile(join(spill, "quiver-index-spill-4194305-1-dead.tmp"), "x");
    await writeFile(join(spill, `quiver-index-spill-${process.ppid}-1-alive.tmp`), "x");
    await writeFile(join(spill, "unrelated.tmp"), "x");
    const target = [...Array(input.source.numPartitions).keys()].filter((p) => input.source.partitionSize(p) > 0).at(-1)!;
    const failing: PartitionSource = {
      numPartitions: input.source.numPartitions,
      payloadSchema: input.source.payloadSchema,
      partitionSize: (p) => input.source.partitionSize(p),
      readPartition: (p) => {
        if (p !== target) return input.source.readPartition(p);
        return (async function* () {
          yield* [] as RecordBatch[];
          throw new Error("source failed");
        })();
      },
    };
    const out = new MemoryObjectStore();
    await expect(writeIvfIndexStreamed(out, "f.qvr", { ...input, source: failing }, undefined, { tempDir: spill })).rejects.toThrow(/source failed/);
    await expect(out.head("f.qvr")).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));
    expect((await readdir(spill)).sort()).toEqual([`quiver-index-spill-${process.ppid}-1-alive.tmp`, "unrelated.tmp"]);
  });

  it("rejects unknown and bad options", async () => {
    const { input } = await fixture();
    const out = new MemoryObjectStore();
    await expect(writeIvfIndexStreamed(out, "o.qvr", input, undefined, { passes: 1 } as never)).rejects.toMatchObject({ code: "UNKNOWN_OPTION" });
    await expect(writeIvfIndexStreamed(out, "o.qvr", input, undefined, { mode: "three" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(writeIvfIndexStreamed(out, "o.qvr", input, undefined, { tempDir: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("a source that yields different bytes on the second pass aborts the write: nothing visible", async () => {
    const { input } = await fixture();
    let reads = 0;
    const target = [...Array(input.source.numPartitions).keys()].find((p) => input.source.partitionSize(p) > 0)!;
    const flaky: PartitionSource = {
      numPartitions: input.source.numPartitions,
      payloadSchema: input.source.payloadSchema,
      partitionSize: (p) => input.source.partitionSize(p),
      readPartition: (p) => {
        const inner = input.source.readPartition(p);
        if (p !== target || ++reads === 1) return inner;
        return (async function* () {
          for await (const b of inner) {
            const codes = b.getChild("code")!.data[0]!.children[0]!.values as Uint8Array;
            codes[0] = codes[0]! ^ 0xff; // the second pass sees a changed code byte
            yield b as RecordBatch;
          }
        })();
      },
    };
    const out = new MemoryObjectStore();
    await out.put("z.qvr", Uint8Array.of(1, 2, 3));
    await expect(writeIvfIndexStreamed(out, "z.qvr", { ...input, source: flaky }, undefined, { mode: "two-pass" })).rejects.toThrow(/second pass/);
    expect(Array.from(await out.get("z.qvr"))).toEqual([1, 2, 3]);
    await expect(out.head("nothing")).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));
  });
});
