/**
 * `quiver main`: the end-to-end index job on an embedded default (no servers): a seeded
 * 200k x 128 mixture of Gaussians, an IVF_PQ build into a local directory store, a prewarm into a
 * disk cache, a reopen from that cache in a fresh process (0 store requests), 1,000 queries, and
 * recall@10 against brute force. Exit 1 when the reopen touched the store.
 * The conformance report that `main` printed before is `quiver conformance`.
 */
import { parseArgs } from "node:util";
import { runEndToEndJob } from "../e2e/index.js";
import type { CliIo } from "../io.js";

/** Run the end-to-end job and print its report. */
export async function mainCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      rows: { type: "string" },
      queries: { type: "string" },
      partitions: { type: "string" },
      "work-dir": { type: "string" },
      keep: { type: "boolean" },
    },
    strict: true,
  });
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${v}`);
    return n;
  };
  const rows = int(values.rows, "rows");
  const queries = int(values.queries, "queries");
  const numPartitions = int(values.partitions, "partitions");
  const report = await runEndToEndJob({
    ...(rows === undefined ? {} : { rows }),
    ...(queries === undefined ? {} : { queries }),
    ...(numPartitions === undefined ? {} : { numPartitions }),
    ...(values["work-dir"] === undefined ? {} : { workDir: values["work-dir"] }),
    ...(values.keep === true ? { keep: true } : {}),
    tty: io.tty,
    out: (line) => io.stdout(`${line}\n`),
  });
  return report.reopen.readRequests === 0 && report.reopen.heads === 0 ? 0 : 1;
}
