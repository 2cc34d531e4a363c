/** `quiver conformance [--json] [--adapter-cmd "<cmd>"] [--area <area>]... [--concurrency <n>] [--root <dir>]`. */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type ConformanceAdapter,
  type ConformanceReport,
  CliAdapter,
  ReferenceAdapter,
  conformanceReportJson,
  formatConformanceReport,
  resolveConformanceRoot,
  runConformance,
  splitCommandLine,
} from "@quiver/conformance";
import { type CliIo, UsageError, progressLine } from "../io.js";

/** Run the catalog against the reference adapter (or an external one) and print the report; 1 when anything failed. */
export async function conformanceCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      json: { type: "boolean", default: false },
      "adapter-cmd": { type: "string" },
      area: { type: "string", multiple: true },
      concurrency: { type: "string" },
      root: { type: "string" },
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
  const report = await runWithProgress(adapter, io, { areas: values.area, concurrency: concurrency ?? (values["adapter-cmd"] === undefined ? 1 : 2), root });
  io.stdout(values.json ? conformanceReportJson(report) : formatConformanceReport(report));
  return report.failed > 0 ? 1 : 0;
}

/** Run the suite with a progress line on a TTY. */
export async function runWithProgress(
  adapter: ConformanceAdapter,
  io: CliIo,
  options: { areas?: readonly string[] | undefined; concurrency?: number; root?: string } = {},
): Promise<ConformanceReport> {
  const progress = progressLine(io);
  const areas = options.areas;
  try {
    return await runConformance(adapter, {
      ...(areas !== undefined && areas.length > 0 ? { filter: (c) => areas.includes(c.area) } : {}),
      concurrency: options.concurrency ?? 1,
      ...(options.root === undefined ? {} : { root: options.root }),
      onCase: (r, done, total) => progress.update(`conformance ${done}/${total} ${r.id}`),
    });
  } finally {
    progress.done();
  }
}
