/**
 * Step 4 of the root README ("Write and test a cache backend"), as written: the README's
 * `kv-backend.mjs` is written to a folder inside the repository (so its `@quiver/*` imports resolve
 * to the workspace), and its `kv-backend.test.mjs` is imported here, so the backend conformance
 * suite it defines runs in this vitest exactly as it runs in a user's.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll } from "vitest";
import { readmeBlock } from "../registry-roundtrip/readme-blocks.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const text = readFileSync(join(repo, "README.md"), "utf8");
const dir = join(repo, ".quiver-tmp", `readme-backend-${process.pid}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "kv-backend.mjs"), readmeBlock(text, "backend").code);
writeFileSync(join(dir, "kv-backend.test.mjs"), readmeBlock(text, "backend-test").code);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

await import(pathToFileURL(join(dir, "kv-backend.test.mjs")).href);
