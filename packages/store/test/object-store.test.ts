import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as nodePath from "node:path";
import { IoStatsStore, LatencyStore, LocalDirectoryStore, MemoryObjectStore, TEMP_FILE_PREFIX } from "@quiver/store";
import { type ObjectStoreUnderTest, describeObjectStoreContract } from "./object-store-contract.js";

async function memory(): Promise<ObjectStoreUnderTest> {
  return { store: new MemoryObjectStore() };
}

async function local(): Promise<ObjectStoreUnderTest> {
  const root = await mkdtemp(nodePath.join(tmpdir(), "quiver-store-"));
  const store = new LocalDirectoryStore(root);
  return {
    store,
    plantTempFile: async (path) => {
      const file = store.filePath(path);
      await writeFile(nodePath.join(nodePath.dirname(file), `${TEMP_FILE_PREFIX}123-abc-${nodePath.basename(file)}`), "partial");
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

function wrapped(make: () => Promise<ObjectStoreUnderTest>, wrap: (s: ObjectStoreUnderTest["store"]) => ObjectStoreUnderTest["store"]) {
  return async (): Promise<ObjectStoreUnderTest> => {
    const u = await make();
    return { ...u, store: wrap(u.store) };
  };
}

describeObjectStoreContract("MemoryObjectStore", memory);
describeObjectStoreContract("LocalDirectoryStore", local);
describeObjectStoreContract("IoStatsStore(MemoryObjectStore)", wrapped(memory, (s) => new IoStatsStore(s)));
describeObjectStoreContract("IoStatsStore(LocalDirectoryStore)", wrapped(local, (s) => new IoStatsStore(s)));
describeObjectStoreContract("LatencyStore(MemoryObjectStore, 1 ms)", wrapped(memory, (s) => new LatencyStore(s, { latencyMs: 1 })));
describeObjectStoreContract("LatencyStore(LocalDirectoryStore, 1 ms)", wrapped(local, (s) => new LatencyStore(s, { latencyMs: 1 })));
describeObjectStoreContract("LatencyStore(IoStatsStore(LocalDirectoryStore))", wrapped(local, (s) => new LatencyStore(new IoStatsStore(s), { latencyMs: 1 })));
