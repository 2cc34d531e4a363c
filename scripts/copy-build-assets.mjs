// `pnpm build` step after `tsc -b`:
// - copies the plain-ESM files that tsc does not emit (worker bootstraps, `*.mjs` under
//   packages/*/src) to the same place under dist/, so a built package starts its worker threads
//   without a TypeScript loader;
// - marks every package's `bin` targets executable;
// - copies the conformance catalog, the fixtures, the schemas and the adapter contract into
//   packages/conformance/data/ (a conformance root shipped in the tarball, so an installed
//   `quiver conformance` runs with no repository present). The copy is rebuilt from scratch each
//   time, so it never holds a fixture the repository no longer has.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
let copied = 0;
function walk(dir, pkgSrc, pkgDist) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, pkgSrc, pkgDist);
    else if (name.endsWith(".mjs")) {
      const target = join(pkgDist, relative(pkgSrc, p));
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(p, target);
      copied++;
    }
  }
}
for (const pkg of readdirSync(join(root, "packages"))) {
  const dir = join(root, "packages", pkg);
  const src = join(dir, "src");
  if (!existsSync(src)) continue;
  walk(src, src, join(dir, "dist"));
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const bins = typeof manifest.bin === "string" ? [manifest.bin] : Object.values(manifest.bin ?? {});
  for (const bin of bins) if (existsSync(join(dir, bin))) chmodSync(join(dir, bin), 0o755);
}

/** What of the repository goes into @quiver/conformance's data/ (a complete conformance root). */
const CONFORMANCE_DATA = ["conformance/catalog.json", "conformance/README.md", "conformance/adapters", "fixtures", "spec/schemas", "spec/error-codes.csv"];
const data = join(root, "packages", "conformance", "data");
rmSync(data, { recursive: true, force: true });
for (const entry of CONFORMANCE_DATA) {
  // fixtures/_gen is the generator (TypeScript, needs the workspace): not part of the data
  cpSync(join(root, entry), join(data, entry), { recursive: true, filter: (p) => !relative(root, p).startsWith(join("fixtures", "_gen")) });
}
if (process.stdout.isTTY) console.log(`copied ${copied} .mjs asset(s) into dist/ and the conformance data into ${relative(root, data)}/`);
