/**
 * The re-sealing mutator's sealing half: after an artifact's files were changed, recompute every
 * size and CRC the spec defines (each bucket file record's byte_size and crc32, each range's crc32
 * over its record batch message, the ranges table's byte_size and crc32 in the manifest), so that
 * the checks behind the checksums are what has to catch the change.
 */
import { crc32 } from "@quiver/format";
import { type ArtifactManifest, decodeRangesTable, encodeRangesTable } from "../src/index.js";
import { FILE_TRAILER_SIZE, decodeFileFooter, footerLength } from "../src/internal/arrow-file.js";

export type Files = Record<string, Uint8Array>;

/** Artifact files as a plain map, keyed by path relative to the artifact root. */
export function manifestOf(files: Files): ArtifactManifest {
  return JSON.parse(new TextDecoder().decode(files["manifest.json"])) as ArtifactManifest;
}

function blocksOf(bytes: Uint8Array): { offset: number; metaDataLength: number; bodyLength: number }[] | undefined {
  try {
    const size = bytes.byteLength;
    const len = footerLength(bytes.subarray(size - FILE_TRAILER_SIZE), size);
    return decodeFileFooter(bytes.subarray(size - FILE_TRAILER_SIZE - len, size - FILE_TRAILER_SIZE), size).blocks;
  } catch {
    return undefined;
  }
}

/**
 * Re-seal `files` in place of a copy: `rangesChanged` says the ranges table itself was mutated
 * (then its rows are kept as they are and only the manifest's size/CRC of it is recomputed).
 * Returns the re-sealed files; a manifest that is no longer JSON is left as it is.
 */
export function reseal(files: Files, rangesChanged = false): Files {
  const out: Files = { ...files };
  let m: ArtifactManifest & Record<string, unknown>;
  try {
    m = JSON.parse(new TextDecoder().decode(out["manifest.json"])) as ArtifactManifest & Record<string, unknown>;
  } catch {
    return out;
  }
  if (typeof m !== "object" || m === null || !Array.isArray(m.buckets) || typeof m.ranges !== "object" || m.ranges === null) return out;
  const rangesPath = m.ranges.path;
  let rangesBytes = out[rangesPath];
  if (!rangesChanged && rangesBytes !== undefined) {
    try {
      const cols = decodeRangesTable(rangesBytes);
      const crcs = Uint32Array.from(cols.crc32);
      const perBucket = new Map<number, number[]>();
      for (let i = 0; i < cols.bucket.length; i++) {
        const list = perBucket.get(cols.bucket[i]!) ?? [];
        list.push(i);
        perBucket.set(cols.bucket[i]!, list);
      }
      for (const [b, rows] of perBucket) {
        const rec = m.buckets[b];
        const bytes = rec === undefined ? undefined : out[rec.path];
        const blocks = bytes === undefined ? undefined : blocksOf(bytes);
        if (blocks === undefined) continue;
        rows.sort((x, y) => cols.rowOffset[x]! - cols.rowOffset[y]!);
        rows.forEach((i, k) => {
          const blk = blocks[k];
          if (blk !== undefined) crcs[i] = crc32(bytes!.subarray(blk.offset, blk.offset + blk.metaDataLength + blk.bodyLength));
        });
      }
      rangesBytes = encodeRangesTable({ ...cols, crc32: crcs });
      out[rangesPath] = rangesBytes;
    } catch {
      // An undecodable ranges table stays as it is.
    }
  }
  const buckets = m.buckets.map((rec) => {
    const bytes = out[rec.path];
    return bytes === undefined || bytes.byteLength === 0 ? rec : { ...rec, byte_size: bytes.byteLength, crc32: crc32(bytes) };
  });
  const ranges = rangesBytes === undefined || rangesBytes.byteLength === 0 ? m.ranges : { ...m.ranges, byte_size: rangesBytes.byteLength, crc32: crc32(rangesBytes) };
  out["manifest.json"] = new TextEncoder().encode(JSON.stringify({ ...m, buckets, ranges }));
  return out;
}
