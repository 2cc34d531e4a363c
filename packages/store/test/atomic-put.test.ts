import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ObjectStore, LocalDirectoryStore, MemoryObjectStore, TEMP_FILE_PREFIX } from "@quiver/store";

/**
 * Atomic put: an object replaced over and over while readers (in this process and in a second
 * real process) read it. Version v is `BASE + v * STEP` bytes, every byte equal to v, so a reader
 * can tell a torn read (mixed bytes, or a length that does not match the first byte) from a whole one.
 */
const BASE = 2 * 1024 * 1024;
const STEP = 4096;
const WRITE_FOR_MS = 1500;

function version(v: number): Uint8Array {
  return new Uint8Array(BASE + v * STEP).fill(v);
}

/** "ok:<v>" for a whole version, or a description of what is wrong. */
function checkWhole(b: Uint8Array): string {
  const v = b[0]!;
  if (b.byteLength !== BASE + v * STEP) return `length ${b.byteLength} for version ${v}`;
  for (let i = 0; i < b.byteLength; i += 509) if (b[i] !== v) return `byte ${i} is ${b[i]} in version ${v}`;
  if (b[b.byteLength - 1] !== v) return `last byte in version ${v}`;
  return `ok:${v}`;
}

// Runs in a second Node process: reads the file by its path until `stop` exists.
const CHILD_READER = `
const fs = require("node:fs");
const [file, stop, ready, base, step] = JSON.parse(process.env.QUIVER_ATOMIC_ARGS);
let reads = 0, torn = 0, missing = 0; const seen = new Set();
fs.writeFileSync(ready, "1");
const deadline = Date.now() + 30000;
while (!fs.existsSync(stop) && Date.now() < deadline) {
  let b;
  try { b = fs.readFileSync(file); } catch (e) { missing++; continue; }
  reads++;
  const v = b[0];
  let ok = b.length === base + v * step;
  for (let i = 0; ok && i < b.length; i += 509) if (b[i] !== v) ok = false;
  if (ok && b[b.length - 1] !== v) ok = false;
  if (ok) seen.add(v); else torn++;
}
process.stdout.write(JSON.stringify({ reads, torn, missing, versions: seen.size }));
`;

async function hammer(store: ObjectStore, path: string, extraReader?: Promise<unknown>): Promise<{ reads: number; bad: string[]; versions: Set<number> }> {
  await store.put(path, version(1));
  let writing = true;
  const bad: string[] = [];
  const versions = new Set<number>();
  let reads = 0;
  const writer = (async () => {
    const started = Date.now();
    for (let v = 2; Date.now() - started < WRITE_FOR_MS; v = v === 255 ? 1 : v + 1) await store.put(path, version(v));
    writing = false;
  })();
  const reader = async (ranged: boolean) => {
    while (writing) {
      let r: string;
      if (ranged) {
        // A ranged read of the last 64 KiB of the smallest version: always in bounds.
        const part = await store.getRange(path, { offset: BASE - 65536, length: 65536 });
        r = part.every((x) => x === part[0]) ? `ok:${part[0]}` : "mixed bytes in a range";
      } else {
        r = checkWhole(await store.get(path));
      }
      reads++;
      if (r.startsWith("ok:")) versions.add(Number(r.slice(3)));
      else bad.push(r);
    }
  };
  await Promise.all([writer, reader(false), reader(false), reader(true), extraReader]);
  return { reads, bad, versions };
}

describe("atomic put", () => {
  let root = "";
  beforeEach(async () => {
    root = await mkdtemp(nodePath.join(tmpdir(), "quiver-atomic-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("LocalDirectoryStore: readers here and in a second process never see a mix of versions", async () => {
    const store = new LocalDirectoryStore(nodePath.join(root, "store"));
    const path = "big/object.bin";
    await store.put(path, version(1));
    const stop = nodePath.join(root, "stop");
    const ready = nodePath.join(root, "ready");
    const child = new Promise<{ reads: number; torn: number; missing: number; versions: number }>((resolve, reject) => {
      execFile(
        process.execPath,
        ["-e", CHILD_READER],
        { env: { ...process.env, QUIVER_ATOMIC_ARGS: JSON.stringify([store.filePath(path), stop, ready, BASE, STEP]) }, maxBuffer: 1 << 20 },
        (err, stdout) => (err ? reject(err) : resolve(JSON.parse(stdout))),
      );
    });
    // Start replacing only once the second process is reading.
    const waitStart = Date.now();
    while (!existsSync(ready) && Date.now() - waitStart < 20_000) await new Promise((r) => setTimeout(r, 10));
    expect(existsSync(ready)).toBe(true);
    const here = await hammer(store, path);
    await writeFile(stop, "1");
    const there = await child;

    expect(here.bad).toEqual([]);
    expect(here.reads).toBeGreaterThan(10);
    expect(here.versions.size).toBeGreaterThan(1);
    expect(there).toMatchObject({ torn: 0, missing: 0 });
    expect(there.reads).toBeGreaterThan(10);
    expect(there.versions).toBeGreaterThan(1);
    // No temporary file is left behind, and list never showed one.
    expect((await readdir(nodePath.dirname(store.filePath(path)))).filter((n) => n.startsWith(TEMP_FILE_PREFIX))).toEqual([]);
    expect((await store.list("big/")).map((m) => m.path)).toEqual([path]);
  });

  it("MemoryObjectStore: concurrent readers see whole versions", async () => {
    const store = new MemoryObjectStore();
    const r = await hammer(store, "obj");
    expect(r.bad).toEqual([]);
    expect(r.reads).toBeGreaterThan(10);
  });
});
