// Every figure spec/*.md and the READMEs quote from a bench sits in a generated block
// (bench/figures.ts) and must equal what its results file gives; measured-looking numbers outside
// blocks fail too. Regenerate with `pnpm bench:figures` (a full `pnpm bench <name>` does it itself).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIGURES, checkFigures, documentFiles, renderFigures } from "../figures.js";

const root = join(import.meta.dirname, "..", "..");

describe("quoted bench figures", () => {
  it("agree with bench/results and no measured figure is quoted outside a generated block", () => {
    expect(checkFigures(root)).toEqual([]);
  });

  it("every generator is used by some document", () => {
    const text = documentFiles(root).map((f) => readFileSync(f, "utf8")).join("\n");
    expect(Object.keys(FIGURES).filter((k) => !text.includes(`<!-- bench:${k} -->`))).toEqual([]);
  });

  it("a figure edited by hand, a results file that changed, and a stray figure are all reported", () => {
    const tmp = mkdtempSync(join(tmpdir(), "quiver-figures-"));
    try {
      for (const d of ["spec", "bench/results", "conformance", "fixtures"]) mkdirSync(join(tmp, d), { recursive: true });
      mkdirSync(join(tmp, "packages", "x"), { recursive: true });
      cpSync(join(root, "bench", "results"), join(tmp, "bench", "results"), { recursive: true });
      const results = (name: string) => JSON.parse(readFileSync(join(tmp, "bench", "results", `${name}.json`), "utf8"));
      const good = renderFigures("ratio <!-- bench:artifact/write-ratio --><!-- /bench:artifact/write-ratio --> here\n", results);
      writeFileSync(join(tmp, "spec", "a.md"), good);
      expect(checkFigures(tmp)).toEqual([]);
      writeFileSync(join(tmp, "spec", "a.md"), good.replace(/~[\d.–]+×/, "~2–3×"));
      expect(checkFigures(tmp)).toEqual(["spec/a.md: figures of bench:artifact/write-ratio differ from bench/results (run `pnpm bench:figures`)"]);
      writeFileSync(join(tmp, "spec", "a.md"), good);
      const file = join(tmp, "bench", "results", "artifact.json");
      const r = JSON.parse(readFileSync(file, "utf8"));
      r.rows.find((x: { layout: string }) => x.layout === "two-file").rowsPerSec *= 2;
      writeFileSync(file, JSON.stringify(r));
      expect(checkFigures(tmp)).toHaveLength(1);
      writeFileSync(join(tmp, "packages", "x", "README.md"), "decode took 38 ms (1.7 GB/s), 14x faster\n");
      expect(checkFigures(tmp).filter((p) => p.startsWith("packages/x")).map((p) => p.split('"')[1])).toEqual(["38 ms", "1.7 GB/s", "14x"]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
