/** The `quiver` command line: dispatch to `src/commands/*`. */
import { ConformanceRootError } from "@quiver/conformance";
import { adapterCommand } from "./commands/adapter.js";
import { conformanceCommand } from "./commands/conformance.js";
import { fixturesCommand } from "./commands/fixtures.js";
import { inspectCommand } from "./commands/inspect.js";
import { mainCommand } from "./commands/main.js";
import { type CliIo, UsageError } from "./io.js";

const COMMANDS: Readonly<Record<string, (args: readonly string[], io: CliIo) => Promise<number>>> = {
  main: mainCommand,
  conformance: conformanceCommand,
  inspect: inspectCommand,
  adapter: adapterCommand,
  fixtures: fixturesCommand,
};

/** Usage text. */
export const USAGE = `usage: quiver <command> [options]

  main [--rows N] [--queries N] [--partitions N] [--work-dir D] [--keep]
                                         end-to-end job: build IVF_PQ, prewarm a disk cache, reopen in a fresh process with 0 reads, query, recall@10
  conformance [--json] [--adapter-cmd "<cmd>"] [--area <area>]... [--concurrency <n>] [--root <dir>]
                                         run the conformance catalog against an adapter
  inspect <file> [--json]                frame header and section table of a Quiver frame
  adapter capabilities                   the reference implementation behind the CLI contract
  adapter decode <fixture> --operation <op> [--input <json-file>]
  adapter encode <sidecar.json> --operation <op>
  fixtures check [--root <repo>]         regenerate fixtures in a temp dir and compare
`;

/** Run one invocation; returns the exit code (2 for usage errors). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    io.stderr(`quiver: unknown command "${name}"\n${USAGE}`);
    return 2;
  }
  try {
    return await command(args, io);
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: unknown }).code?.toString().startsWith("ERR_PARSE_ARGS") === true)) {
      io.stderr(`quiver ${name}: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ConformanceRootError) {
      io.stderr(`quiver ${name}: ${e.code}: ${e.message} (${e.hint})\n`);
      return 2;
    }
    throw e;
  }
}
