import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIo, runCli } from "@quiver/cli";
import { CliAdapter, defaultRepoRoot, loadCatalog, runConformance } from "@quiver/conformance";
import { decodeFrame } from "@quiver/format";

const root = defaultRepoRoot();

/** Run the CLI in-process, capturing both streams. */
async function cli(argv: string[], cwd = root): Promise<{ code: number; out: string; bytes: Uint8Array; err: string }> {
  const chunks: Uint8Array[] = [];
  let err = "";
  const io: CliIo = {
    stdout: (c) => void chunks.push(typeof c === "string" ? new TextEncoder().encode(c) : c),
    stderr: (t) => void (err += t),
    tty: false,
    cwd,
  };
  const code = await runCli(argv, io);
  const bytes = new Uint8Array(Buffer.concat(chunks));
  return { code, out: new TextDecoder().decode(bytes), bytes, err };
}

const catalog = loadCatalog(root);
const containerValid = catalog.cases.filter((c) => c.area === "container" && c.validity === "valid" && c.fixtureType === "file");
const containerInvalid = catalog.cases.filter((c) => c.area === "container" && c.validity === "invalid");
const sidecarOf = (sidecar: string): { expected?: unknown; error?: unknown } => JSON.parse(readFileSync(join(root, sidecar), "utf8")) as { expected?: unknown; error?: unknown };

describe("quiver inspect", () => {
  it("prints the header and section table of a valid frame, as text and as JSON", async () => {
    const entry = containerValid.find((c) => c.name === "base-three-sections") ?? containerValid[0]!;
    const frame = decodeFrame(new Uint8Array(readFileSync(join(root, entry.fixture))));
    const text = await cli(["inspect", entry.fixture, "--sections"]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(`kind               ${frame.kind} (kind_version ${frame.kindVersion})`);
    expect(text.out).toContain(`frame length       ${frame.frameLength}`);
    const json = await cli(["inspect", entry.fixture, "--json"]);
    const parsed = JSON.parse(json.out) as { header: { frameLength: string; typeName: string }; sections: { id: number; offset: string; crcCheck: string }[] };
    expect(parsed.header.frameLength).toBe(String(frame.frameLength));
    expect(parsed.header.typeName).toBe(frame.typeName);
    expect(parsed.sections.map((s) => [s.id, s.offset, s.crcCheck])).toEqual(frame.sections.map((s) => [s.id, String(s.offset), "ok"]));
  });

  it("reports a malformed frame with its code and stage and exits 1", async () => {
    const entry = containerInvalid.find((c) => c.name === "bad-magic") ?? containerInvalid[0]!;
    const r = await cli(["inspect", entry.fixture, "--json"]);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.out) as { error: { code: string } }).error.code).toBe("BAD_MAGIC");
  });

  it("reads sections one at a time and flags a CRC mismatch or a section past the end of the file", async () => {
    const checks = async (name: string): Promise<{ code: number; crc: string[] }> => {
      const r = await cli(["inspect", `fixtures/container/v1/invalid/${name}.bin`, "--json"]);
      return { code: r.code, crc: (JSON.parse(r.out) as { sections: { crcCheck: string }[] }).sections.map((x) => x.crcCheck) };
    };
    const mismatch = await checks("section-checksum-mismatch");
    expect(mismatch.code).toBe(1);
    expect(mismatch.crc).toContain("mismatch");
    const truncated = await checks("truncated-body");
    expect(truncated.code).toBe(1);
    expect(truncated.crc).toContain("truncated");
  });

  it("usage errors exit 2", async () => {
    expect((await cli(["inspect"])).code).toBe(2);
    expect((await cli(["inspect", "x", "--bogus"])).code).toBe(2);
    expect((await cli(["nope"])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    expect((await cli(["help"])).out).toContain("Usage: quiver");
  });
});

describe("quiver adapter (the CLI contract over the reference implementation)", () => {
  it("capabilities list the reference operations", async () => {
    const r = await cli(["adapter", "capabilities"]);
    const caps = JSON.parse(r.out) as { operations: string[]; unsupported: unknown[] };
    expect(caps.operations).toContain("decode-frame");
    expect(caps.unsupported).toEqual([]);
  });

  it("decode prints the expected value or the error envelope; encode prints the fixture bytes as {bytes: hex}", async () => {
    const v = containerValid[0]!;
    const decoded = await cli(["adapter", "decode", v.fixture, "--operation", v.operation]);
    expect(decoded.code).toBe(0);
    expect(JSON.parse(decoded.out)).toEqual(sidecarOf(v.sidecar).expected);
    const valueDir = mkdtempSync(join(tmpdir(), "quiver-cli-value-"));
    try {
      writeFileSync(join(valueDir, "value.json"), JSON.stringify(sidecarOf(v.sidecar).expected));
      const encoded = await cli(["adapter", "encode", join(valueDir, "value.json"), "--operation", "encode-frame"]);
      expect(Buffer.from((JSON.parse(encoded.out) as { bytes: string }).bytes, "hex")).toEqual(Buffer.from(readFileSync(join(root, v.fixture))));
    } finally {
      rmSync(valueDir, { recursive: true, force: true });
    }
    const bad = containerInvalid[0]!;
    const rejected = await cli(["adapter", "decode", bad.fixture, "--operation", bad.operation]);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.out)).toEqual({ error: sidecarOf(bad.sidecar).error });
  });

  // each case is a `quiver adapter` child process; the deadline only turns a hang into a failure
  it("passes a sample of the catalog when driven as a subprocess by CliAdapter", { timeout: 240_000 }, async () => {
    const sample = new Set([...containerValid.slice(0, 2), ...containerInvalid.slice(0, 2)].map((c) => c.id));
    const adapter = new CliAdapter(["node", "--import", "tsx", "--conditions=quiver-source", join(root, "packages/cli/src/bin.ts"), "adapter"], { cwd: root, timeoutMs: 180_000 });
    const report = await runConformance(adapter, { root, filter: (c) => sample.has(c.id), concurrency: 2 });
    expect(report.cases.map((c) => `${c.id} ${c.status} ${c.reason ?? ""}`.trim())).toEqual([...sample].sort().map((id) => `${id} passed`));
    expect(report.cases.filter((c) => c.checks.includes("re-encode")).length).toBe(2);
  });
});

describe("quiver conformance and main", () => {
  it("conformance --json reports the container area with no failures", async () => {
    const r = await cli(["conformance", "--json", "--area", "container"]);
    const report = JSON.parse(r.out) as { failed: number; skipped: number; passed: number; areas: Record<string, unknown> };
    expect(r.code).toBe(0);
    expect(Object.keys(report.areas)).toEqual(["container"]);
    expect(report).toMatchObject({ failed: 0, skipped: 0, passed: containerValid.length + containerInvalid.length });
  });

  it("conformance with --adapter-cmd runs an external adapter and exits 1 when it fails", { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "quiver-cli-test-"));
    try {
      const script = join(dir, "liar.mjs");
      // Claims decode-frame but answers every fixture with the same wrong error.
      writeFileSync(
        script,
        `if (process.argv[2] === "capabilities") console.log(JSON.stringify({ name: "liar", version: "0", operations: ["decode-frame"], unsupported: [] }));
else console.log(JSON.stringify({ error: { code: "NOPE", stage: "header" } }));`,
      );
      const r = await cli(["conformance", "--area", "container", "--adapter-cmd", `node "${script}"`]);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(new RegExp(`container\\s+0\\s+${containerValid.length + containerInvalid.length}\\s+0`));
      expect(r.out).toContain("got NOPE at stage header");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("conformance: unknown area/operation exit 2; nothing executed exits 1; --require-all and --root pass a full run", { timeout: 240_000 }, async () => {
    const typo = await cli(["conformance", "--area", "containr"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toMatch(/unknown area "containr"/);
    expect((await cli(["conformance", "--operation", "decode-fram"])).code).toBe(2);
    const minimal = `node "${join(root, "conformance/adapters/minimal-frame/adapter.mjs")}"`;
    const onlyGaps = await cli(["conformance", "--area", "cache", "--adapter-cmd", minimal]);
    expect(onlyGaps.code).toBe(1);
    expect(onlyGaps.out).toMatch(/verdict: FAIL: no case was executed/);
    const strict = await cli(["conformance", "--operation", "decode-frame", "--require-all", "--json", "--root", root, "--adapter-cmd", minimal]);
    expect(strict.code).toBe(0);
    expect(JSON.parse(strict.out)).toMatchObject({ requireAll: true, verdict: { pass: true }, skipped: 0 });
  });

  it("conformance runs the whole reference suite and exits 0 when it passes", { timeout: 240_000 }, async () => {
    const r = await cli(["conformance"]);
    expect(r.out).toMatch(/total\s+\d+\s+0\s+0/);
    expect(r.code).toBe(0);
  });

  it("main runs the end-to-end job (small) and the fresh-process reopen makes no store request", async () => {
    const r = await cli(["main", "--rows", "5000", "--queries", "50", "--partitions", "16"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/store read requests 0, HEAD requests 0/);
    const recall = [...r.out.matchAll(/recall@10 ([0-9.]+)/g)].map((m) => Number(m[1]));
    expect(recall).toHaveLength(2);
    // With refine 10 on clustered data the job must find nearly every true neighbour.
    expect(recall[1]).toBeGreaterThan(0.8);
  }, 300_000);
});

describe("quiver fixtures check", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), "quiver-fixtures-cli-"));
    cpSync(join(root, "spec", "schemas"), join(tmp, "spec", "schemas"), { recursive: true });
    mkdirSync(join(tmp, "fixtures", "_gen", "areas"), { recursive: true });
    writeFileSync(
      join(tmp, "fixtures", "_gen", "areas", "demo.ts"),
      `export function cases() {
  return [{ area: "demo", validity: "valid", name: "one", description: "one byte", spec: "demo.md", operation: "decode-demo", bin: new Uint8Array([1]), expected: { v: 1 } }];
}
`,
    );
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("fails with the list of missing files, then passes once generated, then fails on a hand edit", async () => {
    const missing = await cli(["fixtures", "check", "--root", tmp]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("fixtures/demo/v1/valid/one.bin");
    const { generateFixtures, loadFixtureCases } = await import("@quiver/conformance");
    generateFixtures(tmp, await loadFixtureCases(join(tmp, "fixtures", "_gen", "areas")));
    expect((await cli(["fixtures", "check"], join(tmp, "fixtures"))).code).toBe(0);
    writeFileSync(join(tmp, "fixtures/demo/v1/valid/one.bin"), new Uint8Array([2]));
    const edited = await cli(["fixtures", "check", "--root", tmp]);
    expect(edited.code).toBe(1);
    expect(edited.err).toMatch(/differing bytes \(1\):\n {2}fixtures\/demo\/v1\/valid\/one\.bin/);
  });
});
