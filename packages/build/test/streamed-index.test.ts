/**
 * The streamed index write on stores other than the local directory: two passes over the source
 * through the store's object writer. A source whose bytes change between the passes aborts the
 * write (nothing visible); a store without createWriter still gets the identical bytes.
 */
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
    const w = await writeIvfIndexStreamed(io, "y.qvr", input);
    expect(w.sourcePasses).toBe(2);
    expect(io.snapshot().total).toMatchObject({ writes: 1, bytesWritten: reference.byteLength });
    expect(Buffer.compare(Buffer.from(reference), Buffer.from(await mem.get("y.qvr")))).toBe(0);
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
    await expect(writeIvfIndexStreamed(out, "z.qvr", { ...input, source: flaky })).rejects.toThrow(/second pass/);
    expect(Array.from(await out.get("z.qvr"))).toEqual([1, 2, 3]);
    await expect(out.head("nothing")).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));
  });
});
