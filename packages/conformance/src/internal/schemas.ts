import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";

const compiled = new Map<string, ValidateFunction>();

/** A compiled validator for `spec/schemas/<name>.schema.json` (draft-07), cached per root. */
export function schemaValidator(root: string, name: string): ValidateFunction {
  const file = join(root, "spec", "schemas", `${name}.schema.json`);
  let v = compiled.get(file);
  if (v === undefined) {
    const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
    v = ajv.compile(JSON.parse(readFileSync(file, "utf8")) as object);
    compiled.set(file, v);
  }
  return v;
}

/** Throws with every schema violation listed when `value` does not match schema `name`. */
export function assertSchema(root: string, name: string, value: unknown, what: string): void {
  const v = schemaValidator(root, name);
  if (!v(value)) {
    const problems = (v.errors ?? []).map((e) => `  ${e.instancePath || "/"} ${e.message ?? "is invalid"}`).join("\n");
    throw new Error(`${what} does not match spec/schemas/${name}.schema.json:\n${problems}`);
  }
}
