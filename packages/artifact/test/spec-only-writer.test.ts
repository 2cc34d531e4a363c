import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { LocalDirectoryStore } from "@quiver/store";
import { PartitionArtifactReader, validateArtifact } from "../src/index.js";
import { checkExactRoundTrip } from "./helpers.js";

const script = fileURLToPath(new URL("./external/spec-only-writer.mjs", import.meta.url));
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function runWriter(args: string[]): { dir: string; report: { ranges: number } } {
  const dir = mkdtempSync(join(tmpdir(), "quiver-spec-only-"));
  dirs.push(dir);
  const out = execFileSync(process.execPath, [script, dir, ...args], { encoding: "utf8" });
  return { dir, report: JSON.parse(out) as { ranges: number } };
}

describe("an artifact written by a separate process from the spec alone", () => {
  it("validates clean and reads back every row in its partition", async () => {
    const { dir, report } = runWriter(["5000", "37", "3", "50"]);
    const store = new LocalDirectoryStore(dir);
    expect(await validateArtifact(store, "")).toEqual([]);
    const reader = await PartitionArtifactReader.open(store, "");
    expect(reader.manifest.ranges.num_ranges).toBe(report.ranges);
    expect(reader.numPartitions).toBe(37);
    // Partitions longer than 50 rows span several ranges.
    expect(Math.max(...Array.from({ length: 37 }, (_, p) => reader.rangesOf(p).length))).toBeGreaterThan(1);
    await checkExactRoundTrip(reader, 5000);
  });

  it("writes format 2 (the compact ranges table) by default and format 1 (Arrow IPC) when asked: both read the same rows", async () => {
    const two = runWriter(["3000", "300", "4", "20"]);
    const one = runWriter(["3000", "300", "4", "20", "16", "1", "1"]);
    const r2 = await PartitionArtifactReader.open(new LocalDirectoryStore(two.dir), "");
    const r1 = await PartitionArtifactReader.open(new LocalDirectoryStore(one.dir), "");
    expect([r2.manifest.version, r1.manifest.version]).toEqual([2, 1]);
    expect(r2.manifest.ranges.path).toBe("ranges.bin");
    expect(await validateArtifact(new LocalDirectoryStore(one.dir), "")).toEqual([]);
    expect(await validateArtifact(new LocalDirectoryStore(two.dir), "")).toEqual([]);
    for (let p = 0; p < 300; p++) expect(r2.rangesOf(p)).toEqual(r1.rangesOf(p));
    await checkExactRoundTrip(r2, 3000);
    await checkExactRoundTrip(r1, 3000);
  });

  it("works with a single bucket and one range per partition", async () => {
    const { dir } = runWriter(["2000", "10", "1", "100000"]);
    const store = new LocalDirectoryStore(dir);
    expect(await validateArtifact(store, "")).toEqual([]);
    const reader = await PartitionArtifactReader.open(store, "");
    for (let p = 0; p < 10; p++) expect(reader.rangesOf(p).length).toBe(reader.partitionSize(p) > 0 ? 1 : 0);
    await checkExactRoundTrip(reader, 2000);
  });
});
