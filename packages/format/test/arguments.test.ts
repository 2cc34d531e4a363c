import { describe, expect, it } from "vitest";
import { checkInteger, checkOneOf, checkOptions, describeValue, isQuiverArgumentError, parseJsonBytes, QuiverArgumentError } from "../src/index.js";

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

describe("argument errors", () => {
  it("describeValue is bounded and never recurses", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe("array of length 1");
    expect(describeValue("x".repeat(10_000)).length).toBeLessThan(60);
    expect(describeValue(new Float32Array(3))).toBe("Float32Array of length 3");
    expect(describeValue({ a: 1, b: 2, c: 3, d: 4, e: 5 })).toBe("object {a, b, c, d, …}");
    expect(describeValue(10n)).toBe("bigint 10n");
  });

  it("checkOptions names the unknown option and suggests the known spelling", () => {
    const e = thrown(() => checkOptions("options", { nProbes: 3 }, ["k", "nprobes"]));
    expect(isQuiverArgumentError(e, "UNKNOWN_OPTION")).toBe(true);
    expect((e as QuiverArgumentError).argument).toBe("options.nProbes");
    expect((e as QuiverArgumentError).hint).toBe("did you mean nprobes?");
    expect(isQuiverArgumentError(thrown(() => checkOptions("options", 5, ["k"])), "INVALID_ARGUMENT")).toBe(true);
    expect(() => checkOptions("options", undefined, ["k"])).not.toThrow();
  });

  it("checkInteger separates missing, invalid and above-limit", () => {
    expect(isQuiverArgumentError(thrown(() => checkInteger("k", undefined, 1, 10)), "MISSING_ARGUMENT")).toBe(true);
    expect(isQuiverArgumentError(thrown(() => checkInteger("k", "10", 1, 10)), "INVALID_ARGUMENT")).toBe(true);
    expect(isQuiverArgumentError(thrown(() => checkInteger("k", 0, 1, 10)), "INVALID_ARGUMENT")).toBe(true);
    expect(isQuiverArgumentError(thrown(() => checkInteger("k", 11, 1, 10)), "ARGUMENT_LIMIT_EXCEEDED")).toBe(true);
    expect(checkInteger("k", 10, 1, 10)).toBe(10);
    expect(checkOneOf("metric", "l2", ["l2", "cosine"] as const)).toBe("l2");
    expect(isQuiverArgumentError(thrown(() => checkOneOf("metric", "ivf_pq", ["l2"])), "INVALID_ARGUMENT")).toBe(true);
  });
});

describe("parseJsonBytes limits", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  it("rejects nesting deeper than 64 before parsing, accepts 64", () => {
    expect(parseJsonBytes(enc("[".repeat(64) + "]".repeat(64)))).toBeDefined();
    const e = thrown(() => parseJsonBytes(enc("[".repeat(5000) + "]".repeat(5000))));
    expect((e as { code: string }).code).toBe("BAD_JSON");
    // Brackets inside strings do not count.
    expect(parseJsonBytes(enc(JSON.stringify({ s: "[".repeat(1000) + '\\"' })))).toBeDefined();
  });
  it("rejects a byte-order mark", () => {
    expect((thrown(() => parseJsonBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))) as { code: string }).code).toBe("BAD_JSON");
  });
});
