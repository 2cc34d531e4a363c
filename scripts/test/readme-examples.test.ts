/**
 * Every package README's example, and the root README's "Use Quiver in your project" program,
 * run as written (the same extraction the registry round trip uses, against the workspace sources
 * here and against the published tarballs there). JavaScript blocks run in a child `node` with
 * tsx's loader and the `quiver-source` condition (no build needed); the `npx quiver ...` lines of a
 * shell block run the CLI from source, in order, in one child process (run-cli-lines.ts), and one
 * command runs through the CLI's own bin.ts. A block passes when it exits 0; the examples assert what they show.
 */
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { readmeBlock } from "../registry-roundtrip/readme-blocks.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const tsx = join(repo, "node_modules", ".bin", "tsx");
// Inside the repository so the example's `@quiver/*` imports resolve to the workspace packages.
const scratch = join(repo, ".quiver-tmp", `readme-examples-${process.pid}`);
// tsx keeps its transform cache in $TMPDIR/tsx-<euid>: an example's TMPDIR links it to this
// process's one (shared with the suite's other tsx children), so no example starts with an empty cache
function shareTsxCache(dir: string): string {
  const name = `tsx-${process.geteuid?.() ?? "user"}`;
  mkdirSync(join(tmpdir(), name), { recursive: true });
  symlinkSync(join(tmpdir(), name), join(dir, name));
  return dir;
}

// the examples' working directory and TMPDIR (their mkdtemp folders), removed afterwards
const cwd = shareTsxCache(mkdtempSync(join(tmpdir(), "quiver-readme-cwd-")));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

// at most two example processes at once (2-core machines)
let running = 0;
const waiting: (() => void)[] = [];
async function run(command: string, args: string[], dir = cwd, deadlineMs = 120_000): Promise<{ status: number | null; output: string }> {
  if (running >= 2) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await spawnOnce(command, args, dir, deadlineMs);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function spawnOnce(command: string, args: string[], dir: string, deadlineMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, NODE_OPTIONS: "", TMPDIR: dir }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => void (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => void (output += d.toString()));
    // a generous deadline only turns a hang into a failure
    const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Runs one README block; returns what it printed. */
async function runBlock(name: string, block: { lang: string; code: string }, dir = cwd): Promise<string> {
  if (block.lang === "js") {
    mkdirSync(scratch, { recursive: true });
    const file = join(scratch, `${name}.mjs`);
    writeFileSync(file, block.code);
    const r = await run(tsx, ["--conditions=quiver-source", file], dir);
    expect(r.status, r.output).toBe(0);
    return r.output;
  }
  expect(block.lang, `${name}: an example block is js or sh`).toBe("sh");
  const lines = block.code
    .split("\n")
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "");
  for (const line of lines) expect(line, `${name}: shell examples run the quiver command`).toMatch(/^npx quiver /);
  // the block's lines in order in one process (run-cli-lines.ts: each through the CLI's entry, stops at the first non-zero exit)
  const argvs = lines.map((line) => line.slice("npx quiver ".length).split(/\s+/));
  const r = await run(tsx, ["--conditions=quiver-source", join(repo, "scripts", "test", "run-cli-lines.ts"), JSON.stringify(argvs)], dir, 120_000 * argvs.length);
  expect(r.status, `${lines.join("\n")}\n${r.output}`).toBe(0);
  return r.output;
}

/** The CLI from source, as `npx quiver <args>` runs the installed one. */
function runCli(args: string[], dir: string): Promise<{ status: number | null; output: string }> {
  return run(tsx, ["--conditions=quiver-source", join(repo, "packages", "cli", "src", "bin.ts"), ...args], dir);
}

const packages = readdirSync(join(repo, "packages")).filter((d) => readdirSync(join(repo, "packages", d)).includes("package.json")).sort();

describe("package READMEs", () => {
  it.each(packages)("%s: says what it is, how to install it, the spec it implements, and has an example", (dir) => {
    const text = readFileSync(join(repo, "packages", dir, "README.md"), "utf8");
    const name = (JSON.parse(readFileSync(join(repo, "packages", dir, "package.json"), "utf8")) as { name: string }).name;
    expect(text.startsWith(`# ${name}\n`)).toBe(true);
    expect(text).toMatch(new RegExp(`^npm i(nstall)? (-D )?${name.replace("/", "\\/")}\\b`, "m"));
    expect(text, "names the spec version(s) it implements").toMatch(/## Spec[^\n]*\n[\s\S]*?\b(spec|version) \d+(\.\d+)?/);
    expect(() => readmeBlock(text, "example")).not.toThrow();
  });

  // two at a time: each is a child process, most of it waiting on its own workers or subprocesses
  // a package whose example needs a server (cache-redis) runs it in its own test/readme-example.test.ts
  const ownRunner = (dir: string) => existsSync(join(repo, "packages", dir, "test", "readme-example.test.ts"));
  // the deadline includes the wait for a free slot of the two; each child has its own (120 s a command line)
  it.concurrent.each(packages.filter((d) => !ownRunner(d)))("%s: the example runs as written", { timeout: 600_000 }, async (dir) => {
    const text = readFileSync(join(repo, "packages", dir, "README.md"), "utf8");
    await runBlock(dir, readmeBlock(text, "example"));
  });
});

describe("root README", () => {
  const text = readFileSync(join(repo, "README.md"), "utf8");
  // the steps of "Use Quiver in your project" share one folder, in order, as a user's project does
  const project = shareTsxCache(mkdtempSync(join(tmpdir(), "quiver-readme-project-")));
  afterAll(() => rmSync(project, { recursive: true, force: true }));

  it("step 1: the quickstart builds over a file, queries, and reopens with 0 store requests", { timeout: 600_000 }, async () => {
    const out = await runBlock("quickstart", readmeBlock(text, "program"), project);
    expect(existsSync(join(project, "vectors.npy"))).toBe(true);
    expect(out).toContain("built 5000 rows");
    expect(out).toContain("reopen + query: 0 reads, 0 HEADs");
  });

  it("step 2: the CLI lines build over the same file, search it (JSON) and inspect the index", { timeout: 600_000 }, async () => {
    const block = readmeBlock(text, "cli");
    const out = await runBlock("cli", block, project);
    expect(existsSync(join(project, "cli-index.qvr"))).toBe(true);
    expect(out).toMatch(/"distance"/);
  });

  it("step 3: engine.mjs writes an artifact that validates (exit 0); a corrupted copy exits 1 with its problems", { timeout: 600_000 }, async () => {
    await runBlock("engine", readmeBlock(text, "engine"), project);
    const out = await runBlock("validate", readmeBlock(text, "validate"), project);
    expect(out).toMatch(/"valid": *true/);
    const broken = join(project, "engine-artifact-broken");
    cpSync(join(project, "engine-artifact"), broken, { recursive: true });
    const bucket = readdirSync(broken, { recursive: true, encoding: "utf8" }).find((f) => /bucket|\.arrow$/.test(f) && statSync(join(broken, f)).isFile());
    expect(bucket, "the artifact has a bucket file").toBeDefined();
    const bytes = readFileSync(join(broken, bucket!));
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(join(broken, bucket!), bytes);
    const r = await runCli(["artifact", "validate", "engine-artifact-broken", "--json"], project);
    expect(r.status, r.output).toBe(1);
    expect(r.output).toMatch(/"valid": *false/);
  });

  it("installs and checks with npm lines only (what the round trip runs)", () => {
    const install = readmeBlock(text, "install");
    expect(install.lang).toBe("sh");
    expect(install.code).toMatch(/^npm i @quiver\/ivf\b/m);
    expect(install.code).toMatch(/^npm i -D @quiver\/cli\b/m);
    expect(readmeBlock(text, "backend").lang).toBe("js");
    expect(readmeBlock(text, "backend-test").code).toContain("runCacheBackendConformance");
    expect(readmeBlock(text, "conformance").code).toBe("npx quiver conformance\n");
  });

  it("keeps exactly two set-up commands (main job, tests)", () => {
    const setup = text.slice(text.indexOf("## Set up and run"), text.indexOf("\n## ", text.indexOf("## Set up and run") + 1));
    const commands = [...setup.matchAll(/```sh\n([^`]*)```/g)].map((m) => m[1]!.trim());
    expect(commands).toEqual([
      "npm install -g pnpm@10.34.8 && pnpm install --frozen-lockfile && pnpm main",
      "npm install -g pnpm@10.34.8 && pnpm install --frozen-lockfile && pnpm test",
    ]);
  });
});
