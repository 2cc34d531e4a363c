import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type CliIo, runCli } from "@quiver/cli";
import { CONFORMANCE_ROOT_ENTRIES } from "@quiver/conformance";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "quiver-cli-root-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (c) => void (out += typeof c === "string" ? c : new TextDecoder().decode(c)), stderr: (t) => void (err += t), tty: false, cwd: scratch };
  return { code: await runCli(argv, io), out, err };
}

describe("quiver conformance --root", () => {
  it("a directory without a catalog is one line on stderr with the code and a hint, exit 2, no stack", async () => {
    const r = await cli(["conformance", "--root", "missing-dir"]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^quiver conformance: CONFORMANCE_ROOT_NOT_FOUND: no conformance catalog at .*missing-dir \(missing conformance\/catalog\.json, fixtures, spec\/schemas\) \(point --root .*\)\n$/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });

  it("runs the catalog found under --root (relative to the working directory)", async () => {
    const copy = join(scratch, "copy");
    for (const e of CONFORMANCE_ROOT_ENTRIES) cpSync(join(repo, e), join(copy, e), { recursive: true, filter: (p) => !p.includes("_gen") });
    // a catalog of the container cases only: the count proves this catalog, not the repository's, ran
    const catalogFile = join(copy, "conformance", "catalog.json");
    const catalog = JSON.parse(readFileSync(catalogFile, "utf8")) as { cases: { area: string }[] };
    const container = catalog.cases.filter((c) => c.area === "container");
    writeFileSync(catalogFile, JSON.stringify({ ...catalog, cases: container }));
    const r = await cli(["conformance", "--root", "copy", "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { total: number; failed: number };
    expect(report.total).toBe(container.length);
    expect(report.failed).toBe(0);
  });
});
