import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CacheLogger, TestVectors } from "@quiver/cache";

/** A fresh temp directory and its cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "quiver-cache-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Deterministic test vectors. */
export function vectors(id: string, rows: number, dims: number, seed = 1): TestVectors {
  const data = new Float32Array(rows * dims);
  let x = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    data[i] = (x / 2 ** 32) * 2 - 1;
  }
  return { id, dims, data };
}

/** A logger that records warnings. */
export function recordingLogger(): CacheLogger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (m: string) => void lines.push(m) };
}

/** A promise with its resolve/reject exposed. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** Let `n` microtask turns pass. */
export async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}
