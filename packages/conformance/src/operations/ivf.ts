/**
 * IVF conformance operations (spec/ivf.md):
 * - `ivf-open-index`: an index file (.bin) -> the canonical state summary a cold open produces
 *   (without `path`: the file is handed over without one).
 * - `ivf-decode-state`: an `IvfIndexState` cache entry (.bin) -> the same canonical state summary.
 * - `ivf-decode-partition`: a partition cache entry (.bin; the codec is chosen by the frame's type
 *   name) -> `{ typeName, partition, rows, codeWidth, rowIds, codes }`.
 * - `ivf-search`: a directory with `state.bin`, `partition-<p>.bin` and (with raw vectors)
 *   `vectors-<p>.bin` cache entries, and `input` `{ query: <hex f32>, k, nprobes, refineFactor?,
 *   allowList? }` -> `{ hits: [{ rowId, distance }] }`, distance as a decimal string rounded to 4
 *   places (the stated tolerance), with no object-store access at all. Bad inputs (k = 0, ...)
 *   are errors with stage `input` (spec/ivf.md#conformance-operations).
 * - `ivf-search-file`: an index file (.bin) and the `ivf-search` input -> the same hits, searched
 *   from the file cold (no cache given): refine reads the candidates' raw-vector row groups from
 *   the file and must verify each (kind version 3: RAW_ROW_GROUP_CHECKSUM_MISMATCH).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { IndexCache, decodeCacheEntry } from "@quiver/cache";
import { QuiverArgumentError, QuiverFormatError, inspectFrameHeader } from "@quiver/format";
import {
  IvfVectorIndex,
  type IvfIndexState,
  PARTITION_TYPE_NAMES,
  openVectorIndex,
  type QuantizerKind,
  ivfIndexStateCodec,
  partitionEntryCodecs,
  partitionVectorsCodec,
  readIvfIndexState,
} from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";
import { bytesToHex, hexToBytes } from "../canonical-json.js";
import type { OperationFn } from "../operation.js";

function bytesOfView(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** Canonical summary of an index state (offsets as decimal strings via bigint, arrays as hex). */
function stateSummary(s: IvfIndexState, withPath: boolean): unknown {
  const arrays: Record<string, string> = {};
  for (const [name, a] of Object.entries(s.quantizer.arrays)) arrays[name] = bytesToHex(bytesOfView(a));
  return {
    ...(withPath ? { path: s.path } : {}),
    fileSize: BigInt(s.fileSize),
    metadata: s.metadata,
    centroids: bytesToHex(bytesOfView(s.centroids)),
    quantizerArrays: arrays,
    partitions: s.partitions.map((p) => ({
      rows: p.rows,
      offset: BigInt(p.offset),
      length: BigInt(p.length),
      crc32: p.crc32,
      ...(p.raw === undefined ? {} : { raw: { offset: BigInt(p.raw.offset), length: BigInt(p.raw.length), crc32: p.raw.crc32 } }),
    })),
    ...(s.rawRowGroups === undefined ? {} : { rawRowGroupCrcs: bytesToHex(bytesOfView(s.rawRowGroups.crcs)) }),
  };
}

function kindOfTypeName(typeName: string): QuantizerKind {
  for (const [kind, name] of Object.entries(PARTITION_TYPE_NAMES)) if (name === typeName) return kind as QuantizerKind;
  throw new QuiverFormatError("WRONG_TYPE_NAME", `${JSON.stringify(typeName)} is not an IVF partition entry type`, { stage: "type-name", offset: 64 });
}

function needBin(bin: Uint8Array | undefined, op: string): Uint8Array {
  if (bin === undefined) throw new Error(`${op} needs a single-file fixture (.bin)`);
  return bin;
}

/** Conformance operations of the IVF area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "ivf-open-index": async (fixture) => {
    const bin = needBin(fixture.bin, "ivf-open-index");
    const store = new MemoryObjectStore();
    await store.put("index.qvr", bin);
    return stateSummary(await readIvfIndexState(store, "index.qvr", bin.byteLength), false);
  },
  "ivf-decode-state": async (fixture) => stateSummary(decodeCacheEntry(ivfIndexStateCodec, needBin(fixture.bin, "ivf-decode-state")).value, true),
  "ivf-decode-partition": async (fixture) => {
    const bin = needBin(fixture.bin, "ivf-decode-partition");
    const kind = kindOfTypeName(inspectFrameHeader(bin).typeName);
    const codec = partitionEntryCodecs[kind];
    const e = decodeCacheEntry(codec, bin).value;
    return { typeName: codec.typeName, partition: e.partition, rows: e.rows, codeWidth: e.codeWidth, rowIds: [...e.rowIds], codes: bytesToHex(e.codes) };
  },
  "ivf-search": async (fixture) => {
    if (fixture.dir === undefined) throw new Error("ivf-search needs a multi-file fixture (directory)");
    const input = fixture.input as SearchInput;
    const state = decodeCacheEntry(ivfIndexStateCodec, await readFile(join(fixture.dir, "state.bin"))).value;
    // An empty store: any read would fail, so the search runs from the cache entries alone.
    const cache = IndexCache.inMemory();
    const index = new IvfVectorIndex(new MemoryObjectStore(), state, { cache });
    const codec = partitionEntryCodecs[state.metadata.quantizer.kind];
    for (let p = 0; p < state.metadata.numPartitions; p++) {
      const entry = decodeCacheEntry(codec, await readFile(join(fixture.dir, `partition-${p}.bin`))).value;
      if (entry.partition !== p) throw new QuiverFormatError("INVALID_VALUE", `partition-${p}.bin holds partition ${entry.partition}`, { stage: "payload" });
      await cache.insert(index.partitionCacheKey(p), entry);
      if (state.metadata.rawVectors) {
        const v = decodeCacheEntry(partitionVectorsCodec, await readFile(join(fixture.dir, `vectors-${p}.bin`))).value;
        await cache.insert(index.vectorsCacheKey(p), v);
      }
    }
    return searchWith(index, input);
  },
  "ivf-search-file": async (fixture) => {
    const bin = needBin(fixture.bin, "ivf-search-file");
    const store = new MemoryObjectStore();
    await store.put("index.qvr", bin);
    // No cache given: the index sizes its own and every partition and row group comes from the file.
    const index = await openVectorIndex(store, "index.qvr", { fileSize: bin.byteLength, onWarning: () => undefined });
    return searchWith(index, fixture.input as SearchInput);
  },
};

interface SearchInput {
  query: string;
  k: number;
  nprobes: number;
  refineFactor?: number;
  allowList?: string[];
}

async function searchWith(index: IvfVectorIndex, input: SearchInput): Promise<unknown> {
  const qb = hexToBytes(input.query);
  const query = new Float32Array(qb.buffer, qb.byteOffset, qb.byteLength / 4);
  const options = {
    idType: "bigint" as const,
    k: input.k,
    nprobes: input.nprobes,
    ...(input.refineFactor === undefined ? {} : { refineFactor: input.refineFactor }),
    ...(input.allowList === undefined ? {} : { allowList: input.allowList.map((id) => BigInt(id)) }),
  };
  let hits;
  try {
    hits = await index.search(query, options);
  } catch (e) {
    // Wrong search inputs are a defined rejection of this operation (stage "input").
    if (e instanceof QuiverArgumentError) throw new QuiverFormatError(e.code, e.message, { stage: "input", cause: e });
    throw e;
  }
  return { hits: hits.map((h) => ({ rowId: h.id, distance: h.distance.toFixed(4) })) };
}
