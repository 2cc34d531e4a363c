/**
 * `runConformance`: every catalog case against one adapter. Passed, failed and skipped are counted
 * separately; a case is skipped only when the adapter declared its operation (or the case itself)
 * unsupported, with a reason. An operation the adapter neither implements nor declares fails.
 * Nothing tested is not a pass: the report's verdict fails a run that executed no case, and with
 * `requireAll` any declared gap; an unknown area or operation is a usage error before anything runs.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdapterCapabilities, AdapterFixture, ConformanceAdapter, OperationOutcome } from "./adapter.js";
import { type CatalogCase, type LoadedCase, loadCase, loadCatalog } from "./catalog.js";
import { canonicalJson, toCanonicalValue } from "./canonical-json.js";
import { defaultRepoRoot, resolveConformanceRoot } from "./internal/paths.js";
import { assertSchema } from "./internal/schemas.js";

/** Options of {@link runConformance}. */
export interface RunConformanceOptions {
  /** Repository root holding conformance/, fixtures/ and spec/; default: found from this package. */
  readonly root?: string;
  /** Catalog file; default `<root>/conformance/catalog.json`. */
  readonly catalogPath?: string;
  /** Only these areas; each must name an area of the catalog (else {@link ConformanceUsageError}). */
  readonly areas?: readonly string[];
  /** Only these operations; each must name an operation of the catalog (else {@link ConformanceUsageError}). */
  readonly operations?: readonly string[];
  /** Only run cases for which this returns true (the rest are not counted at all). */
  readonly filter?: (entry: CatalogCase) => boolean;
  /** Claiming full conformance: any case skipped as declared unsupported fails the verdict. */
  readonly requireAll?: boolean;
  /** Cases in flight at once; default 1. Subprocess adapters gain from 2-4. */
  readonly concurrency?: number;
  /** Called after each case (progress display). */
  readonly onCase?: (result: CaseResult, done: number, total: number) => void;
}

/** Outcome of one case. */
export interface CaseResult {
  readonly id: string;
  readonly area: string;
  readonly operation: string;
  readonly status: "passed" | "failed" | "skipped";
  /** Why it failed or was skipped. */
  readonly reason?: string;
  /** What was checked: "decode" and, for round-trippable cases, "re-encode". */
  readonly checks: readonly string[];
}

/** Passed / failed / skipped counts, and the coverage they give: executed (= passed + failed) of total. */
export interface ConformanceTally {
  passed: number;
  failed: number;
  /** Declared unsupported by the adapter. */
  skipped: number;
  executed: number;
  total: number;
}

/** Whether a run counts as passing, and every reason it does not. */
export interface ConformanceVerdict {
  readonly pass: boolean;
  readonly problems: readonly string[];
}

/** A wrong selection (unknown area or operation, or one that selects no case): a usage error, nothing ran. */
export class ConformanceUsageError extends Error {
  override readonly name = "ConformanceUsageError";
}

/** The result of a whole run. */
export interface ConformanceReport {
  readonly adapter: { readonly name: string; readonly version: string };
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
  /** Cases the adapter actually ran (passed + failed). */
  readonly executed: number;
  /** Whether declared gaps fail the verdict. */
  readonly requireAll: boolean;
  /** Pass only when nothing failed, at least one case executed, and (with `requireAll`) nothing was skipped. */
  readonly verdict: ConformanceVerdict;
  /** Per area, sorted by area name. */
  readonly areas: Readonly<Record<string, ConformanceTally>>;
  readonly cases: readonly CaseResult[];
}

/** Run the catalog against an adapter and report every case. */
export async function runConformance(adapter: ConformanceAdapter, options: RunConformanceOptions = {}): Promise<ConformanceReport> {
  const root = resolveConformanceRoot(options.root, options.catalogPath);
  const catalog = loadCatalog(root, options.catalogPath);
  const entries = selectCases(catalog.cases, options);
  const caps = await adapterCapabilities(adapter, root);
  const results: CaseResult[] = new Array<CaseResult>(entries.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const i = next++;
      const r = await runCase(adapter, caps, root, entries[i]!);
      results[i] = r;
      options.onCase?.(r, ++done, entries.length);
    }
  };
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 1, 32));
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await adapter.close?.();
  }
  return summarise(caps, results, options.requireAll === true);
}

/**
 * The catalog cases a run covers: `areas` and `operations` must each name something in the catalog
 * (a typo such as `--area containr` would otherwise run nothing and look green), and together they
 * must select at least one case; then `filter`. Throws {@link ConformanceUsageError}.
 */
export function selectCases(cases: readonly CatalogCase[], options: Pick<RunConformanceOptions, "areas" | "operations" | "filter"> = {}): CatalogCase[] {
  const known = (what: string, given: readonly string[] | undefined, all: readonly string[]): Set<string> | undefined => {
    if (given === undefined) return undefined;
    const set = new Set(all);
    const unknown = given.filter((g) => !set.has(g));
    if (unknown.length > 0) {
      throw new ConformanceUsageError(`unknown ${what} ${unknown.map((u) => JSON.stringify(u.slice(0, 64))).join(", ")}; the catalog has: ${[...set].sort().join(", ")}`);
    }
    if (given.length === 0) throw new ConformanceUsageError(`an empty list of ${what}s selects nothing`);
    return new Set(given);
  };
  const areas = known("area", options.areas, cases.map((c) => c.area));
  const operations = known("operation", options.operations, cases.map((c) => c.operation));
  const selected = cases.filter((c) => (areas === undefined || areas.has(c.area)) && (operations === undefined || operations.has(c.operation)));
  if (selected.length === 0 && (areas !== undefined || operations !== undefined)) {
    throw new ConformanceUsageError(`no catalog case has area in {${[...(areas ?? ["*"])].join(", ")}} and operation in {${[...(operations ?? ["*"])].join(", ")}}`);
  }
  return selected.filter((c) => options.filter?.(c) ?? true);
}

/** The verdict of a set of results: failures fail, zero executed cases fail, and with `requireAll` so does any declared gap. */
export function conformanceVerdict(tally: Pick<ConformanceTally, "failed" | "skipped" | "executed">, requireAll: boolean): ConformanceVerdict {
  const problems: string[] = [];
  if (tally.failed > 0) problems.push(`${tally.failed} case(s) failed`);
  if (tally.executed === 0) problems.push("no case was executed: nothing tested is not a pass");
  if (requireAll && tally.skipped > 0) problems.push(`${tally.skipped} case(s) declared unsupported, and every case is required (--require-all)`);
  return { pass: problems.length === 0, problems };
}

/** The process exit code for a report: 0 when its verdict passes, else 1 (usage errors are the caller's 2). */
export function conformanceExitCode(report: Pick<ConformanceReport, "verdict">): 0 | 1 {
  return report.verdict.pass ? 0 : 1;
}

/** The adapter's capabilities, validated against spec/schemas/adapter-capabilities.schema.json. */
export async function adapterCapabilities(adapter: ConformanceAdapter, root: string = defaultRepoRoot()): Promise<AdapterCapabilities> {
  const caps = await adapter.capabilities();
  assertSchema(root, "adapter-capabilities", caps, "adapter capabilities");
  return caps;
}

/** Run one case: skip if declared unsupported, else decode (and re-encode when possible) and compare. */
export async function runCase(adapter: ConformanceAdapter, caps: AdapterCapabilities, root: string, entry: CatalogCase): Promise<CaseResult> {
  const base = { id: entry.id, area: entry.area, operation: entry.operation };
  const checks: string[] = [];
  const fail = (reason: string): CaseResult => ({ ...base, status: "failed", reason, checks });
  const caseGap = caps.unsupported.find((u) => "case" in u && u.case === entry.id);
  if (caseGap !== undefined) return { ...base, status: "skipped", reason: caseGap.reason, checks };
  if (!caps.operations.includes(entry.operation)) {
    const opGap =
      caps.unsupported.find((u) => "operation" in u && u.operation === entry.operation) ?? caps.unsupported.find((u) => "operation" in u && u.operation === "*");
    if (opGap !== undefined) return { ...base, status: "skipped", reason: opGap.reason, checks };
    return fail(`operation "${entry.operation}" is neither supported nor declared unsupported by the adapter`);
  }
  let loaded: LoadedCase;
  try {
    loaded = loadCase(root, entry);
  } catch (e) {
    return fail(`fixture: ${messageOf(e)}`);
  }
  checks.push("decode");
  let outcome: OperationOutcome;
  const scratch = mkdtempSync(join(tmpdir(), "quiver-case-"));
  try {
    outcome = await adapter.decode(entry.operation, adapterFixture(loaded, scratch));
  } catch (e) {
    return fail(`adapter crashed: ${messageOf(e)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (entry.validity === "invalid") {
    const want = loaded.sidecar.error!;
    if (outcome.ok) return fail(`expected error ${want.code} at stage ${want.stage}, got a result`);
    if (outcome.error.code !== want.code || outcome.error.stage !== want.stage) {
      return fail(`expected error ${want.code} at stage ${want.stage}, got ${outcome.error.code} at stage ${outcome.error.stage}`);
    }
    return { ...base, status: "passed", checks };
  }
  if (!outcome.ok) return fail(`expected a result, got error ${outcome.error.code} at stage ${outcome.error.stage}`);
  let actualText: string;
  try {
    actualText = canonicalJson(outcome.value);
  } catch (e) {
    return fail(`result is not canonical JSON: ${messageOf(e)}`);
  }
  const expected = loaded.sidecar.expected;
  if (actualText !== canonicalJson(expected)) return fail(`result differs from expected ${firstDifference(expected, JSON.parse(actualText))}`);
  const encodeOp = entry.operation.startsWith("decode-") ? `encode-${entry.operation.slice("decode-".length)}` : undefined;
  if (encodeOp !== undefined && loaded.bin !== undefined && caps.operations.includes(encodeOp)) {
    checks.push("re-encode");
    let bytes: Uint8Array;
    try {
      bytes = await adapter.encode(encodeOp, structuredClone(expected));
    } catch (e) {
      return fail(`${encodeOp} crashed: ${messageOf(e)}`);
    }
    const at = firstByteDifference(bytes, loaded.bin);
    if (at !== -1) return fail(`${encodeOp} of the expected value differs from the fixture at byte ${at} (${bytes.length} vs ${loaded.bin.length} bytes)`);
  }
  return { ...base, status: "passed", checks };
}

/**
 * The only inputs an adapter gets (the contract's rule, conformance/README.md): a private copy of the
 * fixture bytes, or a copy of the fixture directory at `<scratch>/fixture` (a fresh directory with a
 * random name, removed after the case), and a deep copy of the input document. Neither the sidecar,
 * nor its path, nor the case's id or name is reachable from here.
 */
function adapterFixture(loaded: LoadedCase, scratch: string): AdapterFixture {
  const input = loaded.sidecar.input === undefined ? {} : { input: structuredClone(loaded.sidecar.input) };
  if (loaded.bin !== undefined) return { bin: loaded.bin.slice(), ...input };
  const dir = join(scratch, "fixture");
  cpSync(loaded.dir!, dir, { recursive: true });
  return { dir, ...input };
}

function summarise(caps: AdapterCapabilities, cases: CaseResult[], requireAll: boolean): ConformanceReport {
  const areas: Record<string, ConformanceTally> = {};
  const total: ConformanceTally = { passed: 0, failed: 0, skipped: 0, executed: 0, total: 0 };
  for (const c of [...cases].sort((a, b) => (a.area < b.area ? -1 : a.area > b.area ? 1 : 0))) {
    const t = (areas[c.area] ??= { passed: 0, failed: 0, skipped: 0, executed: 0, total: 0 });
    for (const x of [t, total]) {
      x[c.status]++;
      x.total++;
      if (c.status !== "skipped") x.executed++;
    }
  }
  return {
    adapter: { name: caps.name, version: caps.version },
    total: cases.length,
    passed: total.passed,
    failed: total.failed,
    skipped: total.skipped,
    executed: total.executed,
    requireAll,
    verdict: conformanceVerdict(total, requireAll),
    areas,
    cases,
  };
}

/** `at <json-path>: expected X, got Y` for the first place two JSON values differ. */
export function firstDifference(expected: unknown, actual: unknown, path = "$"): string {
  const e = toCanonicalValue(expected);
  const a = toCanonicalValue(actual);
  if (typeof e === "object" && e !== null && typeof a === "object" && a !== null && Array.isArray(e) === Array.isArray(a)) {
    if (Array.isArray(e) && Array.isArray(a)) {
      for (let i = 0; i < Math.max(e.length, a.length); i++) {
        if (i >= e.length || i >= a.length) return `at ${path}: expected ${e.length} items, got ${a.length}`;
        if (JSON.stringify(e[i]) !== JSON.stringify(a[i])) return firstDifference(e[i], a[i], `${path}[${i}]`);
      }
    } else {
      const eo = e as Record<string, unknown>;
      const ao = a as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(eo), ...Object.keys(ao)])].sort()) {
        if (!(k in ao)) return `at ${path}.${k}: missing`;
        if (!(k in eo)) return `at ${path}.${k}: unexpected member`;
        if (JSON.stringify(eo[k]) !== JSON.stringify(ao[k])) return firstDifference(eo[k], ao[k], `${path}.${k}`);
      }
    }
  }
  return `at ${path}: expected ${clip(JSON.stringify(e))}, got ${clip(JSON.stringify(a))}`;
}

function clip(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

function firstByteDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
