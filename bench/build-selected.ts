/**
 * Runs bench/build.bench.ts for the shapes in BENCH_SHAPES (comma-separated table names, e.g.
 * "1000k x 128 cosine unequal") and prints the rows; the rows are written only to
 * bench/results/build.partial.json (by the bench, after every shape), so bench/results/build.json
 * and the figures quoted from it keep the full 12-shape run. Usage:
 *   BENCH_SHAPES="1000k x 128 l2 equal" pnpm exec tsx --conditions=quiver-source bench/build-selected.ts
 */
import { run } from "./build.bench.js";

if (process.env.BENCH_SHAPES === undefined) throw new Error("set BENCH_SHAPES (see bench/build.bench.ts)");
const r = await run({ tty: false, quick: process.env.BENCH_QUICK === "1", progress: (m) => console.error(m) });
console.table(r.rows);
for (const n of r.notes ?? []) console.log(`- ${n}`);
