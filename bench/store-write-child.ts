/**
 * Child process of store-write.bench.ts: one `buildIndex` from an .npy file to a local directory
 * or to an s3rver bucket, so each build's peak RSS (getrusage maxrss) is its own. Prints one JSON
 * line: total and finalize times, peak RSS overall and during finalize.
 */
import { buildIndex } from "@quiver/build";
import { LocalDirectoryStore, type ObjectStore } from "@quiver/store";
import { S3ObjectStore } from "@quiver/store-s3";

const [input, kind, target, bucket, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson!) as Record<string, unknown>;
const store: ObjectStore =
  kind === "s3"
    ? new S3ObjectStore({
        bucket: bucket!,
        prefix: "rss/",
        clientConfig: { endpoint: target!, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } },
      })
    : new LocalDirectoryStore(target!);
let finalizeRss = 0;
const t = performance.now();
const r = await buildIndex({
  input: input!,
  store,
  path: "index.qvr",
  ...options,
  onProgress: (e) => {
    if (e.phase === "finalize") finalizeRss = Math.max(finalizeRss, process.memoryUsage().rss);
  },
});
const totalMs = performance.now() - t;
process.stdout.write(
  `${JSON.stringify({
    totalMs,
    finalizeMs: r.phases.find((p) => p.phase === "finalize")?.ms ?? null,
    fileBytes: r.fileSize,
    sourcePasses: (r as { sourcePasses?: number }).sourcePasses ?? null,
    peakPartitionBytes: r.peakPartitionBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    finalizeRssBytes: finalizeRss,
  })}\n`,
);
(store as { close?: () => void }).close?.();
