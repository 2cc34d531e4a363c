/**
 * Container frame decoding costs (spec/container.md#alignment-and-zero-copy): one 64 MiB f32
 * section decoded with and without section CRC verification, the one copy a misaligned input
 * costs, and a zero-copy Arrow section. Median of 5 runs after one warm-up.
 */
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { decodeFrame, encodeFrame, readArrowSection, typedSection } from "@quiver/format";
import type { BenchContext, BenchResult } from "./run.js";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

function time(fn: () => void, runs = 5): number {
  fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    out.push(performance.now() - t0);
  }
  return median(out);
}

/** Variables that select part of this bench or change what it measures: a run with any set writes container.partial.json (bench/selection.ts). */
export const selectEnv: readonly string[] = [];

/** Runs the container benchmarks. */
export async function run(ctx: BenchContext): Promise<BenchResult> {
  const mib = ctx.quick ? 4 : 64;
  const values = new Float32Array((mib * 1024 * 1024) / 4).map((_, i) => i * 0.5);
  const frame = encodeFrame({ kind: 1, kindVersion: 1, typeName: "bench.f32", sections: [typedSection(1, "f32", values)] });
  // The same bytes at byteOffset 4 of a larger buffer: typed views need a one-time aligned copy.
  const shifted = new Uint8Array(frame.byteLength + 4);
  shifted.set(frame, 4);
  const misaligned = shifted.subarray(4);
  const arrowRows = ctx.quick ? 256 * 1024 : 4 * 1024 * 1024;
  // Arrow IPC bytes are version-independent: written with the bench's apache-arrow, read with @quiver/format's.
  const ipc = tableToIPC(tableFromArrays({ v: new Float32Array(arrowRows).map((_, i) => i) }), "stream");
  const arrowFrame = decodeFrame(encodeFrame({ kind: 1, kindVersion: 1, typeName: "bench.arrow", sections: [{ id: 1, encoding: "arrow-ipc-stream", bytes: ipc }] }));
  ctx.progress("decodeFrame");
  const crc = time(() => void decodeFrame(frame));
  const views = time(() => void decodeFrame(frame, { skipSectionChecksums: true }));
  const copied = time(() => void decodeFrame(misaligned, { skipSectionChecksums: true }));
  const arrow = time(() => void readArrowSection(arrowFrame, 1));
  const gbps = (bytes: number, ms: number): string => `${((bytes / 1e9) / (ms / 1000)).toFixed(1)} GB/s`;
  return {
    rows: [
      { operation: `decodeFrame, section CRC verified (one ${mib} MiB f32 section)`, "median ms": +crc.toFixed(2), note: `CRC-32 via zlib, ${gbps(frame.byteLength, crc)}` },
      { operation: `decodeFrame, skipSectionChecksums (one ${mib} MiB f32 section)`, "median ms": +views.toFixed(3), note: "views only" },
      { operation: `decodeFrame of the same input at byteOffset 4, skipSectionChecksums`, "median ms": +copied.toFixed(2), note: "one aligned copy" },
      { operation: `readArrowSection of a ${arrowRows / (1024 * 1024)} M-row f32 Arrow stream (${(ipc.byteLength / 1e6).toFixed(0)} MB)`, "median ms": +arrow.toFixed(3), note: "zero-copy" },
    ],
    notes: ["median of 5 runs after one warm-up, in one process"],
  };
}
