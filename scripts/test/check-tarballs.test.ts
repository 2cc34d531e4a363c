/**
 * The round trip's tarball checker fails on the mistakes it exists to catch (a checker that
 * cannot fail proves nothing). Real tarballs are checked by scripts/registry-roundtrip.sh.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const checker = join(repo, "scripts", "registry-roundtrip", "check-tarballs.mjs");
const scratch = mkdtempSync(join(tmpdir(), "quiver-check-tarballs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** `npm pack` (offline) of a package built from `files`, into its own folder. */
function pack(name: string, manifest: object, files: Record<string, string>, executable: string[] = []): string {
  const dir = join(scratch, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, ".."), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  for (const p of executable) chmodSync(join(dir, p), 0o755);
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
  const out = join(scratch, `${name}-out`);
  mkdirSync(out);
  execFileSync("npm", ["pack", "--pack-destination", out, "--loglevel=error"], { cwd: dir, env: { ...process.env, npm_config_ignore_scripts: "true" } });
  return out;
}

const check = (dir: string): { status: number | null; output: string } => {
  const r = spawnSync(process.execPath, [checker, repo, dir], { encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

it("accepts a tarball of the publishable shape and prints its size", () => {
  const out = pack("good", {
    name: "@quiver/zz-good", version: "1.2.3", type: "module", types: "./dist/index.d.ts",
    exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" } }, bin: { zz: "./dist/bin.js" },
    dependencies: { "@quiver/format": "1.2.3" },
  }, { "dist/index.js": "export const x = 1;\n", "dist/index.d.ts": "export declare const x: 1;\n", "dist/bin.js": "#!/usr/bin/env node\n" }, ["dist/bin.js"]);
  const r = check(out);
  expect(r.status, r.output).toBe(0);
  expect(r.output).toMatch(/\| @quiver\/zz-good +\| 1\.2\.3 +\| +4 \|/);
});

it("rejects workspace ranges, version skew, the source condition, missing targets, shipped sources and a non-executable bin", () => {
  const out = pack("bad", {
    name: "@quiver/zz-bad", version: "1.2.3", type: "module", types: "./dist/index.d.ts",
    exports: { ".": { "quiver-source": "./src/index.ts", default: "./dist/missing.js" } }, bin: { zz: "./dist/bin.js" },
    dependencies: { "@quiver/format": "workspace:*", "@quiver/store": "1.0.0" },
  }, { "dist/index.js": "", "src/index.ts": "", "dist/index.js.map": "{}", "dist/bin.js": "console.log(1)\n" });
  const r = check(out);
  expect(r.status).toBe(1);
  for (const problem of [
    "still has a workspace: range",
    "keep the quiver-source condition",
    "depends on @quiver/store@1.0.0, not this release's 1.2.3",
    "types ./dist/index.d.ts not in the tarball",
    "export target ./dist/missing.js not in the tarball",
    "ships source package/src/index.ts",
    "ships build residue package/dist/index.js.map",
    "bin ./dist/bin.js is not executable",
    "bin ./dist/bin.js has no node shebang",
  ]) expect(r.output).toContain(problem);
});
