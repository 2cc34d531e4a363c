/**
 * Figures quoted in spec/*.md and the READMEs, generated from bench/results/<name>.json.
 *
 * A quoted figure lives between markers naming its generator:
 *   <!-- bench:artifact/write-table -->
 *   ...generated text...
 *   <!-- /bench:artifact/write-table -->
 * (inline too: `... is <!-- bench:x -->~2.1×<!-- /bench:x --> slower ...`). `writeFigures` rewrites
 * every block from the results files (bench/run.ts calls it after a full run; `pnpm bench:figures`
 * by hand); `checkFigures` lists blocks that disagree with their results file, unknown generators,
 * and measured-looking figures (times, throughputs) outside any block. `pnpm test` runs the check
 * (bench/test/figures.test.ts), so a quoted figure cannot drift from the run it claims to quote.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

type Row = Record<string, string | number | boolean | null>;
interface ResultsFile {
  readonly name: string;
  readonly date: string;
  readonly machine: { cpus: number; loadBefore?: number; loadAfter?: number };
  readonly rows: Row[];
}
type Results = (name: string) => ResultsFile;

// ---- number formatting -----------------------------------------------------------------------

/** 1234567 -> "1,234,567"; fixed decimals when given. */
function n(v: unknown, decimals?: number): string {
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`figure is not a number: ${String(v)}`);
  const s = decimals === undefined ? String(x) : x.toFixed(decimals);
  const [int, frac] = s.split(".");
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return frac === undefined ? grouped : `${grouped}.${frac}`;
}
const ratio = (a: number, b: number, decimals = 1): string => n(a / b, decimals);
const range = (values: number[], decimals = 1): string => {
  const lo = Math.min(...values).toFixed(decimals);
  const hi = Math.max(...values).toFixed(decimals);
  return lo === hi ? lo : `${lo}–${hi}`;
};
function table(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? "l") === "r" ? "---:" : "---"));
  return [header, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}
function source(r: ResultsFile): string {
  const load = r.machine.loadBefore === undefined ? "machine load not recorded" : `1-minute load ${r.machine.loadBefore} before / ${r.machine.loadAfter} after on ${r.machine.cpus} cores`;
  return `Source: \`bench/results/${r.name}.json\` (\`pnpm bench ${r.name}\`, ${r.date.slice(0, 10)}, ${load}).`;
}
const rowsOf = (r: ResultsFile, bench: string): Row[] => r.rows.filter((x) => x.bench === bench);
function one(rows: Row[], what: string): Row {
  if (rows.length !== 1) throw new Error(`expected one row for ${what}, found ${rows.length}`);
  return rows[0]!;
}

// ---- the generators ------------------------------------------------------------------------------

// ---- distributed (packages/distributed/README.md) -------------------------------------------------

/** Means of the per-shard rows of the distributed bench's run with `workers` workers. */
function distShardMeans(r: ResultsFile, workers: number): Record<string, number> {
  const rows = rowsOf(r, "shard").filter((x) => x.workers === workers);
  const mean = (k: string): number => rows.reduce((s, x) => s + Number(x[k]), 0) / rows.length;
  return Object.fromEntries(["rows", "ms", "segment bytes", "input bytes", "requests", "bytes read", "bytes written", "store reads", "store writes"].map((k) => [k, mean(k)]));
}
const mib = (b: number, d = 1): string => `${n(b / 2 ** 20, d)} MiB`;
const gib = (b: number, d = 1): string => (b >= 2 ** 40 ? `${n(b / 2 ** 40, d)} TiB` : `${n(b / 2 ** 30, d)} GiB`);
const secs = (ms: number, d = 1): string => `${n(ms / 1000, d)} s`;

const DISTRIBUTED_FIGURES: Readonly<Record<string, (results: Results) => string>> = {
  "distributed/phase-table": (res: Results) => {
    const r = res("distributed");
    const train = one(rowsOf(r, "phase"), "distributed train");
    const body = rowsOf(r, "build").map((x) => {
      const m = distShardMeans(r, Number(x.workers));
      return [
        n(x.workers), `${n(x.rows)} x ${n(x.dim)}`, n(x.shards), secs(Number(x["plan ms"]), 2), secs(Number(x["shards ms"])), `${n(x["validate ms"])} ms`, `${n(x["publish ms"])} ms`, secs(Number(x["total ms"])),
        n(Math.round(m.requests!)), mib(m["bytes written"]!), mib(m["bytes read"]!), `${n(x["peak worker RSS MiB"])} MiB`,
      ];
    });
    const v = rowsOf(r, "validate").map((x) => `${n(x.segments)} segments: ${n(x.ms)} ms (${n(x["ms per segment"], 2)} ms and ${n(Math.round(Number(x["bytes per segment"]) / 1024))} KiB per segment, ${n(x.requests)} requests)`);
    return `\n${table(["workers", "input", "shards", "plan", "shard phase", "validate", "publish", "total", "requests / shard", "written / shard", "read / shard", "peak worker RSS"], body, ["r", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"])}\n\nModel trained once by the coordinator: ${secs(Number(train.ms))} (${n(train.rows)} x ${n(train.dim)}, not part of the totals). Validation over s3rver: ${v.join("; ")}.\n\n${source(r)}\n`;
  },
  "distributed/speedup": (res: Results) => {
    const r = res("distributed");
    const b = rowsOf(r, "build");
    const one1 = b.find((x) => x.workers === 1)!;
    const two = b.find((x) => x.workers === 2)!;
    return `${n(Number(two["shards ms"]) / Number(one1["shards ms"]), 2)}`;
  },
  "distributed/plan-1b": (res: Results) => {
    const r = res("distributed");
    const m = distShardMeans(r, 2);
    const val = rowsOf(r, "validate").find((x) => x.segments === 100)!;
    const train = one(rowsOf(r, "phase"), "distributed train");
    const b2 = rowsOf(r, "build").find((x) => x.workers === 2)!;
    const dim = Number(b2.dim);
    const ROWS = 1e9;
    const MACHINES = 100;
    const PER_MACHINE = 8;
    const shardRows = m.rows!;
    const shards = Math.ceil(ROWS / shardRows);
    const slots = MACHINES * PER_MACHINE;
    const waves = Math.ceil(shards / slots);
    const shardPhaseMs = waves * m.ms!;
    const perRowMs = m.ms! / shardRows;
    const body = [
      ["shards (the measured shard size)", `${n(shards)} of ${n(shardRows)} rows`, `1B / measured rows per shard`],
      ["worker processes", `${n(slots)} (${n(MACHINES)} machines x ${n(PER_MACHINE)}, 1 thread each)`, "assumption"],
      ["shard phase", `${secs(shardPhaseMs, 0)} (${n(waves)} waves x ${secs(m.ms!)} per shard)`, `measured ${n(perRowMs * 1e3, 2)} µs per row per thread (under this machine's load)`],
      ["input read by workers", gib(ROWS * dim * 4), `${n(dim * 4)} bytes per row, each row read once`],
      ["store writes (segments + staging state)", `${gib(shards * m["bytes written"]!)} in ${n(Math.round(shards * m["store writes"]!))} requests`, `measured ${mib(m["bytes written"]!)} per shard`],
      ["store reads by workers", `${gib(shards * m["bytes read"]!)} in ${n(Math.round(shards * m["store reads"]!))} requests`, "model + the staged state read back by finalize"],
      ["store requests, all kinds", `${n(Math.round(shards * m.requests!))} (peak ~${n(Math.round((m.requests! * slots) / (m.ms! / 1000)))} req/s)`, `measured ${n(Math.round(m.requests!))} per shard`],
      ["segments published", `${gib(shards * m["segment bytes"]!)}`, `measured ${mib(m["segment bytes"]!)} per shard (PQ codes + ids + raw vectors)`],
      ["memory per worker", `${n(b2["peak worker RSS MiB"])} MiB peak RSS`, "measured, per 1-thread worker at this shard size"],
      ["coordinator: train", secs(Number(train.ms)), "once; depends on partitions and sample size, not on rows"],
      ["coordinator: validation", `${secs(shards * Number(val["ms per segment"]))}, ${n(Math.round((shards * Number(val.requests)) / Number(val.segments)))} requests, ${gib((shards * Number(val["bytes read"])) / Number(val.segments), 2)}`, `measured ${n(val["ms per segment"], 2)} ms per segment at 100 segments; grows linearly with shards`],
    ];
    return `\n${table(["", "1B rows x " + n(dim) + " on 100 machines", "from"], body)}\n\n${source(r)}\n`;
  },
};

/** Generator name -> text; each reads one results file. */
export const FIGURES: Readonly<Record<string, (results: Results) => string>> = {
  ...DISTRIBUTED_FIGURES,
  "artifact/manifest-table": (res) => {
    const r = res("artifact");
    const rows = rowsOf(r, "manifest");
    const body = rows.map((x) => {
      const ranges = Number(x.partitions) * Number(x.rangesPerPartition);
      const arrow = Number(x.rangesBytes) > 0;
      return [
        arrow ? `${String(x.layout).startsWith("format 2") ? "format 2: JSON head" : "format 1: JSON head"} (${n(Number(x.headBytes) / 1e3, 1)} KB) + ${String(x.layout).startsWith("format 2") ? "compact" : "Arrow"} ranges table` : "all-JSON (modelled system's layout)",
        arrow ? `${n(x.totalMB, 1)} MB (${n(Number(x.rangesBytes) / ranges, 0)} B/range)` : `${n(x.totalMB, 1)} MB`,
        `${n(x.encodeMs)} ms`,
        `${n(x.parseMs)} ms`,
        x.headParseMs === undefined ? "—" : `${n(x.headParseMs, 1)} ms / ${n(x.rangesCrcMs)} ms / ${n(x.rangesCheckMs)} ms`,
        x.openMs === undefined ? "—" : `${n(x.openMs)} ms (${n(x.storeReadMs)} ms store reads)`,
        x.referenceLoopMs === undefined ? "—" : `${n(x.referenceLoopMs)} ms`,
        `${n(x.peakRssMiB)} MiB`,
      ];
    });
    return `\n${table(["manifest", "bytes", "encode", "parse", "of which head / ranges CRC / ranges check", "open", "reference loop", "peak RSS"], body)}\n\n${source(r)}\n`;
  },
  "artifact/manifest-ratios": (res) => {
    const rows = rowsOf(res("artifact"), "manifest");
    const arrow = rows.find((x) => Number(x.rangesBytes) > 0)!;
    const json = rows.find((x) => Number(x.rangesBytes) === 0)!;
    const bytes = (x: Row): number => Number(x.headBytes) + Number(x.rangesBytes);
    return `~${ratio(bytes(json), bytes(arrow))}× smaller, parses ~${ratio(Number(json.parseMs), Number(arrow.parseMs))}× faster including validation, and needs ~${ratio(Number(json.peakRssMiB), Number(arrow.peakRssMiB))}× less memory`;
  },
  "artifact/write-table": (res) => {
    const r = res("artifact");
    const body = rowsOf(r, "write").map((x) => [
      String(x.layout),
      n(x.rows),
      n(x.buckets),
      n(x.flushes),
      `${n(x.seconds, 2)} s`,
      `${n(Number(x.rowsPerSec) / 1e6, 2)} M`,
      n(x.payloadMBps, 1),
      `${n(x.peakRssMiB)} MiB`,
    ]);
    return `\n${table(["layout", "rows", "buckets", "flushes", "time", "rows/s", "payload MB/s", "peak RSS"], body)}\n\n${source(r)}\n`;
  },
  "artifact/write-ratio": (res) => {
    const rows = rowsOf(res("artifact"), "write");
    // rows/s were computed from unrounded times; compare like with like (same row count).
    const ratios = rows.filter((x) => x.layout === "artifact").map((a) => Number(rows.find((t) => t.layout === "two-file" && t.rows === a.rows)!.rowsPerSec) / Number(a.rowsPerSec));
    return `~${range(ratios)}×`;
  },
  "artifact/read-table": (res) => {
    const r = res("artifact");
    const body = rowsOf(r, "read").map((x) => [
      n(x.partitions),
      String(x.layout),
      n(x.openRequests),
      `${n(x.requestsPerPartition)} (${n(x.maxRequestsPerPartition)})`,
      `${n(x.bytesReadMB, 1)} MB`,
      `${n(x.seconds, 1)} s`,
      n(x.requestsVsTwoFile),
    ]);
    return `\n${table(["partitions", "layout", "open requests", "requests / partition (max)", "bytes read", "total time", "requests vs two-file"], body)}\n\n${source(r)}\n`;
  },
  "artifact/finalize-table": (res) => {
    const r = res("artifact");
    const body = rowsOf(r, "finalize").map((x) => [
      n(x.partitions),
      String(x.layout),
      n(x.requests),
      n(x.windows),
      `${n(x.bytesReadMB, 1)} MB`,
      `${n(x.peakBufferedMiB, 1)} MiB`,
      `${n(x.seconds, 2)} s`,
      `${n(x.speedupVsTwoFile, 1)}×`,
    ]);
    return `\n${table(["partitions", "artifact, path", "requests (all)", "windows", "bytes read", "peak buffered", "time", "vs two-file shuffle"], body)}\n\n${source(r)}\n`;
  },
  "artifact/finalize-speedup": (res) => {
    const rows = rowsOf(res("artifact"), "finalize");
    const P = Math.max(...rows.map((x) => Number(x.partitions)));
    const big = rows.filter((x) => Number(x.partitions) === P);
    const base = one(rowsOf(res("artifact"), "read").filter((x) => Number(x.partitions) === P && x.layout === "two-file shuffle"), "two-file read");
    return `at ${n(P)} partitions the new path takes ${range(big.map((x) => Number(x.seconds)), 2)} s with ${range(big.map((x) => Number(x.requests)), 0)} requests in all, ${range(big.map((x) => Number(x.speedupVsTwoFile)))}× faster than the two-file shuffle's ${n(base.seconds, 1)} s with ${n(Number(base.requestsPerPartition) * P, 0)} requests`;
  },
  "artifact/bucket-rule-table": (res) => {
    const r = res("artifact");
    const body = rowsOf(r, "bucket-rule-summary").map((x) => [
      n(x.rows),
      `${n(x.payloadMB, 1)} MB`,
      n(x.pick),
      `${n(x.ms1)} ms`,
      `${n(x.ms16)} ms`,
      `${n(x.ms64)} ms`,
      `${n(x.ms256)} ms`,
      `${n(x.pickMs)} ms`,
      n(x.bestOfFour),
      n(x.pickVsBest, 2),
      x.roundSpread === undefined ? "—" : `${n(Number(x.roundSpread) * 100, 0)}%`,
    ]);
    return `\n${table(["rows", "payload", "rule's pick", "1 bucket", "16", "64", "256", "pick measured", "best of 1/16/64/256", "pick / best", "noise (round spread)"], body)}\n\n${source(r)}\n`;
  },
  "artifact/read-requests-ratio": (res) => {
    const rows = rowsOf(res("artifact"), "read");
    const ratios = rows.filter((x) => x.layout !== "two-file shuffle").map((x) => 1 / Number(x.requestsVsTwoFile));
    return `${range(ratios, 0)}×`;
  },
  "artifact/read-overhead": (res) => {
    const rows = rowsOf(res("artifact"), "read");
    const over = (P: number): number[] => {
      const base = Number(one(rows.filter((x) => x.partitions === P && x.layout === "two-file shuffle"), `two-file read at ${P}`).bytesReadMB);
      return rows.filter((x) => x.partitions === P && x.layout !== "two-file shuffle").map((x) => Number(x.bytesReadMB) / base);
    };
    const Ps = [...new Set(rows.map((x) => Number(x.partitions)))].sort((a, b) => b - a);
    const big = Ps[0]!;
    const small = Ps[Ps.length - 1]!;
    const pct = over(small).map((x) => (x - 1) * 100);
    return `at ${n(big)} partitions bytes read are ${range(over(big))}× the payload; at ${n(small)} partitions the overhead is ${range(pct, 0)}%`;
  },
  "artifact/read-wall": (res) => {
    const rows = rowsOf(res("artifact"), "read");
    const Ps = [...new Set(rows.map((x) => Number(x.partitions)))].sort((a, b) => a - b);
    return Ps.map((P) => `${range(rows.filter((x) => x.partitions === P).map((x) => Number(x.seconds)))} s at ${n(P)} partitions`).join(", ");
  },
  "ivf/measured": (res) => {
    const r = res("ivf");
    const dec = one(rowsOf(r, "decode partition entry"), "decode partition entry");
    const open = one(rowsOf(r, "open+first query"), "open+first query");
    const cold = Number(open["cold LatencyStore 20ms (ms)"]);
    const cached = Number(open["from disk cache (ms)"]);
    return (
      `decoding a ${n(dec["entry MiB"])} MiB PQ partition entry zero-copy took ${n(dec["zero-copy decode (ms)"])} ms against ${n(dec["Buffer.copy (ms)"])} ms for \`Buffer.copy\` ` +
      `of the same bytes (${n(dec["copy/zero-copy"])}×); with the section CRC-32 verification a backend performs on untrusted bytes, ${n(dec["decode incl. CRC-32 (ms)"])} ms. ` +
      `Open + first query (nprobes ${n(open.nprobes)}) took ${n(cold)} ms cold over a 20 ms-per-request store (2 state reads + ${n(open.nprobes)} concurrent partition reads) ` +
      `and ${n(cached)} ms rebuilt from a disk cache with no store request (${ratio(cold, cached, 0)}×). ${source(r)}` +
      // rows carried over from an earlier run by a partial rerun (BENCH_IVF_PARTS) say when they were measured
      (typeof open.date === "string" || typeof dec.date === "string" ? ` These two rows were measured on ${String(open.date ?? dec.date)} and carried over by a partial rerun.` : "")
    );
  },
  "kernels/kmeans-init": (res) => {
    const r = res("kernels");
    const km = (init: string): Row => one(r.rows.filter((x) => String(x.case).startsWith("k-means 65536x128, k=256") && String(x.case).includes(`init ${init}, 1 thread`)), `k-means ${init}`);
    const pp = km("kmeans++");
    const rnd = km("random");
    return `whole k-means of 65,536 × 128 rows, k = 256, one thread: k-means++ ${n(pp.ms)} ms to loss ${n(pp.loss)}, random init ${n(rnd.ms)} ms to loss ${n(rnd.loss)} (${source(r)})`;
  },
  "cache/summary": (res) => {
    const r = res("cache");
    const get = (backend: string, size: string, op: string, col: string): string => n(one(r.rows.filter((x) => x.backend === backend && x.size === size && x.op === op), `${backend} ${size} ${op}`)[col]);
    const xs = (op: string): string => ["4 KiB", "1 MiB", "16 MiB"].map((s) => `${get("codec", s, op, "x copy")}×`).join(" / ");
    return (
      `p50 get of a 4 KiB entry: memory ${get("memory", "4 KiB", "get", "p50 ms")} ms, disk ${get("disk", "4 KiB", "get", "p50 ms")} ms, Redis ${get("redis", "4 KiB", "get", "p50 ms")} ms; ` +
      `of a 16 MiB entry: disk ${get("disk", "16 MiB", "get", "p50 ms")} ms, Redis ${get("redis", "16 MiB", "get", "p50 ms")} ms. The entry codec against a plain \`Buffer.copy\` ` +
      `of the same bytes: encode ${xs("encode")} and decode ${xs("decode")} for 4 KiB / 1 MiB / 16 MiB; p50 decode of a 4 KiB entry ${get("codec", "4 KiB", "decode", "p50 ms")} ms. ${source(r)}`
    );
  },
  "cache-decode/summary": (res) => {
    const r = res("cache-decode");
    const x = (col: string): string => [1, 16, 64].map((mb) => `${n(one(r.rows.filter((y) => y.bench === "verified decode" && y["entry MiB"] === mb), `decode ${mb} MiB`)[col])}×`).join(" / ");
    return `a first verified decode cost ${x("CRC-32 first/copy")} a \`Buffer.copy\` of the same bytes at 1 / 16 / 64 MiB with CRC-32 sections, and ${x("XXH3-64 first/copy")} with XXH3-64 sections. ${source(r)}`;
  },
  "cache-decode/cache-state": (res) => {
    const r = res("cache-decode");
    const rows = r.rows.filter((y) => y.bench === "cache state");
    const x = (col: string): string => rows.map((y) => `${n(y[col])}×`).join(" / ");
    const sizes = rows.map((y) => String(y["entry MiB"])).join(" / ");
    return `a first XXH3-64 verified decode cost ${x("hot: decode/copy")} a \`Buffer.copy\` with the bytes hot in cache and ${x("cold: decode/copy")} with them cold, at ${sizes} MiB. ${source(r)}`;
  },
  "cache/backend-table": (res) => {
    const r = res("cache");
    const body = r.rows.filter((x) => x.backend !== "codec").map((x) => [String(x.backend), String(x.size), String(x.op), n(x["ops/s"]), n(x["MB/s"]), n(x["p50 ms"]), n(x["p99 ms"])]);
    return `\n${table(["backend", "size", "op", "ops/s", "MB/s", "p50 ms", "p99 ms"], body, ["l", "l", "l", "r", "r", "r", "r"])}\n\n${source(r)}\n`;
  },
  "cache/codec-table": (res) => {
    const r = res("cache");
    const sizes = [...new Set(r.rows.filter((x) => x.backend === "codec").map((x) => String(x.size)))];
    const at = (size: string, op: string): Row => one(r.rows.filter((x) => x.backend === "codec" && x.size === size && x.op === op), `codec ${size} ${op}`);
    const body = sizes.map((s) => [s, n(at(s, "Buffer.copy")["MB/s"]), n(at(s, "encode")["MB/s"]), n(at(s, "encode")["x copy"]), n(at(s, "decode")["MB/s"]), n(at(s, "decode")["x copy"])]);
    return `\n${table(["size", "Buffer.copy MB/s", "encode MB/s", "encode x copy", "decode MB/s", "decode x copy"], body, ["l", "r", "r", "r", "r", "r"])}\n\n${source(r)}\n`;
  },
  "container/decode-table": (res) => {
    const r = res("container");
    const body = r.rows.map((x) => [String(x.operation), `${n(x["median ms"])} ms`, String(x.note ?? "")]);
    return `\n${table(["Operation", "Median time", "Note"], body)}\n\n${source(r)}\n`;
  },
};

// ---- blocks -----------------------------------------------------------------------------------------

const BLOCK = /<!-- bench:([a-z0-9/-]+) -->([\s\S]*?)<!-- \/bench:\1 -->/g;
const OPEN = /<!-- bench:([a-z0-9/-]+) -->/g;

/** The documents that may quote measurements. */
export function documentFiles(root: string): string[] {
  const out = [join(root, "README.md"), join(root, "conformance", "README.md"), join(root, "fixtures", "README.md")];
  for (const f of readdirSync(join(root, "spec"))) if (f.endsWith(".md")) out.push(join(root, "spec", f));
  for (const p of readdirSync(join(root, "packages"))) out.push(join(root, "packages", p, "README.md"));
  return out.filter((f) => existsSync(f)).sort();
}

function resultsReader(root: string): Results {
  const cache = new Map<string, ResultsFile>();
  return (name) => {
    let r = cache.get(name);
    if (r === undefined) {
      r = JSON.parse(readFileSync(join(root, "bench", "results", `${name}.json`), "utf8")) as ResultsFile;
      cache.set(name, r);
    }
    return r;
  };
}

/** `text` with every block regenerated; unknown generators throw. */
export function renderFigures(text: string, results: Results): string {
  return text.replace(BLOCK, (_all, key: string) => {
    const gen = FIGURES[key];
    if (gen === undefined) throw new Error(`unknown figure generator ${key}`);
    return `<!-- bench:${key} -->${gen(results)}<!-- /bench:${key} -->`;
  });
}

/**
 * Numbers that look measured (a time or a throughput) outside any block. Parameters written in
 * the docs on purpose (a store's injected latency, a timeout, a default) are not measurements;
 * they are listed here by the phrase around them.
 */
const MEASURED = /(?<![\w.])~?\d[\d,]*(?:\.\d+)?(?:–\d[\d,]*(?:\.\d+)?)?(?:\s?(?:ms|µs|GB\/s|MB\/s|MiB\/s|rows\/s|queries\/s)(?![\w/])| s\b(?![\w-])|[x×](?![0-9A-Fa-f·]|[\w ]*\d))/g;
const NOT_MEASURED: readonly RegExp[] = [
  /\bdefault(?:s to)? ~?\d[\d,.]*\s?(?:ms|µs|s)\b/, // a parameter's default value, not a measurement
  /\(\d[\d,.]*\s?(?:ms|s) default\)/,
  /20 ms[- ]per[- ]request/,
  /LatencyStore\(20 ms\)/,
  /× ~20 ms ≈ 10\.5 s/, // a latency model, computed from the parameters
  /timeout \(60 s/,
  /\(2 s default\)/,
  /3× data\/budget for one bucket, → 1×/, // the formula before it, evaluated
  /probes 30x smaller/, // 512 bytes of raw vector against 16 bytes of PQ code
];

/** Every problem: blocks that differ from their results, unknown generators, unterminated blocks, stray measured figures. */
export function checkFigures(root: string): string[] {
  const results = resultsReader(root);
  const problems: string[] = [];
  for (const file of documentFiles(root)) {
    const rel = relative(root, file);
    const text = readFileSync(file, "utf8");
    const opened = [...text.matchAll(OPEN)].length;
    const closed = [...text.matchAll(BLOCK)].length;
    if (opened !== closed) problems.push(`${rel}: ${opened - closed} bench block(s) without their closing marker`);
    let rendered: string;
    try {
      rendered = renderFigures(text, results);
    } catch (e) {
      problems.push(`${rel}: ${(e as Error).message}`);
      continue;
    }
    if (rendered !== text) {
      for (const m of text.matchAll(BLOCK)) {
        const fresh = renderFigures(m[0], results);
        if (fresh !== m[0]) problems.push(`${rel}: figures of bench:${m[1]} differ from bench/results (run \`pnpm bench:figures\`)`);
      }
    }
    // Code is not prose: fenced blocks (examples, their expected output) and inline code spans
    // (parameters and defaults written as literals, e.g. `50 ms`) quote no measurement.
    const outside = text.replace(BLOCK, "").replace(/^```[^\n]*\n[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "``");
    outside.split("\n").forEach((line) => {
      const allowed: [number, number][] = [];
      for (const re of NOT_MEASURED) for (const a of line.matchAll(new RegExp(re.source, "g"))) allowed.push([a.index, a.index + a[0].length]);
      for (const m of line.matchAll(MEASURED)) {
        if (allowed.some(([a, b]) => m.index >= a && m.index < b)) continue;
        problems.push(`${rel}: "${m[0]}" looks measured but is in no bench block: ${line.trim().slice(0, 100)}`);
      }
    });
  }
  return problems;
}

/** Regenerate every block in place; returns the files that changed. */
export function writeFigures(root: string): string[] {
  const results = resultsReader(root);
  const changed: string[] = [];
  for (const file of documentFiles(root)) {
    const text = readFileSync(file, "utf8");
    const fresh = renderFigures(text, results);
    if (fresh !== text) {
      writeFileSync(file, fresh);
      changed.push(relative(root, file));
    }
  }
  return changed;
}

if (process.argv[1] !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
  if (process.argv.includes("--check")) {
    const problems = checkFigures(root);
    for (const p of problems) process.stderr.write(`${p}\n`);
    process.exitCode = problems.length === 0 ? 0 : 1;
  } else {
    for (const f of writeFigures(root)) process.stdout.write(`figures regenerated in ${f}\n`);
  }
}
