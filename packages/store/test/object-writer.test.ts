/**
 * Streaming object writers of @quiver/store beyond the shared conformance cases: the buffering
 * fallback of openObjectWriter, the local store's temp file (present while writing, never
 * listed, removed on abort and on a failed commit), ordering of unawaited writes, and the
 * wrappers' accounting and latency.
 */
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  BufferingObjectWriter,
  IoStatsStore,
  LatencyStore,
  LocalDirectoryStore,
  MemoryObjectStore,
  type ObjectStore,
  TEMP_FILE_PREFIX,
  isStoreError,
  openObjectWriter,
} from "@quiver/store";

const roots: string[] = [];
afterEach(async () => {
  for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
});
async function localStore(): Promise<LocalDirectoryStore> {
  const root = await mkdtemp(join(tmpdir(), "quiver-writer-"));
  roots.push(root);
  return new LocalDirectoryStore(root);
}
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith(TEMP_FILE_PREFIX)) out.push(e.name);
    else if (e.isDirectory()) out.push(...tempFiles(join(dir, e.name)));
  }
  return out;
}

describe("openObjectWriter", () => {
  it("uses the store's own writer when it has one, and buffers + one put otherwise", async () => {
    const mem = new MemoryObjectStore();
    expect(await openObjectWriter(mem, "a")).not.toBeInstanceOf(BufferingObjectWriter);
    const puts: number[] = [];
    const putOnly = { put: async (_p: string, d: Uint8Array) => void puts.push(d.byteLength) } as unknown as ObjectStore;
    const w = await openObjectWriter(putOnly, "b");
    expect(w).toBeInstanceOf(BufferingObjectWriter);
    await w.write(new Uint8Array(10));
    await w.write(new Uint8Array(5));
    expect((w as BufferingObjectWriter).bufferedBytes).toBe(15);
    expect(puts).toEqual([]);
    await w.commit();
    expect(puts).toEqual([15]);
  });

  it("rejects a missing or non-store argument", async () => {
    await expect(openObjectWriter(undefined as never, "a")).rejects.toMatchObject({ code: "MISSING_ARGUMENT" });
    await expect(openObjectWriter({} as never, "a")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("serializes unawaited writes in call order; a commit queued after them sees them all", async () => {
    const store = new LatencyStore(new MemoryObjectStore(), { latencyMs: 1, bandwidthBytesPerSecond: 50_000_000 });
    const w = await openObjectWriter(store, "o");
    const pending = Array.from({ length: 20 }, (_, i) => w.write(new Uint8Array(1000 - i * 10).fill(i)));
    const commit = w.commit();
    await Promise.all([...pending, commit]);
    const got = await store.get("o");
    let at = 0;
    for (let i = 0; i < 20; i++) {
      expect(got.subarray(at, at + 1000 - i * 10).every((b) => b === i)).toBe(true);
      at += 1000 - i * 10;
    }
    expect(got.byteLength).toBe(at);
  });
});

describe("LocalDirectoryStore.createWriter", () => {
  it("writes to a reserved temp file next to the target, never listed, renamed at commit", async () => {
    const store = await localStore();
    const w = await store.createWriter("d/obj");
    await w.write(new Uint8Array(4096).fill(1));
    expect(tempFiles(store.root)).toHaveLength(1);
    expect(tempFiles(store.root)[0]!.endsWith("-obj")).toBe(true);
    expect(await store.list("")).toEqual([]);
    await w.commit();
    expect(tempFiles(store.root)).toEqual([]);
    expect(await store.list("")).toEqual([{ path: "d/obj", size: 4096 }]);
  });

  it("abort and a refused ifAbsent commit remove the temp file", async () => {
    const store = await localStore();
    const a = await store.createWriter("x");
    await a.write(new Uint8Array(10));
    await a.abort();
    expect(tempFiles(store.root)).toEqual([]);
    await store.put("x", Uint8Array.of(1));
    const b = await store.createWriter("x", { ifAbsent: true, durable: true });
    await b.write(new Uint8Array(10));
    await expect(b.commit()).rejects.toSatisfy((e) => isStoreError(e, "ALREADY_EXISTS"));
    expect(tempFiles(store.root)).toEqual([]);
    expect(Array.from(await store.get("x"))).toEqual([1]);
  });

  it("a temp file of a live writer survives gc with the default age bound; an old one is reclaimed", async () => {
    const store = await localStore();
    const w = await store.createWriter("live");
    await w.write(new Uint8Array(100));
    expect((await store.gc()).removed).toBe(0);
    await w.commit();
    const stale = await store.createWriter("stale");
    await stale.write(new Uint8Array(100));
    // As a killed writer's leftover: gc with bound 0 (no writer running) reclaims it.
    expect(await store.gc({ olderThanMs: 0 })).toEqual({ removed: 1, bytes: 100 });
    await expect(stale.commit()).rejects.toSatisfy((e) => isStoreError(e));
    expect((await store.list("")).map((m) => m.path)).toEqual(["live"]);
  });
});

describe("wrapper writers", () => {
  it("LatencyStore: a commit costs one latency, not one per chunk", async () => {
    const store = new LatencyStore(new MemoryObjectStore(), { latencyMs: 30 });
    const w = await store.createWriter("o");
    for (let i = 0; i < 20; i++) await w.write(new Uint8Array(100));
    const t1 = performance.now();
    await w.commit();
    const commit = performance.now() - t1;
    // Lower bounds only (the machine may be slow, never fast): the commit waited its latency.
    expect(commit).toBeGreaterThanOrEqual(29);
    expect((await store.head("o")).size).toBe(2000);
  });

  it("IoStatsStore over a put-only store still counts the commit once", async () => {
    const mem = new MemoryObjectStore();
    const putOnly = { put: (p: string, d: Uint8Array) => mem.put(p, d) } as unknown as ObjectStore;
    const io = new IoStatsStore(putOnly);
    const w = await io.createWriter("p");
    await w.write(new Uint8Array(3));
    await w.write(new Uint8Array(4));
    await w.commit();
    expect(io.snapshot().total).toMatchObject({ writes: 1, bytesWritten: 7 });
    expect((await mem.head("p")).size).toBe(7);
  });
});
