/**
 * Crash trials: a child process rewriting one disk-cache entry is SIGKILLed at a random moment,
 * over and over (3 trials in `pnpm test`, 100 with QUIVER_SOAK=1). After each kill a fresh
 * backend reads a whole entry (it decodes and verifies) of the last committed version or the one
 * after it, never deletes a corrupt file (none is visible), and after reclamation `tmp/` is empty.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DiskCacheBackend, IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";
import { killMidWrite } from "../../store/test/crash-harness.js";
import { tempDir } from "./helpers.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const trials = process.env.QUIVER_SOAK === "1" ? 100 : 3;

describe("DiskCacheBackend insert under SIGKILL", () => {
  it(`${trials} kills at random points: old or new entry, never a part, no temp file after reclamation`, async () => {
    const t = await tempDir();
    const outcomes = { trials: 0, sawCommitted: 0, sawNext: 0, tempLeftBeforeReclaim: 0 };
    let next = 1;
    for (let i = 0; i < trials; i++) {
      const committed = await killMidWrite([join(here, "insert-loop.child.ts"), t.dir, String(next)], Math.floor(Math.random() * 40));
      const disk = await DiskCacheBackend.open({ directory: t.dir, logger: { warn: () => undefined } });
      const v = await new IndexCache(disk).get(cacheKey("crash", testVectorsCodec));
      expect(v, `trial ${i}`).toBeDefined();
      const n = Number(v!.id.slice(1));
      expect(v!.data.length).toBe(256 * 1024 + (n % 8) * 1024);
      expect(v!.data[0]).toBe(n);
      expect(v!.data[v!.data.length - 1]).toBe(n);
      expect(n).toBeGreaterThanOrEqual(committed);
      expect(n).toBeLessThanOrEqual(committed + 1);
      if (n === committed) outcomes.sawCommitted++;
      else outcomes.sawNext++;
      expect(disk.counters.corruptDeleted).toBe(0);
      if (readdirSync(join(t.dir, "tmp")).length > 0) outcomes.tempLeftBeforeReclaim++;
      await disk.reclaimTempFiles(0);
      expect(readdirSync(join(t.dir, "tmp"))).toEqual([]);
      await disk.close();
      outcomes.trials++;
      next = n + 2;
    }
    console.log(`[disk cache crash trials] ${JSON.stringify(outcomes)}`);
    expect(outcomes.trials).toBe(trials);
    await t.cleanup();
  }, trials * 20_000);
});
