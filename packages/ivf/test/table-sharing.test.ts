/**
 * Checked states share their live quantizer and PQ scoring tables by IDENTITY (the content
 * digest), never by path: an index file replaced at the same path is a different index and must
 * answer with its own tables. A mutant keying the sharing by path passed every other test (the
 * twins test reopens from disk caches, where the path-keyed twin was not the state searched).
 * Here the first index stays open and searched while the second is opened at its path.
 */
import { describe, expect, it } from "vitest";
import { MemoryObjectStore } from "@quiver/store";
import { IvfVectorIndex, openVectorIndex, writeIvfIndex } from "../src/index.js";
import type { VectorSearchHit } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const PATH = "idx/replaced.qvr";
const DIM = 16;
const SEARCH = { k: 8, nprobes: 4 } as const;

/** Answers of an index over an unchecked copy of `index`'s state: its tables are its own. */
async function unshared(store: MemoryObjectStore, index: IvfVectorIndex, queries: readonly Float32Array[]): Promise<VectorSearchHit[][]> {
  const alone = new IvfVectorIndex(store, structuredClone(index.state));
  return Promise.all(queries.map((q) => alone.search(q, SEARCH)));
}

describe("quantizer and PQ tables are shared by identity, not by path", () => {
  it("an index replaced at the same path answers with its own tables while the old one is still open", async () => {
    const store = new MemoryObjectStore();
    // codeWidth < dim: residual PQ, so searches use the live quantizer and the per-state scoring tables
    const a = syntheticIndexInput({ n: 400, dim: DIM, numPartitions: 8, codeWidth: 4, raw: false, seed: 71 });
    const queries = [5, 90, 211, 377].map((r) => a.vectors.slice(r * DIM, (r + 1) * DIM));
    const idA = (await writeIvfIndex(store, PATH, a)).identity;
    const first = await openVectorIndex(store, PATH);
    const hitsA = await Promise.all(queries.map((q) => first.search(q, SEARCH)));
    expect(hitsA).toEqual(await unshared(store, first, queries));

    // replace the file: same path, same shape, different codebook and centroids
    const b = syntheticIndexInput({ n: 400, dim: DIM, numPartitions: 8, codeWidth: 4, raw: false, seed: 72 });
    const idB = (await writeIvfIndex(store, PATH, b)).identity;
    expect(idB).not.toBe(idA);
    const second = await openVectorIndex(store, PATH);
    expect(second.identity).toBe(idB);
    expect(second.state).not.toBe(first.state);
    const hitsB = await Promise.all(queries.map((q) => second.search(q, SEARCH)));
    const referenceB = await unshared(store, second, queries);
    // the two indexes answer differently, so borrowed tables would show
    expect(referenceB).not.toEqual(hitsA);
    expect(hitsB).toEqual(referenceB);
    // and the old index, still open, keeps its own
    expect(await Promise.all(queries.map((q) => first.search(q, SEARCH)))).toEqual(hitsA);
  });

  it("two opens of one identity answer alike (the sharing itself gives right answers)", async () => {
    const store = new MemoryObjectStore();
    const a = syntheticIndexInput({ n: 400, dim: DIM, numPartitions: 8, codeWidth: 4, raw: false, seed: 73 });
    const queries = [1, 100, 300].map((r) => a.vectors.slice(r * DIM, (r + 1) * DIM));
    // a path of its own: the memos are per process, and the first test's states sit at PATH
    await writeIvfIndex(store, "idx/twice.qvr", a);
    const one = await openVectorIndex(store, "idx/twice.qvr");
    const two = await openVectorIndex(store, "idx/twice.qvr");
    // two checked states of one identity (each open reads and checks the file afresh)
    expect(two.state).not.toBe(one.state);
    expect(two.identity).toBe(one.identity);
    const reference = await unshared(store, one, queries);
    expect(await Promise.all(queries.map((q) => one.search(q, SEARCH)))).toEqual(reference);
    expect(await Promise.all(queries.map((q) => two.search(q, SEARCH)))).toEqual(reference);
  });
});
