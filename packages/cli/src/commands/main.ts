/**
 * `quiver main`: for now, the whole conformance suite against the in-process reference
 * implementation, printed as a table; exit 1 on any failure. (An end-to-end index job replaces it.)
 */
import { ReferenceAdapter, formatConformanceReport } from "@quiver/conformance";
import type { CliIo } from "../io.js";
import { runWithProgress } from "./conformance.js";

/** Run the reference conformance suite and print its report. */
export async function mainCommand(_args: readonly string[], io: CliIo): Promise<number> {
  const report = await runWithProgress(new ReferenceAdapter(), io);
  io.stdout(formatConformanceReport(report));
  return report.failed > 0 ? 1 : 0;
}
