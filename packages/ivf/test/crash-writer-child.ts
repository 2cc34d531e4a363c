/**
 * Child process of the index-write crash trials: writes index A or B (alternating, each a few MiB)
 * to `<root>/store` at one path, forever, until the parent SIGKILLs it. Prints "ready" once the
 * first write is durable so the parent knows an old index exists.
 * Usage: tsx --conditions=quiver-source crash-writer-child.ts <root>
 */
import { join } from "node:path";
import { LocalDirectoryStore } from "@quiver/store";
import { writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";

const root = process.argv[2]!;
const store = new LocalDirectoryStore(join(root, "store"));
// Inputs are built once (a partition source can be read again): each loop is one real
// writeIvfIndex (encode, then one put), so kills land in both.
const inputs = [1, 2].map((seed) => syntheticIndexInput({ n: 20_000, dim: 32, numPartitions: 16, codeWidth: 32, raw: true, seed }));
await writeIvfIndex(store, "idx/index.qvr", inputs[0]!);
process.stdout.write("ready\n");
for (let i = 1; ; i++) await writeIvfIndex(store, "idx/index.qvr", inputs[i % 2]!);
