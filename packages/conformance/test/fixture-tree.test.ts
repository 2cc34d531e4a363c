import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type FixtureCaseInput,
  FixtureCaseError,
  checkFixtures,
  formatFixtureTreeDiff,
  directoryDigest,
  generateFixtures,
  isEmptyDiff,
  loadCase,
  loadCatalog,
  renderFixtureTree,
  sha256Hex,
  validateFixtureCases,
} from "@quiver/conformance";
import { makeTempRoot } from "./temp-root.js";

const utf8 = new TextEncoder();
const base = { area: "demo", description: "d", spec: "demo.md#x", operation: "decode-demo" } as const;
/** Overrides may set members to undefined, to build deliberately incomplete cases. */
type CaseOverrides = { [K in keyof FixtureCaseInput]?: FixtureCaseInput[K] | undefined };
const valid = (name: string, extra: CaseOverrides = {}): FixtureCaseInput => ({
  ...base,
  validity: "valid",
  name,
  description: `valid ${name}`,
  bin: utf8.encode(name),
  expected: { name },
  ...(extra as Partial<FixtureCaseInput>),
});
const invalid = (name: string): FixtureCaseInput => ({
  ...base,
  validity: "invalid",
  name,
  description: `invalid ${name}`,
  bin: new Uint8Array([1, 2, 3]),
  error: { code: "BAD_MAGIC", stage: "header" },
});

function problemsOf(cases: FixtureCaseInput[]): readonly string[] {
  try {
    validateFixtureCases(cases);
  } catch (e) {
    if (e instanceof FixtureCaseError) return e.problems;
    throw e;
  }
  return [];
}

describe("validateFixtureCases", () => {
  it("accepts well-formed cases", () => {
    expect(problemsOf([valid("a"), invalid("b"), valid("c", { bin: undefined, files: { "x/y.bin": new Uint8Array(1) } })])).toEqual([]);
  });

  it("lists every problem at once", () => {
    const problems = problemsOf([
      valid("dup"),
      invalid("dup"),
      valid("Not-Kebab"),
      valid("both", { files: { a: new Uint8Array(1) } }),
      valid("neither", { bin: undefined }),
      valid("no-expected", { expected: undefined }),
      { ...invalid("no-error"), error: undefined } as unknown as FixtureCaseInput,
      valid("unsafe", { bin: undefined, files: { "../escape": new Uint8Array(1) } }),
      valid("same-description", { description: "valid a" }),
      valid("a"),
    ]);
    const text = problems.join("\n");
    expect(text).toMatch(/name "dup" is used twice/);
    expect(text).toMatch(/Not-Kebab: name must be kebab-case/);
    expect(text).toMatch(/both: exactly one of bin \/ files/);
    expect(text).toMatch(/neither: exactly one of bin \/ files/);
    expect(text).toMatch(/no-expected: a valid case needs expected/);
    expect(text).toMatch(/no-error: an invalid case needs error/);
    expect(text).toMatch(/"\.\.\/escape" is not a safe relative path/);
    expect(text).toMatch(/description is the same/);
  });
});

describe("fixture tree", () => {
  let root: string;
  let cleanup: () => void;
  beforeEach(() => ({ root, cleanup } = makeTempRoot()));
  afterEach(() => cleanup());

  it("renders the documented layout, canonical sidecars and a catalog, independent of case order", () => {
    const files = { "b.bin": utf8.encode("B"), "sub/a.bin": utf8.encode("A") };
    const cases = [valid("one", { input: { k: 7n } }), invalid("two"), valid("three", { bin: undefined, files })];
    const a = renderFixtureTree(cases, root);
    const b = renderFixtureTree([...cases].reverse(), root);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(b.get(k)).toEqual(v);
    expect([...a.keys()].sort()).toEqual([
      "conformance/catalog.json",
      "fixtures/demo/v1/invalid/two.bin",
      "fixtures/demo/v1/invalid/two.json",
      "fixtures/demo/v1/valid/one.bin",
      "fixtures/demo/v1/valid/one.json",
      "fixtures/demo/v1/valid/three.json",
      "fixtures/demo/v1/valid/three/b.bin",
      "fixtures/demo/v1/valid/three/sub/a.bin",
    ]);
    const one = new TextDecoder().decode(a.get("fixtures/demo/v1/valid/one.json"));
    expect(one).toBe(
      `{\n  "description": "valid one",\n  "expected": {\n    "name": "one"\n  },\n  "input": {\n    "k": "7"\n  },\n  "operation": "decode-demo",\n  "sha256": "${sha256Hex(utf8.encode("one"))}",\n  "spec": "demo.md#x"\n}\n`,
    );
    const three = JSON.parse(new TextDecoder().decode(a.get("fixtures/demo/v1/valid/three.json"))) as { sha256: string };
    const lines = `b.bin\0${sha256Hex(utf8.encode("B"))}\nsub/a.bin\0${sha256Hex(utf8.encode("A"))}\n`;
    expect(three.sha256).toBe(sha256Hex(utf8.encode(lines)));
    expect(three.sha256).toBe(directoryDigest(files));
  });

  it("rejects an expected value that would not survive as canonical JSON", () => {
    expect(() => renderFixtureTree([valid("nan", { expected: { x: Number.NaN } })], root)).toThrow(TypeError);
  });

  it("writes, loads back through the catalog, removes stale outputs, and --check sees every kind of drift", () => {
    const cases = [valid("one"), invalid("two"), valid("three", { bin: undefined, files: { "f.bin": utf8.encode("F") } })];
    generateFixtures(root, cases);
    expect(isEmptyDiff(checkFixtures(root, cases))).toBe(true);
    const catalog = loadCatalog(root);
    expect(catalog.cases.map((c) => c.id)).toEqual(["demo/invalid/two", "demo/valid/one", "demo/valid/three"]);
    const three = loadCase(root, catalog.cases[2]!);
    expect(three.dir).toBe(join(root, "fixtures/demo/v1/valid/three"));
    expect(loadCase(root, catalog.cases[1]!).bin).toEqual(utf8.encode("one"));

    // Hand edits, stray files and missing files are all reported.
    writeFileSync(join(root, "fixtures/demo/v1/valid/one.bin"), "tampered");
    writeFileSync(join(root, "fixtures/demo/v1/valid/stray.bin"), "x");
    const diff = checkFixtures(root, [...cases, valid("four")]);
    expect(diff.differing).toEqual(["conformance/catalog.json", "fixtures/demo/v1/valid/one.bin"]);
    expect(diff.extra).toEqual(["fixtures/demo/v1/valid/stray.bin"]);
    expect(diff.missing).toEqual(["fixtures/demo/v1/valid/four.bin", "fixtures/demo/v1/valid/four.json"]);
    expect(formatFixtureTreeDiff(diff, 1)).toBe(
      [
        "missing (generated but not committed) (2):",
        "  fixtures/demo/v1/valid/four.bin",
        "  ... and 1 more",
        "extra (committed but not generated) (1):",
        "  fixtures/demo/v1/valid/stray.bin",
        "differing bytes (2):",
        "  conformance/catalog.json",
        "  ... and 1 more",
      ].join("\n"),
    );
    // A tampered fixture no longer matches its sidecar's sha256.
    expect(() => loadCase(root, catalog.cases[1]!)).toThrow(/sha256/);

    // Regenerating without "three" removes its directory and the stray file, and leaves _gen alone.
    mkdirSync(join(root, "fixtures/_gen"), { recursive: true });
    writeFileSync(join(root, "fixtures/_gen/keep.ts"), "//");
    writeFileSync(join(root, "fixtures/README.md"), "readme");
    const summary = generateFixtures(root, [valid("one"), invalid("two")]);
    expect(summary.removed).toEqual(["fixtures/demo/v1/valid/stray.bin", "fixtures/demo/v1/valid/three.json", "fixtures/demo/v1/valid/three/f.bin"]);
    expect(existsSync(join(root, "fixtures/demo/v1/valid/three"))).toBe(false);
    expect(readFileSync(join(root, "fixtures/demo/v1/valid/one.bin"), "utf8")).toBe("one");
    expect(existsSync(join(root, "fixtures/_gen/keep.ts"))).toBe(true);
    expect(existsSync(join(root, "fixtures/README.md"))).toBe(true);
    expect(isEmptyDiff(checkFixtures(root, [valid("one"), invalid("two")]))).toBe(true);
  });

  it("sidecars and the catalog are schema-checked on load (additional properties rejected)", () => {
    generateFixtures(root, [valid("one")]);
    const sidecar = join(root, "fixtures/demo/v1/valid/one.json");
    const parsed = JSON.parse(readFileSync(sidecar, "utf8")) as Record<string, unknown>;
    writeFileSync(sidecar, JSON.stringify({ ...parsed, extra: true }));
    expect(() => loadCase(root, loadCatalog(root).cases[0]!)).toThrow(/fixture-sidecar\.schema\.json[\s\S]*additional properties/);
    writeFileSync(sidecar, JSON.stringify({ ...parsed, error: { code: "X", stage: "y" } }));
    expect(() => loadCase(root, loadCatalog(root).cases[0]!)).toThrow(/fixture-sidecar/);
    writeFileSync(join(root, "conformance/catalog.json"), JSON.stringify({ catalogVersion: 2, cases: [] }));
    expect(() => loadCatalog(root)).toThrow(/conformance-catalog/);
  });
});
