/**
 * An implementation in any language, driven through the CLI contract (conformance/README.md):
 *   <cmd> capabilities
 *   <cmd> decode <fixture-path> --operation <op> [--input <json-file>]
 *   <cmd> encode <sidecar.json> --operation <encode-op>
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdapterCapabilities, ConformanceAdapter, OperationOutcome } from "./adapter.js";
import type { LoadedCase } from "./catalog.js";
import { canonicalJson } from "./canonical-json.js";

/** Options of a {@link CliAdapter}. */
export interface CliAdapterOptions {
  /** Per-invocation timeout; default 60 s. */
  readonly timeoutMs?: number;
  /** Working directory of the adapter process. */
  readonly cwd?: string;
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Largest stdout accepted from one invocation (bounded so a runaway adapter cannot exhaust memory). */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

/** Drives an external adapter process, one invocation per call. */
export class CliAdapter implements ConformanceAdapter {
  readonly #command: readonly string[];
  readonly #options: CliAdapterOptions;
  #tmp: string | undefined;

  /** `command` is the program and its leading arguments, e.g. `["node", "adapter.mjs"]`. */
  constructor(command: readonly string[], options: CliAdapterOptions = {}) {
    if (command.length === 0 || command[0] === "") throw new Error("CliAdapter needs a command");
    this.#command = command;
    this.#options = options;
  }

  /** `<cmd> capabilities`, parsed (the runner validates it against the schema). */
  async capabilities(): Promise<AdapterCapabilities> {
    const out = await this.#invoke(["capabilities"]);
    return parseJson(out, "capabilities") as AdapterCapabilities;
  }

  /** `<cmd> decode <fixture> --operation <op> [--input <file>]`; `{"error":{code,stage}}` is a rejection. */
  async decode(operation: string, fixture: LoadedCase): Promise<OperationOutcome> {
    const args = ["decode", fixture.fixturePath, "--operation", operation];
    if (fixture.sidecar.input !== undefined) {
      const file = join(this.#tempDir(), `${fixture.entry.id.replaceAll("/", "__")}.input.json`);
      writeFileSync(file, canonicalJson(fixture.sidecar.input));
      args.push("--input", file);
    }
    const value = parseJson(await this.#invoke(args), `decode ${fixture.entry.id}`);
    if (isErrorEnvelope(value)) return { ok: false, error: { code: value.error.code, stage: value.error.stage } };
    return { ok: true, value };
  }

  /** `<cmd> encode <sidecar> --operation <encode-op>`: the raw bytes it prints. */
  async encode(operation: string, fixture: LoadedCase): Promise<Uint8Array> {
    return new Uint8Array(await this.#invoke(["encode", fixture.sidecarPath, "--operation", operation]));
  }

  /** Remove the temporary input files. */
  close(): Promise<void> {
    if (this.#tmp !== undefined) rmSync(this.#tmp, { recursive: true, force: true });
    this.#tmp = undefined;
    return Promise.resolve();
  }

  #tempDir(): string {
    this.#tmp ??= mkdtempSync(join(tmpdir(), "quiver-cli-adapter-"));
    return this.#tmp;
  }

  #invoke(args: readonly string[]): Promise<Buffer> {
    const [program, ...lead] = this.#command as [string, ...string[]];
    return new Promise((resolve, reject) => {
      execFile(
        program,
        [...lead, ...args],
        {
          encoding: "buffer",
          maxBuffer: MAX_OUTPUT_BYTES,
          timeout: this.#options.timeoutMs ?? 60_000,
          cwd: this.#options.cwd,
          env: { ...process.env, ...this.#options.env },
        },
        (err, stdout, stderr) => {
          if (err !== null) {
            const tail = stderr.toString("utf8").trim().split("\n").slice(-5).join("\n");
            reject(new Error(`adapter ${args[0]} failed (${err.code ?? err.signal ?? "error"})${tail ? `: ${tail}` : ""}`));
          } else {
            resolve(stdout);
          }
        },
      );
    });
  }
}

function parseJson(out: Buffer, what: string): unknown {
  try {
    return JSON.parse(out.toString("utf8")) as unknown;
  } catch {
    throw new Error(`adapter ${what}: stdout is not JSON (${out.length} bytes)`);
  }
}

function isErrorEnvelope(v: unknown): v is { error: { code: string; stage: string } } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== "error") return false;
  const e = (v as { error: unknown }).error;
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" && typeof (e as { stage?: unknown }).stage === "string";
}

/** Split a command line into words: whitespace-separated, with '...' and "..." quoting and backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (ch === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i]!;
      else cur += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === "\\" && i + 1 < line.length) {
      cur += line[++i]!;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new Error(`unterminated ${quote} in command line`);
  if (inWord) words.push(cur);
  return words;
}
