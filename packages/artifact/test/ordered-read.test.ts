import { describe, expect, it } from "vitest";
import { isQuiverArgumentError, isQuiverFormatError } from "@quiver/format";
import { IoStatsStore, MemoryObjectStore, type ObjectReader } from "@quiver/store";
import { type BucketPolicyKind, PartitionArtifactReader, PartitionArtifactWriter, canonicalPayloadRows, decodeRangesTable } from "../src/index.js";
import { setCrcWorkerMinBytes } from "../src/internal/crc-worker.js";
import { checkExactRoundTrip, inputBatch, partitionOfRow, pqSchema } from "./helpers.js";

const POLICIES: BucketPolicyKind[] = ["hash-modulo", "range-by-partition-id", "size-balanced-range"];
const ROWS = 60_000;
const P = 200;

async function write(store: MemoryObjectStore, uri: string, policy: BucketPolicyKind, numBuckets: number): Promise<void> {
  const est = new Array<number>(P).fill(0);
  for (let r = 0; r < ROWS; r++) est[partitionOfRow(r, P, 1)]!++;
  const w = await PartitionArtifactWriter.create({
    store, uri, numPartitions: P, payloadSchema: pqSchema(), policy, numBuckets, memoryBudgetBytes: 256 << 10,
    ...(policy === "size-balanced-range" ? { partitionSizeEstimates: est } : {}),
  });
  for (let r = 0; r < ROWS; r += 10_000) await w.append(inputBatch(r, Math.min(10_000, ROWS - r), P));
  await w.finish();
}

/** A memory store that counts the object readers opened and closed. */
class ReaderCountingStore extends MemoryObjectStore {
  opened = 0;
  closed = 0;
  override async openReader(path: string): Promise<ObjectReader> {
    const r = await super.openReader(path);
    this.opened++;
    return {
      path: r.path,
      size: r.size,
      pinned: r.pinned,
      readRangesInto: (ranges, target, options) => r.readRangesInto(ranges, target, options),
      close: async () => {
        this.closed++;
        await r.close();
      },
    };
  }
}

/** Every partition's rows as canonical JSON-able rows, through readPartition (the reference path). */
/**
 * Flips the last payload byte of the bucket file at `path`: the last record batch body byte
 * before the end-of-stream marker and the footer, so the file still parses and only that range's
 * CRC-32 no longer matches.
 */
async function flipLastPayloadByte(mem: MemoryObjectStore, path: string): Promise<void> {
  const file = await mem.get(path);
  const bad = file.slice();
  const footerLen = new DataView(file.buffer, file.byteOffset).getInt32(file.byteLength - 10, true);
  const at = file.byteLength - 10 - footerLen - 8 - 9;
  bad[at] = bad[at]! ^ 0x01;
  await mem.put(path, bad);
}

async function perPartition(reader: PartitionArtifactReader): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (let p = 0; p < reader.numPartitions; p++) out.push((await reader.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
  return out;
}

describe("PartitionArtifactReader.partitionsInOrder (bulk read for finalize)", () => {
  for (const policy of POLICIES) {
    for (const order of ["bucket", "partition"] as const) {
      it(`${policy}, ${order} order: every partition once, the same rows as readPartition, in few requests within the buffer bound`, async () => {
        const mem = new MemoryObjectStore();
        await write(mem, "a", policy, 5);
        const stats = new IoStatsStore(mem);
        const reader = await PartitionArtifactReader.open(stats, "a");
        const want = await perPartition(reader);
        await reader.loadFooters();
        stats.reset();
        const maxBufferedBytes = 1024 * 1024;
        const read = reader.partitionsInOrder({ order, maxBufferedBytes, maxRequestBytes: 64 * 1024 });
        const seen: number[] = [];
        for await (const part of read) {
          seen.push(part.partition);
          // the column bytes (what finalize copies) and the Arrow batch built from them on demand
          expect(part.columns.map((c) => c.byteLength)).toEqual([part.rows * 8, part.rows * 16]);
          expect(part.batches.reduce((s, b) => s + b.numRows, 0)).toBe(part.rows);
          expect(part.batches.flatMap((b) => canonicalPayloadRows(b))).toEqual(want[part.partition]);
          expect(part.batches).toBe(part.batches); // built once
          if (part.rows > 0) expect(Buffer.from(part.columns[1]!).equals(Buffer.from((part.batches[0]!.getChild("code")!.data[0]!.children[0]!.values as Uint8Array)))).toBe(true);
        }
        expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: P }, (_, p) => p));
        if (order === "partition" || policy !== "hash-modulo") expect(seen).toEqual(Array.from({ length: P }, (_, p) => p));
        else expect(seen.slice(0, 3)).toEqual([0, 5, 10]);
        // Requests as the store counted them; far fewer than one per range. Partition order under
        // hash-modulo spreads every window over all buckets: one request per (bucket, flush) per window.
        const ranges = reader.manifest.ranges.num_ranges;
        expect(read.cost.requests).toBe(stats.snapshot().total.readRequests);
        expect(read.cost.requests * (order === "partition" && policy === "hash-modulo" ? 4 : 8)).toBeLessThan(ranges);
        expect(read.cost.windows).toBeGreaterThan(1);
        expect(read.cost.peakBufferedBytes).toBeLessThanOrEqual(maxBufferedBytes);
      });
    }
  }

  it("the sequential source serves a 0..P-1 consumer from the ordered read and falls back for other orders", async () => {
    const mem = new MemoryObjectStore();
    await write(mem, "a", "hash-modulo", 3);
    const stats = new IoStatsStore(mem);
    const reader = await PartitionArtifactReader.open(stats, "a");
    await reader.loadFooters();
    stats.reset();
    const source = reader.sequentialSource({ maxBufferedBytes: 1 << 20 });
    await checkExactRoundTrip(source, ROWS);
    expect(source.cost.requests).toBe(stats.snapshot().total.readRequests);
    expect(source.cost.requests).toBeLessThan(reader.manifest.ranges.num_ranges / 8);
    // Out of sequence: read on its own, still exact.
    const again = (await reader.readPartitionBatches(7)).flatMap((b) => canonicalPayloadRows(b));
    const viaSource: unknown[] = [];
    for await (const b of source.readPartition(7)) viaSource.push(...canonicalPayloadRows(b));
    expect(viaSource).toEqual(again);
  });

  it("a second 0..P-1 pass over the sequential source (the streamed index writer's two-pass write) is a second bulk read, not P single reads", async () => {
    const mem = new MemoryObjectStore();
    await write(mem, "a", "hash-modulo", 3);
    const stats = new IoStatsStore(mem);
    const reader = await PartitionArtifactReader.open(stats, "a");
    await reader.loadFooters();
    const source = reader.sequentialSource();
    stats.reset();
    await checkExactRoundTrip(source, ROWS);
    const first = stats.snapshot().total.readRequests;
    stats.reset();
    await checkExactRoundTrip(source, ROWS);
    const second = stats.snapshot().total.readRequests;
    expect(second).toBe(first);
    expect(second).toBeLessThan(P / 4);
  });

  it("a flipped byte in a range fails the ordered read with ARTIFACT_RANGE_CHECKSUM_MISMATCH before it is decoded", async () => {
    const mem = new MemoryObjectStore();
    await write(mem, "a", "range-by-partition-id", 2);
    const reader0 = await PartitionArtifactReader.open(mem, "a");
    const path = `a/${reader0.manifest.buckets[1]!.path}`;
    const ranges = decodeRangesTable(await mem.get(`a/${reader0.manifest.ranges.path}`));
    expect(ranges.bucket.indexOf(1)).toBeGreaterThan(0);
    await flipLastPayloadByte(mem, path);
    const reader = await PartitionArtifactReader.open(mem, "a");
    const err = await (async () => {
      for await (const _ of reader.partitionsInOrder()) void _;
    })().catch((e: unknown) => e);
    expect(isQuiverFormatError(err, "ARTIFACT_RANGE_CHECKSUM_MISMATCH")).toBe(true);
  });

  it("reuseBuffers: the same bytes as fresh buffers from at most two window buffers and two slabs; one reader per bucket file, all closed once the last window is in", async () => {
    const mem = new ReaderCountingStore();
    await write(mem, "a", "hash-modulo", 4);
    const reader = await PartitionArtifactReader.open(mem, "a");
    const read = async (reuseBuffers: boolean): Promise<{ bytes: Map<number, Buffer[]>; buffers: Set<ArrayBufferLike>; windows: number }> => {
      const bytes = new Map<number, Buffer[]>();
      const buffers = new Set<ArrayBufferLike>();
      const it = reader.partitionsInOrder({ order: "partition", maxBufferedBytes: 256 * 1024, splitPartitions: true, reuseBuffers });
      for await (const part of it) {
        // copied before the next entry is asked for: what the reuse contract allows
        const prev = bytes.get(part.partition) ?? [];
        bytes.set(part.partition, [...prev, ...part.columns.map((c) => Buffer.from(c))]);
        for (const c of part.columns) if (c.byteLength > 0) buffers.add(c.buffer);
      }
      return { bytes, buffers, windows: it.cost.windows };
    };
    const fresh = await read(false);
    const opensAfterFresh = mem.opened;
    expect(mem.closed).toBe(mem.opened);
    const reused = await read(true);
    expect(reused.windows).toBeGreaterThan(8);
    expect(fresh.buffers.size).toBeGreaterThan(8);
    expect(reused.buffers.size).toBeLessThanOrEqual(4);
    expect([...reused.bytes.keys()]).toEqual([...fresh.bytes.keys()]);
    for (const [p, cols] of fresh.bytes) expect(Buffer.concat(reused.bytes.get(p)!).equals(Buffer.concat(cols))).toBe(true);
    // one open per bucket file per read (not one per request), every reader closed
    expect(opensAfterFresh).toBe(4);
    expect(mem.opened).toBe(8);
    expect(mem.closed).toBe(8);
    // a 0..P-1 consumer that never asks past the last partition still leaves no reader open
    const source = reader.sequentialSource({ maxBufferedBytes: 256 * 1024, splitPartitions: true, reuseBuffers: true });
    await checkExactRoundTrip(source, ROWS);
    expect(mem.closed).toBe(mem.opened);
    expect(() => reader.partitionsInOrder({ reuseBuffers: "yes" as never })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as unknown as Error);
  });

  it("range CRCs checked on the worker thread (a large read): the same rows, and a flipped byte is still ARTIFACT_RANGE_CHECKSUM_MISMATCH", async () => {
    const mem = new MemoryObjectStore();
    await write(mem, "a", "range-by-partition-id", 2);
    const prev = setCrcWorkerMinBytes(0);
    try {
      const reader = await PartitionArtifactReader.open(mem, "a");
      for (const reuseBuffers of [false, true]) {
        const source = reader.sequentialSource({ maxBufferedBytes: 256 * 1024, splitPartitions: true, reuseBuffers });
        await checkExactRoundTrip(source, ROWS);
        expect(source.cost.windows).toBeGreaterThan(4);
      }
      // flip the last payload byte of a bucket file (as above): the worker's CRC of that range no longer matches
      const path = `a/${reader.manifest.buckets[1]!.path}`;
      await flipLastPayloadByte(mem, path);
      const reopened = await PartitionArtifactReader.open(mem, "a");
      const err = await (async () => {
        for await (const _ of reopened.partitionsInOrder({ maxBufferedBytes: 256 * 1024, reuseBuffers: true })) void _;
      })().catch((e: unknown) => e);
      expect(isQuiverFormatError(err, "ARTIFACT_RANGE_CHECKSUM_MISMATCH")).toBe(true);
    } finally {
      setCrcWorkerMinBytes(prev);
    }
  });

  it("rejects unknown and out-of-range options before any read", async () => {
    const mem = new MemoryObjectStore();
    await write(mem, "a", "hash-modulo", 2);
    const reader = await PartitionArtifactReader.open(mem, "a");
    expect(() => reader.partitionsInOrder({ maxBuffered: 1 } as never)).toThrow(expect.objectContaining({ code: "UNKNOWN_OPTION" }) as unknown as Error);
    expect(() => reader.partitionsInOrder({ maxRequestBytes: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as unknown as Error);
    expect(() => reader.partitionsInOrder({ order: "random" as never })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }) as unknown as Error);
    const e = (() => {
      try {
        reader.partitionsInOrder({ maxConcurrentRequests: 5000 });
      } catch (x) {
        return x;
      }
    })();
    expect(isQuiverArgumentError(e, "ARGUMENT_LIMIT_EXCEEDED")).toBe(true);
  });
});
