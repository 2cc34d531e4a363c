/**
 * Issue 8, "wrong calls get typed errors": every public entry point of @quiver/ivf validates its
 * arguments before any work and throws QuiverArgumentError with a stable code, the argument's
 * name, what was expected and a bounded description of what was given.
 */
import { IndexCache } from "@quiver/cache";
import { MemoryObjectStore } from "@quiver/store";
import { beforeAll, describe, expect, it } from "vitest";
import {
  InMemoryPartitionSource,
  type IvfVectorIndex,
  type QuantizerKind,
  encodeIvfIndex,
  gaussianMixture,
  openVectorIndex,
  trainIvfModel,
  trainQuantizer,
  writeIvfIndex,
} from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const DIM = 8;
const data = gaussianMixture({ n: 400, dim: DIM, clusters: 4, seed: 1 });
const argErr = (code: string, argument?: string | RegExp) =>
  expect.objectContaining({ name: "QuiverArgumentError", code, ...(argument === undefined ? {} : { argument: typeof argument === "string" ? argument : expect.stringMatching(argument) }) });

describe("search and open", () => {
  let index: IvfVectorIndex;
  let store: MemoryObjectStore;
  beforeAll(async () => {
    store = new MemoryObjectStore();
    await writeIvfIndex(store, "i", syntheticIndexInput({ n: 100, dim: DIM, numPartitions: 3, codeWidth: DIM, raw: true }));
    index = await openVectorIndex(store, "i");
  });
  const q = new Float32Array(DIM).fill(0.1);

  it.each([
    ["the typo nProbes", { k: 3, nProbes: 2 }, "UNKNOWN_OPTION", "options.nProbes"],
    ["a string k", { k: "10" }, "INVALID_ARGUMENT", "options.k"],
    ["k = 0", { k: 0 }, "INVALID_ARGUMENT", "options.k"],
    ["k null", { k: null }, "INVALID_ARGUMENT", "options.k"],
    ["k above the maximum", { k: 1e9 }, "ARGUMENT_LIMIT_EXCEEDED", "options.k"],
    ["nprobes 0", { k: 1, nprobes: 0 }, "INVALID_ARGUMENT", "options.nprobes"],
    ["refineFactor 0", { k: 1, refineFactor: 0 }, "INVALID_ARGUMENT", "options.refineFactor"],
    ["an allow-list of undefined", { k: 1, allowList: [undefined] }, "INVALID_ARGUMENT", "options.allowList[0]"],
    ["an allow-list that is a number", { k: 1, allowList: 5 }, "INVALID_ARGUMENT", "options.allowList"],
    ["a negative row id", { k: 1, allowList: [-1] }, "INVALID_ARGUMENT", "options.allowList[0]"],
  ])("search rejects %s", async (_what, options, code, argument) => {
    await expect(index.search(q, options as never)).rejects.toEqual(argErr(code, argument));
  });

  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
  ])("a query holding %s is rejected (it used to return rows 0, 1, 2 at distance 0)", async (_w, v) => {
    const bad = q.slice();
    bad[2] = v;
    await expect(index.search(bad, { k: 3 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "query[2]"));
    await expect(index.search([...bad], { k: 3 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "query[2]"));
  });

  it("queries of the wrong type or length are typed errors; number[] is accepted", async () => {
    await expect(index.search("abc" as never, { k: 1 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "query"));
    await expect(index.search(undefined as never, { k: 1 })).rejects.toEqual(argErr("MISSING_ARGUMENT", "query"));
    await expect(index.search(new Float32Array(DIM + 1), { k: 1 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "query"));
    expect(await index.search([...q], { k: 3 })).toEqual(await index.search(q, { k: 3 }));
  });

  it("open rejects bad arguments before any store request", async () => {
    await expect(openVectorIndex(undefined as never, "i")).rejects.toEqual(argErr("INVALID_ARGUMENT", "store"));
    await expect(openVectorIndex(store, "" as never)).rejects.toEqual(argErr("INVALID_ARGUMENT", "path"));
    await expect(openVectorIndex(store, "i", { cahce: IndexCache.inMemory() } as never)).rejects.toEqual(argErr("UNKNOWN_OPTION", "options.cahce"));
    await expect(openVectorIndex(store, "i", { cache: {} as never })).rejects.toEqual(argErr("INVALID_ARGUMENT", "options.cache"));
    await expect(openVectorIndex(store, "i", { fileSize: -1 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "options.fileSize"));
    await expect(openVectorIndex(store, "i", { identity: "abc" })).rejects.toEqual(argErr("INVALID_ARGUMENT", "options.identity"));
  });

  it("the unknown-option error suggests the right name", async () => {
    const e = await index.search(q, { k: 1, nProbes: 2 } as never).catch((x: unknown) => x);
    expect((e as { hint?: string }).hint).toBe("did you mean nprobes?");
  });
});

describe("trainers", () => {
  it.each(["foo", "ivf_pq", undefined])("unknown quantizer name %s is rejected (it used to build PQ)", (kind) => {
    expect(() => trainQuantizer(kind as QuantizerKind, data, 400, DIM, { distance: "l2" })).toThrow(argErr(kind === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", "kind"));
  });

  it("RaBitQ above 4,096 dimensions is rejected before any work (a tiny sample suffices to show it)", () => {
    expect(() => trainQuantizer("rabitq", new Float32Array(0), 0, 5000, { distance: "l2" })).toThrow(argErr("ARGUMENT_LIMIT_EXCEEDED", "dim"));
  });

  it("NaN or Infinity in the data is rejected before training", () => {
    const bad = data.slice();
    bad[DIM * 7 + 1] = Infinity;
    expect(() => trainQuantizer("sq", bad, 400, DIM, { distance: "l2" })).toThrow(argErr("INVALID_ARGUMENT", `sample[${DIM * 7 + 1}]`));
    expect(() => trainIvfModel(bad, 400, DIM, { numPartitions: 4, distance: "l2" })).toThrow(argErr("INVALID_ARGUMENT", `vectors[${DIM * 7 + 1}]`));
  });

  it("numPartitions missing says so (it used to say 'k must be a positive integer')", () => {
    expect(() => trainIvfModel(data, 400, DIM, { distance: "l2" } as never)).toThrow(argErr("MISSING_ARGUMENT", "options.numPartitions"));
    expect(() => trainIvfModel(data, 400, DIM, { numPartitions: 401, distance: "l2" })).toThrow(argErr("INVALID_ARGUMENT", "options.numPartitions"));
  });

  it("wrong JS types are typed errors (no 'src.subarray is not a function')", () => {
    expect(() => trainIvfModel([1, 2, 3] as never, 1, 3, { numPartitions: 1, distance: "l2" })).toThrow(argErr("INVALID_ARGUMENT", "vectors"));
    expect(() => trainQuantizer("pq", data, 400, DIM, { distance: "L2" as never })).toThrow(argErr("INVALID_ARGUMENT", "options.distance"));
    expect(() => trainQuantizer("pq", data, 400, DIM, { distance: "l2", numSubVectors: 3 })).toThrow(argErr("INVALID_ARGUMENT", "options.numSubVectors"));
    expect(() => trainQuantizer("pq", data, 400, DIM, { distance: "l2", nbits: 4 })).toThrow(argErr("INVALID_ARGUMENT", "options.nbits"));
    expect(() => trainQuantizer("pq", data, 400, DIM, { distance: "l2", sampelSize: 10 } as never)).toThrow(argErr("UNKNOWN_OPTION"));
    expect(() => trainQuantizer("pq", data, 400, DIM, { distance: "l2" })).toThrow(argErr("MISSING_ARGUMENT", "options.numPartitions"));
  });
});

describe("the finalizer", () => {
  const base = () => syntheticIndexInput({ n: 60, dim: DIM, numPartitions: 2, codeWidth: DIM, raw: false });
  it("rejects a code-width mismatch", async () => {
    const input = base();
    await expect(encodeIvfIndex({ ...input, codeWidth: DIM + 1 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.codeWidth"));
  });

  it("rejects a 10-float codebook, SQ bits 7 and inverted SQ bounds", async () => {
    const input = base();
    const pq = { kind: "pq" as const, dim: DIM, distance: "l2" as const, residual: true, params: { numSubVectors: 2, nbits: 8 }, arrays: { codebook: new Float32Array(10) } };
    await expect(encodeIvfIndex({ ...input, quantizer: pq, codeWidth: 2 })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.quantizer"));
    await expect(encodeIvfIndex({ ...input, quantizer: { ...input.quantizer, params: { bits: 7 } } })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.quantizer"));
    const lower = new Float32Array(DIM).fill(1);
    const upper = new Float32Array(DIM).fill(-1);
    await expect(encodeIvfIndex({ ...input, quantizer: { ...input.quantizer, arrays: { lower, upper } } })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.quantizer"));
  });

  it("rejects non-finite centroids, a wrong distance, unknown fields and a source of another code width", async () => {
    const input = base();
    const centroids = input.centroids.slice();
    centroids[0] = Number.NaN;
    await expect(encodeIvfIndex({ ...input, centroids })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.centroids[0]"));
    await expect(encodeIvfIndex({ ...input, distance: "cosine" })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.quantizer.distance"));
    await expect(encodeIvfIndex({ ...input, rawVectors: true } as never)).rejects.toEqual(argErr("UNKNOWN_OPTION"));
    const other = new InMemoryPartitionSource({ numPartitions: 2, partitions: new Uint32Array(3), codes: new Uint8Array(3 * 5), codeWidth: 5 });
    await expect(encodeIvfIndex({ ...input, source: other })).rejects.toEqual(argErr("INVALID_ARGUMENT", "input.source.payloadSchema"));
  });

  it("InMemoryPartitionSource checks its input", () => {
    expect(() => new InMemoryPartitionSource({ numPartitions: 2, partitions: [0, 1] as never, codes: new Uint8Array(2), codeWidth: 1 })).toThrow(argErr("INVALID_ARGUMENT", "input.partitions"));
    expect(() => new InMemoryPartitionSource({ numPartitions: 2, partitions: Uint32Array.of(0, 2), codes: new Uint8Array(2), codeWidth: 1 })).toThrow(argErr("INVALID_ARGUMENT", "input.partitions[1]"));
    expect(() => new InMemoryPartitionSource({ numPartitions: 2, partitions: Uint32Array.of(0, 1), codes: new Uint8Array(3), codeWidth: 1 })).toThrow(argErr("INVALID_ARGUMENT", "input.codes"));
  });
});
