/**
 * An implementation in any language, driven through the CLI contract (conformance/README.md):
 *   <cmd> capabilities
 *   <cmd> decode <fixture-path> --operation <op> [--input <json-file>]
 *   <cmd> encode <value.json> --operation <encode-op>        (prints {"bytes": "<hex>"})
 * Every path handed to the process is inside a fresh temporary directory made for that one
 * invocation, with neutral names (`fixture.bin` or `fixture/`, `input.json`, `value.json`).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AdapterCapabilities, AdapterFixture, ConformanceAdapter, OperationOutcome } from "./adapter.js";
import { canonicalJson, hexToBytes } from "./canonical-json.js";

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
  async decode(operation: string, fixture: AdapterFixture): Promise<OperationOutcome> {
    return this.#withTempDir(async (tmp) => {
      let path: string;
      if (fixture.bin !== undefined) {
        path = join(tmp, "fixture.bin");
        writeFileSync(path, fixture.bin);
      } else if (fixture.dir !== undefined) {
        path = fixture.dir;
      } else {
        throw new Error("CliAdapter.decode needs a fixture (bin or dir)");
      }
      const args = ["decode", path, "--operation", operation];
      if (fixture.input !== undefined) {
        const file = join(tmp, "input.json");
        writeFileSync(file, canonicalJson(fixture.input));
        args.push("--input", file);
      }
      const value = parseJson(await this.#invoke(args), `decode (${operation})`);
      if (isErrorEnvelope(value)) return { ok: false, error: { code: value.error.code, stage: value.error.stage } };
      return { ok: true, value };
    });
  }

  /** `<cmd> encode <value.json> --operation <encode-op>`: the bytes of the `{"bytes": "<hex>"}` it prints. */
  async encode(operation: string, value: unknown): Promise<Uint8Array> {
    return this.#withTempDir(async (tmp) => {
      const file = join(tmp, "value.json");
      writeFileSync(file, canonicalJson(value));
      const out = parseJson(await this.#invoke(["encode", file, "--operation", operation]), `encode (${operation})`);
      const keys = typeof out === "object" && out !== null && !Array.isArray(out) ? Object.keys(out) : [];
      const hex = (out as { bytes?: unknown } | null)?.bytes;
      if (keys.length !== 1 || typeof hex !== "string") throw new Error(`adapter encode (${operation}): stdout is not {"bytes": "<hex>"}`);
      try {
        return hexToBytes(hex);
      } catch {
        throw new Error(`adapter encode (${operation}): "bytes" is not lowercase hex`);
      }
    });
  }

  /** Nothing to release: every invocation's temporary directory is removed when it returns. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** A fresh temporary directory for one invocation, removed afterwards (so nothing of one case is seen by the next). */
  async #withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    const dir = mkdtempSync(join(tmpdir(), "quiver-adapter-"));
    try {
      return await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
