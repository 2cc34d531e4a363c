/**
 * Reopen and verified-decode benchmarks (issue 13): open + first query of a 100k x 128 PQ index
 * (256 partitions, raw vectors) cold over a 20 ms/request LatencyStore, from a disk cache written by
 * an earlier open (a fresh DiskCacheBackend per round, zero store requests, counted), and from a
 * warm in-memory cache; then the cache-entry decode with every check against Buffer.copy of the
 * same bytes for 1, 16 and 64 MiB entries, and the speed of candidate checksums. BENCH_QUICK=1
 * shrinks every size. The machine is shared: compare the ratios, read the load note.
 */
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskCacheBackend, IndexCache, decodeCacheEntry, encodeCacheEntry, testVectorsCodec } from "@quiver/cache";
import { crc32, decodeFrame } from "@quiver/format";
import { gaussianMixture, openVectorIndex } from "@quiver/ivf";
import { IoStatsStore, LatencyStore, MemoryObjectStore } from "@quiver/store";
import { buildIndexInMemory } from "@quiver/build";
import { machineLoad } from "./machine.js";
import type { BenchContext, BenchResult } from "./run.js";

const MiB = 1024 * 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r2 = (x: number): number => Number(x.toFixed(2));
const r3 = (x: number): number => Number(x.toFixed(3));

/** Run the reopen and decode benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const rows: BenchResult["rows"][number][] = [];
  const n = ctx.quick ? 5_000 : 100_000;
  const dim = ctx.quick ? 32 : 128;
  const P = ctx.quick ? 32 : 256;
  ctx.progress("dataset + build");
  const data = gaussianMixture({ n, dim, clusters: ctx.quick ? 64 : 1024, seed: 1 });
  const q0 = gaussianMixture({ n: 1, dim, clusters: ctx.quick ? 64 : 1024, seed: 2, centerSeed: 1 });
  const store = new MemoryObjectStore();
  // Keep the event loop alive while the build runs: its compute pool unrefs idle workers, and under
  // load the loop has been seen to empty with the build still pending (the process then exits 13).
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    await buildIndexInMemory({ store, path: "idx", vectors: data, dim, quantizer: "pq", distanceType: "l2", numPartitions: P, seed: 3, storeRawVectors: true, numSubVectors: Math.max(1, dim / 8) });
  } finally {
    clearInterval(keepAlive);
  }
  const slow = new LatencyStore(store, { latencyMs: 20 });
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-reopen-"));
  const quiet = { warn: () => undefined };
  try {
    // The disk cache as an earlier process leaves it: state + every partition written by prewarm.
    const writer = new DiskCacheBackend({ directory: dir, logger: quiet });
    const warmed = await openVectorIndex(store, "idx", { cache: new IndexCache(writer) });
    await warmed.prewarm();
    const identity = warmed.identity;
    await writer.close();
    const memory = IndexCache.inMemory(2 ** 30);
    await (await openVectorIndex(store, "idx", { cache: memory, identity })).prewarm();
    const search = { k: 10, nprobes: 20 } as const;
    // Medians of 21: the machine is shared, and the first rounds of the disk path still run
    // unoptimised code (round 1 is reported on its own as "first in process").
    const rounds = ctx.quick ? 3 : 21;
    const cold: number[] = [];
    const disk: number[] = [];
    const mem: number[] = [];
    // CPU time of each disk and memory round (process.cpuUsage: every thread of the process, user +
    // system): unlike wall time it does not grow when other processes hold the CPU.
    const diskCpu: number[] = [];
    const memCpu: number[] = [];
    let firstDisk = Number.NaN;
    let storeRequests = 0;
    for (let r = 0; r < rounds; r++) {
      ctx.progress(`open + first query, round ${r + 1}`);
      let t = performance.now();
      const c = await openVectorIndex(slow, "idx", { cache: IndexCache.inMemory() });
      await c.search(q0, search);
      cold.push(performance.now() - t);
      // The backend is process-level infrastructure: made (directory set up) before the clock starts.
      const backend = new DiskCacheBackend({ directory: dir, logger: quiet });
      await backend.get("bench-warmup-key");
      const counted = new IoStatsStore(slow);
      let c0 = process.cpuUsage();
      t = performance.now();
      const w = await openVectorIndex(counted, "idx", { cache: new IndexCache(backend), identity });
      await w.search(q0, search);
      const dt = performance.now() - t;
      let used = process.cpuUsage(c0);
      diskCpu.push((used.user + used.system) / 1000);
      if (r === 0) firstDisk = dt;
      disk.push(dt);
      const io = counted.snapshot().total;
      storeRequests += io.readRequests + io.heads + io.lists;
      await backend.close();
      c0 = process.cpuUsage();
      t = performance.now();
      const m = await openVectorIndex(slow, "idx", { cache: memory, identity });
      await m.search(q0, search);
      mem.push(performance.now() - t);
      used = process.cpuUsage(c0);
      memCpu.push((used.user + used.system) / 1000);
    }
    if (storeRequests !== 0) throw new Error(`reopen from the disk cache made ${storeRequests} store requests`);
    rows.push({
      bench: "reopen",
      shape: `${n} x ${dim}, PQ, ${P} partitions`,
      "cold 20ms store (ms)": r2(median(cold)),
      "disk cache (ms)": r3(median(disk)),
      "disk cache, first in process (ms)": r3(firstDisk),
      "memory cache (ms)": r3(median(mem)),
      "cold/disk": r2(median(cold) / median(disk)),
      "cold/disk first": r2(median(cold) / firstDisk),
      "disk/memory": r2(median(disk) / median(mem)),
      // The fastest round is the one least disturbed by other processes on the shared machine.
      "disk cache, fastest round (ms)": r3(Math.min(...disk)),
      "memory cache, fastest round (ms)": r3(Math.min(...mem)),
      "cold/disk fastest": r2(median(cold) / Math.min(...disk)),
      "disk cache CPU (ms)": r3(median(diskCpu)),
      "disk cache CPU, first in process (ms)": r3(diskCpu[0]!),
      "memory cache CPU (ms)": r3(median(memCpu)),
      "cold/disk CPU": r2(median(cold) / median(diskCpu)),
      "store requests (disk)": storeRequests,
      load: machineLoad(),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // Verified decode vs Buffer.copy of the same bytes.
  for (const mib of ctx.quick ? [1, 4] : [1, 16, 64]) {
    ctx.progress(`decode ${mib} MiB`);
    const v = { id: "bench", dims: 16, data: new Float32Array((mib * MiB) / 4).map((_, i) => (i * 2654435761) % 1000) };
    v.data[0] = 0;
    const frame = encodeCacheEntry(testVectorsCodec, v);
    const src = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const dst = Buffer.allocUnsafeSlow(frame.byteLength);
    const reps = Math.max(5, Math.min(200, Math.floor(256 / mib / (ctx.quick ? 8 : 1))));
    const time = (prepare: () => Uint8Array, f: (b: Uint8Array) => unknown): number => {
      const xs: number[] = [];
      for (let i = 0; i <= reps; i++) {
        const input = prepare();
        const t = performance.now();
        f(input);
        if (i > 0) xs.push(performance.now() - t);
      }
      return median(xs);
    };
    const same = () => frame;
    // A fresh copy per run, as a disk or Redis read hands the codec a new buffer each time.
    const fresh = () => Uint8Array.from(frame);
    const copy = time(same, () => src.copy(dst));
    // Every run gets a frame never decoded before (one value changed, re-encoded outside the clock).
    let nth = 0;
    const unseen = () => {
      v.data[0] = ++nth;
      return encodeCacheEntry(testVectorsCodec, v);
    };
    const first = time(unseen, (b) => decodeCacheEntry(testVectorsCodec, b));
    v.data[0] = 0;
    const keep = decodeCacheEntry(testVectorsCodec, fresh());
    const again = time(fresh, (b) => decodeCacheEntry(testVectorsCodec, b));
    const zero = time(same, (b) => decodeFrame(b, { skipSectionChecksums: true }));
    const crc = time(same, (b) => crc32(b));
    const sha = time(same, (b) => createHash("sha256").update(b).digest());
    const cmp = time(fresh, (b) => Buffer.compare(b, frame));
    if (keep.value.data.length !== v.data.length) throw new Error("decode lost data");
    rows.push({
      bench: "verified decode",
      "entry MiB": mib,
      "Buffer.copy (ms)": r3(copy),
      "decode, every check (ms)": r3(first),
      "decode, bytes verified before (ms)": r3(again),
      "zero-copy, no checksums (ms)": r3(zero),
      "decode/copy": r2(first / copy),
      "verified-before/copy": r2(again / copy),
      "zlib CRC-32 GB/s": r2(frame.byteLength / crc / 1e6),
      "SHA-256 GB/s": r2(frame.byteLength / sha / 1e6),
      "memcmp GB/s": r2(frame.byteLength / cmp / 1e6),
      "copy GB/s": r2(frame.byteLength / copy / 1e6),
      load: machineLoad(),
    });
  }
  return {
    rows,
    notes: [
      "reopen = openVectorIndex + the first search (k 10, nprobes 20); cold: in-memory cache over a LatencyStore of 20 ms per request; disk: a fresh DiskCacheBackend per round over a directory an earlier open prewarmed (state + every partition), the opens counted by IoStatsStore (must be 0 requests); memory: a prewarmed in-memory IndexCache",
      "CPU columns: process.cpuUsage (user + system, all threads) over the same open + first query: what the round costs the machine, whatever else holds the CPU; cold/disk CPU compares the cold wall time with the disk round's CPU time (the cold open waits on the store, it does not compute). Wall times above ~1 ms of CPU pay a scheduler wait per preemption on a loaded machine (tens of ms at load 25), which the memory round mostly escapes and the disk round does not",
      "disk cache, first in process = round 1: every entry is decoded with all its checks; later rounds get entries byte-identical to ones verified before in this process, which are compared (memcmp) instead of re-verified: the reader holds the last 8 checked states (at most 64 MiB) so this holds after a GC too, with the state's quantizer and residual-PQ scoring tables (built once per state); partition entries are compared while their values are alive, else decoded in full",
      "verified decode = decodeCacheEntry of a frame never decoded before in a fresh buffer (as a backend read hands over) with every check: header CRC, section CRC-32s, codec checks; bytes verified before = the same after an identical frame was decoded in this process and its value is still alive",
    ],
  };
}
