import { defineConfig } from "vitest/config";

// One config for every package. `quiver-source` makes workspace imports resolve to src/ so
// tests never depend on a prior build.
export default defineConfig({
  resolve: { conditions: ["quiver-source"] },
  ssr: { resolve: { conditions: ["quiver-source"], externalConditions: ["quiver-source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "bench/test/**/*.test.ts", "scripts/test/**/*.test.ts"],
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
  },
});
