/**
 * Child process of disk-multiprocess.test.ts: opens a DiskCacheBackend over argv[2] with
 * maxBytes argv[5] and inserts argv[3] distinct 16 KiB entries with key prefix argv[4]; prints its
 * counters as JSON.
 */
import { DiskCacheBackend, formatCacheKey, frameCodec, testVectorsCodec } from "@quiver/cache";

const [dir, countArg, prefix, maxArg] = process.argv.slice(2);
const disk = await DiskCacheBackend.open({ directory: dir!, maxBytes: Number(maxArg), logger: { warn: () => undefined } });
const codec = frameCodec(testVectorsCodec);
for (let i = 0; i < Number(countArg); i++) {
  const data = new Float32Array(4096).fill(i);
  await disk.insert(formatCacheKey("", `${prefix}${i}`, "CacheTestVectors"), { value: { id: `${prefix}${i}`, dims: 4, data }, sizeBytes: 0 }, codec);
}
await disk.close();
console.log(JSON.stringify(disk.counters));
