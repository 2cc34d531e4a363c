/**
 * The fixture tree: how fixture cases become files. `renderFixtureTree` is pure (cases -> file
 * map) so that `--out` and `--check` cannot disagree; `writeFixtureTree` mirrors the map onto disk
 * (atomically per file, stale outputs removed); `diffFixtureTrees` byte-compares two roots.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { canonicalJson } from "./canonical-json.js";
import type { Catalog, CatalogCase } from "./catalog.js";
import { isSafeRelativePath } from "./internal/paths.js";
import { assertSchema } from "./internal/schemas.js";

/** One fixture case as an area module (fixtures/_gen/areas/<area>.ts) produces it. */
export interface FixtureCaseInput {
  /** Area folder: "container", "cache", "artifact", "ivf", ... */
  readonly area: string;
  readonly validity: "valid" | "invalid";
  /** kebab-case, one behaviour: `section-offset-past-end`. Unique within the area. */
  readonly name: string;
  /** Short, unique. */
  readonly description: string;
  /** Spec anchor, e.g. "container.md#section-table". */
  readonly spec: string;
  /** Conformance operation that consumes the fixture, e.g. "decode-frame". */
  readonly operation: string;
  /** Single-file fixture bytes (written as <name>.bin). Exactly one of `bin` / `files`. */
  readonly bin?: Uint8Array;
  /** Multi-file fixture: relative path -> bytes (written under <name>/). */
  readonly files?: Readonly<Record<string, Uint8Array>>;
  /** Extra inputs of the operation (canonical JSON: 64-bit ints as decimal strings, bytes as hex). */
  readonly input?: unknown;
  /** Expected result (canonical JSON) for a valid case. */
  readonly expected?: unknown;
  /** Expected error for an invalid case. */
  readonly error?: { readonly code: string; readonly stage: string };
}

/** Where the tree goes, relative to the repository root. */
export interface FixtureTreeLayout {
  /** Default "fixtures". */
  readonly fixturesDir?: string;
  /** Default "conformance/catalog.json". */
  readonly catalogPath?: string;
}

/** Every problem found in a set of cases, listed at once. */
export class FixtureCaseError extends Error {
  override readonly name = "FixtureCaseError";
  constructor(readonly problems: readonly string[]) {
    super(`invalid fixture cases:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Paths the generator never touches inside the fixtures directory. */
const UNMANAGED_TOP = new Set(["_gen", "README.md"]);

/** Check the cases: kebab names unique per area, one of bin/files, valid has expected, invalid has error. */
export function validateFixtureCases(cases: readonly FixtureCaseInput[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  const descriptions = new Map<string, string>();
  for (const c of cases) {
    const id = `${String(c.area)}/${String(c.validity)}/${String(c.name)}`;
    if (typeof c.area !== "string" || !KEBAB.test(c.area) || UNMANAGED_TOP.has(c.area)) problems.push(`${id}: area must be kebab-case`);
    if (c.validity !== "valid" && c.validity !== "invalid") problems.push(`${id}: validity must be "valid" or "invalid"`);
    if (typeof c.name !== "string" || !KEBAB.test(c.name) || c.name.length > 100) problems.push(`${id}: name must be kebab-case, at most 100 chars`);
    if (typeof c.operation !== "string" || !KEBAB.test(c.operation)) problems.push(`${id}: operation must be kebab-case`);
    if (typeof c.description !== "string" || c.description.length === 0) problems.push(`${id}: description is empty`);
    // Names are unique per area across valid/invalid so a name alone identifies a behaviour.
    const nameKey = `${c.area}/${c.name}`;
    if (seen.has(nameKey)) problems.push(`${id}: name "${c.name}" is used twice in area "${c.area}"`);
    seen.add(nameKey);
    const descKey = `${c.area}\0${c.description}`;
    const prev = descriptions.get(descKey);
    if (prev !== undefined) problems.push(`${id}: description is the same as ${prev}'s`);
    else descriptions.set(descKey, id);
    const hasBin = c.bin !== undefined;
    const hasFiles = c.files !== undefined;
    if (hasBin === hasFiles) problems.push(`${id}: exactly one of bin / files is required`);
    if (hasBin && !(c.bin instanceof Uint8Array)) problems.push(`${id}: bin must be a Uint8Array`);
    if (hasFiles) {
      const names = Object.keys(c.files ?? {});
      if (names.length === 0) problems.push(`${id}: files is empty`);
      for (const rel of names) {
        if (!isSafeRelativePath(rel)) problems.push(`${id}: file path ${JSON.stringify(rel)} is not a safe relative path`);
        if (!((c.files ?? {})[rel] instanceof Uint8Array)) problems.push(`${id}: file ${rel} must be a Uint8Array`);
      }
    }
    if (c.validity === "valid") {
      if (!("expected" in c) || c.expected === undefined) problems.push(`${id}: a valid case needs expected`);
      if (c.error !== undefined) problems.push(`${id}: a valid case must not have error`);
    } else if (c.validity === "invalid") {
      if (c.error === undefined || typeof c.error.code !== "string" || typeof c.error.stage !== "string") problems.push(`${id}: an invalid case needs error {code, stage}`);
      if (c.expected !== undefined) problems.push(`${id}: an invalid case must not have expected`);
    }
  }
  if (problems.length > 0) throw new FixtureCaseError(problems);
}

/** SHA-256 hex of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** SHA-256 of a directory fixture: over the sorted lines `<relpath>\0<sha256hex>\n`. */
export function directoryDigest(files: Readonly<Record<string, Uint8Array>>): string {
  const lines = Object.keys(files)
    .sort(compareCodeUnits)
    .map((rel) => `${rel}\0${sha256Hex(files[rel]!)}\n`)
    .join("");
  return sha256Hex(new TextEncoder().encode(lines));
}

/** Ordinal string order (what `Array.prototype.sort` does): locale-independent and so deterministic. */
function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Render cases to files: path relative to the repository root -> bytes. Validates the cases, every
 * sidecar against spec/schemas/fixture-sidecar.schema.json and the catalog against
 * spec/schemas/conformance-catalog.schema.json (`schemaRoot` is the directory holding `spec/`).
 */
export function renderFixtureTree(cases: readonly FixtureCaseInput[], schemaRoot: string, layout: FixtureTreeLayout = {}): Map<string, Uint8Array> {
  validateFixtureCases(cases);
  const fixturesDir = layout.fixturesDir ?? "fixtures";
  const catalogPath = layout.catalogPath ?? "conformance/catalog.json";
  const utf8 = new TextEncoder();
  const out = new Map<string, Uint8Array>();
  const sorted = [...cases].sort((a, b) => compareCodeUnits(`${a.area}/${a.validity}/${a.name}`, `${b.area}/${b.validity}/${b.name}`));
  const catalogCases: CatalogCase[] = [];
  for (const c of sorted) {
    const base = `${fixturesDir}/${c.area}/v1/${c.validity}/${c.name}`;
    let digest: string;
    if (c.bin !== undefined) {
      out.set(`${base}.bin`, c.bin);
      digest = sha256Hex(c.bin);
    } else {
      const files = c.files ?? {};
      for (const rel of Object.keys(files).sort(compareCodeUnits)) out.set(`${base}/${rel}`, files[rel]!);
      digest = directoryDigest(files);
    }
    const sidecar: Record<string, unknown> = { description: c.description, spec: c.spec, operation: c.operation, sha256: digest };
    if (c.input !== undefined) sidecar.input = c.input;
    if (c.validity === "valid") sidecar.expected = c.expected;
    else sidecar.error = { code: c.error!.code, stage: c.error!.stage };
    const text = canonicalJson(sidecar);
    assertSchema(schemaRoot, "fixture-sidecar", JSON.parse(text), `sidecar of ${c.area}/${c.validity}/${c.name}`);
    out.set(`${base}.json`, utf8.encode(text));
    catalogCases.push({
      id: `${c.area}/${c.validity}/${c.name}`,
      area: c.area,
      validity: c.validity,
      name: c.name,
      operation: c.operation,
      fixture: c.bin !== undefined ? `${base}.bin` : base,
      fixtureType: c.bin !== undefined ? "file" : "directory",
      sidecar: `${base}.json`,
      result: c.validity === "valid" ? "expected" : "error",
    });
  }
  const catalog: Catalog = { catalogVersion: 1, cases: catalogCases };
  assertSchema(schemaRoot, "conformance-catalog", catalog, "conformance catalog");
  out.set(catalogPath, utf8.encode(canonicalJson(catalog)));
  return out;
}

/** Files under `root/<fixturesDir>` the generator owns (everything but `_gen/` and `README.md`), plus the catalog. */
export function listManagedFiles(root: string, layout: FixtureTreeLayout = {}): string[] {
  const fixturesDir = layout.fixturesDir ?? "fixtures";
  const catalogPath = layout.catalogPath ?? "conformance/catalog.json";
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    for (const entry of readdirSync(abs, { withFileTypes: true })) {
      const childRel = `${rel}/${entry.name}`;
      if (rel === fixturesDir && UNMANAGED_TOP.has(entry.name)) continue;
      if (entry.isDirectory()) walk(childRel);
      else out.push(childRel);
    }
  };
  walk(fixturesDir);
  if (existsSync(join(root, catalogPath))) out.push(catalogPath);
  return out.sort(compareCodeUnits);
}

/** What `writeFixtureTree` changed. */
export interface FixtureWriteSummary {
  readonly written: readonly string[];
  readonly unchanged: number;
  readonly removed: readonly string[];
}

/**
 * Mirror the rendered files onto `root`: write new/changed files (temp + rename, catalog last),
 * remove managed files no case produces any more (stale outputs) and then-empty directories.
 */
export function writeFixtureTree(root: string, files: ReadonlyMap<string, Uint8Array>, layout: FixtureTreeLayout = {}): FixtureWriteSummary {
  const catalogPath = layout.catalogPath ?? "conformance/catalog.json";
  const fixturesDir = layout.fixturesDir ?? "fixtures";
  const written: string[] = [];
  let unchanged = 0;
  const order = [...files.keys()].filter((p) => p !== catalogPath).sort(compareCodeUnits);
  if (files.has(catalogPath)) order.push(catalogPath);
  for (const rel of order) {
    const bytes = files.get(rel)!;
    const abs = join(root, rel);
    if (existsSync(abs) && statSync(abs).isFile() && Buffer.from(readFileSync(abs)).equals(bytes)) {
      unchanged++;
      continue;
    }
    // A directory fixture may replace a .bin of the same case (or the reverse): clear the way.
    if (existsSync(abs) && statSync(abs).isDirectory()) rmSync(abs, { recursive: true });
    mkdirSync(dirname(abs), { recursive: true });
    const tmp = `${abs}.tmp-${process.pid}`;
    writeFileSync(tmp, bytes);
    renameSync(tmp, abs);
    written.push(rel);
  }
  const removed: string[] = [];
  for (const rel of listManagedFiles(root, layout)) {
    if (!files.has(rel)) {
      rmSync(join(root, rel));
      removed.push(rel);
    }
  }
  removeEmptyDirs(join(root, fixturesDir), true);
  return { written, unchanged, removed };
}

function removeEmptyDirs(dir: string, keep: boolean): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== "_gen") removeEmptyDirs(join(dir, entry.name), false);
  }
  if (!keep && readdirSync(dir).length === 0) rmdirSync(dir);
}

/** Differences between an expected tree and an actual one (paths relative to the roots). */
export interface FixtureTreeDiff {
  readonly missing: readonly string[];
  readonly extra: readonly string[];
  readonly differing: readonly string[];
}

/** Byte-compare the managed files of two roots: `expectedRoot` (freshly generated) against `actualRoot`. */
export function diffFixtureTrees(expectedRoot: string, actualRoot: string, layout: FixtureTreeLayout = {}): FixtureTreeDiff {
  const expected = listManagedFiles(expectedRoot, layout);
  const actual = new Set(listManagedFiles(actualRoot, layout));
  const missing: string[] = [];
  const differing: string[] = [];
  for (const rel of expected) {
    if (!actual.has(rel)) missing.push(rel);
    else if (!readFileSync(join(expectedRoot, rel)).equals(readFileSync(join(actualRoot, rel)))) differing.push(rel);
    actual.delete(rel);
  }
  return { missing, extra: [...actual].sort(compareCodeUnits), differing };
}

/** True when the diff is empty. */
export function isEmptyDiff(diff: FixtureTreeDiff): boolean {
  return diff.missing.length === 0 && diff.extra.length === 0 && diff.differing.length === 0;
}

/** The diff as a readable list (one path per line, grouped; at most `maxPerGroup` paths shown per group). */
export function formatFixtureTreeDiff(diff: FixtureTreeDiff, maxPerGroup = 50): string {
  const lines: string[] = [];
  const group = (title: string, paths: readonly string[]): void => {
    if (paths.length === 0) return;
    lines.push(`${title} (${paths.length}):`);
    for (const p of paths.slice(0, maxPerGroup)) lines.push(`  ${p}`);
    if (paths.length > maxPerGroup) lines.push(`  ... and ${paths.length - maxPerGroup} more`);
  };
  group("missing (generated but not committed)", diff.missing);
  group("extra (committed but not generated)", diff.extra);
  group("differing bytes", diff.differing);
  return lines.join("\n");
}
