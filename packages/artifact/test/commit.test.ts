import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { QuiverFormatError } from "@quiver/format";
import { LocalDirectoryStore, MemoryObjectStore, type ObjectStore } from "@quiver/store";
import { ARTIFACT_ID_RE, PartitionArtifactReader, PartitionArtifactWriter, canonicalPayloadRows, gcArtifact, validateArtifact } from "../src/index.js";
import { pqSchema } from "./helpers.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "quiver-artifact-commit-"));
  dirs.push(d);
  return d;
}

async function writeRows(store: ObjectStore, uri: string, n: number, salt: number): Promise<string> {
  const w = await PartitionArtifactWriter.create({ store, uri, numPartitions: 4, payloadSchema: pqSchema(4), numBuckets: 2, memoryBudgetBytes: 500 });
  const ids = new Uint8Array(n * 8);
  const codes = new Uint8Array(n * 4).map((_, i) => (i * 13 + salt) & 0xff);
  for (let i = 0; i < n; i++) new DataView(ids.buffer).setBigUint64(i * 8, BigInt(i + salt * 1000), true);
  await w.appendRows(Array.from({ length: n }, (_, i) => i % 4), [ids, codes]);
  return (await w.finish()).artifact_id;
}

async function rows(store: ObjectStore, uri: string): Promise<unknown[]> {
  const r = await PartitionArtifactReader.open(store, uri);
  const out = [];
  for (let p = 0; p < r.numPartitions; p++) out.push((await r.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
  return out;
}

/** Every file under a local directory (temp files included), relative. */
function allFiles(root: string, rel = ""): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? allFiles(root, join(rel, e.name)) : [join(rel, e.name)]));
}

describe("artifact identity, atomic rewrite, poisoned writers, reclamation (issue 8)", () => {
  it("a rewrite at the same location never touches the committed files: an open reader keeps reading the old artifact, a new open sees the new one", async () => {
    const store = new LocalDirectoryStore(tempDir());
    const id1 = await writeRows(store, "a", 50, 1);
    const old = await rows(store, "a");
    const r1 = await PartitionArtifactReader.open(store, "a");
    await r1.loadFooters();
    const id2 = await writeRows(store, "a", 70, 2);
    expect(id1).toMatch(ARTIFACT_ID_RE);
    expect(id2).not.toBe(id1);
    expect(r1.artifactId).toBe(id1);
    // Before: finish() renamed the new bucket files over the committed ones.
    const again = [];
    for (let p = 0; p < r1.numPartitions; p++) again.push((await r1.readPartitionBatches(p)).flatMap((b) => canonicalPayloadRows(b)));
    expect(again).toEqual(old);
    expect((await PartitionArtifactReader.open(store, "a")).artifactId).toBe(id2);
    expect(await validateArtifact(store, "a")).toEqual([]);
    expect((await rows(store, "a")).flat()).toHaveLength(70);
  });

  it("gcArtifact removes unreferenced writes only after the bound, never the committed one", async () => {
    const root = tempDir();
    const store = new LocalDirectoryStore(root);
    const id1 = await writeRows(store, "", 30, 1);
    const id2 = await writeRows(store, "", 40, 2);
    expect(await gcArtifact(store, "")).toEqual({ removedWrites: [], removedPaths: [] });
    const later = Date.now() + 25 * 3600 * 1000;
    const r = await gcArtifact(store, "", { now: later });
    expect(r.removedWrites).toEqual([id1]);
    expect(allFiles(root).every((f) => f === "manifest.json" || f.includes(id2))).toBe(true);
    expect(await validateArtifact(store, "")).toEqual([]);
    await expect(gcArtifact(store, "", { olderThan: 1 } as never)).rejects.toMatchObject({ code: "UNKNOWN_OPTION" });
  });

  it("a bucket file whose streaming writer fails at commit poisons the writer the same way (the store's createWriter path)", async () => {
    const inner = new MemoryObjectStore();
    const createWriter = async (path: string, options?: object) => {
      const real = await inner.createWriter(path, options);
      if (!path.includes("bucket-00001")) return real;
      return { write: (c: Uint8Array) => real.write(c), get bytesWritten() { return real.bytesWritten; }, abort: () => real.abort(), commit: async () => { await real.abort(); throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" }); } };
    };
    const store = new Proxy(inner, { get: (t, k) => (k === "createWriter" ? createWriter : (Reflect.get(t, k) as (...a: unknown[]) => unknown).bind(t)) }) as ObjectStore;
    const w = await PartitionArtifactWriter.create({ store, uri: "x", numPartitions: 4, payloadSchema: pqSchema(4), numBuckets: 2 });
    await w.appendRows(Array.from({ length: 40 }, (_, i) => i % 4), [new Uint8Array(40 * 8), new Uint8Array(40 * 4)]);
    const e = await w.finish().catch((x: unknown) => x);
    expect((e as QuiverFormatError).code).toBe("ARTIFACT_WRITE_FAILED");
    expect((await inner.list("x/")).map((o) => o.path)).toEqual([`x/data/${w.artifactId}.write.json`]);
  });

  it("a writer that hit an I/O error is poisoned: typed error, finish() refuses, its files are removed, nothing is committed", async () => {
    const inner = new MemoryObjectStore();
    let failPuts = false;
    const put = async (path: string, data: Uint8Array): Promise<void> => {
      if (failPuts && path.includes("bucket-00001")) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
      return inner.put(path, data);
    };
    // No createWriter: bucket files then go through the buffering writer, whose commit is this put.
    const store = new Proxy(inner, { get: (t, k) => (k === "put" ? put : k === "createWriter" ? undefined : (Reflect.get(t, k) as (...a: unknown[]) => unknown).bind(t)) }) as ObjectStore;
    const w = await PartitionArtifactWriter.create({ store, uri: "x", numPartitions: 4, payloadSchema: pqSchema(4), numBuckets: 2 });
    const n = 40;
    await w.appendRows(Array.from({ length: n }, (_, i) => i % 4), [new Uint8Array(n * 8), new Uint8Array(n * 4)]);
    failPuts = true;
    const e1 = await w.finish().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(QuiverFormatError);
    expect((e1 as QuiverFormatError).code).toBe("ARTIFACT_WRITE_FAILED");
    failPuts = false;
    const e2 = await w.finish().catch((e: unknown) => e);
    expect((e2 as QuiverFormatError).code).toBe("ARTIFACT_WRITE_FAILED");
    const e3 = await w.appendRows([0], [new Uint8Array(8), new Uint8Array(4)]).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(QuiverFormatError);
    // Only the write lease is left (gcArtifact's to reclaim); no manifest, no bucket file.
    expect((await inner.list("x/")).map((o) => o.path)).toEqual([`x/data/${w.artifactId}.write.json`]);
    expect((await gcArtifact(inner, "x", { now: Date.now() + 25 * 3600 * 1000 })).removedWrites).toEqual([w.artifactId]);
    expect(await inner.list("x/")).toEqual([]);
  });
});
