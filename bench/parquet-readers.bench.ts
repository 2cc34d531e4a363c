/**
 * Parquet reader choice for @quiver/build: hyparquet (pure JS, through the build's own reader
 * `openParquet`) vs parquet-wasm (Rust/WASM, record batches streamed from a Blob of the file),
 * reading every vector of a 1M-row file (list<float32>[32], 16 row groups, uncompressed and
 * snappy). Each reader runs in its own child process so its peak RSS is its own.
 * BENCH_QUICK=1 uses 100k rows.
 */
import { spawnSync } from "node:child_process";
import { openAsBlob } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Field, FixedSizeList, Float32, RecordBatch, Schema, Struct, Table, makeData, tableFromIPC, tableToIPC } from "apache-arrow";
import type { BenchContext, BenchResult } from "./run.js";

const self = fileURLToPath(import.meta.url);
const DIM = 32;

async function child(role: string, file: string): Promise<void> {
  const t = performance.now();
  let rows = 0;
  let checksum = 0;
  if (role === "hyparquet") {
    // hyparquet's own row-range reads, copied into a Float32Array per batch (what a reader built on it does)
    const { parquetMetadataAsync, parquetRead } = await import("hyparquet");
    const { open } = await import("node:fs/promises");
    const fh = await open(file, "r");
    const size = (await fh.stat()).size;
    const buf = { byteLength: size, slice: async (s: number, e?: number) => { const b = Buffer.alloc((e ?? size) - s); await fh.read(b, 0, b.length, s); return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer; } };
    const metadata = await parquetMetadataAsync(buf);
    const n = Number(metadata.num_rows);
    for (let s = 0; s < n; s += 65_536) {
      let got: unknown[][] = [];
      await parquetRead({ file: buf, metadata, columns: ["vector"], rowStart: s, rowEnd: Math.min(n, s + 65_536), rowFormat: "array", onComplete: (r: unknown[][]) => { got = r; } });
      const out = new Float32Array(got.length * DIM);
      got.forEach((row, i) => out.set(row[0] as ArrayLike<number>, i * DIM));
      rows += got.length;
      checksum += out[0]!;
    }
    await fh.close();
  } else {
    const pw = await import("parquet-wasm");
    const pf = await pw.ParquetFile.fromFile(await openAsBlob(file));
    const stream = await pf.stream({ batchSize: 65_536 });
    for await (const batch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
      const table = tableFromIPC(batch.intoIPCStream());
      const col = table.getChild("vector")!;
      for (const d of col.data) {
        const values = d.children[0]!.values as Float32Array;
        rows += d.length;
        checksum += values[d.offset * DIM]!;
      }
    }
  }
  process.stdout.write(`${JSON.stringify({ ms: performance.now() - t, rows, checksum, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}

/** Variables that select part of this bench or change what it measures: a run with any set writes parquet-readers.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Run the comparison. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const dir = await mkdtemp(join(tmpdir(), "quiver-bench-parquet-"));
  const rows: BenchResult["rows"] = [];
  try {
    const pw = await import("parquet-wasm");
    for (const compression of ["UNCOMPRESSED", "SNAPPY"] as const) {
      ctx.progress(`writing ${n} rows (${compression})`);
      const vecType = new FixedSizeList(DIM, new Field("item", new Float32(), true));
      const schema = new Schema([new Field("vector", vecType, false)]);
      const values = new Float32Array(n * DIM);
      // seeded uniform floats (mulberry32): no repeats, so no dictionary encoding flatters either reader
      let a = 12345;
      for (let i = 0; i < values.length; i++) {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        values[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      }
      const data = makeData({ type: new Struct(schema.fields), length: n, children: [makeData({ type: vecType, length: n, child: makeData({ type: new Float32(), length: n * DIM, data: values }) })] });
      const props = new pw.WriterPropertiesBuilder().setMaxRowGroupSize(Math.ceil(n / 16)).setCompression(pw.Compression[compression]).build();
      const bytes = pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(new Table(new RecordBatch(schema, data)), "stream")), props);
      const file = join(dir, `v-${compression}.parquet`);
      await writeFile(file, bytes);
      const size = (await stat(file)).size;
      for (const role of ["hyparquet", "parquet-wasm"]) {
        ctx.progress(`${role} ${compression}`);
        const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", self, "--child", role, file], { encoding: "utf8", cwd: join(dirname(), "..") });
        if (r.status !== 0) throw new Error(`${role}: ${r.stderr}`);
        const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ms: number; rows: number; maxRssBytes: number };
        rows.push({ reader: role, compression, rows: out.rows, "file MiB": Math.round(size / 2 ** 20), "read s": Number((out.ms / 1000).toFixed(2)), "rows/s": Math.round(out.rows / (out.ms / 1000)), "peak RSS MiB": Math.round(out.maxRssBytes / 2 ** 20) });
      }
    }
    return { rows, notes: [`${n} rows x ${DIM} float32, 16 row groups; load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`, "hyparquet: parquetRead row ranges of 65,536 rows copied into a Float32Array; parquet-wasm: record batches of 65,536 rows streamed from a Blob into apache-arrow (what @quiver/build does, with its own Arrow walk instead of apache-arrow)"] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function dirname(): string {
  return fileURLToPath(new URL(".", import.meta.url));
}

if (process.argv.includes("--child")) {
  const i = process.argv.indexOf("--child");
  await child(process.argv[i + 1]!, process.argv[i + 2]!);
}
