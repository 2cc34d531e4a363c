/**
 * Every packages/<dir>/package.json follows the publishable pattern (packages added later are
 * checked too): see "Publishing" in the root README. The registry round trip
 * (scripts/registry-roundtrip.sh) proves the same pattern on real tarballs and a real registry.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const readJson = (p: string): Record<string, unknown> => JSON.parse(readFileSync(join(repo, p), "utf8")) as Record<string, unknown>;
const dirs = readdirSync(join(repo, "packages")).filter((d) => existsSync(join(repo, "packages", d, "package.json"))).sort();
const manifests = dirs.map((d) => [d, readJson(`packages/${d}/package.json`)] as const);
const names = new Set(manifests.map(([, m]) => m["name"] as string));

const sourceExports = { ".": { "quiver-source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" }, "./package.json": "./package.json" };

function srcFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe.each(manifests)("packages/%s/package.json is publishable", (dir, m) => {
  it("is @quiver/<dir>, public, ESM, versioned with the others, for Node >= 20", () => {
    expect(m["name"]).toBe(`@quiver/${dir}`);
    expect(m["private"]).toBeUndefined();
    expect(m["type"]).toBe("module");
    expect(m["license"]).toBe("Apache-2.0");
    expect(typeof m["description"]).toBe("string");
    // one version for every @quiver package (changesets `fixed` group)
    expect(m["version"]).toBe(manifests[0]![1]["version"]);
    expect(m["version"]).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
    expect(m["engines"]).toEqual({ node: ">=20.15" });
  });

  it("exports src/ to the workspace (quiver-source, listed first) and dist/ with types to everyone else", () => {
    const exports = m["exports"] as Record<string, string | Record<string, string>>;
    expect(exports["."]).toEqual(sourceExports["."]);
    expect(exports["./package.json"]).toBe("./package.json");
    // further subpaths follow the same shape: src/<x>.ts for the workspace, dist/<x>.{d.ts,js} published
    for (const [subpath, target] of Object.entries(exports)) {
      if (subpath === "./package.json") continue;
      expect(typeof target, subpath).toBe("object");
      const t = target as Record<string, string>;
      expect(Object.keys(t), subpath).toEqual(["quiver-source", "types", "default"]);
      const stem = t["quiver-source"]!.replace(/^\.\/src\//, "").replace(/\.ts$/, "");
      expect(t, subpath).toEqual({ "quiver-source": `./src/${stem}.ts`, types: `./dist/${stem}.d.ts`, default: `./dist/${stem}.js` });
      expect(existsSync(join(repo, "packages", dir, "src", `${stem}.ts`)), `${subpath} -> src/${stem}.ts`).toBe(true);
    }
    expect(m["types"]).toBe("./dist/index.d.ts");
    expect(m["main"]).toBeUndefined();
    // publishConfig.exports is exports without the source condition (pnpm swaps it in on pack/publish)
    const published = Object.fromEntries(
      Object.entries(exports).map(([k, v]) => [k, typeof v === "string" ? v : Object.fromEntries(Object.entries(v).filter(([c]) => c !== "quiver-source"))]),
    );
    expect(m["publishConfig"]).toEqual({ access: "public", exports: published });
  });

  it("ships dist/ and the README, never src/, source maps or build info (data/ too for the conformance package)", () => {
    const files = m["files"] as string[];
    expect(files.slice(0, 3)).toEqual(["dist", "!dist/.tsbuildinfo", "!dist/**/*.map"]);
    expect(files).toContain("README.md");
    expect(files.some((f) => f === "src" || f.startsWith("src/"))).toBe(false);
    if (dir === "conformance") expect(files).toContain("data");
    expect(existsSync(join(repo, "packages", dir, "README.md"))).toBe(true);
  });

  it("depends on other @quiver packages through workspace:* only (pnpm pack/publish writes the version)", () => {
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      for (const [dep, range] of Object.entries((m[field] ?? {}) as Record<string, string>)) {
        if (!dep.startsWith("@quiver/")) continue;
        expect(names.has(dep), `${field}.${dep} is a workspace package`).toBe(true);
        expect(range, `${field}.${dep}`).toBe("workspace:*");
      }
    }
    // test-only dependencies on other workspace packages (e.g. @quiver/cache-redis for a zero-IO
    // proof over Redis) are fine: a consumer never installs devDependencies
    for (const [dep, range] of Object.entries((m["devDependencies"] ?? {}) as Record<string, string>)) {
      if (dep.startsWith("@quiver/")) expect(range, `devDependencies.${dep}`).toBe("workspace:*");
    }
  });

  it("has bin targets under dist/ whose sources start with a node shebang", () => {
    const bins = typeof m["bin"] === "string" ? [m["bin"]] : Object.values((m["bin"] ?? {}) as Record<string, string>);
    for (const b of bins) {
      expect(b).toMatch(/^\.\/dist\/.+\.js$/);
      const src = join(repo, "packages", dir, b.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts"));
      expect(readFileSync(src, "utf8").startsWith("#!/usr/bin/env node\n"), src).toBe(true);
    }
  });

  it("builds with tsc -b (tsconfig.build.json: src -> dist, referenced from the root)", () => {
    const tsconfig = readJson(`packages/${dir}/tsconfig.build.json`) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions["rootDir"]).toBe("src");
    expect(tsconfig.compilerOptions["outDir"]).toBe("dist");
    const refs = (readJson("tsconfig.build.json")["references"] as { path: string }[]).map((r) => r.path);
    expect(refs).toContain(`packages/${dir}/tsconfig.build.json`);
  });

  it("loads worker bootstraps and other assets only from .mjs files in src/ (the build copies them to dist/)", () => {
    for (const file of srcFiles(join(repo, "packages", dir, "src"))) {
      if (!file.endsWith(".ts")) continue;
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/new URL\(\s*"(\.{1,2}\/[^"]+)"\s*,\s*import\.meta\.url\s*\)/g)) {
        const target = match[1]!;
        const where = `${relative(repo, file)}: ${target}`;
        if (target.endsWith(".mjs")) expect(existsSync(join(file, "..", target)), where).toBe(true);
        else expect(/(\.js|\.ts|package\.json|\/)$/.test(target), `${where} is neither code nor package.json: it would not be in the tarball`).toBe(true);
      }
    }
  });
});

describe("release configuration", () => {
  it("changesets versions every @quiver package together and publishes them publicly", () => {
    const config = readJson(".changeset/config.json");
    expect(config["fixed"]).toEqual([["@quiver/*"]]);
    expect(config["access"]).toBe("public");
  });

  it("pnpm build copies the conformance data into the conformance package", () => {
    const script = readFileSync(join(repo, "scripts", "copy-build-assets.mjs"), "utf8");
    for (const entry of ["conformance/catalog.json", "fixtures", "spec/schemas"]) expect(script).toContain(`"${entry}"`);
    expect(readJson("package.json")["scripts"]).toMatchObject({ build: "tsc -b tsconfig.build.json && node scripts/copy-build-assets.mjs" });
  });

  it(".ci/run runs the registry round trip after the tests", () => {
    const ci = readFileSync(join(repo, ".ci", "run"), "utf8");
    expect(ci.indexOf("scripts/registry-roundtrip.sh")).toBeGreaterThan(ci.indexOf("pnpm test"));
  });
});
