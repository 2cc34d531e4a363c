/** Child of checksum.test.ts: prints which XXH3 implementation loaded, whether hash-wasm was loaded at all, and the hashes of a fixed set of inputs. */
import { createRequire } from "node:module";
import { XXH3_IMPLEMENTATION, xxh3_64 } from "@quiver/format";
import { xxh3Inputs } from "./xxh3-inputs.js";

// hash-wasm is a CommonJS package: once loaded (by import or require) it sits in the require cache.
const hashWasmLoaded = Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/node_modules/hash-wasm/"));
process.stdout.write(JSON.stringify({ implementation: XXH3_IMPLEMENTATION, hashWasmLoaded, hashes: xxh3Inputs().map((b) => xxh3_64(b).toString(16)) }));
