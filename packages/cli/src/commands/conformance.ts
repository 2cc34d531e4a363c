/** `quiver conformance [--json] [--adapter-cmd "<cmd>"] [--area <area>]... [--operation <op>]... [--require-all] [--root <dir>] [--concurrency <n>]`. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type ConformanceAdapter,
  type ConformanceReport,
  CliAdapter,
  ConformanceUsageError,
  ReferenceAdapter,
  conformanceExitCode,
  conformanceReportJson,
  formatConformanceReport,
  resolveConformanceRoot,
  runConformance,
  splitCommandLine,
} from "@quiver/conformance";
import { type CliIo, UsageError, progressLine } from "../io.js";

/** Run the catalog against the reference adapter (or an external one) and print the report; 1 unless the verdict passes (see runner). */
export async function conformanceCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      json: { type: "boolean", default: false },
      "adapter-cmd": { type: "string" },
      area: { type: "string", multiple: true },
      operation: { type: "string", multiple: true },
      "require-all": { type: "boolean", default: false },
      root: { type: "string" },
      concurrency: { type: "string" },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= 32)) {
    throw new UsageError("--concurrency must be an integer in [1, 32]");
  }
  // resolved before the adapter starts: a missing catalog is a one-line error, not an ENOENT
  const root = resolveConformanceRoot(values.root === undefined ? undefined : resolve(io.cwd, values.root));
  const adapter: ConformanceAdapter =
    values["adapter-cmd"] === undefined ? new ReferenceAdapter() : new CliAdapter(splitCommandLine(values["adapter-cmd"]), { cwd: io.cwd });
  const report = await runWithProgress(adapter, io, {
    areas: values.area,
    operations: values.operation,
    requireAll: values["require-all"],
    root,
    concurrency: concurrency ?? (values["adapter-cmd"] === undefined ? 1 : 2),
  });
  io.stdout(values.json ? conformanceReportJson(report) : formatConformanceReport(report));
  return conformanceExitCode(report);
}

/** Run the suite with a progress line on a TTY. */
export async function runWithProgress(
  adapter: ConformanceAdapter,
  io: CliIo,
  options: { areas?: readonly string[] | undefined; operations?: readonly string[] | undefined; requireAll?: boolean; root?: string; concurrency?: number } = {},
): Promise<ConformanceReport> {
  const progress = progressLine(io);
  try {
    return await runConformance(adapter, {
      ...(options.areas === undefined ? {} : { areas: options.areas }),
      ...(options.operations === undefined ? {} : { operations: options.operations }),
      ...(options.root === undefined ? {} : { root: options.root }),
      requireAll: options.requireAll === true,
      concurrency: options.concurrency ?? 1,
      onCase: (r, done, total) => progress.update(`conformance ${done}/${total} ${r.id}`),
    });
  } catch (e) {
    // An unknown area/operation (or an empty selection) is the caller's mistake: exit 2, nothing ran.
    if (e instanceof ConformanceUsageError) throw new UsageError(e.message);
    throw e;
  } finally {
    progress.done();
  }
}
