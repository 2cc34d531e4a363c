/**
 * The adapter contract: what the runner needs from an implementation under test, and exactly what
 * an implementation is given (conformance/README.md, "What an adapter receives"): the fixture
 * bytes, or a fresh temporary copy of the fixture directory under a neutral name, the operation and
 * the operation's input document. Nothing that contains or points at the expected result.
 */

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
 * What an adapter receives for one case: a private copy of the fixture's bytes (single-file
 * fixtures), or the path of a fresh temporary copy of the fixture directory named `fixture`
 * (multi-file fixtures), and the operation's input document (a deep copy) when the case has one.
 * No path, name or object here leads to the case's sidecar, expected value or id.
 */
export interface AdapterFixture {
  readonly bin?: Uint8Array;
  readonly dir?: string;
  readonly input?: unknown;
}

/**
 * An implementation under test. `decode` runs any catalog operation on a fixture; it throws only when
 * the implementation crashed (a failure), and returns `{ok: false}` for an input it rejected.
 */
export interface ConformanceAdapter {
  /** Declared capabilities (validated by the runner). */
  capabilities(): Promise<AdapterCapabilities>;
  /** Run `operation` on the fixture (bytes or a neutral directory copy, plus the operation's input document). */
  decode(operation: string, fixture: AdapterFixture): Promise<OperationOutcome>;
  /** Run the `encode-*` operation on `value` (a deep copy of a decode case's expected result) and return the bytes. */
  encode(operation: string, value: unknown): Promise<Uint8Array>;
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
