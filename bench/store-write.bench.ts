/**
 * Streaming object writers (`openObjectWriter` / `createWriter`): write throughput and the
 * writer's own peak buffered bytes for 64 MiB and 512 MiB objects on the memory store, the local
 * directory and a real s3rver (S3ObjectStore's multipart writer, 8 MiB parts, 4 in flight); the
 * request-count effect with 20 ms per request (S3 requests delayed by an SDK middleware on the
 * real client; LatencyStore over the local store); and the peak RSS of a 1M x 128 build to the
 * local store vs to s3rver (child processes, so each RSS is its own; s3rver runs in its own
 * process too). Run: `pnpm bench store-write` (BENCH_QUICK=1: 16 MiB objects, a 100k build).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeNpyF32 } from "@quiver/build";
import { gaussianMixture } from "@quiver/ivf";
import { LatencyStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore, openObjectWriter } from "@quiver/store";
import { S3ObjectStore, S3ObjectWriter } from "@quiver/store-s3";
import { startS3rver } from "../packages/store-s3/test/s3rver-server.js";
import type { BenchContext, BenchResult } from "./run.js";
import { machineLoad } from "./machine.js";

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const CHUNK = MiB;

function chunk(): Uint8Array {
  const c = new Uint8Array(CHUNK);
  for (let i = 0; i < c.length; i++) c[i] = (i * 2654435761) >>> 24;
  return c;
}

/** Write `bytes` through a writer in 1 MiB chunks; time, requests, peak buffered bytes. */
async function writeThrough(store: ObjectStore, path: string, bytes: number, data: Uint8Array): Promise<{ ms: number; peak: number | null; parts: number | null }> {
  const t = performance.now();
  const w = await openObjectWriter(store, path);
  for (let at = 0; at < bytes; at += CHUNK) await w.write(data.subarray(0, Math.min(CHUNK, bytes - at)));
  await w.commit();
  const ms = performance.now() - t;
  const s3w = w instanceof S3ObjectWriter ? w : undefined;
  return { ms, peak: s3w?.peakBufferedBytes ?? null, parts: s3w?.partsUploaded ?? null };
}

interface ChildReport {
  totalMs: number;
  finalizeMs: number | null;
  fileBytes: number;
  sourcePasses: number | null;
  peakPartitionBytes: number;
  maxRssBytes: number;
  finalizeRssBytes: number;
}

function buildChild(args: string[]): ChildReport {
  const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", join(here, "store-write-child.ts"), ...args], { encoding: "utf8", maxBuffer: 1 << 20, cwd: join(here, "..") });
  if (r.status !== 0) throw new Error(`build child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildReport;
}

/** Variables that select part of this bench or change what it measures: a run with any set writes store-write.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the bench. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const q = ctx.quick;
  const sizes = q ? [16 * MiB] : [64 * MiB, 512 * MiB];
  const rows: BenchResult["rows"] = [];
  const notes: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), "quiver-store-write-"));
  const server = await startS3rver();
  try {
    const data = chunk();
    let seq = 0;
    const s3 = (extra: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}) =>
      new S3ObjectStore({ bucket: server.bucket, prefix: `w${seq++}/`, client: extra.client ?? server.client(), ...extra });
    for (const size of sizes) {
      const stores: [string, ObjectStore][] = [
        ["memory", new MemoryObjectStore()],
        ["local directory", new LocalDirectoryStore(join(dir, `local-${size}`))],
        ["s3rver (8 MiB parts, 4 in flight)", s3()],
      ];
      for (const [name, store] of stores) {
        ctx.progress(`${name} ${size / MiB} MiB`);
        const load = machineLoad();
        const r = await writeThrough(store, "obj", size, data);
        rows.push({
          case: `writer, ${size / MiB} MiB, ${name}`,
          "MiB/s": Number((size / MiB / (r.ms / 1000)).toFixed(1)),
          "s": Number((r.ms / 1000).toFixed(2)),
          "peak buffered MiB": r.peak === null ? (name === "memory" ? size / MiB : 0) : Number((r.peak / MiB).toFixed(1)),
          "S3 parts": r.parts,
          load,
        });
        await store.delete("obj");
      }
    }
    notes.push("peak buffered: the S3 writer's own high-water mark of part buffers (filling, waiting or uploading); the local writer holds no data buffer (each chunk goes to the temp file before write() resolves); the memory store holds the object by nature.");

    // The request-count effect: 20 ms on every real S3 request (SDK middleware on the client).
    const size = q ? 16 * MiB : 64 * MiB;
    for (const conc of [1, 4]) {
      const client = server.client();
      let requests = 0;
      client.middlewareStack.add(
        (next) => async (args) => {
          requests++;
          await new Promise((r) => setTimeout(r, 20));
          return next(args);
        },
        { step: "finalizeRequest", name: "benchLatency" },
      );
      const store = s3({ client, partConcurrency: conc });
      const load = machineLoad();
      const r = await writeThrough(store, "obj", size, data);
      rows.push({ case: `writer, ${size / MiB} MiB, s3rver + 20 ms/request, ${conc} part(s) in flight`, "MiB/s": Number((size / MiB / (r.ms / 1000)).toFixed(1)), s: Number((r.ms / 1000).toFixed(2)), "peak buffered MiB": Number(((r.peak ?? 0) / MiB).toFixed(1)), "S3 parts": r.parts, requests, load });
    }
    for (const how of ["writer", "put"] as const) {
      const store = new LatencyStore(new LocalDirectoryStore(join(dir, `lat-${how}`)), { latencyMs: 20 });
      const load = machineLoad();
      const t = performance.now();
      if (how === "writer") await writeThrough(store, "obj", size, data);
      else {
        const all = new Uint8Array(size);
        for (let at = 0; at < size; at += CHUNK) all.set(data.subarray(0, Math.min(CHUNK, size - at)), at);
        await store.put("obj", all);
      }
      const ms = performance.now() - t;
      rows.push({ case: `${how}, ${size / MiB} MiB, LatencyStore(local, 20 ms/request)`, "MiB/s": Number((size / MiB / (ms / 1000)).toFixed(1)), s: Number((ms / 1000).toFixed(2)), requests: 1, load });
    }
    notes.push("LatencyStore models a writer as one request (the commit waits one latency; chunks stream within it); on real S3 a writer is CreateMultipartUpload + one UploadPart per part + CompleteMultipartUpload, which the s3rver + 20 ms rows count.");

    // Peak RSS of a build to the local store vs to s3rver.
    const n = q ? 100_000 : 1_000_000;
    const dim = 128;
    ctx.progress(`generating ${n} x ${dim}`);
    const input = join(dir, "input.npy");
    writeFileSync(input, encodeNpyF32(gaussianMixture({ n, dim, clusters: 200, seed: 3 }), n, dim));
    const options = { threads: 2, numPartitions: q ? 256 : 1024, maxIterations: 5, quantizerSampleSize: 16_384, seed: 1, memoryBudgetBytes: 256 * MiB };
    for (const kind of ["local", "s3"] as const) {
      ctx.progress(`build ${n} x ${dim} to ${kind}`);
      const load = machineLoad();
      const rep = kind === "local" ? buildChild([input, "local", join(dir, "build-local"), "-", JSON.stringify(options)]) : buildChild([input, "s3", server.endpoint, server.bucket, JSON.stringify(options)]);
      rows.push({
        case: `build ${n / 1000}k x ${dim} to ${kind === "local" ? "local directory" : "s3rver"} (budget 256 MiB)`,
        s: Number((rep.totalMs / 1000).toFixed(1)),
        "finalize s": rep.finalizeMs === null ? null : Number((rep.finalizeMs / 1000).toFixed(1)),
        "source passes": rep.sourcePasses,
        "index MiB": Math.round(rep.fileBytes / MiB),
        "peak RSS MiB": Math.round(rep.maxRssBytes / MiB),
        "RSS in finalize MiB": Math.round(rep.finalizeRssBytes / MiB),
        "largest partition MiB": Number((rep.peakPartitionBytes / MiB).toFixed(2)),
        load,
      });
    }
    notes.push("The build to s3rver puts every phase's state, the artifact and the index on s3rver; its finalize reads the artifact twice (CRCs, then the write in file order) and streams the index as a multipart upload; the local build writes positionally in one pass. Peak RSS is the child's getrusage maxrss (s3rver is another process).");
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { rows, notes };
}
