/** The adapter contract: what the runner needs from an implementation under test. */
import type { LoadedCase } from "./catalog.js";

/** An operation or a single case the adapter declares it does not support, with the reason. */
export type UnsupportedDeclaration = { readonly operation: string; readonly reason: string } | { readonly case: string; readonly reason: string };

/** What an adapter implements (spec/schemas/adapter-capabilities.schema.json). */
export interface AdapterCapabilities {
  readonly name: string;
  readonly version: string;
  /** Operations the adapter implements, e.g. "decode-frame", "encode-frame". */
  readonly operations: readonly string[];
  /** Declared gaps; the runner reports matching cases as skipped with this reason. */
  readonly unsupported: readonly UnsupportedDeclaration[];
}

/** The result of running an operation: a canonical-JSON value, or a rejected input's code and stage. */
export type OperationOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly stage: string; readonly message?: string } };

/**
 * An implementation under test. `decode` runs any catalog operation on a fixture; it throws only when
 * the implementation crashed (a failure), and returns `{ok: false}` for an input it rejected.
 */
export interface ConformanceAdapter {
  /** Declared capabilities (validated by the runner). */
  capabilities(): Promise<AdapterCapabilities>;
  /** Run `operation` on the case's fixture (bytes or directory, plus the sidecar `input`). */
  decode(operation: string, fixture: LoadedCase): Promise<OperationOutcome>;
  /** Run the `encode-*` operation on the case's expected value and return the bytes. */
  encode(operation: string, fixture: LoadedCase): Promise<Uint8Array>;
  /** Release resources (temporary files, processes). */
  close?(): Promise<void>;
}

/** `{code, stage}` of an error that carries both as strings (QuiverFormatError and friends), else undefined. */
export function errorCodeAndStage(e: unknown): { code: string; stage: string; message: string } | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const { code, stage, message } = e as { code?: unknown; stage?: unknown; message?: unknown };
  if (typeof code !== "string" || typeof stage !== "string") return undefined;
  return { code, stage, message: typeof message === "string" ? message : "" };
}
