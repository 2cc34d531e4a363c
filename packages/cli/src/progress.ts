/**
 * Progress of long commands: a cli-progress bar per phase (rate and ETA) on a TTY, one line per
 * phase when stderr is piped, nothing under --quiet.
 */
import cliProgress from "cli-progress";
import type { CliIo } from "./io.js";

/** Reports phases of a long command. */
export interface PhaseProgress {
  /** `done` of `total` units (rows or partitions) of `phase`. */
  update(phase: string, done: number, total: number | undefined, unit?: string): void;
  /** A phase that did not run (resumed or skipped), reported as one line. */
  note(phase: string, text: string): void;
  /** End the current phase (and the display). */
  finish(): void;
}

function rate(n: number, ms: number): string {
  const r = ms <= 0 ? 0 : (n * 1000) / ms;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0);
}

/** The progress display for `io` (`quiet` shows nothing). */
export function phaseProgress(io: CliIo, quiet: boolean, label = "build"): PhaseProgress {
  if (quiet) return { update() {}, note() {}, finish() {} };
  let phase: string | undefined;
  let started = 0;
  let last = 0;
  let lastTotal: number | undefined;
  let unitName = "rows";
  let bar: cliProgress.SingleBar | undefined;
  const endPhase = (): void => {
    if (phase === undefined) return;
    const ms = performance.now() - started;
    if (bar !== undefined) {
      bar.update(lastTotal ?? last);
      bar.stop();
      bar = undefined;
    } else {
      const amount = lastTotal === 1 ? "" : `, ${last} ${unitName} (${rate(last, ms)} ${unitName}/s)`;
      io.stderr(`${label}: ${phase} done in ${(ms / 1000).toFixed(2)} s${amount}\n`);
    }
    phase = undefined;
  };
  return {
    update(p, done, total, unit = "rows") {
      if (p !== phase) {
        endPhase();
        phase = p;
        unitName = unit;
        started = performance.now();
        if (io.tty) {
          bar = new cliProgress.SingleBar(
            { format: `${label}: ${p.padEnd(15)} [{bar}] {percentage}% | {value}/{total} ${unit} | {speed} ${unit}/s | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: false, etaBuffer: 20 },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total ?? 0, 0, { speed: "0" });
        }
      }
      last = done;
      lastTotal = total;
      bar?.setTotal(total ?? done);
      bar?.update(done, { speed: rate(done, performance.now() - started) });
    },
    note(p, text) {
      endPhase();
      io.stderr(`${label}: ${p} ${text}\n`);
    },
    finish() {
      endPhase();
    },
  };
}
