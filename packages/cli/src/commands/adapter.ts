/**
 * `quiver adapter capabilities | decode <fixture> --operation <op> [--input <file>] | encode <value.json> --operation <op>`:
 * the reference implementation behind the language-agnostic CLI contract (conformance/README.md),
 * so that the subprocess path is exercised on our own code too.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { ReferenceAdapter, bytesToHex, canonicalJson, referenceOperations, runReferenceEncode, runReferenceOperation } from "@quiver/conformance";
import type { OperationFixture } from "@quiver/conformance";
import { type CliIo, UsageError } from "../io.js";

/** Dispatch the three contract commands; exit 0 for results and rejections alike, non-zero only on a crash. */
export async function adapterCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { operation: { type: "string" }, input: { type: "string" } },
    strict: true,
    allowPositionals: true,
  });
  const [sub, path, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${rest[0]}`);
  if (sub === "capabilities") {
    if (path !== undefined) throw new UsageError("capabilities takes no argument");
    io.stdout(canonicalJson(await new ReferenceAdapter().capabilities()));
    return 0;
  }
  if (sub !== "decode" && sub !== "encode") throw new UsageError("adapter capabilities | decode <fixture> --operation <op> [--input <json-file>] | encode <value.json> --operation <op>");
  if (path === undefined || values.operation === undefined) throw new UsageError(`adapter ${sub} needs a path and --operation`);
  const abs = resolve(io.cwd, path);
  if (sub === "encode") {
    // The file holds the value to encode (never a sidecar); the answer is {"bytes": "<hex>"}.
    const value = JSON.parse(readFileSync(abs, "utf8")) as unknown;
    io.stdout(canonicalJson({ bytes: bytesToHex(await runReferenceEncode(referenceOperations, values.operation, value)) }));
    return 0;
  }
  const fixture: OperationFixture = statSync(abs).isDirectory() ? { dir: abs } : { bin: new Uint8Array(readFileSync(abs)) };
  if (values.input !== undefined) fixture.input = JSON.parse(readFileSync(resolve(io.cwd, values.input), "utf8")) as unknown;
  const outcome = await runReferenceOperation(referenceOperations, values.operation, fixture);
  io.stdout(canonicalJson(outcome.ok ? outcome.value : { error: { code: outcome.error.code, stage: outcome.error.stage } }));
  return 0;
}
