/**
 * Start-up: `run-cli.ts` (what the `quiver` executable loads first) imports no workspace package at
 * module level, so `quiver --help` and each command load only what they use; the lazily loaded
 * option constants of `build` / `train` still show in their help and reject bad values.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DISTANCE_TYPES, QUANTIZERS } from "@quiver/build";
import { type CliIo, runCli } from "../src/index.js";

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (c) => void (out += typeof c === "string" ? c : Buffer.from(c).toString()), stderr: (t) => void (err += t), tty: false, cwd: process.cwd() };
  return { code: await runCli(argv, io), out, err };
}

describe("quiver start-up", () => {
  it("run-cli.ts and bin.ts import only node:, commander and the CLI's io module at module level (commands and packages on demand)", () => {
    for (const file of ["run-cli.ts", "bin.ts"]) {
      const src = readFileSync(new URL(`../src/${file}`, import.meta.url), "utf8");
      const eager = [...src.matchAll(/^import (?!type )[^;]*? from "([^"]+)";/gm)].map((m) => m[1]!);
      expect(eager.length, file).toBeGreaterThan(0);
      for (const spec of eager) expect(["node:fs", "commander", "./io.js", "./run-cli.js"], `${file} imports ${spec} eagerly`).toContain(spec);
    }
  });

  it("build and train --help list the metric and quantizer choices; bad values are usage errors", async () => {
    for (const cmd of ["build", "train"]) {
      const help = await cli([cmd, "--help"]);
      expect(help.code).toBe(0);
      // commander wraps long lines: compare with whitespace runs collapsed
      const text = help.out.replace(/\s+/g, " ");
      expect(text).toContain(`(choices: ${DISTANCE_TYPES.map((d) => `"${d}"`).join(", ")})`);
      expect(text).toContain(`(choices: ${QUANTIZERS.map((q) => `"${q}"`).join(", ")})`);
      expect(help.out).toContain("--budget <size>");
    }
    expect((await cli(["help", "build"])).out).toContain("--metric <type>");
    const metric = await cli(["build", "x.npy", "--out", "y", "--metric", "nope"]);
    expect(metric.code).toBe(2);
    expect(metric.err).toMatch(/--metric <type>' argument 'nope' is invalid/);
    const budget = await cli(["train", "x.npy", "--out", "y", "--budget", "lots"]);
    expect(budget.code).toBe(2);
    expect(budget.err).toContain("expected a size such as 1GiB");
  });

  it("--help, --version and a command's --help need no command module", async () => {
    const help = await cli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("Usage: quiver");
    for (const c of ["build", "worker", "gc", "search", "inspect", "conformance"]) expect(help.out).toMatch(new RegExp(`^  ${c}\\b`, "m"));
    expect((await cli(["--version"])).out).toMatch(/^\d+\.\d+\.\d+/);
    expect((await cli(["worker", "--help"])).out).toContain("--redis <url>");
  });
});
