import { MemoryObjectStore } from "@quiver/store";
import { expect, it } from "vitest";
import { gaussianMixture, openVectorIndex } from "../src/index.js";
import { buildIvfIndex } from "./build-index-helper.js";

it("search with a prefilter returns only rows the filter holds, nearest first", async () => {
  const n = 600;
  const dim = 8;
  const store = new MemoryObjectStore();
  const data = gaussianMixture({ n, dim, clusters: 6, seed: 1 });
  await buildIvfIndex(store, "v", data, n, dim, { quantizer: "flat", distance: "l2", numPartitions: 4, seed: 1, threads: 1, maxIters: 5 });
  const index = await openVectorIndex(store, "v");
  const q = data.subarray(0, dim);
  const even = { has: (id: bigint) => id % 2n === 0n };
  const all = await index.search(q, { k: n, nprobes: 4 });
  const filtered = await index.search(q, { k: 10, nprobes: 4, prefilter: even });
  expect(filtered).toEqual(all.filter((h) => BigInt(h.id) % 2n === 0n).slice(0, 10));
  expect(await index.search(q, { k: 10, nprobes: 4, prefilter: { has: () => false } })).toEqual([]);
  await expect(index.search(q, { k: 1, prefilter: {} as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", argument: "options.prefilter" });
});
