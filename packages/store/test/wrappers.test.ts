import { describe, expect, it } from "vitest";
import { IoStatsStore, LatencyStore, MemoryObjectStore, isStoreError } from "@quiver/store";

describe("IoStatsStore", () => {
  it("counts every request per path and in total; snapshot copies, reset zeroes and returns the old counters", async () => {
    const io = new IoStatsStore(new MemoryObjectStore());
    await io.put("a", new Uint8Array(100));
    await io.put("b/c", new Uint8Array(10));
    await io.get("a");
    await io.getRange("a", { offset: 10, length: 20 });
    await io.head("b/c");
    await io.list("b/");
    await io.copy("a", "a2");
    await io.rename("a2", "a3");
    await io.delete("a3");
    await expect(io.get("missing")).rejects.toSatisfy((e) => isStoreError(e, "NOT_FOUND"));

    const s = io.snapshot();
    expect(s.total).toEqual({ readRequests: 3, bytesRead: 120, heads: 1, lists: 1, writes: 4, bytesWritten: 110, deletes: 1 });
    expect(s.perPath["a"]).toEqual({ readRequests: 2, bytesRead: 120, heads: 0, lists: 0, writes: 1, bytesWritten: 100, deletes: 0 });
    expect(s.perPath["b/c"]).toEqual({ readRequests: 0, bytesRead: 0, heads: 1, lists: 0, writes: 1, bytesWritten: 10, deletes: 0 });
    expect(s.perPath["b/"]!.lists).toBe(1);
    expect(s.perPath["a2"]!.writes).toBe(1);
    expect(s.perPath["a3"]).toMatchObject({ writes: 1, deletes: 1 });
    // A failed request was still a request.
    expect(s.perPath["missing"]).toMatchObject({ readRequests: 1, bytesRead: 0 });

    // The snapshot is a copy.
    (s.total as { readRequests: number }).readRequests = 999;
    expect(io.snapshot().total.readRequests).toBe(3);

    const before = io.reset();
    expect(before.total.readRequests).toBe(3);
    expect(io.snapshot().total).toEqual({ readRequests: 0, bytesRead: 0, heads: 0, lists: 0, writes: 0, bytesWritten: 0, deletes: 0 });
    expect(Object.keys(io.snapshot().perPath)).toEqual([]);
    await io.get("a");
    expect(io.snapshot().total).toMatchObject({ readRequests: 1, bytesRead: 100 });
  });

  it("a warm path does zero requests: counters prove it without mocks", async () => {
    const io = new IoStatsStore(new MemoryObjectStore());
    await io.put("x", new Uint8Array(8));
    const cached = await io.get("x");
    io.reset();
    expect(cached.byteLength).toBe(8);
    expect(io.snapshot().total.readRequests).toBe(0);
  });
});

describe("LatencyStore", () => {
  // LatencyStore waits until the delay has really passed by performance.now(), so no slack.
  const SLACK_MS = 0;

  it("adds at least latencyMs to every request", async () => {
    const store = new LatencyStore(new MemoryObjectStore(), { latencyMs: 25 });
    const time = async (f: () => Promise<unknown>): Promise<number> => {
      const t = performance.now();
      await f();
      return performance.now() - t;
    };
    expect(await time(() => store.put("a", new Uint8Array(10)))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.get("a"))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.getRange("a", { offset: 0, length: 5 }))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.head("a"))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.list(""))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.copy("a", "b"))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.rename("b", "c"))).toBeGreaterThanOrEqual(25 - SLACK_MS);
    expect(await time(() => store.delete("c"))).toBeGreaterThanOrEqual(25 - SLACK_MS);
  });

  it("concurrent requests overlap; bandwidth adds bytes / rate", async () => {
    const store = new LatencyStore(new MemoryObjectStore(), { latencyMs: 30, bandwidthBytesPerSecond: 1_000_000 });
    await store.put("big", new Uint8Array(100_000));
    let t = performance.now();
    await Promise.all(Array.from({ length: 8 }, () => store.head("big")));
    const parallel = performance.now() - t;
    expect(parallel).toBeGreaterThanOrEqual(30 - SLACK_MS);
    // Eight sequential heads would take >= 240 ms; overlapped they take about one latency.
    expect(parallel).toBeLessThan(8 * 30);
    t = performance.now();
    await store.get("big");
    // 30 ms + 100 000 B / 1 MB/s = 130 ms.
    expect(performance.now() - t).toBeGreaterThanOrEqual(130 - SLACK_MS);
  });

  it("getRanges through LatencyStore pays one latency per merged request, concurrently", async () => {
    const inner = new MemoryObjectStore();
    await inner.put("o", Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff));
    const store = new LatencyStore(inner, { latencyMs: 20 });
    const t = performance.now();
    const got = await store.getRanges("o", [
      { offset: 0, length: 4 },
      { offset: 900, length: 4 },
    ], { coalesceGap: 0 });
    expect(performance.now() - t).toBeGreaterThanOrEqual(20 - SLACK_MS);
    expect(got.map((g) => Array.from(g))).toEqual([[0, 1, 2, 3], [900 & 0xff, 901 & 0xff, 902 & 0xff, 903 & 0xff]]);
  });
});
