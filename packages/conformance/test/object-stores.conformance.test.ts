/**
 * Every store and wrapper of @quiver/store against `runObjectStoreConformance` (the S3 store runs
 * it in object-store-s3.conformance.test.ts, against a real s3rver).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore, type ObjectStore, TEMP_FILE_PREFIX } from "@quiver/store";
import { type ObjectStoreUnderTest, runObjectStoreConformance } from "@quiver/conformance";

async function memory(): Promise<ObjectStoreUnderTest> {
  return { store: new MemoryObjectStore() };
}

async function local(options: { durable?: boolean } = {}): Promise<ObjectStoreUnderTest> {
  const root = await mkdtemp(nodePath.join(tmpdir(), "quiver-store-"));
  const store = new LocalDirectoryStore(root, options);
  return {
    store,
    plantTempFile: async (path) => {
      const file = store.filePath(path);
      await writeFile(nodePath.join(nodePath.dirname(file), `${TEMP_FILE_PREFIX}123-abc-${nodePath.basename(file)}`), "partial");
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function wrapped(make: () => Promise<ObjectStoreUnderTest>, wrap: (s: ObjectStore) => ObjectStore) {
  return async (): Promise<ObjectStoreUnderTest> => {
    const u = await make();
    return { ...u, store: wrap(u.store) };
  };
}

/** The store's ObjectStore methods without `createWriter`, as a store written before it existed. */
function withoutWriter(s: ObjectStore): ObjectStore {
  return {
    get: (p) => s.get(p),
    getRange: (p, r) => s.getRange(p, r),
    getRanges: (p, r, o) => s.getRanges(p, r, o),
    head: (p) => s.head(p),
    put: (p, d, o) => s.put(p, d, o),
    list: (p) => s.list(p),
    delete: (p) => s.delete(p),
    copy: (a, b) => s.copy(a, b),
    rename: (a, b) => s.rename(a, b),
  };
}

await runObjectStoreConformance("MemoryObjectStore", memory);
await runObjectStoreConformance("LocalDirectoryStore", () => local());
await runObjectStoreConformance("LocalDirectoryStore (durable)", () => local({ durable: true }));
await runObjectStoreConformance("IoStatsStore(MemoryObjectStore)", wrapped(memory, (s) => new IoStatsStore(s)));
await runObjectStoreConformance("IoStatsStore(LocalDirectoryStore)", wrapped(local, (s) => new IoStatsStore(s)));
await runObjectStoreConformance("LatencyStore(MemoryObjectStore, 1 ms)", wrapped(memory, (s) => new LatencyStore(s, { latencyMs: 1 })));
await runObjectStoreConformance("LatencyStore(LocalDirectoryStore, 1 ms)", wrapped(local, (s) => new LatencyStore(s, { latencyMs: 1 })));
// A third-party store with no createWriter: openObjectWriter falls back to buffering + one put.
await runObjectStoreConformance("put-only store (no createWriter; openObjectWriter buffers)", wrapped(memory, withoutWriter));
await runObjectStoreConformance("IoStatsStore(put-only store)", wrapped(memory, (s) => new IoStatsStore(withoutWriter(s))));
await runObjectStoreConformance("LatencyStore(IoStatsStore(LocalDirectoryStore))", wrapped(local, (s) => new LatencyStore(new IoStatsStore(s), { latencyMs: 1 })));
