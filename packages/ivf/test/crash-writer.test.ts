/**
 * Issue 8 crash trials, index write: a child process that keeps rewriting one index path is
 * killed with SIGKILL at a random moment; afterwards the path holds exactly the old or the new
 * index (byte-identical to one of the two, opening and answering), never a partial file. A few
 * trials in `pnpm test`, >= 100 with QUIVER_SOAK=1. Temp files left by a killed put are counted
 * and reported (reclaiming them is the object store's rule, not the index writer's).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalDirectoryStore, MemoryObjectStore } from "@quiver/store";
import { expect, it } from "vitest";
import { encodeIvfIndex, openVectorIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";
import { rng } from "./mutation.js";

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
const child = fileURLToPath(new URL("./crash-writer-child.ts", import.meta.url));
const TRIALS = process.env.QUIVER_SOAK === "1" ? 100 : 3;

async function trial(root: string, delayMs: number): Promise<void> {
  // node itself (tsx as a loader), so that SIGKILL hits the writing process and not a wrapper.
  const p = spawn(process.execPath, ["--import", "tsx", "--conditions=quiver-source", child, root], { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("child did not get ready in 60 s")), 60_000);
    p.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.once("exit", (code) => reject(new Error(`child exited early (${code})`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGKILL");
  await exited;
}

async function tempFiles(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { recursive: true })) if (String(e).split("/").pop()!.startsWith(".quiver-tmp-")) n++;
  return n;
}

it(`SIGKILL during index writes leaves the old or the new index, never a partial one (${TRIALS} trials)`, { timeout: 600_000 }, async () => {
  const a = (await encodeIvfIndex(syntheticIndexInput({ n: 20_000, dim: 32, numPartitions: 16, codeWidth: 32, raw: true, seed: 1 }))).bytes;
  const b = (await encodeIvfIndex(syntheticIndexInput({ n: 20_000, dim: 32, numPartitions: 16, codeWidth: 32, raw: true, seed: 2 }))).bytes;
  const r = rng(77);
  const seen = { old: 0, new: 0, partial: 0, tempFilesLeft: 0 };
  for (let t = 0; t < TRIALS; t++) {
    const root = await mkdtemp(join(tmpdir(), "quiver-ivf-crash-"));
    try {
      await trial(root, Math.floor(r() * 400));
      const store = new LocalDirectoryStore(join(root, "store"));
      const bytes = await store.get("idx/index.qvr");
      const isA = Buffer.compare(Buffer.from(bytes), Buffer.from(a)) === 0;
      const isB = Buffer.compare(Buffer.from(bytes), Buffer.from(b)) === 0;
      if (isA) seen.old++;
      else if (isB) seen.new++;
      else seen.partial++;
      const mem = new MemoryObjectStore();
      await mem.put("x", bytes);
      const index = await openVectorIndex(mem, "x");
      expect((await index.search(new Float32Array(32), { k: 3, nprobes: 16 })).length).toBe(3);
      if (existsSync(join(root, "store"))) seen.tempFilesLeft += await tempFiles(join(root, "store"));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  console.log(`[ivf index-write crash trials] ${JSON.stringify({ trials: TRIALS, ...seen })}`);
  expect(seen.partial).toBe(0);
  expect(seen.old + seen.new).toBe(TRIALS);
});
