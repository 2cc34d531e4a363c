// After `npm install` in the scratch project: every requested package and every @quiver/*
// package it depends on (transitively) is installed at the exact version its dependent asks for,
// is byte for byte the tarball we published (lockfile integrity = sha512 of our .tgz), came from
// the private registry (when the lockfile records where), and imports in plain Node.
// Usage: check-install.mjs <app-dir> <registry-url> <tarball-dir> <package>...
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { untar } from "./tar.mjs";

const [app, registry, tarballs, ...wanted] = process.argv.slice(2);
/** name@version -> sha512 integrity of the tarballs we published. */
const published = new Map();
for (const f of readdirSync(tarballs).filter((t) => t.endsWith(".tgz"))) {
  const gz = readFileSync(join(tarballs, f));
  const m = JSON.parse(untar(gunzipSync(gz)).get("package/package.json").body.toString("utf8"));
  published.set(`${m.name}@${m.version}`, `sha512-${createHash("sha512").update(gz).digest("base64")}`);
}
const fail = (msg) => {
  console.error(`check-install: ${msg}`);
  process.exit(1);
};
const manifestOf = (name) => {
  const file = join(app, "node_modules", ...name.split("/"), "package.json");
  if (!existsSync(file)) fail(`${name} is not installed (node_modules/${name} missing)`);
  return JSON.parse(readFileSync(file, "utf8"));
};
const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8"));
const seen = new Map();
const queue = [...wanted];
while (queue.length > 0) {
  const name = queue.shift();
  if (seen.has(name)) continue;
  const m = manifestOf(name);
  seen.set(name, m.version);
  const entry = lock.packages?.[`node_modules/${name}`];
  if (entry === undefined) fail(`${name} is not in package-lock.json`);
  if (entry.resolved !== undefined && !entry.resolved.startsWith(registry)) fail(`${name} came from ${entry.resolved}, not ${registry}`);
  const ours = published.get(`${name}@${m.version}`);
  if (ours === undefined) fail(`${name}@${m.version} is not one of the published tarballs`);
  if (entry.integrity !== ours) fail(`${name}@${m.version} installed with integrity ${entry.integrity}, ours is ${ours}`);
  for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
    if (!dep.startsWith("@quiver/")) continue;
    if (range.startsWith("workspace:")) fail(`${name} depends on ${dep}@${range}: workspace protocol in a published manifest`);
    const got = manifestOf(dep).version;
    if (got !== range) fail(`${name} wants ${dep}@${range}, installed ${got}`);
    queue.push(dep);
  }
}
const ls = spawnSync("npm", ["ls", "--all", "--loglevel=error"], { cwd: app, encoding: "utf8" });
if (ls.status !== 0) fail(`npm ls reports problems:\n${ls.stdout}${ls.stderr}`);
const imports = [...seen.keys()].map((n, i) => `import * as m${i} from ${JSON.stringify(n)}; if (Object.keys(m${i}).length === 0) throw new Error(${JSON.stringify(`${n} exports nothing`)});`).join("\n");
const run = spawnSync(process.execPath, ["--input-type=module", "-e", imports], { cwd: app, encoding: "utf8" });
if (run.status !== 0) fail(`plain-Node import failed:\n${run.stderr}`);
console.log(`installed (our tarballs, by integrity) and importable from ${registry}: ${[...seen].map(([n, v]) => `${n}@${v}`).join(", ")}`);
