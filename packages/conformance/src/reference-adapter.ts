/** The in-process adapter over our own TypeScript packages (`operations/index.ts`). */
import { readFileSync } from "node:fs";
import { type AdapterCapabilities, type AdapterFixture, type ConformanceAdapter, type OperationOutcome, errorCodeAndStage } from "./adapter.js";
import { hexToBytes } from "./canonical-json.js";
import type { OperationFixture, OperationFn } from "./operation.js";
import { referenceOperations } from "./operations/index.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Options of a {@link ReferenceAdapter}. */
export interface ReferenceAdapterOptions {
  /** Operation table to use instead of the reference one (tests, experiments). */
  readonly operations?: Readonly<Record<string, OperationFn>>;
  readonly name?: string;
}

/** Runs catalog operations in-process with the reference operation table. */
export class ReferenceAdapter implements ConformanceAdapter {
  readonly #operations: Readonly<Record<string, OperationFn>>;
  readonly #name: string;

  constructor(options: ReferenceAdapterOptions = {}) {
    this.#operations = options.operations ?? referenceOperations;
    this.#name = options.name ?? "quiver-typescript-reference";
  }

  /** Every operation in the table; nothing is declared unsupported. */
  capabilities(): Promise<AdapterCapabilities> {
    return Promise.resolve({ name: this.#name, version: PACKAGE_VERSION, operations: Object.keys(this.#operations).sort(), unsupported: [] });
  }

  /** Run an operation; errors with a string code and stage are rejections, anything else propagates (a crash). */
  async decode(operation: string, fixture: AdapterFixture): Promise<OperationOutcome> {
    return runReferenceOperation(this.#operations, operation, toOperationFixture(fixture));
  }

  /** Run an encode operation on the value to encode. */
  async encode(operation: string, value: unknown): Promise<Uint8Array> {
    return runReferenceEncode(this.#operations, operation, value);
  }
}

/** The {@link OperationFixture} (the operation function's argument) of what the adapter received. */
export function toOperationFixture(fixture: AdapterFixture): OperationFixture {
  const out: OperationFixture = {};
  if (fixture.bin !== undefined) out.bin = fixture.bin;
  if (fixture.dir !== undefined) out.dir = fixture.dir;
  if (fixture.input !== undefined) out.input = fixture.input;
  return out;
}

/** Run one operation of a table, mapping coded errors to a rejection outcome. */
export async function runReferenceOperation(
  table: Readonly<Record<string, OperationFn>>,
  operation: string,
  fixture: OperationFixture,
): Promise<OperationOutcome> {
  const fn = Object.hasOwn(table, operation) ? table[operation] : undefined;
  if (fn === undefined) throw new Error(`operation "${operation}" is not implemented`);
  try {
    return { ok: true, value: await fn(fixture) };
  } catch (e) {
    const coded = errorCodeAndStage(e);
    if (coded === undefined) throw e;
    return { ok: false, error: coded };
  }
}

/** Run an `encode-*` operation with `value` as its input; accepts a Uint8Array or `{bytes: hex}` result. */
export async function runReferenceEncode(table: Readonly<Record<string, OperationFn>>, operation: string, value: unknown): Promise<Uint8Array> {
  const fn = Object.hasOwn(table, operation) ? table[operation] : undefined;
  if (fn === undefined) throw new Error(`operation "${operation}" is not implemented`);
  const result = await fn({ input: value });
  if (result instanceof Uint8Array) return result;
  if (typeof result === "object" && result !== null && typeof (result as { bytes?: unknown }).bytes === "string") {
    return hexToBytes((result as { bytes: string }).bytes);
  }
  throw new Error(`operation "${operation}" returned neither bytes nor {bytes: hex}`);
}
