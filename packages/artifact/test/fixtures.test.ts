import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, canonicalPayloadRows, validateArtifact } from "../src/index.js";
import { MANIFEST_SCHEMA } from "../src/internal/manifest-schema.js";
import { cases } from "../../../fixtures/_gen/areas/artifact.js";

async function storeOf(files: Readonly<Record<string, Uint8Array>>): Promise<MemoryObjectStore> {
  const s = new MemoryObjectStore();
  for (const [p, b] of Object.entries(files)) await s.put(p, b);
  return s;
}

const all = await cases();

describe("artifact fixtures (fixtures/_gen/areas/artifact.ts)", () => {
  it("cover each policy, empty partitions, split partitions and every broken kind", () => {
    expect(all.filter((c) => c.validity === "valid").length).toBeGreaterThanOrEqual(5);
    expect(new Set(all.filter((c) => c.validity === "invalid").map((c) => c.error!.code)).size).toBeGreaterThanOrEqual(14);
  });

  for (const c of all) {
    it(`${c.validity}/${c.name}`, async () => {
      const store = await storeOf(c.files!);
      const problems = await validateArtifact(store, "");
      if (c.operation === "validate-artifact") {
        expect({ codes: [...new Set(problems.map((p) => p.code))].sort() }).toEqual(c.expected);
        return;
      }
      if (c.validity === "invalid") {
        // The validator's first problem is the fixture's error; the reader never returns wrong rows.
        expect(problems[0]).toMatchObject(c.error!);
        const rejected = await (async () => {
          try {
            const r = await PartitionArtifactReader.open(store, "");
            for (let p = 0; p < r.numPartitions; p++) await r.readPartitionBatches(p);
            return undefined;
          } catch (e) {
            return e as { code: string };
          }
        })();
        // Checksum and batch-layout damage inside a bucket is only the validator's to see (readers
        // do not hash whole buckets); a zero-row batch reaches a reader as a batch-count mismatch
        // (spec/artifact.md#bucket-files); everything else the reader rejects with the same code.
        if (c.error!.code === "ARTIFACT_EMPTY_RANGE" && c.error!.stage === "bucket") expect(rejected?.code).toBe("ARTIFACT_BATCH_MISMATCH");
        else if (!["CHECKSUM_MISMATCH", "ARTIFACT_BATCH_MISMATCH"].includes(c.error!.code) || c.error!.stage !== "bucket") {
          expect(rejected?.code).toBe(c.error!.code);
        }
        return;
      }
      expect(problems).toEqual([]);
      const r = await PartitionArtifactReader.open(store, "");
      const partitions: unknown[] = [];
      for (let p = 0; p < r.numPartitions; p++) {
        const rows: unknown[] = [];
        for await (const b of r.readPartition(p)) rows.push(...canonicalPayloadRows(b));
        partitions.push(rows);
      }
      expect(JSON.parse(JSON.stringify({ num_partitions: r.numPartitions, partitions }))).toEqual(c.expected);
    });
  }

  it("split-partition fixture really splits partitions over several ranges", async () => {
    const c = all.find((x) => x.name === "hash-modulo-three-buckets-split-partitions")!;
    const r = await PartitionArtifactReader.open(await storeOf(c.files!), "");
    expect(Math.max(...Array.from({ length: r.numPartitions }, (_, p) => r.rangesOf(p).length))).toBeGreaterThan(3);
    expect(r.partitionSize(2)).toBe(0);
  });

  it("spec/schemas/artifact-manifest.schema.json is the schema the package enforces", () => {
    const file = JSON.parse(readFileSync(new URL("../../../spec/schemas/artifact-manifest.schema.json", import.meta.url), "utf8")) as unknown;
    expect(file).toEqual(JSON.parse(JSON.stringify(MANIFEST_SCHEMA)));
  });
});
