import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isQuiverFormatError } from "@quiver/format";
import { LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BuildPhase, buildIndex } from "../src/index.js";
import { FAST, killTrialSetup } from "./helpers.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const child = fileURLToPath(new URL("./kill-child.ts", import.meta.url));

describe("resume after SIGKILL", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  let reference: Buffer;

  beforeAll(async () => {
    ({ dir, cleanup, input, reference } = await killTrialSetup());
  });
  afterAll(async () => cleanup());

  const killed: BuildPhase[] = ["sample", "train-ivf", "train-quantizer", "assign-encode"];
  for (const phase of killed) {
    it(`killed after ${phase} resumes from it and gives the same index`, async () => {
      const storeDir = join(dir, `killed-${phase}`);
      const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", child, storeDir, input, phase], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
      expect(r.signal, r.stderr).toBe("SIGKILL");
      expect(existsSync(join(storeDir, "index.qvr"))).toBe(false);
      const store = new LocalDirectoryStore(storeDir);
      const resumed = await buildIndex({ input, store, path: "index.qvr", ...FAST, resume: true });
      const at = killed.indexOf(phase);
      expect(resumed.phases.map((p) => p.status)).toEqual(["sample", "train-ivf", "train-quantizer", "assign-encode", "finalize"].map((_, i) => (i <= at ? "resumed" : "ran")));
      expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
    });
  }

  it("resuming with other options is refused, not mixed", async () => {
    const storeDir = join(dir, "mismatch");
    const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", child, storeDir, input, "train-ivf"], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
    expect(r.signal, r.stderr).toBe("SIGKILL");
    const err = await buildIndex({ input, store: new LocalDirectoryStore(storeDir), path: "index.qvr", ...FAST, numPartitions: 9, resume: true }).catch((e: unknown) => e);
    expect(isQuiverFormatError(err, "BUILD_RESUME_MISMATCH")).toBe(true);
  });
});
