import { defineConfig } from "vitest/config";

// Packages whose test files run one after another in a reused worker process (vitest `isolate:
// false`): a file then skips the per-file fork and the re-import of vitest and the workspace
// sources (measured side by side on btree, bitmap, query, segments, format and store, 37 files:
// 102.1 -> 74.6 CPU-s, ~0.7 CPU-s per file). Listed
// only after their whole test folder passed that way; a package whose tests leave process-wide
// state behind (env, globals, mocks, pools) stays out. Every other file runs isolated as before.
const SHARED_WORKER = ["btree", "bitmap", "query", "segments", "format", "cache", "cache-redis", "store", "store-s3", "conformance", "distributed"];

// One config for every package. `quiver-source` makes workspace imports resolve to src/ so
// tests never depend on a prior build.
export default defineConfig({
  resolve: { conditions: ["quiver-source"] },
  ssr: { resolve: { conditions: ["quiver-source"], externalConditions: ["quiver-source"] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // fast path for equal typed arrays in toEqual (scripts/test/typed-array-equality.ts): vitest's
    // element-by-element comparison cost ~0.35 s of CPU per 100k elements
    setupFiles: ["scripts/test/typed-array-equality.ts"],
    pool: "forks",
    // vitest's default is cores - 1, which on the 2-core CI machine ran one test file at a time
    // (measured: never two files at once, 318 s); most files wait on child processes or IO.
    maxWorkers: 2,
    reporters: process.env.CI ? ["default"] : ["default"],
    projects: [
      { extends: true, test: { name: "shared-worker", isolate: false, include: SHARED_WORKER.map((p) => `packages/${p}/test/**/*.test.ts`) } },
      {
        extends: true,
        test: {
          name: "isolated",
          include: ["packages/*/test/**/*.test.ts", "bench/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
          exclude: ["**/node_modules/**", ...SHARED_WORKER.map((p) => `packages/${p}/test/**`)],
        },
      },
    ],
  },
});
