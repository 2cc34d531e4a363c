/** Printing a {@link ConformanceReport}: a human table, or JSON. */
import { canonicalJson } from "./canonical-json.js";
import type { ConformanceReport } from "./runner.js";

/** A per-area table (passed / failed / skipped, then coverage: executed of total), every failure, each skip reason and the verdict. */
export function formatConformanceReport(report: ConformanceReport): string {
  const coverage = (executed: number, total: number): string => `${total === 0 ? 0 : Math.floor((100 * executed) / total)}%`;
  const rows: string[][] = [["area", "passed", "failed", "skipped", "executed", "total", "coverage"]];
  for (const [area, t] of Object.entries(report.areas)) {
    rows.push([area, String(t.passed), String(t.failed), String(t.skipped), String(t.executed), String(t.total), coverage(t.executed, t.total)]);
  }
  rows.push(["total", String(report.passed), String(report.failed), String(report.skipped), String(report.executed), String(report.total), coverage(report.executed, report.total)]);
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const line = (r: string[]): string => r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join("  ");
  const out = [`conformance: ${report.adapter.name} ${report.adapter.version} (${report.total} cases)`, "", line(rows[0]!)];
  out.push(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows.slice(1, -1)) out.push(line(r));
  out.push(widths.map((w) => "-".repeat(w)).join("  "), line(rows[rows.length - 1]!));
  const failures = report.cases.filter((c) => c.status === "failed");
  if (failures.length > 0) {
    out.push("", "failed:");
    for (const c of failures) out.push(`  ${c.id}: ${c.reason ?? ""}`);
  }
  const skipReasons = new Map<string, number>();
  for (const c of report.cases) if (c.status === "skipped") skipReasons.set(c.reason ?? "", (skipReasons.get(c.reason ?? "") ?? 0) + 1);
  if (skipReasons.size > 0) {
    out.push("", "skipped (declared unsupported):");
    for (const [reason, n] of skipReasons) out.push(`  ${n} case(s): ${reason}`);
  }
  const mode = report.requireAll ? " (every case required)" : "";
  out.push("", report.verdict.pass ? `verdict: PASS${mode}` : `verdict: FAIL${mode}: ${report.verdict.problems.join("; ")}`);
  return out.join("\n") + "\n";
}

/** The report as canonical JSON. */
export function conformanceReportJson(report: ConformanceReport): string {
  return canonicalJson(report);
}
