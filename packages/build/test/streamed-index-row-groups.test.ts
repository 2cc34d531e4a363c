/**
 * The streamed index write produces the raw row-group checksums of kind version 3 exactly as the
 * in-memory encoder does (one pass on a local directory and through a spill file elsewhere, or two
 * passes), and kind version
 * 2 when asked: byte-identical files, which open and refine.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectFrameHeader } from "@quiver/format";
import { InMemoryPartitionSource, type IvfIndexWriteInput, encodeIvfIndex, openVectorIndex, rawRowGroupRowsFor } from "@quiver/ivf";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, describe, expect, it } from "vitest";
import { writeIvfIndexStreamed } from "../src/index.js";

const DIM = 40; // 102 rows per row group
const N = 700;
const P = 3;

function input(kindVersion?: 2 | 3): IvfIndexWriteInput {
  let s = 99;
  const r = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  // one partition gets a partial last group, another is empty
  const partitions = Uint32Array.from({ length: N }, () => (r() < 0.7 ? 0 : 2));
  const vectors = Float32Array.from({ length: N * DIM }, () => r() * 2 - 1);
  const codes = Uint8Array.from({ length: N * DIM }, () => Math.floor(r() * 256));
  const quantizer = { kind: "sq" as const, dim: DIM, distance: "l2" as const, residual: false, params: { bits: 8 }, arrays: { lower: new Float32Array(DIM).fill(-1), upper: new Float32Array(DIM).fill(1) } };
  const source = new InMemoryPartitionSource({ numPartitions: P, partitions, codes, codeWidth: DIM, vectors, dim: DIM, batchRows: 64 });
  return { dim: DIM, distance: "l2", centroids: Float32Array.from({ length: P * DIM }, () => r()), quantizer, codeWidth: DIM, source, ...(kindVersion === undefined ? {} : { kindVersion }) };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("writeIvfIndexStreamed and raw row-group checksums", () => {
  for (const v of [undefined, 2, 3] as const) {
    it(`kind version ${v ?? "default (3)"}: identical bytes to encodeIvfIndex on a local directory (one pass) and in memory (one pass through a spill file; two passes)`, async () => {
      const reference = (await encodeIvfIndex(input(v))).bytes;
      const want = v ?? 3;
      expect(inspectFrameHeader(reference).kindVersion).toBe(want);
      expect(inspectFrameHeader(reference).sections.some((s) => s.id === 3)).toBe(want === 3);
      const dir = await mkdtemp(join(tmpdir(), "qvr-rg-"));
      dirs.push(dir);
      const local = new LocalDirectoryStore(dir);
      const mem = new MemoryObjectStore();
      const mem2 = new MemoryObjectStore();
      const spillDir = await mkdtemp(join(tmpdir(), "qvr-rg-spill-"));
      dirs.push(spillDir);
      const a = await writeIvfIndexStreamed(local, "i.qvr", input(v));
      const b = await writeIvfIndexStreamed(mem, "i.qvr", input(v), undefined, { tempDir: spillDir });
      const c = await writeIvfIndexStreamed(mem2, "i.qvr", input(v), undefined, { mode: "two-pass" });
      expect([a.sourcePasses, b.sourcePasses, c.sourcePasses]).toEqual([1, 1, 2]);
      expect(await readdir(spillDir)).toEqual([]);
      for (const store of [local, mem, mem2]) {
        expect(Buffer.compare(Buffer.from(await store.get("i.qvr")), Buffer.from(reference))).toBe(0);
        const index = await openVectorIndex(store, "i.qvr");
        expect(index.state.metadata.rawRowGroupRows).toBe(want === 3 ? rawRowGroupRowsFor(DIM) : undefined);
        const hits = await index.search(new Float32Array(DIM).fill(0.1), { k: 4, nprobes: P, refineFactor: 300 });
        expect(hits).toHaveLength(4);
      }
    });
  }
});
