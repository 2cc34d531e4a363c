// The btree and bitmap catalog cases (fixtures/btree, fixtures/bitmap) through the in-process
// reference adapter: every golden decode, query and rejection, one `it` per case.
import { ReferenceAdapter, defaultRepoRoot, defineConformanceSuite, loadCatalog } from "@quiver/conformance";
import { expect, it } from "vitest";

const root = defaultRepoRoot();
const scalar = (area: string) => area === "btree" || area === "bitmap";
await defineConformanceSuite(new ReferenceAdapter(), { root, name: "scalar areas, reference adapter", filter: (c) => scalar(c.area) });

it("the catalog has btree and bitmap cases, valid and invalid", () => {
  const cases = loadCatalog(root).cases.filter((c) => scalar(c.area));
  for (const area of ["btree", "bitmap"]) {
    expect(cases.filter((c) => c.area === area && c.validity === "valid").length, area).toBeGreaterThan(20);
    expect(cases.filter((c) => c.area === area && c.validity === "invalid").length, area).toBeGreaterThan(20);
  }
});
