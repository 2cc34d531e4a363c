/**
 * Which results file a bench run writes. The committed bench/results/<name>.json files are the
 * full runs that spec/ and the READMEs quote (bench/figures.ts), so only a full-size run with no
 * selection may replace one:
 *
 * - BENCH_QUICK=1: `<name>.quick.json` (a smoke test of the bench; git-ignored);
 * - any selecting variable set (one the bench declares in its `selectEnv` export, e.g.
 *   BENCH_SHAPES, BENCH_KERNELS; for a bench that declares nothing, any BENCH_* variable not in
 *   NEUTRAL_ENV): `<name>.partial.json`, never the full file;
 * - otherwise: `<name>.json`, and the quoted figures are regenerated from it.
 */

/** BENCH_* variables that never select: they say where data is kept or are the harness's own. */
export const NEUTRAL_ENV: readonly string[] = [
  "BENCH_QUICK", // its own file, <name>.quick.json
  "BENCH_INDEX_DIR", // where built indexes are kept and reused
  "BENCH_SCALE_DIR", // where generated inputs are kept
  "BENCH_CHILD", // set by a bench for its own child processes
];

/** The kind of results file a run writes. */
export type RunKind = "full" | "partial" | "quick";

/** A run's kind and the selecting variables that were set (name -> value). */
export interface RunSelection {
  readonly kind: RunKind;
  readonly selected: Readonly<Record<string, string>>;
}

/**
 * Classifies one bench run from the environment: `selectEnv` is what the bench module declares
 * (undefined when it declares nothing: then every BENCH_* variable outside NEUTRAL_ENV selects).
 * An empty value counts as unset, as the benches read it.
 */
export function classifyRun(env: Readonly<Record<string, string | undefined>>, selectEnv: readonly string[] | undefined): RunSelection {
  const names = selectEnv ?? Object.keys(env).filter((k) => k.startsWith("BENCH_") && !NEUTRAL_ENV.includes(k));
  const selected: Record<string, string> = {};
  for (const k of [...names].sort()) {
    const v = env[k];
    if (v !== undefined && v.trim() !== "") selected[k] = v;
  }
  const kind: RunKind = env.BENCH_QUICK === "1" ? "quick" : Object.keys(selected).length > 0 ? "partial" : "full";
  return { kind, selected };
}

/** The file name under bench/results/ for a run of `name` of this kind. */
export function resultsFileName(name: string, kind: RunKind): string {
  return kind === "quick" ? `${name}.quick.json` : kind === "partial" ? `${name}.partial.json` : `${name}.json`;
}
