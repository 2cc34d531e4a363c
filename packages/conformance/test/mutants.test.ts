// The catalog must fail every mutant of the reference adapter (test/mutants.ts): each is the
// reference implementation with one required behaviour removed, and names the case that kills it.
// QUIVER_MUTANT_REPORT=1 prints the table of mutants and every case that kills each.
import { describe, expect, it } from "vitest";
import { ReferenceAdapter, defaultRepoRoot, loadCatalog, referenceOperations, runConformance } from "@quiver/conformance";
import { MUTANTS } from "./mutants.js";

const root = defaultRepoRoot();
const ids = new Set(loadCatalog(root).cases.map((c) => c.id));
const table: string[] = [];
// Only the killer case is asserted; the report (all cases each mutant fails) runs every case of its operations.
const reportAll = process.env.QUIVER_MUTANT_REPORT === "1";

describe("mutants of the reference adapter", () => {
  it("every mutant names a case of the catalog, and names are unique", () => {
    expect(MUTANTS.filter((m) => !ids.has(m.killer)).map((m) => `${m.name}: ${m.killer}`)).toEqual([]);
    expect(new Set(MUTANTS.map((m) => m.name)).size).toBe(MUTANTS.length);
  });

  for (const mutant of MUTANTS) {
    it(`is killed: ${mutant.name}`, async () => {
      const operations = Object.keys(mutant.operations);
      const adapter = new ReferenceAdapter({ operations: { ...referenceOperations, ...mutant.operations }, name: "mutant" });
      const report = await runConformance(adapter, { root, operations, ...(reportAll ? {} : { filter: (c) => c.id === mutant.killer }) });
      const killers = report.cases.filter((c) => c.status === "failed").map((c) => c.id);
      table.push(`| ${mutant.name} | ${killers.length} of ${report.total} | ${killers.map((k) => `\`${k}\``).join(", ")} |`);
      expect(report.total).toBeGreaterThan(0);
      expect(killers).toContain(mutant.killer);
    });
  }

  it.runIf(reportAll)("prints the mutant table", () => {
    process.stdout.write(["| mutant | cases failing | failing cases |", "| --- | --- | --- |", ...table].join("\n") + "\n");
  });
});
