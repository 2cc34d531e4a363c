import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { openVectorIndex, gaussianMixture } from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";
import { buildIndex } from "../src/index.js";

it("the README example works as written", async () => {
  const readme = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");
  expect(readme).toContain('buildIndex({ input: { vectors, dim: 16 }, store, path: "idx.qvr", numPartitions: 4, threads: 1 })');
  const store = new MemoryObjectStore();
  const vectors = gaussianMixture({ n: 2000, dim: 16, clusters: 8, seed: 1 });
  const result = await buildIndex({ input: { vectors, dim: 16 }, store, path: "idx.qvr", numPartitions: 4, threads: 1 });
  expect(result.phases.map((p) => `${p.phase}:${p.status}`).join(" ")).toBe("sample:ran train-ivf:ran train-quantizer:ran assign-encode:ran finalize:ran");
  const index = await openVectorIndex(store, "idx.qvr");
  const hits = await index.search(vectors.subarray(0, 16), { k: 3, nprobes: 4, refineFactor: 4 });
  expect(hits[0]!.id).toBe(0);
});
