/**
 * Issue 13 "Reopen": a state decoded afresh from a persistent cache takes the quantizer and PQ
 * scoring tables of an earlier checked state with the same identity (the identity digest covers
 * everything they are built from) instead of building them again. This test checks the answers
 * that sharing produces: two different indexes at one path, each reopened from its own disk cache
 * after a store open of it, answer exactly as a reference built from an unchecked copy of their
 * state (which never shares anything), with zero store requests on the disk reopen.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache } from "@quiver/cache";
import { IoStatsStore, MemoryObjectStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IvfVectorIndex, type VectorSearchHit, openVectorIndex, writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const PATH = "idx/twins.qvr";
const DIM = 16;
const silent = { warn: () => undefined };
const SEARCH = { k: 8, nprobes: 4 } as const;

interface Side {
  store: MemoryObjectStore;
  identity: string;
  dir: string;
  reference: VectorSearchHit[][];
}

let root: string;
const sides: Side[] = [];
let queries: Float32Array[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "quiver-ivf-twins-"));
  for (const seed of [41, 42]) {
    const store = new MemoryObjectStore();
    // codeWidth < dim: residual PQ, so searches use the per-state scoring tables
    const input = syntheticIndexInput({ n: 500, dim: DIM, numPartitions: 8, codeWidth: 4, raw: false, seed });
    const identity = (await writeIvfIndex(store, PATH, input)).identity;
    queries ??= [3, 50, 170, 333].map((r) => input.vectors.slice(r * DIM, (r + 1) * DIM));
    const opened = await openVectorIndex(store, PATH);
    // An unchecked copy of the state: its quantizer and tables are built afresh, shared with nothing.
    const alone = new IvfVectorIndex(store, structuredClone(opened.state));
    const reference = await Promise.all(queries.map((q) => alone.search(q, SEARCH)));
    const dir = join(root, `disk-${seed}`);
    const writer = new DiskCacheBackend({ directory: dir, logger: silent });
    await (await openVectorIndex(store, PATH, { cache: new IndexCache(writer), prewarm: true })).search(queries[0]!, SEARCH);
    await writer.close();
    sides.push({ store, identity, dir, reference });
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("checked states of one identity share their quantizer and tables", () => {
  it("two indexes at one path: each disk reopen answers as its own reference, with zero store requests", async () => {
    expect(sides[0]!.identity).not.toBe(sides[1]!.identity);
    // The two indexes really answer differently, so borrowing the other's tables would show.
    expect(sides[0]!.reference).not.toEqual(sides[1]!.reference);
    for (const side of sides) {
      const storeOpened = await openVectorIndex(side.store, PATH);
      const backend = new DiskCacheBackend({ directory: side.dir, logger: silent });
      const counted = new IoStatsStore(side.store);
      const index = await openVectorIndex(counted, PATH, { cache: new IndexCache(backend), identity: side.identity });
      // A state of its own, decoded from the disk entry (not the store-opened object).
      expect(index.state).not.toBe(storeOpened.state);
      const hits = [];
      for (const q of queries) hits.push(await index.search(q, SEARCH));
      expect(hits).toEqual(side.reference);
      const io = counted.snapshot().total;
      expect(io.readRequests + io.heads + io.lists).toBe(0);
      expect(index.cacheRejects().state).toBe(0);
      await backend.close();
    }
  });
});
