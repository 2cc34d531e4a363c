/**
 * The machine a bench ran on, measured rather than described: CPU count and the 1-minute load
 * average, sampled by the harness (bench/run.ts) before and after every bench and by benches per
 * row. A note derived from the samples replaces hand-written "the machine was busy" strings, so a
 * results file says how loaded the machine actually was.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

/** The 1-minute load average now, to 2 decimals. */
export function machineLoad(): number {
  return Number(loadavg()[0]!.toFixed(2));
}

/** Load samples of one bench run. */
export interface LoadSamples {
  readonly cpus: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

/** Samples around `fn`. */
export async function sampleLoad<T>(fn: () => Promise<T>): Promise<[T, LoadSamples]> {
  const loadBefore = machineLoad();
  const value = await fn();
  return [value, { cpus: cpus().length, loadBefore, loadAfter: machineLoad() }];
}

/** The note written with every results file: the measured load, and what it means for the times. */
export function loadNote(s: LoadSamples): string {
  const peak = Math.max(s.loadBefore, s.loadAfter);
  const verdict =
    peak > s.cpus
      ? `above the ${s.cpus} cores: other work competed for the CPU, so wall-clock times are pessimistic (request and byte counts are exact)`
      : peak > s.cpus / 2
        ? `about half of the ${s.cpus} cores busy with other work: times are indicative`
        : `a mostly idle ${s.cpus}-core machine`;
  return `machine load (1-minute average) ${s.loadBefore} before, ${s.loadAfter} after this bench: ${verdict}`;
}

/** Peak resident set of this process from the kernel (bytes), or 0 where /proc is missing. */
export function vmHwm(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}
