import { expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, PartitionArtifactWriter, payloadSchemaOf, validateArtifact } from "../src/index.js";

it("the README example works as written", async () => {
  const store = new MemoryObjectStore();
  const payloadSchema = payloadSchemaOf([
    { name: "row_id", type: "uint64" },
    { name: "code", type: "fixed_size_list<uint8>[16]" },
  ]);
  const writer = await PartitionArtifactWriter.create({ store, uri: "shuffle", numPartitions: 4, payloadSchema, policy: "hash-modulo" });
  const ids = new Uint8Array(new BigUint64Array([10n, 11n, 12n]).buffer);
  await writer.appendRows([0, 3, 0], [ids, new Uint8Array(48)]);
  await writer.finish();
  expect(await validateArtifact(store, "shuffle")).toEqual([]);
  const reader = await PartitionArtifactReader.open(store, "shuffle");
  const sizes: number[] = [];
  for await (const batch of reader.readPartition(0)) sizes.push(batch.numRows);
  expect(sizes).toEqual([2]);
  expect(reader.lastCost(0)!.requests).toBe(1);
  expect(Array.from((await reader.readPartitionBatches(3))[0]!.getChild("row_id")!.toArray() as BigUint64Array)).toEqual([11n]);
});
