/**
 * `quiver build`, `quiver train`, `quiver finalize` and `quiver search`: the build pipeline of
 * @quiver/build and the IVF search of @quiver/ivf over local files.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { DiskCacheBackend, IndexCache } from "@quiver/cache";
import { type BuildTuning, buildIndex, encodeModelFile, finalizeFromArtifact, openVectorFile, parseByteSize, readNpyHeaderFromBytes, trainModel } from "@quiver/build";
import { QuiverArgumentError } from "@quiver/format";
import { type DistanceType, type QuantizerKind, openVectorIndex } from "@quiver/ivf";
import { LocalDirectoryStore } from "@quiver/store";
import type { CliIo } from "../io.js";
import { phaseProgress } from "../progress.js";

/** Options shared by `build` and `train` (commander's camel-cased names). */
export interface TuningFlags {
  readonly metric?: DistanceType;
  readonly quantizer?: QuantizerKind;
  readonly partitions?: number;
  readonly subVectors?: number;
  readonly budget?: string;
  readonly seed?: number;
  readonly threads?: number;
  readonly column?: string;
  readonly idColumn?: string;
  readonly ids?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export function tuningOf(f: TuningFlags): BuildTuning {
  return {
    ...(f.metric === undefined ? {} : { distanceType: f.metric }),
    ...(f.quantizer === undefined ? {} : { quantizer: f.quantizer }),
    ...(f.partitions === undefined ? {} : { numPartitions: f.partitions }),
    ...(f.subVectors === undefined ? {} : { numSubVectors: f.subVectors }),
    ...(f.budget === undefined ? {} : { memoryBudgetBytes: parseByteSize(f.budget, "--budget") }),
    ...(f.seed === undefined ? {} : { seed: f.seed }),
    ...(f.threads === undefined ? {} : { threads: f.threads }),
  };
}

export function inputOptions(f: TuningFlags, cwd: string): { column?: string; idColumn?: string; idsFile?: string } {
  return {
    ...(f.column === undefined ? {} : { column: f.column }),
    ...(f.idColumn === undefined ? {} : { idColumn: f.idColumn }),
    ...(f.ids === undefined ? {} : { idsFile: resolve(cwd, f.ids) }),
  };
}

/** A local output path as a directory store plus an object name. */
function localTarget(cwd: string, out: string): { store: LocalDirectoryStore; path: string; file: string } {
  const file = resolve(cwd, out);
  return { store: new LocalDirectoryStore(dirname(file)), path: basename(file), file };
}

/** `quiver build <input> --out <path> ...`. */
/** A 1-d uint32 `.npy` of partition assignments (row -> partition), read whole (4 bytes per row). */
async function loadAssignments(path: string): Promise<Uint32Array> {
  const r = await readFile(path);
  const bytes = new Uint8Array(r.buffer, r.byteOffset, r.byteLength);
  const f = await readNpyHeaderFromBytes(path, bytes);
  if ((f.descr !== "<u4" && f.descr !== "=u4") || f.shape.length !== 1) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "--assignments", expected: "a 1-d uint32 (<u4) .npy, one partition per row", given: `${f.descr} of shape (${f.shape.join(", ")})` });
  }
  const n = f.shape[0]!;
  if (bytes.byteLength < f.dataOffset + n * 4) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "--assignments", expected: `${n} uint32 values`, given: `${bytes.byteLength - f.dataOffset} data bytes` });
  return new Uint32Array(bytes.slice(f.dataOffset, f.dataOffset + n * 4).buffer);
}

export async function buildCommand(input: string, f: TuningFlags & { out: string; model?: string; resume?: boolean; assignments?: string }, io: CliIo): Promise<number> {
  const target = localTarget(io.cwd, f.out);
  await mkdir(dirname(target.file), { recursive: true });
  const progress = phaseProgress(io, f.quiet === true || f.json === true ? f.quiet === true : false);
  const model = f.model === undefined ? undefined : new Uint8Array(await readFile(resolve(io.cwd, f.model)));
  const result = await buildIndex({
    input: resolve(io.cwd, input),
    store: target.store,
    path: target.path,
    ...tuningOf(f),
    ...inputOptions(f, io.cwd),
    ...(model === undefined ? {} : { model }),
    ...(f.assignments === undefined ? {} : { partitionAssignments: await loadAssignments(resolve(io.cwd, f.assignments)) }),
    ...(f.resume === true ? { resume: true } : {}),
    onProgress: (e) => progress.update(e.phase, e.done, e.total, e.phase === "finalize" ? "partitions" : "rows"),
  });
  progress.finish();
  for (const p of result.phases) if (p.status !== "ran" && f.quiet !== true) io.stderr(`build: ${p.phase} ${p.status}\n`);
  const summary = {
    index: target.file,
    rows: result.numRows,
    dim: result.metadata.dim,
    distanceType: result.metadata.distance,
    quantizer: result.metadata.quantizer.kind,
    numPartitions: result.metadata.numPartitions,
    numSubVectors: result.metadata.quantizer.kind === "pq" ? result.options.numSubVectors : null,
    fileBytes: result.fileSize,
    totalMs: Math.round(result.totalMs),
    phases: result.phases.map((p) => ({ phase: p.phase, status: p.status, ms: Math.round(p.ms) })),
  };
  if (f.json === true) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else {
    io.stdout(`built ${target.file}: ${summary.rows} rows x ${summary.dim}, ${summary.distanceType}, IVF_${summary.quantizer.toUpperCase()} with ${summary.numPartitions} partitions, ${(summary.fileBytes / 2 ** 20).toFixed(1)} MiB in ${(summary.totalMs / 1000).toFixed(2)} s\n`);
    for (const p of summary.phases) io.stdout(`  ${p.phase.padEnd(16)} ${p.status.padEnd(8)} ${(p.ms / 1000).toFixed(2)} s\n`);
  }
  return 0;
}

/** `quiver train <input> --out <model-file> ...`: sample + train, write the model file. */
export async function trainCommand(input: string, f: TuningFlags & { out: string }, io: CliIo): Promise<number> {
  const progress = phaseProgress(io, f.quiet === true, "train");
  const r = await trainModel({
    input: resolve(io.cwd, input),
    ...tuningOf(f),
    ...inputOptions(f, io.cwd),
    onProgress: (phase, done, total) => progress.update(phase, done, total),
  });
  progress.finish();
  const bytes = encodeModelFile(r.model);
  const file = resolve(io.cwd, f.out);
  await mkdir(dirname(file), { recursive: true });
  // write-then-rename so a killed train never leaves half a model file
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  const { rename } = await import("node:fs/promises");
  await rename(tmp, file);
  const summary = { model: file, dim: r.model.dim, distanceType: r.model.distance, numPartitions: r.model.numPartitions, quantizer: r.model.quantizer.kind, sampleRows: r.sampleRows, bytes: bytes.byteLength };
  io.stdout(f.json === true ? `${JSON.stringify(summary, null, 2)}\n` : `trained ${file}: ${summary.numPartitions} partitions x ${summary.dim}, ${summary.distanceType}, ${summary.quantizer} on ${summary.sampleRows} sampled rows (${summary.bytes} bytes)\n`);
  return 0;
}

/** `quiver finalize <artifact-dir> --model <file> --out <index>`: validate, then finalize. */
export async function finalizeCommand(artifactDir: string, f: { model: string; out: string; json?: boolean; quiet?: boolean }, io: CliIo): Promise<number> {
  const dir = resolve(io.cwd, artifactDir);
  const target = localTarget(io.cwd, f.out);
  await mkdir(dirname(target.file), { recursive: true });
  const progress = phaseProgress(io, f.quiet === true, "finalize");
  const r = await finalizeFromArtifact({
    store: new LocalDirectoryStore(dir),
    artifact: "",
    model: new Uint8Array(await readFile(resolve(io.cwd, f.model))),
    outStore: target.store,
    path: target.path,
    onProgress: (done, total) => progress.update("write", done, total, "partitions"),
  });
  progress.finish();
  const summary = { index: target.file, rows: r.numRows, numPartitions: r.metadata.numPartitions, fileBytes: r.fileSize };
  io.stdout(f.json === true ? `${JSON.stringify(summary, null, 2)}\n` : `finalized ${target.file}: ${summary.rows} rows in ${summary.numPartitions} partitions, ${summary.fileBytes} bytes\n`);
  return 0;
}

/** Parse `--query`: a literal vector ("0.1,0.2,...") or a vector file (one query per row). */
async function loadQueries(query: string, cwd: string, dim: number): Promise<Float32Array[]> {
  if (/^\s*\[?\s*-?[\d.]/.test(query) && !/\.(npy|fvecs|bvecs|arrow|arrows|parquet)$/i.test(query)) {
    const parts = query.replace(/[[\]]/g, "").split(/[\s,]+/).filter((s) => s !== "");
    const values = parts.map(Number);
    if (values.some((v) => !Number.isFinite(v))) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "--query", expected: "comma-separated finite numbers or a vector file", given: query });
    if (values.length !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "--query", expected: `${dim} values (the index's dim)`, given: `${values.length} values` });
    return [Float32Array.from(values)];
  }
  const reader = await openVectorFile(resolve(cwd, query));
  try {
    if (reader.dim !== dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "--query", expected: `vectors of dim ${dim} (the index's)`, given: `a file of dim ${reader.dim}` });
    const out: Float32Array[] = [];
    for await (const b of reader.batches(4096)) for (let i = 0; i < b.rows; i++) out.push(b.vectors.slice(i * dim, (i + 1) * dim));
    if (out.length > 100_000) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: "--query", expected: "at most 100,000 queries", given: `${out.length} rows` });
    return out;
  } finally {
    await reader.close();
  }
}

/** A JSON-safe id: a number when it fits in 2^53, else a decimal string. */
function jsonId(id: bigint): number | string {
  return id <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(id) : id.toString();
}

/** `quiver search <index> --query <file|vector> -k 10 --nprobes 20 [--refine N] [--cache dir]`. */
export async function searchCommand(indexFile: string, f: { query: string; k: number; nprobes: number; refine?: number; cache?: string; json?: boolean }, io: CliIo): Promise<number> {
  const target = localTarget(io.cwd, indexFile);
  const backend = f.cache === undefined ? undefined : new DiskCacheBackend({ directory: resolve(io.cwd, f.cache), maxBytes: 4 * 1024 ** 3 });
  try {
    const index = await openVectorIndex(target.store, target.path, backend === undefined ? {} : { cache: new IndexCache(backend) });
    const queries = await loadQueries(f.query, io.cwd, index.state.metadata.dim);
    const results: { query: number; hits: { id: number | string; distance: number }[] }[] = [];
    for (const [qi, q] of queries.entries()) {
      const hits = await index.search(q, { k: f.k, nprobes: f.nprobes, ...(f.refine === undefined ? {} : { refineFactor: f.refine }) });
      results.push({ query: qi, hits: hits.map((h) => ({ id: jsonId(BigInt(h.id)), distance: h.distance })) });
    }
    if (f.json === true) io.stdout(`${JSON.stringify({ index: target.file, k: f.k, nprobes: f.nprobes, refineFactor: f.refine ?? null, distanceType: index.state.metadata.distance, results }, null, 2)}\n`);
    else {
      for (const r of results) {
        if (queries.length > 1) io.stdout(`query ${r.query}\n`);
        for (const h of r.hits) io.stdout(`${String(h.id).padStart(20)}  ${h.distance.toPrecision(6)}\n`);
      }
    }
    return 0;
  } finally {
    await backend?.close();
  }
}
