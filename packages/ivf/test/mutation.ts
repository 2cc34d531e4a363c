/**
 * The re-sealing mutator of issue 8 ("keep it fixed"): mutate a container frame (an index file or
 * a cache entry), then recompute every checksum the container spec defines (each section's CRC-32, or XXH3-64, over
 * its bytes, then the header CRC over [0, table_end) with its own field read as zero), so that a
 * reader's deeper validators are reached instead of the checksum checks. Written from
 * spec/container.md, independently of the @quiver/format decoder.
 */
import { crc32 } from "node:zlib";
import { xxh3_64 } from "@quiver/format";
import { mulberry32 } from "../src/compute/internal/rng.js";

/** A seeded source of mutation choices. */
export type Rand = () => number;
export const rng = (seed: number): Rand => mulberry32(seed);

const INTERESTING_U32 = [0, 1, 2, 7, 8, 63, 64, 65, 255, 256, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x1000_0000, 0x2000_0000, 1 << 20, 65_536, 65_537];

/** Recompute every section CRC and the header CRC that the bytes allow (a section past the end keeps its CRC). */
export function reseal(b: Uint8Array): void {
  if (b.byteLength < 64) return;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const typeNameLength = dv.getUint16(20, true);
  const sections = dv.getUint32(24, true);
  const tableStart = 64 + Math.ceil(typeNameLength / 8) * 8;
  const tableEnd = tableStart + sections * 32;
  if (tableEnd > b.byteLength) return;
  for (let i = 0; i < sections; i++) {
    const at = tableStart + i * 32;
    const offset = Number(dv.getBigUint64(at + 8, true));
    const length = Number(dv.getBigUint64(at + 16, true));
    if (offset <= b.byteLength && length <= b.byteLength - offset) {
      // Header byte 11 (section_checksum) 1: the entry holds the section's u64 XXH3-64 (container 1.1).
      if (b[11] === 1) dv.setBigUint64(at + 24, xxh3_64(b.subarray(offset, offset + length)), true);
      else dv.setUint32(at + 24, crc32(b.subarray(offset, offset + length)) >>> 0, true);
    }
  }
  dv.setUint32(28, 0, true);
  dv.setUint32(28, crc32(b.subarray(0, tableEnd)) >>> 0, true);
}

/**
 * One mutation of `src` (a copy is returned, re-sealed): a bit flip, a random byte, an
 * "interesting" u32 at an aligned position, a truncation or an appended byte. Positions are biased
 * towards the first 512 bytes (header, section table, JSON) where most structure lives.
 */
export function mutate(src: Uint8Array, r: Rand): { bytes: Uint8Array; what: string } {
  const pick = r();
  const pos = (): number => (r() < 0.5 ? Math.floor(r() * Math.min(512, src.byteLength)) : Math.floor(r() * src.byteLength));
  if (pick < 0.04) {
    const cut = Math.floor(r() * src.byteLength);
    const bytes = src.slice(0, cut);
    return { bytes, what: `truncate to ${cut}` };
  }
  if (pick < 0.06) {
    const bytes = new Uint8Array(src.byteLength + 1);
    bytes.set(src);
    return { bytes, what: "append a byte" };
  }
  const bytes = src.slice();
  let what: string;
  const n = 1 + Math.floor(r() * 3);
  const parts: string[] = [];
  for (let k = 0; k < n; k++) {
    const kind = r();
    const at = pos();
    if (kind < 0.4) {
      const bit = Math.floor(r() * 8);
      bytes[at] = bytes[at]! ^ (1 << bit);
      parts.push(`flip bit ${bit} of byte ${at}`);
    } else if (kind < 0.6) {
      const v = Math.floor(r() * 256);
      bytes[at] = v;
      parts.push(`byte ${at} = ${v}`);
    } else {
      const a = Math.min(bytes.byteLength - 4, at - (at % 4));
      if (a < 0) continue;
      const v = INTERESTING_U32[Math.floor(r() * INTERESTING_U32.length)]!;
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(a, v, true);
      parts.push(`u32 at ${a} = ${v}`);
    }
  }
  what = parts.join(", ");
  reseal(bytes);
  return { bytes, what };
}

/** Outcome counts of a harness path. */
export interface Outcomes {
  cases: number;
  /** A typed error (QuiverFormatError / QuiverArgumentError). */
  typed: number;
  /** Results equal to the clean index. */
  equal: number;
  /** Accepted a different, valid index (only in the re-digest mode, where the mutated file is a new valid index). */
  different: number;
  /** Wrong results (not equal to the clean index where they must be). */
  wrong: number;
  /** An untyped error. */
  other: number;
  /** No answer within the deadline. */
  hang: number;
  /** First few failures, for the report. */
  samples: string[];
}

export function outcomes(): Outcomes {
  return { cases: 0, typed: 0, equal: 0, different: 0, wrong: 0, other: 0, hang: 0, samples: [] };
}

/** Run `f` under a deadline: resolves "hang" when it does not settle in time. */
export async function withDeadline<T>(f: () => Promise<T>, ms: number): Promise<T | "hang"> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), ms);
  });
  try {
    return await Promise.race([f(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export function isTyped(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === "QuiverFormatError" || name === "QuiverArgumentError";
}

/** Cases per path: >= 10,000 in `pnpm test`, >= 1,000,000 with QUIVER_SOAK=1 (QUIVER_MUTATION_CASES overrides). */
export function caseCount(): number {
  const override = Number(process.env.QUIVER_MUTATION_CASES);
  if (Number.isInteger(override) && override > 0) return override;
  return process.env.QUIVER_SOAK === "1" ? 1_000_000 : 10_000;
}
