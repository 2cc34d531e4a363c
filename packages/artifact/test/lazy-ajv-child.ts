/** Child of lazy-ajv.test.ts: whether ajv is loaded after importing @quiver/artifact, and after parsing a manifest. */
import { createRequire } from "node:module";
import { parseManifest } from "@quiver/artifact";

// ajv is a CommonJS package: once loaded (by import or require) it sits in the require cache.
const ajvLoaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("/node_modules/ajv/"));
const afterImport = ajvLoaded();
let code: string | undefined;
try {
  parseManifest(new TextEncoder().encode('{"format":"quiver-partition-artifact"}'));
} catch (e) {
  code = (e as { code?: string }).code;
}
process.stdout.write(JSON.stringify({ afterImport, afterParse: ajvLoaded(), code }));
