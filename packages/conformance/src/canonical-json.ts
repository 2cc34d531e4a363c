/**
 * Canonical JSON, the form of every expected value, sidecar and catalog: object keys sorted by
 * UTF-16 code units, 2-space indent, a trailing newline. Values that JSON cannot carry exactly are
 * normalised once here so that every producer agrees: bigint -> decimal string, Uint8Array ->
 * lowercase hex. Anything else that is not plain JSON (NaN, Infinity, functions, class instances)
 * is a programming error and throws.
 */

/** A plain JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Convert a value to plain JSON with sorted keys (bigint -> decimal string, bytes -> hex). */
export function toCanonicalValue(value: unknown, path = "$"): JsonValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} has no JSON form; encode floats as hex or decimal strings`);
    return value;
  }
  if (typeof value === "bigint") return value.toString(10);
  if (value instanceof Uint8Array) return bytesToHex(value);
  if (Array.isArray(value)) return value.map((v, i) => toCanonicalValue(v, `${path}[${i}]`));
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`${path}: ${Object.prototype.toString.call(value)} is not a plain object`);
    }
    // Null prototype: a "__proto__" key must stay an ordinary member, never set the prototype.
    const out = Object.create(null) as { [key: string]: JsonValue };
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue; // JSON.stringify drops undefined members too
      out[key] = toCanonicalValue(v, `${path}.${key}`);
    }
    return out;
  }
  throw new TypeError(`${path}: a ${typeof value} has no JSON form`);
}

/** Serialise as canonical JSON text (sorted keys, 2-space indent, trailing newline). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(toCanonicalValue(value), null, 2) + "\n";
}

/** True when two values have the same canonical JSON. */
export function canonicalEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Lowercase hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Bytes of a lowercase or uppercase hex string; throws on odd length or a non-hex digit. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError(`not a hex string of whole bytes (${hex.length} chars)`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
