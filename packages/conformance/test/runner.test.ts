import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ConformanceAdapter,
  type FixtureCaseInput,
  type OperationFn,
  CliAdapter,
  ConformanceUsageError,
  ReferenceAdapter,
  conformanceExitCode,
  conformanceReportJson,
  conformanceVerdict,
  defaultRepoRoot,
  formatConformanceReport,
  generateFixtures,
  loadCatalog,
  readDirectoryFiles,
  referenceOperations,
  runConformance,
  splitCommandLine,
} from "@quiver/conformance";
import { makeTempRoot } from "./temp-root.js";

const utf8 = new TextEncoder();
const text = new TextDecoder();

class DemoError extends Error {
  constructor(
    readonly code: string,
    readonly stage: string,
  ) {
    super(code);
  }
}

/** A tiny "format": the bytes are a name; a name starting with "!" is rejected. */
const demoOperations: Record<string, OperationFn> = {
  "decode-demo": async ({ bin }) => {
    const name = text.decode(bin);
    if (name.startsWith("!")) throw new DemoError("BAD_MAGIC", "header");
    return { name, size: BigInt(bin!.length) };
  },
  "encode-demo": async ({ input }) => utf8.encode((input as { name: string }).name),
  "read-dir": async ({ dir, input }) => ({ files: Object.keys(readDirectoryFiles(dir!)).sort(), input }),
};

const demoCases: FixtureCaseInput[] = [
  { area: "demo", validity: "valid", name: "plain", description: "a plain name", spec: "demo.md#a", operation: "decode-demo", bin: utf8.encode("plain"), expected: { name: "plain", size: "5" } },
  { area: "demo", validity: "invalid", name: "bang", description: "a rejected name", spec: "demo.md#a", operation: "decode-demo", bin: utf8.encode("!x"), error: { code: "BAD_MAGIC", stage: "header" } },
  {
    area: "demo",
    validity: "valid",
    name: "dir",
    description: "a directory with input",
    spec: "demo.md#b",
    operation: "read-dir",
    files: { "a.bin": new Uint8Array([1]), "s/b.bin": new Uint8Array([2]) },
    input: { k: "v" },
    expected: { files: ["a.bin", "s/b.bin"], input: { k: "v" } },
  },
  { area: "other", validity: "valid", name: "exotic", description: "an operation nobody implements", spec: "other.md", operation: "decode-exotic", bin: new Uint8Array([0]), expected: {} },
];

describe("runConformance on a synthetic catalog", () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ root, cleanup } = makeTempRoot());
    generateFixtures(root, demoCases);
  });
  afterAll(() => cleanup());

  it("passes a correct adapter, re-encodes decode-* results, and fails an operation that is neither supported nor declared", async () => {
    const report = await runConformance(new ReferenceAdapter({ operations: demoOperations }), { root });
    expect(report.cases.find((c) => c.id === "demo/valid/plain")).toMatchObject({ status: "passed", checks: ["decode", "re-encode"] });
    expect(report.cases.find((c) => c.id === "demo/valid/dir")).toMatchObject({ status: "passed", checks: ["decode"] });
    const exotic = report.cases.find((c) => c.id === "other/valid/exotic");
    expect(exotic?.status).toBe("failed");
    expect(exotic?.reason).toMatch(/neither supported nor declared unsupported/);
    expect(report).toMatchObject({ total: 4, passed: 3, failed: 1, skipped: 0 });
    expect(report.areas).toEqual({ demo: { passed: 3, failed: 0, skipped: 0, executed: 3, total: 3 }, other: { passed: 0, failed: 1, skipped: 0, executed: 1, total: 1 } });
  });

  it("skips what the adapter declares unsupported, by operation or by case, with the reason", async () => {
    const reference = new ReferenceAdapter({ operations: demoOperations });
    const adapter: ConformanceAdapter = {
      decode: (op, f) => reference.decode(op, f),
      encode: (op, f) => reference.encode(op, f),
      capabilities: async () => ({
        name: "partial",
        version: "1",
        operations: ["decode-demo", "read-dir"],
        unsupported: [
          { operation: "decode-exotic", reason: "exotic is out of scope" },
          { case: "demo/valid/dir", reason: "no directory support" },
        ],
      }),
    };
    const report = await runConformance(adapter, { root });
    expect(report).toMatchObject({ passed: 2, failed: 0, skipped: 2 });
    expect(report.cases.find((c) => c.id === "demo/valid/dir")).toMatchObject({ status: "skipped", reason: "no directory support" });
    expect(report.cases.find((c) => c.id === "demo/valid/plain")?.checks).toEqual(["decode"]);
    const table = formatConformanceReport(report);
    expect(table).toMatch(/total\s+2\s+0\s+2\s+2\s+4\s+50%/);
    expect(table).toMatch(/1 case\(s\): exotic is out of scope/);
  });

  it("fails wrong results, wrong error code or stage, crashes and re-encode mismatches", async () => {
    const wrong: Record<string, OperationFn> = {
      "decode-demo": async ({ bin }) => {
        if (text.decode(bin).startsWith("!")) throw new DemoError("BAD_MAGIC", "section");
        return { name: "plain", size: 6 };
      },
      "encode-demo": async () => utf8.encode("plaiN"),
      "read-dir": async () => {
        throw new TypeError("boom");
      },
      "decode-exotic": async () => ({}),
    };
    const report = await runConformance(new ReferenceAdapter({ operations: wrong, name: "wrong" }), { root });
    const reason = (id: string): string => report.cases.find((c) => c.id === id)?.reason ?? "";
    expect(report).toMatchObject({ passed: 1, failed: 3, skipped: 0 });
    expect(reason("demo/valid/plain")).toBe('result differs from expected at $.size: expected "5", got 6');
    expect(reason("demo/invalid/bang")).toBe("expected error BAD_MAGIC at stage header, got BAD_MAGIC at stage section");
    expect(reason("demo/valid/dir")).toBe("adapter crashed: boom");

    const badEncode = { ...demoOperations, "decode-exotic": async () => ({}), "encode-demo": wrong["encode-demo"]! };
    const r2 = await runConformance(new ReferenceAdapter({ operations: badEncode }), { root });
    expect(r2.failed).toBe(1);
    expect(r2.cases.find((c) => c.id === "demo/valid/plain")?.reason).toBe("encode-demo of the expected value differs from the fixture at byte 4 (5 vs 5 bytes)");
  });

  it("drives an external process through the CLI contract, including directory fixtures and --input files", async () => {
    const script = join(root, "demo-adapter.mjs");
    writeFileSync(
      script,
      `import { readFileSync, readdirSync } from "node:fs";
const [cmd, path] = process.argv.slice(2);
const op = process.argv[process.argv.indexOf("--operation") + 1];
const inputAt = process.argv.indexOf("--input");
if (cmd === "capabilities") {
  console.log(JSON.stringify({ name: "demo-cli", version: "0.0.1", operations: ["decode-demo", "encode-demo", "read-dir"], unsupported: [{ operation: "decode-exotic", reason: "not here" }] }));
} else if (cmd === "decode" && op === "decode-demo") {
  const name = readFileSync(path, "utf8");
  console.log(JSON.stringify(name.startsWith("!") ? { error: { code: "BAD_MAGIC", stage: "header" } } : { name, size: String(name.length) }));
} else if (cmd === "decode" && op === "read-dir") {
  const files = readdirSync(path, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => (d.parentPath === path ? "" : d.parentPath.slice(path.length + 1) + "/") + d.name).sort();
  console.log(JSON.stringify({ files, input: JSON.parse(readFileSync(process.argv[inputAt + 1], "utf8")) }));
} else if (cmd === "encode") {
  console.log(JSON.stringify({ bytes: Buffer.from(JSON.parse(readFileSync(path, "utf8")).name).toString("hex") }));
} else { process.exit(3); }
`,
    );
    const report = await runConformance(new CliAdapter(["node", script]), { root, concurrency: 2 });
    expect(report.cases.map((c) => [c.id, c.status, c.reason ?? ""])).toEqual([
      ["demo/invalid/bang", "passed", ""],
      ["demo/valid/dir", "passed", ""],
      ["demo/valid/plain", "passed", ""],
      ["other/valid/exotic", "skipped", "not here"],
    ]);
    expect(report.cases[2]?.checks).toEqual(["decode", "re-encode"]);

    // A non-zero exit is a crash, reported as a failure with the adapter's stderr.
    const crashing = join(root, "crash.mjs");
    writeFileSync(crashing, `if (process.argv[2] === "capabilities") { console.log(JSON.stringify({ name: "c", version: "1", operations: ["decode-demo"], unsupported: [] })); } else { console.error("segfault-ish"); process.exit(7); }`);
    const r2 = await runConformance(new CliAdapter(["node", crashing]), { root, filter: (c) => c.operation === "decode-demo" });
    expect(r2).toMatchObject({ total: 2, failed: 2 });
    expect(r2.cases[0]?.reason).toMatch(/adapter crashed: adapter decode failed \(7\): segfault-ish/);
  });

  it("rejects capabilities that do not match the schema", async () => {
    const bad: ConformanceAdapter = {
      capabilities: async () => ({ name: "x", version: "1", operations: ["decode-demo"], unsupported: [{ operation: "decode-exotic" } as never] }),
      decode: async () => ({ ok: true, value: null }),
      encode: async () => new Uint8Array(),
    };
    await expect(runConformance(bad, { root })).rejects.toThrow(/adapter-capabilities\.schema\.json/);
  });
});

describe("the committed catalog", () => {
  const root = defaultRepoRoot();
  const catalog = loadCatalog(root);
  const areas = [...new Set(catalog.cases.map((c) => c.area))].sort();

  it("passes entirely with the in-process reference adapter: 0 failed, 0 skipped", async () => {
    const report = await runConformance(new ReferenceAdapter(), { root });
    const failures = report.cases.filter((c) => c.status !== "passed").map((c) => `${c.id}: ${c.reason ?? ""}`);
    expect(failures).toEqual([]);
    expect(report.total).toBe(catalog.cases.length);
    expect(report.total).toBeGreaterThan(0);
    expect(Object.keys(report.areas)).toEqual(areas);
    // Every decode-* case whose encode-* counterpart exists was also re-encoded byte-exactly.
    const roundTrippable = report.cases.filter((c) => c.operation.startsWith("decode-") && `encode-${c.operation.slice(7)}` in referenceOperations);
    const fileValid = new Set(catalog.cases.filter((c) => c.validity === "valid" && c.fixtureType === "file").map((c) => c.id));
    for (const c of roundTrippable) if (fileValid.has(c.id)) expect(c.checks).toContain("re-encode");
    expect(JSON.parse(conformanceReportJson(report))).toMatchObject({ failed: 0, skipped: 0, passed: report.total });
  });

  it("the independent minimal-frame adapter passes every container case via subprocess and declares the rest", async () => {
    const adapter = new CliAdapter(["node", join(root, "conformance/adapters/minimal-frame/adapter.mjs")]);
    const report = await runConformance(adapter, { root, concurrency: 2 });
    const container = catalog.cases.filter((c) => c.area === "container").length;
    expect(container).toBeGreaterThan(0);
    expect(report.cases.filter((c) => c.status === "failed").map((c) => `${c.id}: ${c.reason ?? ""}`)).toEqual([]);
    expect(report.areas.container).toEqual({ passed: container, failed: 0, skipped: 0, executed: container, total: container });
    expect(report.skipped).toBe(report.total - container);
    for (const c of report.cases) if (c.status === "skipped") expect(c.reason).toMatch(/only the container frame decoder/);
  });

  it("a deliberately wrong adapter is reported as failing", async () => {
    const decodeFrame = referenceOperations["decode-frame"]!;
    const wrong: Record<string, OperationFn> = {
      ...referenceOperations,
      // Off by one in the kind, and every rejection blamed on the header.
      "decode-frame": async (f) => {
        try {
          const frame = (await decodeFrame(f)) as { kind: number };
          return { ...frame, kind: frame.kind + 1 };
        } catch (e) {
          throw Object.assign(new Error("wrong"), { code: (e as { code: string }).code, stage: "header" });
        }
      },
    };
    const report = await runConformance(new ReferenceAdapter({ operations: wrong }), { root, filter: (c) => c.operation === "decode-frame" });
    const valid = catalog.cases.filter((c) => c.operation === "decode-frame" && c.validity === "valid").length;
    expect(report.failed).toBeGreaterThanOrEqual(valid);
    expect(report.cases.filter((c) => c.id.includes("/valid/")).every((c) => c.status === "failed")).toBe(true);
  });
});

describe("splitCommandLine", () => {
  it("splits on whitespace and honours quotes and escapes", () => {
    expect(splitCommandLine(`node  "my adapter.mjs" --x='a b' c\\ d ""`)).toEqual(["node", "my adapter.mjs", "--x=a b", "c d", ""]);
    expect(() => splitCommandLine(`node "open`)).toThrow(/unterminated/);
  });
});

describe("nothing tested is not a pass", () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ root, cleanup } = makeTempRoot());
    generateFixtures(root, demoCases);
  });
  afterAll(() => cleanup());
  const demo = (): ReferenceAdapter => new ReferenceAdapter({ operations: { ...demoOperations, "decode-exotic": async () => ({}) } });

  it("unknown areas or operations, and a selection of no case, are usage errors before anything runs", async () => {
    let calls = 0;
    const counting: ConformanceAdapter = { capabilities: () => demo().capabilities(), decode: async () => (calls++, { ok: true, value: null }), encode: async () => new Uint8Array() };
    await expect(runConformance(counting, { root, areas: ["dmeo"] })).rejects.toThrow(ConformanceUsageError);
    await expect(runConformance(counting, { root, areas: ["dmeo"] })).rejects.toThrow(/unknown area "dmeo"; the catalog has: demo, other/);
    await expect(runConformance(counting, { root, operations: ["decode-dmeo"] })).rejects.toThrow(/unknown operation "decode-dmeo"/);
    await expect(runConformance(counting, { root, areas: ["other"], operations: ["decode-demo"] })).rejects.toThrow(/no catalog case/);
    await expect(runConformance(counting, { root, areas: [] })).rejects.toThrow(/selects nothing/);
    expect(calls).toBe(0);
    const r = await runConformance(demo(), { root, areas: ["demo"], operations: ["decode-demo"] });
    expect(r.cases.map((c) => c.id)).toEqual(["demo/invalid/bang", "demo/valid/plain"]);
    expect(r.verdict).toEqual({ pass: true, problems: [] });
  });

  it("an adapter that declares everything unsupported executes nothing and fails the verdict", async () => {
    const lazy: ConformanceAdapter = {
      capabilities: async () => ({ name: "lazy", version: "1", operations: [], unsupported: [{ operation: "*", reason: "not yet" }] }),
      decode: async () => {
        throw new Error("never called");
      },
      encode: async () => new Uint8Array(),
    };
    const r = await runConformance(lazy, { root });
    expect(r).toMatchObject({ total: 4, passed: 0, failed: 0, skipped: 4, executed: 0 });
    expect(r.verdict.pass).toBe(false);
    expect(r.verdict.problems).toEqual(["no case was executed: nothing tested is not a pass"]);
    expect(conformanceExitCode(r)).toBe(1);
    expect(formatConformanceReport(r)).toMatch(/verdict: FAIL: no case was executed/);
    // A filter that leaves nothing is not a usage error but still no pass.
    expect((await runConformance(demo(), { root, filter: () => false })).verdict.pass).toBe(false);
  });

  it("reports coverage per area (executed / declared unsupported / total), and --require-all fails any declared gap", async () => {
    const reference = demo();
    const partial: ConformanceAdapter = {
      decode: (op, f) => reference.decode(op, f),
      encode: (op, v) => reference.encode(op, v),
      capabilities: async () => ({ name: "partial", version: "1", operations: ["decode-demo", "encode-demo"], unsupported: [{ operation: "*", reason: "only names" }] }),
    };
    const r = await runConformance(partial, { root });
    expect(r.areas).toEqual({ demo: { passed: 2, failed: 0, skipped: 1, executed: 2, total: 3 }, other: { passed: 0, failed: 0, skipped: 1, executed: 0, total: 1 } });
    expect(r).toMatchObject({ executed: 2, skipped: 2, requireAll: false, verdict: { pass: true } });
    expect(formatConformanceReport(r)).toMatch(/demo\s+2\s+0\s+1\s+2\s+3\s+66%/);
    expect(formatConformanceReport(r)).toMatch(/other\s+0\s+0\s+1\s+0\s+1\s+0%/);
    const strict = await runConformance(partial, { root, requireAll: true });
    expect(strict.verdict).toEqual({ pass: false, problems: ["2 case(s) declared unsupported, and every case is required (--require-all)"] });
    expect(conformanceExitCode(strict)).toBe(1);
    const full = await runConformance(demo(), { root, requireAll: true });
    expect(full.verdict.pass).toBe(true);
    expect(conformanceVerdict({ failed: 1, skipped: 0, executed: 1 }, false).problems).toEqual(["1 case(s) failed"]);
  });
});
