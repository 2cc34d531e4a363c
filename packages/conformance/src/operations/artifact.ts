import { QuiverFormatError } from "@quiver/format";
import { LocalDirectoryStore } from "@quiver/store";
import { PartitionArtifactReader, canonicalPayloadRows, validateArtifact } from "@quiver/artifact";
import type { OperationFn } from "../operation.js";

function storeOf(dir: string | undefined): LocalDirectoryStore {
  if (dir === undefined) throw new QuiverFormatError("INVALID_VALUE", "artifact operations take a directory fixture", { stage: "manifest" });
  return new LocalDirectoryStore(dir);
}

/**
 * Conformance operations of the partition artifact (spec/artifact.md#conformance). The fixture
 * directory is the artifact (uri "").
 * - `validate-artifact` -> `{ codes }`: the sorted, de-duplicated codes of every problem found.
 * - `read-artifact` -> `{ num_partitions, partitions }`: validates first (the first problem is the
 *   error), then every partition's rows in read order, in the canonical payload row form.
 */
export const operations: Record<string, OperationFn> = {
  async "validate-artifact"(fixture) {
    const problems = await validateArtifact(storeOf(fixture.dir), "");
    return { codes: [...new Set(problems.map((p) => p.code))].sort() };
  },
  async "read-artifact"(fixture) {
    const store = storeOf(fixture.dir);
    const first = (await validateArtifact(store, ""))[0];
    if (first !== undefined) throw new QuiverFormatError(first.code, first.message, { stage: first.stage });
    const reader = await PartitionArtifactReader.open(store, "");
    const partitions: unknown[] = [];
    for (let p = 0; p < reader.numPartitions; p++) {
      const rows: unknown[] = [];
      for await (const b of reader.readPartition(p)) rows.push(...canonicalPayloadRows(b));
      partitions.push(rows);
    }
    return { num_partitions: reader.numPartitions, partitions };
  },
};
