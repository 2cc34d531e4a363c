/**
 * Segmented-index conformance operations (spec/segments.md#conformance). A directory fixture is
 * the index root (path "").
 * - `validate-segments`: sidecar `input` `{ segments: [descriptor], plan? }` (paths relative to
 *   the directory) -> `{ codes, shards }`, the sorted, de-duplicated codes and shard names of
 *   every validation problem (both empty for a valid set).
 * - `segments-search`: opens the latest committed version and searches `input.queries` (arrays of
 *   numbers) with `input.options` (`k`, `nprobes`, `refineFactor`) -> `{ version, results }`,
 *   `results[i]` = `[{ rowId, distance }]`, row ids as decimal strings, distances as decimal
 *   strings rounded to 4 places (the stated tolerance, as for `ivf-search`).
 * - `decode-segment-manifest`: a manifest (.bin) named as version 1 -> the manifest with segment
 *   paths relative to the root.
 */
import { QuiverFormatError } from "@quiver/format";
import { checkSegments, decodeSegmentManifest, openSegmentedIndex, type SegmentDescriptor } from "@quiver/segments";
import { LocalDirectoryStore } from "@quiver/store";
import type { OperationFn } from "../operation.js";

function storeOf(dir: string | undefined, op: string): LocalDirectoryStore {
  if (dir === undefined) throw new QuiverFormatError("INVALID_VALUE", `${op} takes a directory fixture`, { stage: "input" });
  return new LocalDirectoryStore(dir);
}

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** Conformance operations of the segments area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  async "validate-segments"(fixture) {
    const store = storeOf(fixture.dir, "validate-segments");
    const input = fixture.input as { segments: SegmentDescriptor[]; plan?: { rowIdRanges?: [string, string][]; totalRows?: number; modelDigest?: string; inputVersion?: string } };
    const problems = await checkSegments(store, input.segments, input.plan);
    return { codes: sorted(problems.map((p) => p.code)), shards: sorted(problems.flatMap((p) => (p.shard === undefined ? [] : [p.shard]))) };
  },
  async "segments-search"(fixture) {
    const store = storeOf(fixture.dir, "segments-search");
    const input = fixture.input as { queries: number[][]; options: { k: number; nprobes: number; refineFactor?: number } };
    const index = await openSegmentedIndex(store, "");
    const results = await index.searchBatch(input.queries, { ...input.options, idType: "bigint" });
    return { version: index.version, results: results.map((hits) => hits.map((h) => ({ rowId: h.id, distance: h.distance.toFixed(4) }))) };
  },
  async "decode-segment-manifest"(fixture) {
    if (fixture.bin === undefined) throw new QuiverFormatError("INVALID_VALUE", "decode-segment-manifest takes a single-file fixture (.bin)", { stage: "input" });
    const m = decodeSegmentManifest(fixture.bin, { expectedVersion: 1 });
    return { ...m, segments: m.segments.map((s) => ({ ...s, rowIdRanges: s.rowIdRanges.map((r) => [r[0], r[1]]) })) };
  },
};
