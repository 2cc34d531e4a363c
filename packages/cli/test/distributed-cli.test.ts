import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIo, runCli } from "@quiver/cli";
import { LocalDirectoryStore } from "@quiver/store";

async function cli(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (c) => void (out += typeof c === "string" ? c : new TextDecoder().decode(c)), stderr: (t) => void (err += t), tty: false, cwd };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("quiver build --distributed / worker / gc (argument handling; the runs are in @quiver/distributed's tests)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "quiver-cli-dist-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("build --distributed without --redis / --store / --shards is a usage error (exit 2, one line)", async () => {
    for (const [argv, flag] of [
      [["build", "v.npy", "--out", "idx", "--distributed", "--store", dir, "--shards", "2"], "--redis"],
      [["build", "v.npy", "--out", "idx", "--distributed", "--redis", "redis://127.0.0.1:1", "--shards", "2"], "--store"],
      [["build", "v.npy", "--out", "idx", "--distributed", "--redis", "redis://127.0.0.1:1", "--store", dir], "--shards"],
    ] as const) {
      const r = await cli([...argv], dir);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(flag);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
    const badStore = await cli(["build", "v.npy", "--out", "idx", "--distributed", "--redis", "redis://127.0.0.1:1", "--store", "ftp://x/y", "--shards", "2"], dir);
    expect(badStore.code).toBe(1);
    expect(badStore.err).toMatch(/^quiver build: INVALID_ARGUMENT: store/);
  });

  it("gc --dry-run --json lists what an old orphaned staging dir would lose, and deletes nothing", async () => {
    const store = new LocalDirectoryStore(dir);
    await store.put("root/_staging/job-1-1/_lease.json", new TextEncoder().encode(JSON.stringify({ startedAtMs: 1000 })));
    await store.put("root/_staging/job-1-1/segment.ivf", new Uint8Array(8));
    const r = await cli(["gc", "--store", dir, "root", "--min-age", "1h", "--dry-run", "--json"], dir);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { deleted: string[]; dryRun: boolean; minAgeMs: number };
    expect(j).toMatchObject({ dryRun: true, minAgeMs: 3_600_000 });
    expect(j.deleted).toEqual(["root/_staging/job-1-1/segment.ivf", "root/_staging/job-1-1/_lease.json"]);
    expect((await store.list("root/")).length).toBe(2);
    const real = await cli(["gc", "--store", `file://${dir}`, "root"], dir);
    expect(real.code, real.err).toBe(0);
    expect(real.out).toMatch(/^deleted 2 object/);
    expect(await store.list("root/")).toEqual([]);
    const badAge = await cli(["gc", "--store", dir, "root", "--min-age", "soon"], dir);
    expect(badAge.code).toBe(2);
  });

  it("worker and gc have help", async () => {
    for (const c of ["worker", "gc"]) {
      const h = await cli([c, "--help"], dir);
      expect([h.code, h.out.startsWith(`Usage: quiver ${c}`)], c).toEqual([0, true]);
    }
  });
});
