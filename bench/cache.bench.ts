/**
 * Cache benchmarks (issue 3): get/insert throughput and p50/p99 latency per backend (memory,
 * disk, Redis, tiered memory-over-disk) for 4 KiB, 1 MiB and 16 MiB entries, and the cache-entry
 * codec's encode/decode throughput against a plain Buffer.copy of the same bytes (the physical
 * limit), printed as a ratio. Redis runs against a redis-server this bench starts on a free port;
 * without one the Redis rows are skipped with a note. BENCH_QUICK=1: fewer iterations.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type CacheBackend,
  DiskCacheBackend,
  MemoryCacheBackend,
  TieredCacheBackend,
  decodeCacheEntry,
  encodeCacheEntry,
  formatCacheKey,
  frameCodec,
  testVectorsCodec,
  type TestVectors,
} from "@quiver/cache";
import { RedisCacheBackend } from "@quiver/cache-redis";
import { redisServerUnavailable, startRedisServer } from "../packages/cache-redis/test/redis-server.js";
import type { BenchContext, BenchResult } from "./run.js";

const KiB = 1024;
const MiB = 1024 * KiB;

interface SizeCase {
  readonly label: string;
  readonly bytes: number;
  readonly iterations: number;
}

function vectorsOf(bytes: number, seed: number): TestVectors {
  const data = new Float32Array(bytes / 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = x / 2 ** 32;
  }
  return { id: `v${seed}`, dims: 16, data };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function row(backend: string, size: SizeCase, op: string, times: number[]): Record<string, string | number> {
  const sorted = [...times].sort((a, b) => a - b);
  const total = times.reduce((a, b) => a + b, 0);
  return {
    backend,
    size: size.label,
    op,
    n: times.length,
    "ops/s": Math.round((times.length / total) * 1000),
    "MB/s": Math.round(((size.bytes * times.length) / MiB / total) * 1000),
    "p50 ms": Number(percentile(sorted, 50).toFixed(3)),
    "p99 ms": Number(percentile(sorted, 99).toFixed(3)),
  };
}

async function measureBackend(
  ctx: BenchContext,
  name: string,
  make: () => Promise<CacheBackend>,
  reopen: ((b: CacheBackend) => Promise<CacheBackend>) | undefined,
  size: SizeCase,
): Promise<Record<string, string | number>[]> {
  const codec = frameCodec(testVectorsCodec);
  const backend = await make();
  await backend.clear();
  // Cycle over a bounded key set so big entries do not exhaust memory, disk or Redis.
  const keys = Math.max(1, Math.min(size.iterations, Math.floor((128 * MiB) / size.bytes)));
  const values = Array.from({ length: Math.min(keys, 4) }, (_, i) => vectorsOf(size.bytes, i + 1));
  const insertTimes: number[] = [];
  for (let i = 0; i < size.iterations; i++) {
    const k = formatCacheKey("bench/", `k${i % keys}`, testVectorsCodec.typeName);
    const value = values[i % values.length]!;
    const t0 = performance.now();
    await backend.insert(k, { value, sizeBytes: testVectorsCodec.sizeOf(value) }, codec);
    insertTimes.push(performance.now() - t0);
    if (i % 50 === 0) ctx.progress(`${name} ${size.label} insert ${i}/${size.iterations}`);
  }
  // A fresh instance for reads when the backend has a memory tier (tiered: cold persistent hit + promotion).
  const reader = reopen === undefined ? backend : await reopen(backend);
  const getTimes: number[] = [];
  let misses = 0;
  for (let i = 0; i < size.iterations; i++) {
    const k = formatCacheKey("bench/", `k${i % keys}`, testVectorsCodec.typeName);
    const t0 = performance.now();
    const e = await reader.get(k, codec);
    getTimes.push(performance.now() - t0);
    if (e === undefined) misses++;
    if (i % 50 === 0) ctx.progress(`${name} ${size.label} get ${i}/${size.iterations}`);
  }
  if (misses > 0) throw new Error(`${name} ${size.label}: ${misses} unexpected misses`);
  await backend.clear();
  if (reader !== backend) await reader.close?.();
  await backend.close?.();
  return [row(name, size, "insert", insertTimes), row(name, size, "get", getTimes)];
}

function codecRows(ctx: BenchContext, size: SizeCase): Record<string, string | number>[] {
  const v = vectorsOf(size.bytes, 9);
  const frame = encodeCacheEntry(testVectorsCodec, v);
  const src = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const dst = Buffer.allocUnsafeSlow(frame.byteLength);
  const reps = Math.max(3, Math.min(2000, Math.floor((256 * MiB) / size.bytes / (ctx.quick ? 8 : 1))));
  const time = (f: () => void): number => {
    f(); // warm up
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) f();
    return (performance.now() - t0) / reps;
  };
  ctx.progress(`codec ${size.label}`);
  const copy = time(() => src.copy(dst));
  const enc = time(() => void encodeCacheEntry(testVectorsCodec, v));
  const dec = time(() => void decodeCacheEntry(testVectorsCodec, frame));
  const mbs = (ms: number) => Math.round((size.bytes / MiB / ms) * 1000);
  return [
    { backend: "codec", size: size.label, op: "Buffer.copy", n: reps, "ops/s": Math.round(1000 / copy), "MB/s": mbs(copy), "p50 ms": Number(copy.toFixed(3)), "p99 ms": "", "x copy": 1 },
    { backend: "codec", size: size.label, op: "encode", n: reps, "ops/s": Math.round(1000 / enc), "MB/s": mbs(enc), "p50 ms": Number(enc.toFixed(3)), "p99 ms": "", "x copy": Number((enc / copy).toFixed(1)) },
    { backend: "codec", size: size.label, op: "decode", n: reps, "ops/s": Math.round(1000 / dec), "MB/s": mbs(dec), "p50 ms": Number(dec.toFixed(3)), "p99 ms": "", "x copy": Number((dec / copy).toFixed(1)) },
  ];
}

/** Variables that select part of this bench or change what it measures: a run with any set writes cache.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the cache benchmark. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const sizes: SizeCase[] = ctx.quick
    ? [
        { label: "4 KiB", bytes: 4 * KiB, iterations: 100 },
        { label: "1 MiB", bytes: MiB, iterations: 8 },
        { label: "16 MiB", bytes: 16 * MiB, iterations: 2 },
      ]
    : [
        { label: "4 KiB", bytes: 4 * KiB, iterations: 2000 },
        { label: "1 MiB", bytes: MiB, iterations: 100 },
        { label: "16 MiB", bytes: 16 * MiB, iterations: 16 },
      ];
  const notes: string[] = [
    "Entries are CacheTestVectors frames (one f32 section of the given size); insert = encode + store, get = fetch + verify CRCs + decode (memory: live value, no codec).",
    "tiered get = a fresh memory tier over the written disk tier: persistent hit + promotion (a warm tiered get is the memory row).",
    "x copy = codec time / Buffer.copy time of the same frame bytes (Buffer.copy is the physical limit).",
  ];
  const dir = await mkdtemp(join(tmpdir(), "quiver-cache-bench-"));
  const quiet = { warn: () => undefined };
  const rows: Record<string, string | number>[] = [];
  const redisSkip = redisServerUnavailable();
  const server = redisSkip === undefined ? await startRedisServer() : undefined;
  if (redisSkip !== undefined) notes.push(`Redis rows skipped: ${redisSkip}`);
  try {
    for (const size of sizes) {
      rows.push(...(await measureBackend(ctx, "memory", async () => new MemoryCacheBackend({ maxBytes: 1024 * MiB }), undefined, size)));
      const diskDir = join(dir, `disk-${size.bytes}`);
      rows.push(...(await measureBackend(ctx, "disk", () => DiskCacheBackend.open({ directory: diskDir, maxBytes: 4096 * MiB, logger: quiet }), undefined, size)));
      if (server !== undefined) {
        rows.push(...(await measureBackend(ctx, "redis", () => RedisCacheBackend.connect({ redis: server.url, logger: quiet, commandTimeoutMs: 30_000 }), undefined, size)));
      }
      const tieredDir = join(dir, `tiered-${size.bytes}`);
      const tiered = async () => new TieredCacheBackend(new MemoryCacheBackend({ maxBytes: 1024 * MiB }), await DiskCacheBackend.open({ directory: tieredDir, maxBytes: 4096 * MiB, logger: quiet }));
      rows.push(...(await measureBackend(ctx, "tiered(mem/disk)", tiered, tiered, size)));
      rows.push(...codecRows(ctx, size));
    }
  } finally {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, notes };
}
