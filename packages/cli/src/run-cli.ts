/**
 * The `quiver` command line on commander: `--help` on every command, `--version`, unknown options
 * and bad values rejected with one line and exit 2, typed errors printed as `code: message (hint)`
 * (stack only with `--debug`), exit 1 for failures. Exit codes: 0 success, 1 failure (typed error,
 * invalid object, failed conformance case, reopen that touched the store), 2 usage error.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
// Type-only: each command's module (and the packages it needs) is imported when that command runs,
// so `quiver --help` and every command start without loading the others' packages.
import type { artifactValidateCommand } from "./commands/artifact.js";
import type { inspectCommand } from "./commands/inspect.js";
import type { mainCommand } from "./commands/main.js";
import type { buildCommand, finalizeCommand, searchCommand, trainCommand } from "./commands/pipeline-commands.js";
import type { distributedBuildCommand, gcCommand, workerCommand } from "./commands/distributed.js";
import { type CliIo, UsageError } from "./io.js";

/** Exit codes of the `quiver` command. */
export const EXIT_CODES = { ok: 0, failure: 1, usage: 2 } as const;

/** The version printed by `--version` (this package's). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Commands whose flags their own handlers parse (their logic lives in @quiver/conformance). */
const PASS_THROUGH: Readonly<Record<string, (args: readonly string[], io: CliIo) => Promise<number>>> = {
  conformance: async (args, io) => (await import("./commands/conformance.js")).conformanceCommand(args, io),
  adapter: async (args, io) => (await import("./commands/adapter.js")).adapterCommand(args, io),
  fixtures: async (args, io) => (await import("./commands/fixtures.js")).fixturesCommand(args, io),
};

/** The option constants of `build` / `train` (their `--metric` / `--quantizer` choices, the `--budget` syntax). */
type BuildConstants = Pick<typeof import("@quiver/build"), "DISTANCE_TYPES" | "QUANTIZERS" | "parseByteSize">;

/** Short usage text (also `quiver --help`'s first lines). */
export const USAGE = `usage: quiver <command> [options]   (quiver <command> --help for each)

  build <input> --out <index>     build an IVF index from .npy / .fvecs / .bvecs through the resumable pipeline
  search <index> --query <q>      k nearest neighbours of a vector or of each row of a vector file
  train <input> --out <model>     sample and train the IVF centroids and quantizer into a model file
  finalize <artifact> --model <m> --out <index>
                                  validate an external partition artifact and finalize it into an index
  artifact validate <dir>         every problem of a partition artifact (exit 1 when invalid)
  build <input> --distributed --redis <url> --store <uri> --shards N --out <root>
                                  the same build as shard jobs on BullMQ workers, published as a segmented index
  worker --redis <url> --store <uri>
                                  run shard jobs of distributed builds (one process per machine or core)
  gc --store <uri> <root>         reclaim unreferenced segments and orphaned staging data older than --min-age
  inspect <file|dir>              what a Quiver object is (index, model, cache entry, artifact), --sections, --json
  main                            end-to-end job: build IVF_PQ, prewarm a disk cache, reopen with 0 reads, query, recall@10
  conformance                     run the conformance catalog against an adapter
  adapter capabilities | decode | encode
                                  the reference implementation behind the CLI contract
  fixtures check                  regenerate fixtures in a temp dir and compare

exit codes: 0 success, 1 failure, 2 usage error
`;

function intIn(min: number, max: number): (v: string) => number {
  return (v) => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

function byteSize(build: BuildConstants): (v: string) => string {
  return (v) => {
    try {
      build.parseByteSize(v);
    } catch {
      throw new InvalidArgumentError("expected a size such as 1GiB, 512MiB or 1073741824");
    }
    return v;
  };
}

/** The tuning flags of `build` and `train`; without `build` (an invocation that can reach neither) the command is left as is. */
function tuningOptions(cmd: Command, build: BuildConstants | undefined): Command {
  if (build === undefined) return cmd;
  return cmd
    .addOption(new Option("--metric <type>", "distance type (default l2)").choices(build.DISTANCE_TYPES as string[]))
    .addOption(new Option("--quantizer <kind>", "quantizer (default pq)").choices(build.QUANTIZERS as string[]))
    .option("--partitions <n>", "IVF partitions (default: rows / target partition size, at most 4096)", intIn(1, 65_536))
    .option("--sub-vectors <m>", "PQ sub-vectors (default dim/16)", intIn(1, 65_536))
    .option("--budget <size>", "memory budget, e.g. 1GiB (default 1GiB)", byteSize(build))
    .option("--seed <n>", "seed of sampling and training (default 42)", intIn(0, 0xffff_ffff))
    .option("--threads <n>", "worker threads (default: all cores)", intIn(1, 256))
    .option("--column <name>", "vector column of an Arrow / Parquet input (default vector)")
    .option("--id-column <name>", "uint64 id column of an Arrow / Parquet input (default: row numbers)")
    .option("--ids <file>", "uint64 .npy of row ids for an .npy input")
    .option("--json", "print a JSON summary")
    .option("--quiet", "no progress output");
}

/** Run one invocation; returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const debug = argv.includes("--debug");
  const rest = argv.filter((a) => a !== "--debug");
  const name = rest[0];
  if (name !== undefined && Object.hasOwn(PASS_THROUGH, name) && !rest.slice(1).some((a) => a === "--help" || a === "-h")) {
    return guarded(name, () => PASS_THROUGH[name]!(rest.slice(1), io), io, debug);
  }
  // Only `build`, `train` and `help <command>` can parse or print the tuning flags, and each needs its
  // word in argv; every other invocation starts without @quiver/build.
  const build: BuildConstants | undefined = rest.some((a) => a === "build" || a === "train" || a === "help") ? await import("@quiver/build") : undefined;
  let code = 0;
  const run = (cmd: string, f: () => Promise<number>) => async () => {
    code = await guarded(cmd, f, io, debug);
  };
  const program = new Command("quiver")
    .description("Quiver: IVF vector index build, search and conformance tools")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showSuggestionAfterError(true)
    .version(VERSION, "-V, --version", "print the version")
    .option("--debug", "print stack traces of errors")
    .addHelpText("after", "\nexit codes: 0 success, 1 failure, 2 usage error\n");

  tuningOptions(
    program
      .command("build")
      .description("build an IVF index from a vector file through the resumable pipeline (sample, train, assign+encode -> artifact, finalize)")
      .argument("<input>", ".npy (float32/float16), .fvecs, .bvecs, Arrow IPC .arrow / .arrows (--column, --id-column)")
      .requiredOption("--out <index>", "index file to write")
      .option("--model <file>", "a trained model file (quiver train) instead of training")
      .option("--assignments <file>", "precomputed partition of each row, a 1-d uint32 .npy (needs --model)")
      .option("--resume", "resume from the committed phases of an interrupted build of the same input and options")
      .option("--distributed", "build as shard jobs on BullMQ workers (quiver worker) into a segmented index; --out is the index root in --store")
      .option("--redis <url>", "with --distributed: Redis URL of the job queues")
      .option("--store <uri>", "with --distributed: the shared store (file:///dir, /dir, s3://bucket/prefix?endpoint=..., memory:)")
      .option("--shards <n>", "with --distributed: row-range shards", intIn(1, 10_000))
      .option("--queue-prefix <p>", "with --distributed: queue name prefix (default quiver)")
      .option("--lock-duration <ms>", "with --distributed: job lock of the merge worker (stalled after this long without renewal)", intIn(500, 3_600_000))
      .option("--timeout <s>", "with --distributed: give up after this many seconds", intIn(1, 10_000_000)),
    build,
  ).action((input: string, opts: Parameters<typeof buildCommand>[1] & Parameters<typeof distributedBuildCommand>[1] & { distributed?: boolean }, _c: Command) =>
    run("build", async () =>
      opts.distributed === true ? (await import("./commands/distributed.js")).distributedBuildCommand(input, opts, io) : (await import("./commands/pipeline-commands.js")).buildCommand(input, opts, io),
    )(),
  );

  program
    .command("worker")
    .description("run shard jobs of distributed builds")
    .requiredOption("--redis <url>", "Redis URL of the job queues")
    .requiredOption("--store <uri>", "the shared store (file:///dir, /dir, s3://bucket/prefix?endpoint=..., memory:)")
    .option("--concurrency <n>", "shard jobs at once (default 1)", intIn(1, 64))
    .option("--queue-prefix <p>", "queue name prefix (default quiver)")
    .option("--threads <n>", "worker threads per shard (default: all cores)", intIn(1, 256))
    .option("--lock-duration <ms>", "job lock (a killed worker's job is retried after this long; default 30000)", intIn(500, 3_600_000))
    .option("--quiet", "no event lines")
    .action((opts: Parameters<typeof workerCommand>[0]) => run("worker", async () => (await import("./commands/distributed.js")).workerCommand(opts, io))());

  program
    .command("gc")
    .description("reclaim unreferenced segment data")
    .requiredOption("--store <uri>", "the store (file:///dir, /dir, s3://bucket/prefix?endpoint=..., memory:)")
    .argument("<root>", "index root in the store")
    .option("--min-age <duration>", "only objects older than this (default 1h)")
    .option("--keep-versions <n>", "manifest versions whose segments are kept (default: the segments package's)", intIn(1, 1_000_000))
    .option("--dry-run", "list what would be deleted")
    .option("--json", "print JSON")
    .action((root: string, opts: Parameters<typeof gcCommand>[1]) => run("gc", async () => (await import("./commands/distributed.js")).gcCommand(root, opts, io))());

  tuningOptions(
    program
      .command("train")
      .description("sample the input in one pass and train the IVF centroids and the quantizer into a model file (spec/model.md)")
      .argument("<input>", ".npy (float32/float16), .fvecs, .bvecs, Arrow IPC .arrow / .arrows (--column, --id-column)")
      .requiredOption("--out <model>", "model file to write"),
    build,
  ).action((input: string, opts: Parameters<typeof trainCommand>[1]) => run("train", async () => (await import("./commands/pipeline-commands.js")).trainCommand(input, opts, io))());

  program
    .command("finalize")
    .description("validate a partition artifact (any engine's) and finalize it with a model into an index")
    .argument("<artifact>", "artifact directory (manifest.json, ranges table, buckets/)")
    .requiredOption("--model <file>", "the model the artifact was encoded with")
    .requiredOption("--out <index>", "index file to write")
    .option("--json", "print a JSON summary")
    .option("--quiet", "no progress output")
    .action((dir: string, opts: Parameters<typeof finalizeCommand>[1]) => run("finalize", async () => (await import("./commands/pipeline-commands.js")).finalizeCommand(dir, opts, io))());

  program
    .command("search")
    .description("the k nearest neighbours of a query vector, or of each row of a vector file")
    .argument("<index>", "index file")
    .requiredOption("--query <file|vector>", 'a vector file (.npy/.fvecs/.bvecs) or comma-separated values, e.g. "0.1,0.2,..."')
    .option("-k, --k <n>", "results per query", intIn(1, 10_000), 10)
    .option("--nprobes <n>", "partitions probed", intIn(1, 65_536), 20)
    .option("--refine <factor>", "re-rank k x factor candidates exactly (needs raw vectors)", intIn(1, 1000))
    .option("--cache <dir>", "a disk cache directory (warm reopens read nothing from the index file)")
    .option("--json", "print JSON (ids are numbers below 2^53, decimal strings above)")
    .action((index: string, opts: Parameters<typeof searchCommand>[1]) => run("search", async () => (await import("./commands/pipeline-commands.js")).searchCommand(index, opts, io))());

  program
    .command("artifact")
    .description("partition artifact tools")
    .command("validate")
    .description("check a whole partition artifact and print every problem with its code; exit 1 when invalid")
    .argument("<dir>", "artifact directory")
    .option("--json", "print JSON")
    .action((dir: string, opts: { json?: boolean }) => run("artifact validate", async () => (await import("./commands/artifact.js")).artifactValidateCommand(dir, opts, io))());

  program
    .command("inspect")
    .description("recognise a Quiver object (index, model file, cache entry, disk cache entry, artifact directory) and summarise it")
    .argument("<file>", "file or artifact directory")
    .option("--sections", "also print the container section table (CRC of every section checked)")
    .option("--json", "print everything as JSON")
    .action((file: string, opts: { json?: boolean; sections?: boolean }) => run("inspect", async () => (await import("./commands/inspect.js")).inspectCommand(file, opts, io))());

  program
    .command("main")
    .description("end-to-end job: build IVF_PQ through the pipeline, prewarm a disk cache, reopen in a fresh process with 0 store reads, query, recall@10")
    .option("--rows <n>", "rows (default 200000)", intIn(1, 100_000_000))
    .option("--queries <n>", "queries (default 1000)", intIn(1, 1_000_000))
    .option("--partitions <n>", "IVF partitions (default 256)", intIn(1, 65_536))
    .option("--work-dir <dir>", "where the store and cache go (default: a temp dir, removed)")
    .option("--keep", "keep the work directory")
    .action((opts: Parameters<typeof mainCommand>[0]) => run("main", async () => (await import("./commands/main.js")).mainCommand(opts, io))());

  for (const [cmd, description] of [
    ["conformance", "run the conformance catalog against an adapter (flags: see @quiver/conformance: --json --adapter-cmd --area --concurrency ...)"],
    ["adapter", "capabilities | decode <fixture> --operation <op> [--input <json>] | encode <sidecar> --operation <op>"],
    ["fixtures", "check [--root <repo>]: regenerate fixtures in a temp dir and compare"],
  ] as const) {
    program.command(cmd).description(description).allowUnknownOption().allowExcessArguments().argument("[args...]");
  }

  try {
    await program.parseAsync([...rest], { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      return EXIT_CODES.usage;
    }
    throw e;
  }
}

/** Run a command, mapping failures to exit codes and one-line messages. */
async function guarded(name: string, f: () => Promise<number>, io: CliIo, debug: boolean): Promise<number> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TypeError && String((e as { code?: unknown }).code ?? "").startsWith("ERR_PARSE_ARGS"))) {
      io.stderr(`quiver ${name}: ${e.message.split("\n")[0]}\n`);
      return EXIT_CODES.usage;
    }
    // the modules of typed errors and of their printing are loaded when a command failed (a command
    // that can throw them has loaded them already)
    const [{ QuiverArgumentError }, { reportFailure }] = await Promise.all([import("@quiver/format"), import("./errors-output.js")]);
    if (e instanceof QuiverArgumentError && e.argument.startsWith("--")) {
      reportFailure(io, name, e, debug);
      return EXIT_CODES.usage;
    }
    // No catalog where --root (or the installed package) points: the caller's setup, one line, exit 2.
    // Only @quiver/conformance throws it, so it is loaded whenever the name matches.
    if (e instanceof Error && e.name === "ConformanceRootError" && e instanceof (await import("@quiver/conformance")).ConformanceRootError) {
      io.stderr(`quiver ${name}: ${e.code}: ${e.message} (${e.hint})\n`);
      return EXIT_CODES.usage;
    }
    reportFailure(io, name, e, debug);
    return EXIT_CODES.failure;
  }
}
