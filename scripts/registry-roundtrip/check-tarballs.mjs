// What a user downloads: checks every packed tarball and prints a size table.
// - package.json: no `workspace:` ranges, @quiver/* dependencies at this release's version,
//   no `quiver-source` export condition, `types`/`exports`/`bin` targets present in the tarball;
// - contents: dist/ only (no src/, no source maps, no .tsbuildinfo), every src/**/*.mjs (worker
//   bootstraps) present under dist/, `bin` targets executable with a node shebang;
// - @quiver/conformance: every catalog case's fixture and sidecar, and the schemas, under data/.
// Usage: check-tarballs.mjs <repo> <tarball-dir>
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { gunzipSync } from "node:zlib";
import { untar } from "./tar.mjs";

const [repo, dir] = process.argv.slice(2);
const problems = [];

function srcMjs(pkgDir) {
  const found = [];
  const walk = (d) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith(".mjs")) found.push(relative(join(pkgDir, "src"), p).split("\\").join("/"));
    }
  };
  if (existsSync(join(pkgDir, "src"))) walk(join(pkgDir, "src"));
  return found;
}

const rows = [];
for (const file of readdirSync(dir).filter((f) => f.endsWith(".tgz")).sort()) {
  const gz = readFileSync(join(dir, file));
  const entries = untar(gunzipSync(gz));
  const has = (p) => entries.has(`package/${p.replace(/^\.\//, "")}`);
  const pj = entries.get("package/package.json");
  if (pj === undefined) {
    problems.push(`${file}: no package.json`);
    continue;
  }
  const text = pj.body.toString("utf8");
  const m = JSON.parse(text);
  const bad = (msg) => problems.push(`${m.name}: ${msg}`);
  if (text.includes("workspace:")) bad("package.json still has a workspace: range");
  if (text.includes("quiver-source")) bad("published exports keep the quiver-source condition");
  for (const [dep, range] of Object.entries(m.dependencies ?? {})) {
    if (dep.startsWith("@quiver/") && range !== m.version) bad(`depends on ${dep}@${range}, not this release's ${m.version}`);
  }
  if (m.types === undefined || !has(m.types)) bad(`types ${m.types} not in the tarball`);
  const targets = [];
  const collect = (v) => (typeof v === "string" ? targets.push(v) : v && typeof v === "object" && Object.values(v).forEach(collect));
  collect(m.exports);
  for (const t of targets) if (!has(t)) bad(`export target ${t} not in the tarball`);
  for (const b of Object.values(typeof m.bin === "string" ? { x: m.bin } : (m.bin ?? {}))) {
    const e = entries.get(`package/${b.replace(/^\.\//, "")}`);
    if (e === undefined) bad(`bin ${b} not in the tarball`);
    else {
      if ((e.mode & 0o111) === 0) bad(`bin ${b} is not executable (mode ${e.mode.toString(8)})`);
      if (!e.body.toString("utf8").startsWith("#!/usr/bin/env node")) bad(`bin ${b} has no node shebang`);
    }
  }
  for (const name of entries.keys()) {
    if (name.startsWith("package/src/")) bad(`ships source ${name}`);
    if (name.endsWith(".map") || name.endsWith(".tsbuildinfo")) bad(`ships build residue ${name}`);
  }
  const pkgDir = join(repo, "packages", m.name.replace(/^@quiver\//, ""));
  for (const mjs of srcMjs(pkgDir)) if (!has(`dist/${mjs}`)) bad(`worker bootstrap dist/${mjs} missing`);
  if (m.name === "@quiver/conformance") {
    const cat = entries.get("package/data/conformance/catalog.json");
    if (cat === undefined) bad("data/conformance/catalog.json missing");
    else {
      const catalog = JSON.parse(cat.body.toString("utf8"));
      const repoCatalog = readFileSync(join(repo, "conformance", "catalog.json"), "utf8");
      if (cat.body.toString("utf8") !== repoCatalog) bad("data/conformance/catalog.json differs from the repository's");
      for (const c of catalog.cases) {
        if (!has(`data/${c.sidecar}`)) bad(`case ${c.id}: sidecar missing`);
        const fx = `package/data/${c.fixture}`;
        if (c.fixtureType === "file" ? !entries.has(fx) : ![...entries.keys()].some((k) => k.startsWith(`${fx}/`))) bad(`case ${c.id}: fixture missing`);
      }
    }
    for (const s of readdirSync(join(repo, "spec", "schemas"))) if (!has(`data/spec/schemas/${s}`)) bad(`schema ${s} missing`);
  }
  let unpacked = 0;
  for (const e of entries.values()) unpacked += e.body.length;
  rows.push([m.name, m.version, String(entries.size), (gz.length / 1024).toFixed(1), (unpacked / 1024).toFixed(1)]);
}
const head = ["package", "version", "files", "packed KiB", "unpacked KiB"];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => `| ${r.map((c, i) => (i >= 2 ? c.padStart(w[i]) : c.padEnd(w[i]))).join(" | ")} |`;
console.log([line(head), `|${w.map((n, i) => (i >= 2 ? `${"-".repeat(n + 1)}:` : "-".repeat(n + 2))).join("|")}|`, ...rows.map(line)].join("\n"));
if (rows.length === 0) problems.push(`no tarballs in ${dir}`);
if (problems.length > 0) {
  console.error(`tarball check failed:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
