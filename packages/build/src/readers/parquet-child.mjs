// Child-process bootstrap of the Parquet decoder (plain ESM so Node starts it without a
// TypeScript loader): runs the compiled decoder next to this file when present (built package),
// else the TypeScript source, registering tsx's ESM loader first.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const compiled = new URL("./parquet-decoder.js", import.meta.url);
const source = new URL("./parquet-decoder.ts", import.meta.url);
if (existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(source.href);
}
