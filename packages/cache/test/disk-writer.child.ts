/**
 * Child process of disk-backend.test.ts: opens a DiskCacheBackend over argv[2] and writes
 * argv[3] entries of test vectors with key prefix argv[4]; with argv[5] = "loop" it rewrites the
 * same key repeatedly (concurrent writer test). Prints "done <count> <entries>" on success.
 */
import { DiskCacheBackend, IndexCache, cacheKey, testVectorsCodec } from "@quiver/cache";

const [dir, countArg, prefix, mode] = process.argv.slice(2);
const count = Number(countArg);
const disk = await DiskCacheBackend.open({ directory: dir! });
const cache = new IndexCache(disk);
for (let i = 0; i < count; i++) {
  const rows = 8 + (i % 5);
  const data = new Float32Array(rows * 4);
  for (let j = 0; j < data.length; j++) data[j] = i * 1000 + j;
  const key = mode === "loop" ? `${prefix}shared` : `${prefix}${i}`;
  await cache.insert(cacheKey(key, testVectorsCodec), { id: `${prefix}${i}`, dims: 4, data });
}
console.log(`done ${count} ${disk.approxEntryCount()}`);
