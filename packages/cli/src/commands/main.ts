/**
 * `quiver main`: the end-to-end index job on an embedded default (no servers): a seeded
 * 200k x 128 mixture of Gaussians, an IVF_PQ build into a local directory store, a prewarm into a
 * disk cache, a reopen from that cache in a fresh process (0 store requests), 1,000 queries, and
 * recall@10 against brute force. Exit 1 when the reopen touched the store.
 * The conformance report that `main` printed before is `quiver conformance`.
 */
import { runEndToEndJob } from "../e2e/index.js";
import type { CliIo } from "../io.js";

/** Flags of `quiver main` (validated by the command-line parser). */
export interface MainFlags {
  readonly rows?: number;
  readonly queries?: number;
  readonly partitions?: number;
  readonly workDir?: string;
  readonly keep?: boolean;
}

/** Run the end-to-end job and print its report; 1 when the reopen touched the store. */
export async function mainCommand(f: MainFlags, io: CliIo): Promise<number> {
  const report = await runEndToEndJob({
    ...(f.rows === undefined ? {} : { rows: f.rows }),
    ...(f.queries === undefined ? {} : { queries: f.queries }),
    ...(f.partitions === undefined ? {} : { numPartitions: f.partitions }),
    ...(f.workDir === undefined ? {} : { workDir: f.workDir }),
    ...(f.keep === true ? { keep: true } : {}),
    tty: io.tty,
    out: (line) => io.stdout(`${line}\n`),
  });
  return report.reopen.readRequests === 0 && report.reopen.heads === 0 ? 0 : 1;
}
