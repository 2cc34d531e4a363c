// defineConformanceSuite registers one `it` per catalog case; here the container cases through the
// in-process reference adapter, and a few through the minimal-frame subprocess adapter (whose
// declared gaps show up as skipped tests, never as passes).
import { join } from "node:path";
import { CliAdapter, ReferenceAdapter, defaultRepoRoot, defineConformanceSuite, loadCatalog } from "@quiver/conformance";
import { expect, it } from "vitest";

const root = defaultRepoRoot();
const containerIds = loadCatalog(root)
  .cases.filter((c) => c.area === "container")
  .map((c) => c.id);

await defineConformanceSuite(new ReferenceAdapter(), { root, name: "reference adapter", filter: (c) => c.area === "container" });

// Three container cases (run) and one case of another area (declared unsupported -> a skipped test).
const otherId = loadCatalog(root).cases.find((c) => c.area !== "container")?.id;
const sample = new Set([...containerIds.slice(0, 3), ...(otherId === undefined ? [] : [otherId])]);
await defineConformanceSuite(new CliAdapter(["node", join(root, "conformance/adapters/minimal-frame/adapter.mjs")]), {
  root,
  name: "minimal-frame adapter (sample)",
  filter: (c) => sample.has(c.id),
});

it("the catalog has container cases to register", () => {
  expect(containerIds.length).toBeGreaterThan(0);
});
