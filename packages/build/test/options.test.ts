/** Tuning defaults and checks: IVF training's own iteration cap. */
import { isQuiverArgumentError } from "@quiver/format";
import { describe, expect, it } from "vitest";
import { DEFAULT_IVF_MAX_ITERATIONS, checkTuning, resolveTuning } from "../src/index.js";

describe("ivfMaxIterations", () => {
  it("defaults to min(maxIterations, DEFAULT_IVF_MAX_ITERATIONS), apart from the quantizer's cap", () => {
    const d = resolveTuning({}, 100_000, 128);
    expect([d.maxIterations, d.ivfMaxIterations]).toEqual([50, DEFAULT_IVF_MAX_ITERATIONS]);
    expect(DEFAULT_IVF_MAX_ITERATIONS).toBeLessThan(50);
    expect(resolveTuning({ maxIterations: 5 }, 100_000, 128).ivfMaxIterations).toBe(5);
    const both = resolveTuning({ maxIterations: 7, ivfMaxIterations: 40 }, 100_000, 128);
    expect([both.maxIterations, both.ivfMaxIterations]).toEqual([7, 40]);
  });

  it("is checked like the other caps", () => {
    for (const bad of [0, 1.5, 10_001, "10"]) {
      let err: unknown;
      try {
        checkTuning({ ivfMaxIterations: bad as number });
      } catch (e) {
        err = e;
      }
      expect(isQuiverArgumentError(err)).toBe(true);
    }
    expect(() => checkTuning({ ivfMaxIterations: 1 })).not.toThrow();
  });
});
