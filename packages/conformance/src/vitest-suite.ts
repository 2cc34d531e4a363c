/**
 * `defineConformanceSuite`: the catalog as vitest tests, one `it` per case, for third parties
 * running an implementation inside their own vitest. vitest is an optional peer dependency and
 * is imported only here, lazily, so the CLI and runner never load it.
 */
import type { AdapterCapabilities, ConformanceAdapter } from "./adapter.js";
import { type CatalogCase, loadCatalog } from "./catalog.js";
import { resolveConformanceRoot } from "./internal/paths.js";
import { adapterCapabilities, runCase } from "./runner.js";

/** Options of {@link defineConformanceSuite}. */
export interface ConformanceSuiteOptions {
  /** Repository root holding conformance/, fixtures/ and spec/. */
  readonly root?: string;
  readonly catalogPath?: string;
  /** Only register cases for which this returns true. */
  readonly filter?: (entry: CatalogCase) => boolean;
  /** Name of the enclosing `describe`; default "quiver conformance". */
  readonly name?: string;
}

/**
 * Register a `describe` with one `it` per catalog case (skipped cases call `ctx.skip` with the
 * declared reason; a failure throws with the runner's reason). Call it at the top level of a test
 * file with `await`: `await defineConformanceSuite(new CliAdapter(["./my-adapter"]))`.
 */
export async function defineConformanceSuite(adapter: ConformanceAdapter, options: ConformanceSuiteOptions = {}): Promise<void> {
  const { describe, it, beforeAll, afterAll } = await import("vitest");
  const root = resolveConformanceRoot(options.root, options.catalogPath);
  const entries = loadCatalog(root, options.catalogPath).cases.filter((c) => options.filter?.(c) ?? true);
  describe(options.name ?? "quiver conformance", () => {
    let caps: AdapterCapabilities | undefined;
    beforeAll(async () => {
      caps = await adapterCapabilities(adapter, root);
    });
    afterAll(async () => {
      await adapter.close?.();
    });
    for (const entry of entries) {
      it(entry.id, async (ctx) => {
        if (caps === undefined) throw new Error("adapter capabilities were not loaded");
        const result = await runCase(adapter, caps, root, entry);
        if (result.status === "skipped") ctx.skip(result.reason);
        else if (result.status === "failed") throw new Error(`${entry.id}: ${result.reason ?? "failed"}`);
      });
    }
  });
}
