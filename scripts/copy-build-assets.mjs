// `pnpm build` step after `tsc -b`: copies the plain-ESM files that tsc does not emit (worker
// bootstraps, `*.mjs` under packages/*/src) to the same place under dist/, so a built package
// starts its worker threads without a TypeScript loader.
import { copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
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
  const src = join(root, "packages", pkg, "src");
  try {
    statSync(src);
  } catch {
    continue;
  }
  walk(src, src, join(root, "packages", pkg, "dist"));
}
if (process.stdout.isTTY) console.log(`copied ${copied} .mjs asset(s) into dist/`);
