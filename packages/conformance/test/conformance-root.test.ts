import { cpSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  CONFORMANCE_ROOT_ENTRIES,
  ConformanceRootError,
  ReferenceAdapter,
  bundledConformanceRoot,
  loadCatalog,
  resolveConformanceRoot,
  runConformance,
} from "@quiver/conformance";

const repo = fileURLToPath(new URL("../../../", import.meta.url)).replace(/\/$/, "");
const scratch = mkdtempSync(join(tmpdir(), "quiver-root-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("conformance root resolution", () => {
  it("in a checkout the default root is the repository (its current fixtures, not a build copy)", () => {
    expect(resolveConformanceRoot()).toBe(repo);
    expect(bundledConformanceRoot()).toBe(join(repo, "packages", "conformance", "data"));
  });

  it("an explicit root lacking the catalog, fixtures or schemas is a typed error naming what is missing", () => {
    const empty = join(scratch, "empty");
    cpSync(join(repo, "spec", "schemas"), join(empty, "spec", "schemas"), { recursive: true });
    let caught: unknown;
    try {
      resolveConformanceRoot(empty);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConformanceRootError);
    const e = caught as ConformanceRootError;
    expect(e.code).toBe("CONFORMANCE_ROOT_NOT_FOUND");
    expect(e.missing).toEqual(["conformance/catalog.json", "fixtures"]);
    expect(e.message).not.toContain("\n");
    expect(() => resolveConformanceRoot(join(scratch, "does-not-exist"))).toThrow(ConformanceRootError);
  });

  it("runConformance with a root that has no catalog rejects with ConformanceRootError, not ENOENT", async () => {
    await expect(runConformance(new ReferenceAdapter(), { root: join(scratch, "nothing-here") })).rejects.toBeInstanceOf(ConformanceRootError);
  });

  it("a copy of the shipped entries elsewhere is a complete root and runs", async () => {
    const copy = join(scratch, "copy");
    for (const e of CONFORMANCE_ROOT_ENTRIES) cpSync(join(repo, e), join(copy, e), { recursive: true, filter: (p) => !p.includes("_gen") });
    expect(existsSync(join(copy, "fixtures", "_gen"))).toBe(false);
    expect(resolveConformanceRoot(copy)).toBe(copy);
    const container = loadCatalog(copy).cases.filter((c) => c.area === "container").length;
    const report = await runConformance(new ReferenceAdapter(), { root: copy, filter: (c) => c.area === "container" });
    expect(report.total).toBe(container);
    expect(report.failed).toBe(0);
  });
});
