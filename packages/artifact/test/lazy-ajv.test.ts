/**
 * Issue 13, "reopen": importing @quiver/artifact (as every IVF reader does) no longer loads ajv;
 * the manifest schema's validator (and ajv) are loaded on the first manifest parsed. A new
 * process is the only place where "not loaded yet" can be observed.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("ajv is loaded on first use", () => {
  it("not by the import; the first parseManifest loads it and still reports SCHEMA_VIOLATION", () => {
    const child = fileURLToPath(new URL("./lazy-ajv-child.ts", import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ["--import", "tsx", "--conditions=quiver-source", child], { encoding: "utf8", cwd: fileURLToPath(new URL("../../..", import.meta.url)) })) as { afterImport: boolean; afterParse: boolean; code: string | undefined };
    expect(out).toEqual({ afterImport: false, afterParse: true, code: "SCHEMA_VIOLATION" });
  }, 60_000);
});
