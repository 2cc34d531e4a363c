/**
 * `pnpm bench [name...]`: runs bench/<name>.bench.ts modules (all when no name is given), prints
 * each one's table and writes its rows to bench/results/<name>.json. A bench module exports
 * `run(ctx)` returning `{ rows, notes? }`; timing targets live here, never in unit tests. The
 * harness adds the measured machine load (bench/machine.ts) to every results file, and regenerates
 * the figures that spec/ and the READMEs quote from bench/results (bench/figures.ts). Only a full
 * run writes `<name>.json`: a BENCH_QUICK=1 run writes `<name>.quick.json`, and a run with any of
 * the bench's selecting variables set (its `selectEnv` export: BENCH_SHAPES, BENCH_KERNELS, ...)
 * writes `<name>.partial.json` (bench/selection.ts), so neither replaces the quoted results.
 */
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { writeFigures } from "./figures.js";
import { loadNote, sampleLoad } from "./machine.js";
import { classifyRun, resultsFileName } from "./selection.js";

/** What a bench module gets from the harness. */
export interface BenchContext {
  /** True when stdout is a TTY: show progress; stay quiet otherwise. */
  readonly tty: boolean;
  /** Write a progress line (only on a TTY). */
  progress(message: string): void;
  /** BENCH_QUICK=1 asks for a reduced-size run (smoke test of the bench itself). */
  readonly quick: boolean;
}

/** What a bench module exports. */
export interface BenchModule {
  run(ctx: BenchContext): Promise<BenchResult>;
  /**
   * The environment variables that select part of the bench or change what it measures (sizes,
   * sections, shapes, options): a run with any of them set writes `<name>.partial.json`. Variables
   * that only say where data is kept are not listed (bench/selection.ts NEUTRAL_ENV).
   */
  readonly selectEnv?: readonly string[];
}

/** What a bench module returns: table rows (also written as JSON) and free-text notes. */
export interface BenchResult {
  readonly rows: Record<string, string | number | boolean | null>[];
  readonly notes?: string[];
}

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
  const names = readdirSync(here)
    .filter((f) => f.endsWith(".bench.ts"))
    .map((f) => f.slice(0, -".bench.ts".length))
    .filter((n) => wanted.length === 0 || wanted.includes(n))
    .sort();
  if (names.length === 0) throw new Error(`no bench matches ${wanted.join(", ")}`);
  const tty = process.stdout.isTTY === true;
  const ctx: BenchContext = {
    tty,
    quick: process.env.BENCH_QUICK === "1",
    progress(message: string) {
      if (tty) process.stdout.write(`\r\x1b[2K${message}`);
    },
  };
  mkdirSync(join(here, "results"), { recursive: true });
  let wroteFull = false;
  for (const name of names) {
    const mod = (await import(join(here, `${name}.bench.ts`))) as BenchModule;
    const selection = classifyRun(process.env, mod.selectEnv);
    const started = performance.now();
    const [result, load] = await sampleLoad(() => mod.run(ctx));
    const notes = [...(result.notes ?? []), loadNote(load)];
    if (tty) process.stdout.write("\r\x1b[2K");
    console.log(`\n## ${name} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    console.table(result.rows);
    for (const n of notes) console.log(`- ${n}`);
    const out = {
      name,
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version, loadBefore: load.loadBefore, loadAfter: load.loadAfter },
      quick: ctx.quick,
      ...(selection.kind === "full" ? {} : { partial: selection.kind === "partial", selected: selection.selected }),
      rows: result.rows,
      notes,
    };
    // A quick or selected run never replaces the full results the docs quote.
    const file = resultsFileName(name, selection.kind);
    writeFileSync(join(here, "results", file), JSON.stringify(out, null, 2) + "\n");
    if (selection.kind === "partial") console.log(`partial run (${Object.entries(selection.selected).map(([k, v]) => `${k}=${v}`).join(", ")}): rows in bench/results/${file}; bench/results/${name}.json left as it was`);
    wroteFull ||= selection.kind === "full";
  }
  // The figures quoted in spec/ and READMEs are generated from the full bench/results files.
  if (wroteFull) {
    const changed = writeFigures(join(here, ".."));
    for (const f of changed) console.log(`figures regenerated in ${f}`);
  }
}

await main();
