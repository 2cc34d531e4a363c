// Worker bootstrap (plain ESM so Node can start it without a TypeScript loader): runs the
// compiled worker next to this file when present (built package), else the TypeScript source,
// registering tsx's ESM loader first (loaders of the parent, tsx or vitest, do not reach workers).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("./assign-encode-worker.js", import.meta.url);
const source = new URL("./assign-encode-worker.ts", import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  // a loader installed in the parent (tsx, vitest) does not reach worker threads: register one here
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
}
