/**
 * The issue-8 hang, exhaustively: every u32 position of a bucket file's footer rewritten to 1,
 * 2^30 and 2^31 - 1, the manifest's byte_size/crc32 (and the range CRCs) re-sealed, then
 * validateArtifact and the reader. Prints `progress <i>` and `report <json>`.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { QuiverFormatError } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { PartitionArtifactReader, validateArtifact } from "../../src/index.js";
import { type Files, manifestOf, reseal } from "../reseal.js";

function readDir(dir: string, prefix = ""): Files {
  const out: Files = {};
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) Object.assign(out, readDir(p, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = new Uint8Array(readFileSync(p));
  }
  return out;
}

const base = readDir(fileURLToPath(new URL("../../../../fixtures/artifact/v1/valid/single-bucket-one-range-per-partition/", import.meta.url)));
const path = manifestOf(base).buckets[0]!.path;
const bucket = base[path]!;
const footerLen = new DataView(bucket.buffer, bucket.byteOffset).getInt32(bucket.length - 10, true);
const footerStart = bucket.length - 10 - footerLen;
const typed: Record<string, number> = {};
const other: string[] = [];
let cases = 0;
let accepted = 0;
for (let at = footerStart; at + 4 <= bucket.length - 10; at++) {
  for (const value of [1, 2 ** 30, 2 ** 31 - 1]) {
    const b = bucket.slice();
    new DataView(b.buffer).setUint32(at, value, true);
    const files = reseal({ ...base, [path]: b });
    const store = new MemoryObjectStore();
    for (const [p, x] of Object.entries(files)) await store.put(p, x);
    try {
      const problems = await validateArtifact(store, "");
      for (const p of problems) typed[`validate ${p.code}`] = (typed[`validate ${p.code}`] ?? 0) + 1;
      const r = await PartitionArtifactReader.open(store, "");
      await r.loadFooters();
      for (let p = 0; p < r.numPartitions; p++) await r.readPartitionBatches(p);
      accepted++;
    } catch (e) {
      if (e instanceof QuiverFormatError) typed[`read ${e.code}`] = (typed[`read ${e.code}`] ?? 0) + 1;
      else if (other.length < 20) other.push(`footer byte ${at - footerStart} = ${value}: ${String((e as Error)?.stack ?? e).slice(0, 300)}`);
    }
    cases++;
    process.stdout.write(`progress ${at}:${value}\n`);
  }
}
process.stdout.write(`report ${JSON.stringify({ cases, accepted, typed, other, wrong: [] })}\n`);
