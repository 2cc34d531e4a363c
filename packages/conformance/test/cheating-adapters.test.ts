// The adapter contract gives an implementation nothing that contains or points at the expected
// result (conformance/README.md, "What an adapter receives"). Each adapter here cheats in one of the
// ways that used to pass every case (sidecar reader, sibling-.bin echo, path-name guesser) and must
// now fail; a spy records exactly what an adapter is handed.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AdapterFixture,
  type ConformanceAdapter,
  type FixtureCaseInput,
  type OperationFn,
  CliAdapter,
  ReferenceAdapter,
  defaultRepoRoot,
  generateFixtures,
  loadCatalog,
  readDirectoryFiles,
  runConformance,
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

/** An honest implementation of the demo format (the bytes are a name; "!" prefix rejected). */
const honest: Record<string, OperationFn> = {
  "decode-demo": async ({ bin }) => {
    const name = text.decode(bin);
    if (name.startsWith("!")) throw new DemoError("BAD_MAGIC", "header");
    return { name, size: String(bin!.length) };
  },
  "encode-demo": async ({ input }) => utf8.encode((input as { name: string }).name),
  "read-dir": async ({ dir, input }) => ({ files: Object.keys(readDirectoryFiles(dir!)).sort(), input }),
};

const demoCases: FixtureCaseInput[] = [
  { area: "demo", validity: "valid", name: "plain", description: "a plain name", spec: "demo.md#a", operation: "decode-demo", bin: utf8.encode("plain"), expected: { name: "plain", size: "5" } },
  { area: "demo", validity: "valid", name: "longer", description: "another name", spec: "demo.md#a", operation: "decode-demo", bin: utf8.encode("longer"), expected: { name: "longer", size: "6" } },
  { area: "demo", validity: "invalid", name: "bad-magic", description: "a rejected name", spec: "demo.md#a", operation: "decode-demo", bin: utf8.encode("!x"), error: { code: "BAD_MAGIC", stage: "header" } },
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
];

const CAPS = JSON.stringify({ name: "cheat", version: "0", operations: ["decode-demo", "encode-demo", "read-dir"], unsupported: [] });

describe("cheating adapters fail", () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ root, cleanup } = makeTempRoot());
    generateFixtures(root, demoCases);
  });
  afterAll(() => cleanup());

  const script = (name: string, body: string): string => {
    const file = join(root, `${name}.mjs`);
    writeFileSync(
      file,
      `import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
const [cmd, path] = process.argv.slice(2);
const op = process.argv[process.argv.indexOf("--operation") + 1];
if (cmd === "capabilities") { console.log(${JSON.stringify(CAPS)}); process.exit(0); }
${body}
`,
    );
    return file;
  };

  it("the honest CLI adapter passes every case, including the re-encode (the baseline the cheaters are measured against)", async () => {
    const file = script(
      "honest",
      `if (cmd === "decode" && op === "decode-demo") {
  const name = readFileSync(path, "utf8");
  console.log(JSON.stringify(name.startsWith("!") ? { error: { code: "BAD_MAGIC", stage: "header" } } : { name, size: String(name.length) }));
} else if (cmd === "decode" && op === "read-dir") {
  const files = readdirSync(path, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => (d.parentPath === path ? "" : d.parentPath.slice(path.length + 1) + "/") + d.name).sort();
  console.log(JSON.stringify({ files, input: JSON.parse(readFileSync(process.argv[process.argv.indexOf("--input") + 1], "utf8")) }));
} else if (cmd === "encode") {
  console.log(JSON.stringify({ bytes: Buffer.from(JSON.parse(readFileSync(path, "utf8")).name).toString("hex") }));
}`,
    );
    const report = await runConformance(new CliAdapter(["node", file]), { root });
    expect(report).toMatchObject({ total: 4, passed: 4, failed: 0 });
    expect(report.cases.filter((c) => c.checks.includes("re-encode")).length).toBe(2);
  });

  it("a sidecar reader (answers from <fixture>.json next to the path it is given) fails every case", async () => {
    const file = script(
      "sidecar-reader",
      `const sidecar = path.endsWith(".bin") ? path.slice(0, -4) + ".json" : path.replace(/\\/$/, "") + ".json";
const sc = JSON.parse(readFileSync(sidecar, "utf8"));
if (cmd === "decode") console.log(JSON.stringify(sc.error !== undefined ? { error: sc.error } : sc.expected));
else console.log(JSON.stringify({ bytes: readFileSync(sidecar.slice(0, -5) + ".bin").toString("hex") }));`,
    );
    const report = await runConformance(new CliAdapter(["node", file]), { root });
    expect(report).toMatchObject({ total: 4, passed: 0, failed: 4 });
    for (const c of report.cases) expect(c.reason).toMatch(/^adapter crashed: adapter decode failed/);
  });

  it("a sibling-.bin echo (decodes honestly, but 'encodes' by echoing the .bin beside the file it is given) fails every re-encode", async () => {
    const file = script(
      "bin-echo",
      `if (cmd === "decode" && op === "decode-demo") {
  const name = readFileSync(path, "utf8");
  console.log(JSON.stringify(name.startsWith("!") ? { error: { code: "BAD_MAGIC", stage: "header" } } : { name, size: String(name.length) }));
} else if (cmd === "decode") {
  const files = readdirSync(path, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => (d.parentPath === path ? "" : d.parentPath.slice(path.length + 1) + "/") + d.name).sort();
  console.log(JSON.stringify({ files, input: JSON.parse(readFileSync(process.argv[process.argv.indexOf("--input") + 1], "utf8")) }));
} else if (cmd === "encode") {
  // The old contract handed encode the sidecar path: <name>.json, with <name>.bin beside it.
  const sibling = path.replace(/\\.json$/, ".bin");
  const any = readdirSync(dirname(path)).find((f) => f.endsWith(".bin"));
  const bin = existsSync(sibling) ? sibling : any !== undefined ? join(dirname(path), any) : undefined;
  if (bin === undefined) { console.error("no sibling .bin to echo"); process.exit(4); }
  console.log(JSON.stringify({ bytes: readFileSync(bin).toString("hex") }));
}`,
    );
    const report = await runConformance(new CliAdapter(["node", file]), { root });
    const reencoded = report.cases.filter((c) => c.checks.includes("re-encode"));
    expect(reencoded.map((c) => c.id).sort()).toEqual(["demo/valid/longer", "demo/valid/plain"]);
    for (const c of reencoded) expect(c).toMatchObject({ status: "failed", reason: expect.stringMatching(/encode-demo crashed.*no sibling \.bin/s) });
  });

  it("a path-name guesser (error if the path says /invalid/, else the file's base name) fails every case", async () => {
    const file = script(
      "guesser",
      `if (cmd === "decode" && /\\/invalid\\//.test(path)) console.log(JSON.stringify({ error: { code: /magic/.test(path) ? "BAD_MAGIC" : "TRUNCATED", stage: "header" } }));
else if (cmd === "decode" && op === "decode-demo") console.log(JSON.stringify({ name: basename(path, ".bin"), size: String(statSync(path).size) }));
else if (cmd === "decode") console.log(JSON.stringify({ files: ["a.bin", "s/b.bin"], input: { k: basename(path) === "dir" ? "v" : "?" } }));
else console.log(JSON.stringify({ bytes: Buffer.from(basename(dirname(path))).toString("hex") }));`,
    );
    const report = await runConformance(new CliAdapter(["node", file]), { root });
    expect(report).toMatchObject({ total: 4, passed: 0, failed: 4 });
  });

  it("in process: an adapter that looks for the sidecar, the case or the expected bytes on the object it gets fails every case", async () => {
    const seen: string[][] = [];
    const snoop = (o: unknown): unknown => {
      const x = o as Record<string, unknown>;
      seen.push(Object.keys(x).sort());
      const sidecar = (x.sidecar ?? (typeof x.sidecarPath === "string" ? JSON.parse(readFileSync(x.sidecarPath, "utf8")) : undefined)) as { expected?: unknown; error?: unknown } | undefined;
      if (sidecar !== undefined) return sidecar;
      if (typeof x.dir === "string" && existsSync(`${x.dir}.json`)) return JSON.parse(readFileSync(`${x.dir}.json`, "utf8"));
      return undefined;
    };
    const cheat: ConformanceAdapter = {
      capabilities: async () => JSON.parse(CAPS) as never,
      decode: async (_op, f: AdapterFixture) => {
        const sc = snoop(f) as { expected?: unknown; error?: { code: string; stage: string } } | undefined;
        if (sc?.error !== undefined) return { ok: false, error: sc.error };
        return { ok: true, value: sc?.expected ?? null };
      },
      encode: async (_op, value) => {
        const x = value as Record<string, unknown>;
        if (x.bin instanceof Uint8Array) return x.bin;
        return new Uint8Array();
      },
    };
    const report = await runConformance(cheat, { root });
    expect(report).toMatchObject({ total: 4, passed: 0, failed: 4 });
    // What an in-process adapter sees: only bin | dir, and input.
    for (const keys of seen) expect(keys.every((k) => ["bin", "dir", "input"].includes(k))).toBe(true);
  });

  it("the inputs an adapter is handed: neutral names in fresh directories holding nothing else, no case name anywhere", async () => {
    const log = join(root, "spy.log");
    const file = script(
      "spy",
      `import { appendFileSync } from "node:fs";
const input = process.argv.includes("--input") ? process.argv[process.argv.indexOf("--input") + 1] : undefined;
appendFileSync(${JSON.stringify(log)}, JSON.stringify({ cmd, path, input, siblings: readdirSync(dirname(path)).sort(), inputSiblings: input && readdirSync(dirname(input)).sort(), cwdFiles: [] }) + "\\n");
if (cmd === "decode" && op === "decode-demo") {
  const name = readFileSync(path, "utf8");
  console.log(JSON.stringify(name.startsWith("!") ? { error: { code: "BAD_MAGIC", stage: "header" } } : { name, size: String(name.length) }));
} else if (cmd === "decode") {
  console.log(JSON.stringify({ files: readdirSync(path, { recursive: true }).sort(), input: JSON.parse(readFileSync(input, "utf8")) }));
} else console.log(JSON.stringify({ bytes: Buffer.from(JSON.parse(readFileSync(path, "utf8")).name).toString("hex") }));`,
    );
    await runConformance(new CliAdapter(["node", file]), { root });
    const calls = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { cmd: string; path: string; input?: string; siblings: string[]; inputSiblings?: string[] });
    expect(calls.length).toBe(4 + 2);
    for (const c of calls) {
      for (const p of [c.path, c.input ?? ""]) {
        expect(p).not.toMatch(/plain|longer|bad-magic|\/dir\b|\/valid\/|\/invalid\/|demo|fixtures/);
        expect(p.startsWith(root)).toBe(false);
      }
      if (c.cmd === "encode") expect([basename(c.path), c.siblings]).toEqual(["value.json", ["value.json"]]);
      else if (c.input !== undefined) {
        expect([basename(c.path), c.siblings, c.inputSiblings]).toEqual(["fixture", ["fixture"], ["input.json"]]);
        expect(dirname(c.input)).not.toBe(dirname(c.path));
      } else expect([basename(c.path), c.siblings]).toEqual(["fixture.bin", ["fixture.bin"]]);
      // Removed once the invocation returned.
      expect(existsSync(c.path)).toBe(false);
    }
  });
});

describe("cheating adapters on the committed catalog", () => {
  const root = defaultRepoRoot();
  const total = loadCatalog(root).cases.length;

  it("an in-process sidecar reader passes no case at all", async () => {
    const reference = new ReferenceAdapter();
    const cheat: ConformanceAdapter = {
      capabilities: () => reference.capabilities(),
      decode: async (_op, f) => {
        const guess = f.dir !== undefined ? `${f.dir}.json` : undefined;
        if (guess === undefined || !existsSync(guess)) return { ok: true, value: null };
        const sc = JSON.parse(readFileSync(guess, "utf8")) as { expected?: unknown; error?: { code: string; stage: string } };
        return sc.error !== undefined ? { ok: false, error: sc.error } : { ok: true, value: sc.expected };
      },
      encode: async () => new Uint8Array(),
    };
    const report = await runConformance(cheat, { root });
    expect(report.total).toBe(total);
    expect(report.passed).toBe(0);
  });
});
