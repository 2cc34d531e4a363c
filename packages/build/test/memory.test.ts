import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildMemoryStats } from "../src/index.js";
import { tempDir } from "./helpers.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const child = fileURLToPath(new URL("./memory-child.ts", import.meta.url));

interface ChildReport {
  memory: BuildMemoryStats;
  peakPartitionBytes: number;
  numRows: number;
  sameAsTwoPass: boolean;
}

function run(dir: string, rows: number): ChildReport {
  const r = spawnSync(process.execPath, ["--conditions=quiver-source", "--import", "tsx", child, dir, String(rows)], { cwd: repoRoot, encoding: "utf8", timeout: 240_000 });
  if (r.status !== 0) throw new Error(`memory child failed (${r.status} ${r.signal}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildReport;
}

// 64 MiB budget, 2 partitions, 64-d SQ with raw vectors (328 bytes a row): at 160k rows each
// partition is about 26 MB, more than the whole finalize window (budget / 4 = 16 MiB).
describe("streamed build memory is bounded by the budget, not by the rows", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let small: ChildReport;
  let large: ChildReport;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir("quiver-build-memory-"));
    small = run(dir, 40_000);
    large = run(dir, 160_000);
  }, 480_000);
  afterAll(async () => cleanup());

  it("every budgeted structure has the same size at 40k and 160k rows", () => {
    expect(small.numRows).toBe(40_000);
    expect(large.numRows).toBe(160_000);
    const fixed = (m: BuildMemoryStats) => ({
      budgetBytes: m.budgetBytes, sampleBytes: m.sampleBytes, assignBatchRows: m.assignBatchRows,
      artifactWriterBudgetBytes: m.artifactWriterBudgetBytes, finalizeMaxBufferedBytes: m.finalizeMaxBufferedBytes,
    });
    expect(fixed(large.memory)).toEqual(fixed(small.memory));
    expect(large.memory.finalizeMaxBufferedBytes).toBe(16 * 1024 * 1024);
  });

  it("finalize holds bounded windows and pieces although the largest partition is larger than the window", () => {
    for (const r of [small, large]) {
      const m = r.memory;
      expect(m.finalizePeakBufferedBytes).toBeGreaterThan(0);
      expect(m.finalizePeakBufferedBytes).toBeLessThanOrEqual(m.finalizeMaxBufferedBytes);
      // a decoded piece is at most half the window (+ 8-byte column padding)
      expect(m.finalizePeakPieceBytes).toBeLessThanOrEqual(m.finalizeMaxBufferedBytes / 2 + 64);
      expect(r.peakPartitionBytes).toBeLessThanOrEqual(m.finalizeMaxBufferedBytes / 2);
    }
    // the large build's partitions do not fit in the window: they were split, not held whole
    expect(large.memory.largestPartitionBytes).toBeGreaterThan(large.memory.finalizeMaxBufferedBytes);
    expect(large.peakPartitionBytes).toBeLessThan(large.memory.largestPartitionBytes / 2);
  });

  it("the split, streamed local write gives the same bytes as the two-pass write of whole partitions", () => {
    expect(small.sameAsTwoPass).toBe(true);
    expect(large.sameAsTwoPass).toBe(true);
  });
});
