/** How the CLI prints failures: `code: message (hint)` for typed errors, the stack only with --debug. */
import { QuiverArgumentError, QuiverFormatError } from "@quiver/format";
import { QuiverStoreError } from "@quiver/store";
import type { CliIo } from "./io.js";

/** A stable code of a Quiver error, or undefined for anything else. */
export function errorCode(e: unknown): string | undefined {
  if (e instanceof QuiverFormatError || e instanceof QuiverArgumentError || e instanceof QuiverStoreError) return e.code;
  const code = e instanceof Error ? (e as Error & { code?: unknown }).code : undefined;
  if (typeof code === "string" && /^[A-Z][A-Z0-9_]+$/.test(code)) return code;
  return undefined;
}

/** One line for a failure: the typed error's message already starts with its code. */
export function formatFailure(e: unknown): string {
  const code = errorCode(e);
  const message = e instanceof Error ? e.message : String(e);
  const hint = e instanceof QuiverArgumentError || (e instanceof Error && typeof (e as { hint?: unknown }).hint === "string") ? (e as { hint?: string }).hint : undefined;
  const text = code !== undefined && !message.startsWith(`${code}:`) ? `${code}: ${message}` : message;
  const withHint = hint !== undefined && hint !== "" && !text.includes(`(${hint})`) ? `${text} (${hint})` : text;
  return withHint.split("\n")[0]!;
}

/** Print a failure of command `name`; with `debug`, the stack too. */
export function reportFailure(io: CliIo, name: string, e: unknown, debug: boolean): void {
  io.stderr(`quiver ${name}: ${formatFailure(e)}\n`);
  if (debug && e instanceof Error && e.stack !== undefined) io.stderr(`${e.stack}\n`);
}
