/**
 * Pool liveness (exit code 13 during builds): a reply that arrives after close() began must not
 * let the event loop empty while terminate() is pending, and only a task's own reply settles it.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ComputePool } from "../src/compute/internal/parallel-pool.js";
import type { WorkerPayload } from "../src/compute/internal/parallel-protocol.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

describe("ComputePool liveness", () => {
  it("a top-level await of close() resumes when a worker's reply arrives during close (child exits 0)", () => {
    const script = fileURLToPath(new URL("../scripts/pool-late-reply.ts", import.meta.url));
    const r = spawnSync(process.execPath, ["--import", "tsx", "--conditions=quiver-source", script, "3"], {
      cwd: repoRoot, encoding: "utf8", timeout: 240_000,
    });
    // before the fix: status 13 and no output (the loop emptied inside the first close())
    expect({ status: r.status, signal: r.signal, stderr: r.stderr.slice(-2000) }).toMatchObject({ status: 0, signal: null });
    const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, 3)).toEqual([0, 1, 2].map((round) => ({ round, closed: true, liveThreads: 0 })));
    expect(lines[3]).toMatchObject({ done: true, rounds: 3 });
    expect(lines[3]?.iterations).toBeGreaterThan(0);
  }, 300_000);

  it("a message that is not a task reply does not settle the task", async () => {
    const pool = new ComputePool(1, new URL("../scripts/pool-noisy-worker.mjs", import.meta.url));
    try {
      const control = new Int32Array(new SharedArrayBuffer(8));
      // release the worker late; its non-reply message was posted long before
      const release = setTimeout(() => {
        Atomics.store(control, 0, 1);
        Atomics.notify(control, 0);
      }, 1500);
      const outcome = await pool.post(0, { control } as unknown as WorkerPayload);
      clearTimeout(release);
      expect(outcome.ok).toBe(true);
      // before the fix the "started" note settled the task while the worker was still blocked
      expect(Atomics.load(control, 1)).toBe(1);
    } finally {
      await pool.close();
    }
    expect(pool.liveThreads).toBe(0);
  }, 60_000);
});
