import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PartitionArtifactReader, validateArtifact } from "@quiver/artifact";
import { isQuiverFormatError } from "@quiver/format";
import { LocalDirectoryStore } from "@quiver/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIndex } from "../src/index.js";
import { FAST, killTrialSetup } from "./helpers.js";

/**
 * SIGKILL in the middle of a phase (resume.test.ts kills between phases): in the middle of the
 * finalize phase's streamed index write, and in the middle of the artifact write. After the kill
 * nothing half-written is visible (no index at the path, or the previous one whole; the committed
 * artifact still valid; an uncommitted one reads as uncommitted), and a resumed build gives the
 * same index bytes as an uninterrupted one.
 */
const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const child = fileURLToPath(new URL("./kill-mid-phase-child.ts", import.meta.url));
const spillChild = fileURLToPath(new URL("./kill-spill-child.ts", import.meta.url));

/** Every file under dir, relative, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length + 1));
}

describe("SIGKILL in the middle of a phase", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let input: string;
  let reference: Buffer;

  beforeAll(async () => {
    ({ dir, cleanup, input, reference } = await killTrialSetup());
  });
  afterAll(async () => cleanup());

  const kill = (storeDir: string, phase: string, atDone: number) =>
    spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", child, storeDir, input, phase, String(atDone)], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });

  it("killed half-way through finalize: no index is visible, the artifact is intact, resume re-runs only finalize and gives the same index", async () => {
    const storeDir = join(dir, "killed-finalize");
    const r = kill(storeDir, "finalize", FAST.numPartitions / 2);
    expect(r.signal, r.stderr).toBe("SIGKILL");
    expect(existsSync(join(storeDir, "index.qvr"))).toBe(false);
    // The half-written index exists only under a reserved temp name (reclaimed by the next write of the path).
    const temps = filesUnder(storeDir).filter((f) => f.includes(".quiver-tmp-"));
    expect(temps.length).toBeGreaterThan(0);
    const store = new LocalDirectoryStore(storeDir);
    expect(await validateArtifact(store, "index.qvr.build/artifact")).toEqual([]);
    const resumed = await buildIndex({ input, store, path: "index.qvr", ...FAST, resume: true });
    expect(resumed.phases.map((p) => p.status)).toEqual(["resumed", "resumed", "resumed", "resumed", "ran"]);
    expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
    expect(filesUnder(storeDir).filter((f) => f.includes(".quiver-tmp-"))).toEqual([]);
  });

  it("killed half-way through a spill finalize (a store that is not a local directory): no index, the spill file is left, and the resumed build reclaims it and gives the same index", async () => {
    const storeDir = join(dir, "killed-spill");
    const spill = join(dir, "spill-tmp");
    mkdirSync(spill, { recursive: true });
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", spillChild, storeDir, input, ...extra], { cwd: repoRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, TMPDIR: spill } });
    const r = run(String(FAST.numPartitions / 2));
    expect(r.signal, r.stderr).toBe("SIGKILL");
    expect(existsSync(join(storeDir, "index.qvr"))).toBe(false);
    // the half-written index exists only as the dead writer's spill file in its temp dir
    const left = readdirSync(spill).filter((f) => f.startsWith("quiver-index-spill-"));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^quiver-index-spill-${r.pid}-`));
    expect(await validateArtifact(new LocalDirectoryStore(storeDir), "index.qvr.build/artifact")).toEqual([]);
    const resumed = run();
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout.trim().split("\n").pop()!).phases).toEqual(["resumed", "resumed", "resumed", "resumed", "ran"]);
    expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
    // (tsx keeps its own cache dir in TMPDIR too)
    expect(readdirSync(spill).filter((f) => f.startsWith("quiver-index-spill-"))).toEqual([]);
  });

  it("killed half-way through finalize over a committed index: the old index stays whole at its path", async () => {
    const storeDir = join(dir, "killed-over-old");
    cpSync(join(dir, "reference"), storeDir, { recursive: true });
    const r = kill(storeDir, "finalize", FAST.numPartitions / 2);
    expect(r.signal, r.stderr).toBe("SIGKILL");
    expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
    const resumed = await buildIndex({ input, store: new LocalDirectoryStore(storeDir), path: "index.qvr", ...FAST, resume: true });
    expect(resumed.phases.at(-1)!.status).toBe("ran");
    expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
  });

  it("killed during the artifact write: the artifact reads as uncommitted, resume re-runs assign-encode and finalize and gives the same index", async () => {
    const storeDir = join(dir, "killed-assign");
    const r = kill(storeDir, "assign-encode", 1);
    expect(r.signal, r.stderr).toBe("SIGKILL");
    const store = new LocalDirectoryStore(storeDir);
    const err = await PartitionArtifactReader.open(store, "index.qvr.build/artifact").catch((e: unknown) => e);
    expect(isQuiverFormatError(err, "ARTIFACT_UNCOMMITTED")).toBe(true);
    expect(existsSync(join(storeDir, "index.qvr"))).toBe(false);
    const resumed = await buildIndex({ input, store, path: "index.qvr", ...FAST, resume: true });
    expect(resumed.phases.map((p) => p.status)).toEqual(["resumed", "resumed", "resumed", "ran", "ran"]);
    expect(Buffer.compare(await readFile(join(storeDir, "index.qvr")), reference)).toBe(0);
  });
});
