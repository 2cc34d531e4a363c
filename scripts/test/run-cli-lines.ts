/**
 * Runs the `npx quiver ...` lines of one README shell block in one Node process, one after another
 * in the current directory, as `set -e` runs them: each line goes through the CLI's own entry
 * (`runCli` with the process's streams, what bin.ts does), and the first line that exits non-zero
 * ends the run with its exit code. One process per block instead of one per line: each start-up
 * loads the workspace sources through tsx again (the registry round trip in .ci/run still runs
 * every line as its own installed `quiver` process).
 *
 *   tsx --conditions=quiver-source run-cli-lines.ts '[["build","in.npy","--out","x"],["inspect","x"]]'
 */
import { processIo } from "../../packages/cli/src/io.js";
import { runCli } from "../../packages/cli/src/run-cli.js";

const lines = JSON.parse(process.argv[2] ?? "[]") as string[][];
for (const [i, argv] of lines.entries()) {
  const code = await runCli(argv, processIo());
  if (code !== 0) {
    process.stderr.write(`run-cli-lines: line ${i + 1} (quiver ${argv.join(" ")}) exited ${code}\n`);
    process.exitCode = code;
    break;
  }
}
