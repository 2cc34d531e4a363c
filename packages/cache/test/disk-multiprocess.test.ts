/**
 * Eight real processes share one disk cache: the directory stays within 1.1x of its byte bound
 * (each process rescans after its share of a 5 % slack, shared by the registered writers), and the
 * eviction counters add up to exactly the files removed (a process counts only its own unlinks).
 */
import { execFile } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { DiskCacheCounters } from "@quiver/cache";
import { tempDir } from "./helpers.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const repo = join(here, "..", "..", "..");
const soak = process.env.QUIVER_SOAK === "1";

function entryBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  let shards: string[] = [];
  try {
    shards = readdirSync(join(dir, "entries"));
  } catch {
    return { bytes, files };
  }
  for (const s of shards) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, "entries", s));
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        bytes += statSync(join(dir, "entries", s, n)).size;
        files++;
      } catch {
        // evicted meanwhile
      }
    }
  }
  return { bytes, files };
}

describe("DiskCacheBackend shared by 8 processes", () => {
  it("stays within 1.1x of maxBytes and counts only its own evictions", async () => {
    const t = await tempDir();
    const processes = 8;
    const perProcess = soak ? 600 : 50;
    const maxBytes = 2 * 1024 * 1024; // ~128 entries of 16 KiB
    let peak = 0;
    let running = true;
    const monitor = (async () => {
      while (running) {
        peak = Math.max(peak, entryBytes(t.dir).bytes);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const children = await Promise.all(
      Array.from(
        { length: processes },
        (_, p) =>
          new Promise<DiskCacheCounters>((resolve, reject) =>
            // node with tsx as a loader: one process per writer (the tsx CLI would add a wrapper process each).
            execFile(process.execPath, ["--import", "tsx", "--conditions=quiver-source", join(here, "disk-bound.child.ts"), t.dir, String(perProcess), `p${p}-`, String(maxBytes)], { cwd: repo }, (err, stdout) =>
              err ? reject(err) : resolve(JSON.parse(stdout.trim().split("\n").pop()!) as DiskCacheCounters),
            ),
          ),
      ),
    );
    running = false;
    await monitor;
    const end = entryBytes(t.dir);
    peak = Math.max(peak, end.bytes);
    console.log(`[disk multi-process] ${processes} processes x ${perProcess} entries: peak ${(peak / maxBytes).toFixed(3)}x, end ${(end.bytes / maxBytes).toFixed(3)}x of maxBytes`);
    expect(children.every((c) => c.writeErrors === 0)).toBe(true);
    expect(peak).toBeLessThanOrEqual(1.1 * maxBytes);
    const evicted = children.reduce((a, c) => a + c.evicted, 0);
    expect(evicted).toBe(processes * perProcess - end.files);
    // Every writer deregistered at close.
    expect(readdirSync(join(t.dir, "writers"))).toEqual([]);
    await t.cleanup();
  });
});
