/**
 * Crash trials: a child process replacing one object in a LocalDirectoryStore is SIGKILLed at a
 * random moment, over and over (3 trials in `pnpm test`, 100 with QUIVER_SOAK=1). After each kill
 * the object is a whole version no older than the last put the child saw resolve and at most one
 * newer (old or new, never a part), `list` shows only the object, and after reclamation no temp
 * file is left. The same trials run for the streaming writer (`createWriter`: many appends, then
 * commit): a writer killed mid-write leaves no visible object and no partial one.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { LocalDirectoryStore, TEMP_FILE_PREFIX } from "@quiver/store";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { killMidWrite } from "./crash-harness.js";
import { wholeVersion } from "./crash-versions.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const trials = process.env.QUIVER_SOAK === "1" ? 100 : 3;

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith(TEMP_FILE_PREFIX)) out.push(join(dir, e.name));
    else if (e.isDirectory()) out.push(...tempFiles(join(dir, e.name)));
  }
  return out;
}

// The same trial for both ways of writing an object: `put`, and `createWriter` + `commit`.
describe.each([
  { how: "put", child: "put-loop.child.ts", tag: "store crash trials" },
  { how: "createWriter", child: "writer-loop.child.ts", tag: "store writer crash trials" },
])("LocalDirectoryStore $how under SIGKILL", ({ child, tag }) => {
  it(`${trials} kills at random points: old or new, never a part, no temp file after reclamation`, async () => {
    const root = await mkdtemp(join(tmpdir(), "quiver-crash-"));
    const outcomes = { trials: 0, sawCommitted: 0, sawNext: 0, tempLeftBeforeGc: 0 };
    let next = 1;
    for (let t = 0; t < trials; t++) {
      const committed = await killMidWrite([join(here, child), root, String(next)], Math.floor(Math.random() * 40));
      const store = new LocalDirectoryStore(root);
      const v = wholeVersion(await store.get("dir/obj"));
      expect(typeof v, `trial ${t}: ${String(v)}`).toBe("number");
      expect(v as number).toBeGreaterThanOrEqual(committed);
      expect(v as number).toBeLessThanOrEqual(committed + 1);
      if (v === committed) outcomes.sawCommitted++;
      else outcomes.sawNext++;
      expect((await store.list("")).map((m) => m.path)).toEqual(["dir/obj"]);
      if (tempFiles(root).length > 0) outcomes.tempLeftBeforeGc++;
      // The default bound keeps young temp files (a live writer's); with no writer running, 0 reclaims all.
      await store.gc({ olderThanMs: 0 });
      expect(tempFiles(root)).toEqual([]);
      outcomes.trials++;
      next = (v as number) + 2;
    }
    console.log(`[${tag}] ${JSON.stringify(outcomes)}`);
    expect(outcomes.trials).toBe(trials);
    await rm(root, { recursive: true, force: true });
  }, trials * 20_000);
});
