// Which results file a bench run writes (bench/selection.ts): only a full run may replace the
// bench/results/<name>.json the docs quote; selected runs write <name>.partial.json, quick runs
// <name>.quick.json. Every bench declares its selecting variables, checked against its source.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { NEUTRAL_ENV, classifyRun, resultsFileName } from "../selection.js";

const benchDir = join(import.meta.dirname, "..");

describe("bench run selection", () => {
  it("a run with no selecting variable is full; any declared one makes it partial; quick wins", () => {
    const declared = ["BENCH_SHAPES", "BENCH_PASSES"];
    expect(classifyRun({}, declared)).toEqual({ kind: "full", selected: {} });
    expect(classifyRun({ BENCH_INDEX_DIR: "/tmp/x", PATH: "/bin" }, declared)).toEqual({ kind: "full", selected: {} });
    expect(classifyRun({ BENCH_SHAPES: "100k-128-l2" }, declared)).toEqual({ kind: "partial", selected: { BENCH_SHAPES: "100k-128-l2" } });
    expect(classifyRun({ BENCH_PASSES: "equal", BENCH_SHAPES: "a" }, declared).selected).toEqual({ BENCH_PASSES: "equal", BENCH_SHAPES: "a" });
    // a variable another bench reads does not make this one partial
    expect(classifyRun({ BENCH_KERNELS: "micro" }, declared).kind).toBe("full");
    // an empty value is unset, as the benches read it
    expect(classifyRun({ BENCH_SHAPES: " " }, declared).kind).toBe("full");
    expect(classifyRun({ BENCH_QUICK: "1", BENCH_SHAPES: "a" }, declared).kind).toBe("quick");
    expect(classifyRun({ BENCH_QUICK: "0" }, declared).kind).toBe("full");
  });

  it("a bench that declares nothing is partial under any BENCH_* variable outside the neutral ones", () => {
    expect(classifyRun({ BENCH_INDEX_DIR: "/tmp/x", BENCH_SCALE_DIR: "/tmp/y", BENCH_CHILD: "1" }, undefined).kind).toBe("full");
    expect(classifyRun({ BENCH_ANYTHING: "1" }, undefined)).toEqual({ kind: "partial", selected: { BENCH_ANYTHING: "1" } });
  });

  it("names the files", () => {
    expect(resultsFileName("ivf", "full")).toBe("ivf.json");
    expect(resultsFileName("ivf", "partial")).toBe("ivf.partial.json");
    expect(resultsFileName("ivf", "quick")).toBe("ivf.quick.json");
  });

  it("every bench declares selectEnv, covering every BENCH_* variable its source (and its child scripts) reads", () => {
    const benches = readdirSync(benchDir).filter((f) => f.endsWith(".bench.ts"));
    expect(benches.length).toBeGreaterThan(10);
    const problems: string[] = [];
    for (const file of benches) {
      const src = readFileSync(join(benchDir, file), "utf8");
      const m = /^export const selectEnv: readonly string\[\] = \[([^\]]*)\];$/m.exec(src);
      if (m === null) {
        problems.push(`${file}: no \`export const selectEnv: readonly string[] = [...]\``);
        continue;
      }
      const declared = [...m[1]!.matchAll(/"([A-Z0-9_]+)"/g)].map((x) => x[1]!);
      // the bench's own child scripts (bench/<x>-child.ts it names) read the environment it passes on
      const children = readdirSync(benchDir).filter((f) => f.endsWith("-child.ts") && src.includes(f.slice(0, -".ts".length)));
      const sources = [src, ...children.map((f) => readFileSync(join(benchDir, f), "utf8"))];
      const read = new Set(sources.flatMap((s) => [...s.matchAll(/process\.env(?:\.|\[")(BENCH_[A-Z0-9_]+)/g)].map((x) => x[1]!)));
      for (const v of read) if (!declared.includes(v) && !NEUTRAL_ENV.includes(v)) problems.push(`${file}: reads ${v} but does not list it in selectEnv`);
      for (const v of declared) if (!read.has(v)) problems.push(`${file}: lists ${v} in selectEnv but never reads it`);
    }
    expect(problems).toEqual([]);
  });
});
