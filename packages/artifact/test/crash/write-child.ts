/**
 * Crash-trial child: writes an artifact of `rows` rows (content derived from `salt`) into a local
 * directory store at `uri`, printing `ready` before the first byte and `done <artifact_id>` after
 * the commit. The parent SIGKILLs it at a random moment.
 */
import { LocalDirectoryStore } from "@quiver/store";
import { PartitionArtifactWriter } from "../../src/index.js";
import { pqSchema } from "../helpers.js";
import { crashRows } from "./rows.js";

const [dir, uri, saltArg, rowsArg] = process.argv.slice(2);
const salt = Number(saltArg);
const rows = Number(rowsArg);
const store = new LocalDirectoryStore(dir!);
process.stdout.write("ready\n");
const w = await PartitionArtifactWriter.create({ store, uri: uri!, numPartitions: 16, payloadSchema: pqSchema(8), numBuckets: 4, memoryBudgetBytes: 64 * 1024 });
const { parts, ids, codes } = crashRows(salt, rows);
for (let s = 0; s < rows; s += 4096) {
  const e = Math.min(rows, s + 4096);
  await w.appendRows(parts.subarray(s, e), [ids.subarray(s * 8, e * 8), codes.subarray(s * 8, e * 8)]);
}
const m = await w.finish();
process.stdout.write(`done ${m.artifact_id}\n`);
