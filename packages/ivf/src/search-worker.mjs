// Search worker bootstrap for piscina (plain ESM so Node can start it without a TypeScript
// loader): re-exports the compiled worker next to this file when present (built package), else
// the TypeScript source, registering tsx's ESM loader first (loaders of the parent, tsx or
// vitest, do not reach workers).
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("./search-worker.js", import.meta.url);
const source = new URL("./search-worker.ts", import.meta.url);
let mod;
if (existsSync(fileURLToPath(compiled))) {
  mod = await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  mod = await import(source.href);
}
export default mod.default;
