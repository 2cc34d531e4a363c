/**
 * The precomputed hand-off: an index finalized from a partition artifact that a separate process
 * wrote from the artifact spec alone (packages/artifact/test/external/spec-only-writer.mjs),
 * read through PartitionArtifactReader as the PartitionSource.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PartitionArtifactReader } from "@quiver/artifact";
import { IndexCache } from "@quiver/cache";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, describe, expect, it } from "vitest";
import { InMemoryPartitionSource, type QuantizerMetadata, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { testRng } from "./helpers.js";

const script = fileURLToPath(new URL("../../artifact/test/external/spec-only-writer.mjs", import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const ROWS = 3000;
const PARTS = 23;
const M = 16;
const DIM = 32;
const SEED = 9;

/** The spec-only writer's placement and code formulas (its documented contract). */
function codeByte(rowId: number, j: number): number {
  return ((Math.imul(rowId + 1, 2654435761) >>> (j % 24)) & 0xff) ^ j;
}
function partitionOfRow(rowId: number): number {
  const u = (Math.imul(rowId ^ SEED, 2246822519) >>> 0) / 4294967296;
  let p = Math.floor(u * u * PARTS);
  if (PARTS >= 3 && p % 3 === 2) p -= 1;
  return p;
}

describe("index finalized from a spec-only artifact written by another process", () => {
  it("holds every artifact row in its partition and searches like the in-memory build of the same rows", async () => {
    const dir = mkdtempSync(join(tmpdir(), "quiver-ivf-handoff-"));
    dirs.push(dir);
    execFileSync(process.execPath, [script, dir, String(ROWS), String(PARTS), "3", "40", String(M), String(SEED)], { encoding: "utf8" });
    const reader = await PartitionArtifactReader.open(new LocalDirectoryStore(dir), "");
    expect(reader.numPartitions).toBe(PARTS);

    const r = testRng(5);
    const centroids = Float32Array.from({ length: PARTS * DIM }, () => r() * 2 - 1);
    const quantizer: QuantizerMetadata = {
      kind: "pq",
      dim: DIM,
      distance: "l2",
      residual: true,
      params: { numSubVectors: M, nbits: 8 },
      arrays: { codebook: Float32Array.from({ length: 256 * DIM }, () => r() * 2 - 1) },
    };
    const common = { dim: DIM, distance: "l2" as const, centroids, quantizer, codeWidth: M };
    const store = new MemoryObjectStore();
    const written = await writeIvfIndex(store, "from-artifact", { ...common, source: reader });
    expect(written.numRows).toBe(ROWS);

    // The same rows grouped in memory, in the artifact's partition order.
    const partitions = new Uint32Array(ROWS);
    const rowIds = new BigUint64Array(ROWS);
    const codes = new Uint8Array(ROWS * M);
    let at = 0;
    for (let p = 0; p < PARTS; p++) {
      for await (const batch of reader.readPartition(p)) {
        const ids = batch.getChild("row_id")!.toArray() as BigUint64Array;
        const code = batch.getChild("code")!;
        for (let i = 0; i < batch.numRows; i++) {
          partitions[at] = p;
          rowIds[at] = ids[i]!;
          codes.set(code.get(i)!.toArray() as Uint8Array, at * M);
          at++;
        }
      }
    }
    expect(at).toBe(ROWS);
    await writeIvfIndex(store, "in-memory", { ...common, source: new InMemoryPartitionSource({ numPartitions: PARTS, partitions, codes, codeWidth: M, rowIds }) });

    const a = await openVectorIndex(store, "from-artifact", { cache: IndexCache.inMemory() });
    const b = await openVectorIndex(store, "in-memory", { cache: IndexCache.inMemory() });
    const seen = new Set<number>();
    for (let p = 0; p < PARTS; p++) {
      const ea = await a.loadPartition(p);
      const eb = await b.loadPartition(p);
      expect(ea.rows).toBe(reader.partitionSize(p));
      // Independently of both readers: the writer script's own formulas place and encode each row.
      ea.rowIds.forEach((id, i) => {
        const row = Number(id);
        seen.add(row);
        expect(partitionOfRow(row)).toBe(p);
        for (let j = 0; j < M; j++) expect(ea.codes[i * M + j]).toBe(codeByte(row, j));
      });
      expect([...ea.rowIds]).toEqual([...eb.rowIds]);
      expect([...ea.codes]).toEqual([...eb.codes]);
    }
    expect(seen.size).toBe(ROWS);
    for (let q = 0; q < 10; q++) {
      const query = Float32Array.from({ length: DIM }, () => r() * 2 - 1);
      const ha = await a.search(query, { k: 10, nprobes: 5 });
      expect(ha).toHaveLength(10);
      expect(ha).toEqual(await b.search(query, { k: 10, nprobes: 5 }));
    }
  });
});
