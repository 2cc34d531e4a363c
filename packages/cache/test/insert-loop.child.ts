/**
 * Child process of crash-trials.test.ts: rewrites one key of a DiskCacheBackend over argv[2] with
 * versions argv[3], argv[3]+1, ... (1 MiB of floats equal to v, id "v<v>"), printing "c <v>" after
 * each insert resolved. The parent SIGKILLs it at a random moment.
 */
import { DiskCacheBackend, IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";

const disk = await DiskCacheBackend.open({ directory: process.argv[2]!, logger: { warn: () => undefined } });
const cache = new IndexCache(disk);
for (let v = Number(process.argv[3]); ; v++) {
  await cache.insert(cacheKey("crash", testVectorsCodec), { id: `v${v}`, dims: 4, data: new Float32Array(256 * 1024 + (v % 8) * 1024).fill(v) });
  if (disk.counters.writeErrors > 0) throw new Error("write failed");
  process.stdout.write(`c ${v}\n`);
}
