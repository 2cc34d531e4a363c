/**
 * The one error model for wrong calls (as opposed to bad bytes): every public entry point of every
 * Quiver package validates its arguments first, limits before any work, and throws a
 * `QuiverArgumentError` naming the argument, what was expected and what was given. Messages quote
 * hostile values only through `describeValue`, which is bounded (no deep stringify, no recursion).
 */

/** Stable codes of argument errors (mirrored by `spec/error-codes.csv`, area `api`). */
export const ARGUMENT_ERROR_CODES = [
  "INVALID_ARGUMENT", // wrong type, wrong shape, or a value outside its allowed set/range
  "UNKNOWN_OPTION", // an option name the function does not take (typos such as `nProbes`)
  "MISSING_ARGUMENT", // a required argument or option is absent
  "ARGUMENT_LIMIT_EXCEEDED", // a size/count/dimension above a stated maximum
] as const;

/** A stable argument-error code. */
export type ArgumentErrorCode = (typeof ARGUMENT_ERROR_CODES)[number];

/** Options of a {@link QuiverArgumentError}. */
export interface QuiverArgumentErrorOptions {
  /** The argument's name as the caller spells it, e.g. `options.nprobes` or `vectors[12]`. */
  readonly argument: string;
  /** What was expected, e.g. `an integer in [1, 65536]`. */
  readonly expected: string;
  /** The value given (described with {@link describeValue}, never stringified whole). */
  readonly given: unknown;
  /** What to do about it, when there is something to say. */
  readonly hint?: string;
}

/** A wrong call to a public function: bad argument type, value, limit, or an unknown option. */
export class QuiverArgumentError extends Error {
  override readonly name = "QuiverArgumentError";
  readonly code: ArgumentErrorCode;
  readonly argument: string;
  readonly expected: string;
  /** A bounded description of the given value (type and a short prefix). */
  readonly given: string;
  readonly hint: string | undefined;

  constructor(code: ArgumentErrorCode, options: QuiverArgumentErrorOptions) {
    const given = describeValue(options.given);
    super(`${code}: ${options.argument}: expected ${options.expected}, got ${given}${options.hint ? ` (${options.hint})` : ""}`);
    this.code = code;
    this.argument = options.argument;
    this.expected = options.expected;
    this.given = given;
    this.hint = options.hint;
  }
}

/** True when `e` is a {@link QuiverArgumentError} (optionally with the given code). */
export function isQuiverArgumentError(e: unknown, code?: ArgumentErrorCode): e is QuiverArgumentError {
  return e instanceof QuiverArgumentError && (code === undefined || e.code === code);
}

const MAX_QUOTE = 40;

/**
 * A short, bounded description of any value for error messages: its type and at most 40 characters
 * of it. Never recurses into objects or arrays (a 5,000-deep hostile value costs O(1)), never throws.
 */
export function describeValue(value: unknown): string {
  try {
    switch (typeof value) {
      case "undefined":
        return "undefined";
      case "number":
        return `number ${String(value)}`;
      case "bigint":
        return `bigint ${clip(value.toString())}n`;
      case "boolean":
        return `boolean ${String(value)}`;
      case "string":
        return `string ${JSON.stringify(clip(value))}`;
      case "symbol":
        return "symbol";
      case "function":
        return "function";
      default:
        break;
    }
    if (value === null) return "null";
    if (Array.isArray(value)) return `array of length ${value.length}`;
    if (ArrayBuffer.isView(value)) {
      const name = Object.getPrototypeOf(value)?.constructor?.name ?? "typed array";
      const len = "length" in value ? (value as unknown as { length: number }).length : value.byteLength;
      return `${name} of length ${len}`;
    }
    if (value instanceof ArrayBuffer) return `ArrayBuffer of ${value.byteLength} bytes`;
    const name = Object.getPrototypeOf(value)?.constructor?.name;
    const keys = Object.keys(value as object);
    const shown = keys.slice(0, 4).map((k) => clip(k, 16));
    return `${name && name !== "Object" ? name : "object"} {${shown.join(", ")}${keys.length > 4 ? ", …" : ""}}`;
  } catch {
    return "an unprintable value";
  }
}

function clip(s: string, max = MAX_QUOTE): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/**
 * Reject option names that a function does not take. `options` may be undefined (no options).
 * Throws INVALID_ARGUMENT when `options` is not a plain object, UNKNOWN_OPTION naming the first
 * unknown key (with the closest known name as a hint, so `nProbes` suggests `nprobes`).
 */
export function checkOptions(argument: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: "an options object", given: options });
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
      throw new QuiverArgumentError("UNKNOWN_OPTION", {
        argument: `${argument}.${clip(key, 40)}`,
        expected: `one of ${known.join(", ")}`,
        given: key,
        ...(near ? { hint: `did you mean ${near}?` } : {}),
      });
    }
  }
}

/** Require an integer in [min, max]; a value above `max` is ARGUMENT_LIMIT_EXCEEDED. */
export function checkInteger(argument: string, value: unknown, min: number, max: number): number {
  if (value === undefined) {
    throw new QuiverArgumentError("MISSING_ARGUMENT", { argument, expected: `an integer in [${min}, ${max}]`, given: value });
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: `an integer in [${min}, ${max}]`, given: value });
  }
  if (value > max) {
    throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument, expected: `an integer in [${min}, ${max}]`, given: value });
  }
  return value;
}

/** Require one of a fixed set of strings. */
export function checkOneOf<T extends string>(argument: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new QuiverArgumentError(value === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", {
      argument,
      expected: `one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`,
      given: value,
    });
  }
  return value as T;
}
