import { describe, expect, it } from "vitest";
// One deadline runner for every package's fuzz workers (format owns it).
import { runFuzzWorker } from "../../format/test/fuzz/deadline-runner.js";

/**
 * The re-sealing mutator over artifacts (issue 8 "Keep it fixed"), each case under a deadline so a
 * hang fails instead of stalling: mutated bucket files, ranges tables and manifests of every valid
 * fixture and of freshly written artifacts, every size and CRC re-sealed, through validateArtifact
 * and the reader (both paths every case). 10,000 cases in `pnpm test`, 1,000,000 with QUIVER_SOAK=1.
 */
const soak = process.env["QUIVER_SOAK"] === "1";
const mutate = new URL("./fuzz/artifact-mutate.worker.ts", import.meta.url).pathname;
const sweep = new URL("./fuzz/footer-sweep.worker.ts", import.meta.url).pathname;

describe("re-sealed hostile artifacts: validateArtifact and the reader", () => {
  it("every footer u32 rewritten to 1, 2^30, 2^31-1 with the manifest re-sealed: typed problems, no hang (issue 8)", { timeout: 300_000 }, async () => {
    const r = await runFuzzWorker(sweep, []);
    expect(r.other).toEqual([]);
    expect(r.cases).toBeGreaterThan(1000);
    expect(Object.keys(r.typed).some((k) => k.startsWith("validate "))).toBe(true);
  });

  const runs = soak ? Array.from({ length: 20 }, (_, k) => ({ seed: 500 + k, cases: 50_000 })) : [{ seed: 7, cases: 10_000 }];
  for (const { seed, cases } of runs) {
    it(`seed ${seed}: ${cases} cases: only typed problems, validator and reader agree, validated rows equal apache-arrow's reading`, { timeout: soak ? 7_200_000 : 280_000 }, async () => {
      const r = await runFuzzWorker(mutate, [String(seed), String(cases)]);
      expect(r.other).toEqual([]);
      expect(r.wrong).toEqual([]);
      expect(r.cases).toBe(cases);
      expect(r.accepted).toBeGreaterThan(0);
      expect(Object.keys(r.typed).length).toBeGreaterThan(5);
    });
  }
});
