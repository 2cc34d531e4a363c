/**
 * Mutants of the reference adapter: each one is the reference implementation with one required
 * behaviour removed (a check skipped, a row dropped, nprobes ignored, ...), and names the catalog
 * case that must kill it. `mutants.test.ts` runs the suite against every mutant; a mutant that no
 * case kills means the catalog cannot tell a lazy implementation from a correct one.
 *
 * "Skips check X" is modelled by repairing what X inspects (and re-sealing the CRCs that cover it)
 * before handing the bytes to the reference decoder, so the rest of the decoder still runs.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CACHE_ENTRY_KIND, IndexCache, decodeCacheEntry, testVectorsCodec } from "@quiver/cache";
import { type OperationFixture, type OperationFn, referenceOperations } from "@quiver/conformance";
import { crc32, decodeFrame, encodeFrame, xxh3_64 } from "@quiver/format";
import {
  IVF_SECTION,
  IvfVectorIndex,
  type IvfIndexState,
  type VectorSearchHit,
  type VectorSearchOptions,
  computeIndexIdentity,
  computeRawRowGroupChecksums,
  ivfIndexStateCodec,
  partitionEntryCodecs,
  partitionVectorsCodec,
  readIvfIndexState,
} from "@quiver/ivf";
import { MemoryObjectStore } from "@quiver/store";

/** One mutant: the operations it replaces, and the case that must fail under it. */
export interface Mutant {
  readonly name: string;
  readonly operations: Readonly<Record<string, OperationFn>>;
  /** A case id that fails under this mutant (asserted). */
  readonly killer: string;
}

const ref = (op: string): OperationFn => referenceOperations[op]!;

// ---- container byte surgery ------------------------------------------------------------------

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function tableEnd(b: Uint8Array): number | undefined {
  if (b.length < 64) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = v.getUint32(24, true);
  if (count > 4096) return undefined;
  const end = align(64 + v.getUint16(20, true), 8) + 32 * count;
  return end <= b.length ? end : undefined;
}

/** Recompute the header CRC (so that whatever was edited in [0, table_end) passes it). */
function resealHeader(b: Uint8Array): Uint8Array {
  const end = tableEnd(b);
  if (end === undefined) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setUint32(28, 0, true);
  v.setUint32(28, crc32(b.subarray(0, end)), true);
  return b;
}

/** Recompute every in-bounds section CRC, then the header CRC. */
function resealSections(b: Uint8Array): Uint8Array {
  const end = tableEnd(b);
  if (end === undefined) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const start = end - 32 * v.getUint32(24, true);
  for (let at = start; at < end; at += 32) {
    const off = Number(v.getBigUint64(at + 8, true));
    const len = Number(v.getBigUint64(at + 16, true));
    // Header byte 11 (section_checksum) 1: the entry holds a u64 XXH3-64, else a u32 CRC-32.
    if (off + len <= b.length) {
      if (b[11] === 1) v.setBigUint64(at + 24, xxh3_64(b.subarray(off, off + len)), true);
      else v.setUint32(at + 24, crc32(b.subarray(off, off + len)), true);
    }
  }
  return resealHeader(b);
}

/** A bytes-in operation run on repaired bytes. */
function onRepaired(op: string, repair: (b: Uint8Array) => Uint8Array): OperationFn {
  return async (f) => ref(op)({ ...f, bin: f.bin === undefined ? undefined : repair(f.bin.slice()) } as OperationFixture);
}

/** A header field edit (when the header is there), re-sealed. */
function headerEdit(edit: (v: DataView, b: Uint8Array) => void): (b: Uint8Array) => Uint8Array {
  return (b) => {
    if (b.length < 64) return b;
    edit(new DataView(b.buffer, b.byteOffset, b.byteLength), b);
    return resealHeader(b);
  };
}

/** Re-encode a decodable frame with some header values replaced (skipping the caller's kind / type-name checks). */
function reframe(patch: { kind?: number; typeName?: string; kindVersion?: number; json?: (id: number, value: Record<string, unknown>) => Record<string, unknown> }): (b: Uint8Array) => Uint8Array {
  return (b) => {
    let frame;
    try {
      frame = decodeFrame(b);
    } catch {
      return b;
    }
    const sections = frame.sections.map((s) => {
      if (s.encoding !== "json" || patch.json === undefined) return { id: s.id, encoding: s.encoding, bytes: s.bytes };
      const value = patch.json(s.id, JSON.parse(new TextDecoder().decode(s.bytes)) as Record<string, unknown>);
      return { id: s.id, encoding: s.encoding, bytes: new TextEncoder().encode(JSON.stringify(value)) };
    });
    const kind = patch.kind ?? frame.kind;
    // Keep the frame's section checksum algorithm where the kind allows it (XXH3-64 only on kind 16).
    const sectionChecksum = kind === 16 ? frame.sectionChecksum : "crc32";
    return encodeFrame({ kind, kindVersion: patch.kindVersion ?? frame.kindVersion, typeName: patch.typeName ?? frame.typeName, versionMinor: frame.versionMinor, sectionChecksum, sections });
  };
}

/**
 * An index file whose raw row-group CRC table (and the identity that covers it) is recomputed from
 * the raw vectors as they are: what a reader sees when its refine never verifies a row group.
 * Files without the table, or that do not open, are left as they are.
 */
async function resealRowGroups(b: Uint8Array): Promise<Uint8Array> {
  let state: IvfIndexState;
  let frame;
  try {
    const store = new MemoryObjectStore();
    await store.put("index.qvr", b);
    state = await readIvfIndexState(store, "index.qvr", b.byteLength);
    frame = decodeFrame(b);
  } catch {
    return b;
  }
  const rowsPerGroup = state.metadata.rawRowGroupRows;
  if (rowsPerGroup === undefined) return b;
  const dim = state.metadata.dim;
  const total = state.partitions.reduce((n, p) => n + Math.ceil(p.rows / rowsPerGroup), 0);
  const crcs = new Uint32Array(total);
  let at = 0;
  for (const p of state.partitions) {
    if (p.raw === undefined || p.rows === 0) continue;
    computeRawRowGroupChecksums(b.subarray(p.raw.offset, p.raw.offset + p.rows * dim * 4), p.rows, dim, rowsPerGroup, crcs, at);
    at += Math.ceil(p.rows / rowsPerGroup);
  }
  const section = (id: number): Uint8Array => frame.sections.find((s) => s.id === id)!.bytes;
  const { identity: _old, ...metadata } = state.metadata;
  const arrays = state.metadata.quantizer.arrays.map((_a, i) => section(IVF_SECTION.quantizerArrayBase + i));
  const identity = computeIndexIdentity({ metadata, centroids: state.centroids, arrays, partitions: state.partitions, rawRowGroupCrcs: crcs });
  const sections = frame.sections.map((s) => {
    if (s.id === IVF_SECTION.rawRowGroupChecksums) return { id: s.id, encoding: s.encoding, bytes: new Uint8Array(crcs.buffer) };
    if (s.id === IVF_SECTION.metadata) {
      const m = JSON.parse(new TextDecoder().decode(s.bytes)) as Record<string, unknown>;
      return { id: s.id, encoding: s.encoding, bytes: new TextEncoder().encode(JSON.stringify({ ...m, identity })) };
    }
    return { id: s.id, encoding: s.encoding, bytes: s.bytes };
  });
  // Same section order and lengths, so every offset in the partition table still holds.
  return encodeFrame({ kind: frame.kind, kindVersion: frame.kindVersion, typeName: frame.typeName, versionMinor: frame.versionMinor, sectionChecksum: frame.sectionChecksum, sections });
}

// ---- output edits ----------------------------------------------------------------------------

function onOutput(op: string, edit: (value: unknown) => unknown): OperationFn {
  return async (f) => edit(await ref(op)(f));
}

// ---- artifact directory edits -----------------------------------------------------------------

/** Run an artifact operation on a copy of the directory whose manifest was edited. */
function onManifest(op: string, edit: (manifest: Record<string, unknown>, dir: string) => void): OperationFn {
  return async (f) => {
    if (f.dir === undefined) return ref(op)(f);
    const tmp = mkdtempSync(join(tmpdir(), "quiver-mutant-"));
    try {
      cpSync(f.dir, tmp, { recursive: true });
      let manifest: Record<string, unknown>;
      try {
        manifest = JSON.parse(readFileSync(join(tmp, "manifest.json"), "utf8")) as Record<string, unknown>;
      } catch {
        return await ref(op)({ ...f, dir: tmp });
      }
      edit(manifest, tmp);
      writeFileSync(join(tmp, "manifest.json"), JSON.stringify(manifest));
      return await ref(op)({ ...f, dir: tmp });
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  };
}

/** Make every file record's byte_size / crc32 match the file (a reader that checks neither). */
function trustFiles(manifest: Record<string, unknown>, dir: string, what: { size: boolean; crc: boolean }): void {
  const records = [...((manifest.buckets as Record<string, unknown>[] | undefined) ?? []), ...(manifest.ranges === undefined ? [] : [manifest.ranges as Record<string, unknown>])];
  for (const r of records) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(join(dir, String(r.path))));
    } catch {
      continue;
    }
    if (what.size) r.byte_size = bytes.length;
    if (what.crc) r.crc32 = crc32(bytes);
  }
}

// ---- ivf search with one behaviour changed -----------------------------------------------------

interface SearchInput {
  query: string;
  k: number;
  nprobes: number;
  refineFactor?: number;
  allowList?: string[];
}

/** The reference ivf-search, with the search options and state passed through `tweak`. */
function searchMutant(tweak: {
  options?: (o: VectorSearchOptions, state: IvfIndexState) => VectorSearchOptions;
  state?: (s: IvfIndexState) => IvfIndexState;
  hits?: (hits: VectorSearchHit[], o: VectorSearchOptions & { k: number }) => VectorSearchHit[];
  /** Number partitions P-1..0 instead of 0..P-1 (so "lower partition first" becomes "higher first"). */
  reversePartitions?: boolean;
}): OperationFn {
  return async (f) => {
    const input = f.input as SearchInput;
    let state = decodeCacheEntry(ivfIndexStateCodec, await readFile(join(f.dir!, "state.bin"))).value;
    const P = state.metadata.numPartitions;
    const dim = state.metadata.dim;
    const from = (p: number): number => (tweak.reversePartitions === true ? P - 1 - p : p);
    if (tweak.reversePartitions === true) {
      const centroids = new Float32Array(state.centroids.length);
      for (let p = 0; p < P; p++) centroids.set(state.centroids.subarray(from(p) * dim, (from(p) + 1) * dim), p * dim);
      state = { ...state, centroids, partitions: [...state.partitions].reverse() };
    }
    state = tweak.state?.(state) ?? state;
    const cache = IndexCache.inMemory();
    const index = new IvfVectorIndex(new MemoryObjectStore(), state, { cache });
    const codec = partitionEntryCodecs[state.metadata.quantizer.kind];
    for (let p = 0; p < P; p++) {
      const entry = decodeCacheEntry(codec, await readFile(join(f.dir!, `partition-${from(p)}.bin`))).value;
      await cache.insert(index.partitionCacheKey(p), { ...entry, partition: p });
      if (state.metadata.rawVectors) {
        const v = decodeCacheEntry(partitionVectorsCodec, await readFile(join(f.dir!, `vectors-${from(p)}.bin`))).value;
        await cache.insert(index.vectorsCacheKey(p), { ...v, partition: p });
      }
    }
    const qb = Buffer.from(input.query, "hex");
    const query = new Float32Array(new Uint8Array(qb).buffer);
    let options: VectorSearchOptions = {
      idType: "bigint",
      k: input.k,
      nprobes: input.nprobes,
      ...(input.refineFactor === undefined ? {} : { refineFactor: input.refineFactor }),
      ...(input.allowList === undefined ? {} : { allowList: input.allowList.map((x) => BigInt(x)) }),
    };
    options = tweak.options?.(options, state) ?? options;
    let hits = await index.search(query, options);
    hits = tweak.hits?.(hits, { ...options, k: input.k }) ?? hits;
    return { hits: hits.map((h) => ({ rowId: h.id, distance: h.distance.toFixed(4) })) };
  };
}

/** Search without the allow-list for k hits, then drop the rows it does not allow. */
const allowListAfterTopK: OperationFn = async (f) => {
  const input = f.input as SearchInput;
  const plain = (await ref("ivf-search")({ ...f, input: input.allowList === undefined ? input : without(input, "allowList") })) as { hits: { rowId: bigint }[] };
  if (input.allowList === undefined) return plain;
  const allow = new Set(input.allowList);
  return { hits: plain.hits.filter((h) => allow.has(String(h.rowId))) };
};

const without = <T extends object>(o: T, key: keyof T): T => {
  const copy = { ...o };
  delete copy[key];
  return copy;
};

// ---- the mutants -------------------------------------------------------------------------------

const C = "container/invalid/";
const frame = (name: string, repair: (b: Uint8Array) => Uint8Array, killer: string): Mutant => ({ name, operations: { "decode-frame": onRepaired("decode-frame", repair) }, killer });
const cacheEntry = (name: string, repair: (b: Uint8Array) => Uint8Array, killer: string): Mutant => ({ name, operations: { "decode-cache-entry": onRepaired("decode-cache-entry", repair) }, killer });

/** Every mutant and the case that kills it. */
export const MUTANTS: readonly Mutant[] = [
  // container frame
  frame("frame: section CRCs not checked", resealSections, `${C}section-checksum-mismatch`),
  frame("frame: header CRC not checked", resealHeader, `${C}header-checksum-mismatch`),
  frame("frame: trailing bytes accepted", (b) => (b.length >= 40 ? b.subarray(0, Math.min(b.length, Number(new DataView(b.buffer, b.byteOffset).getBigUint64(32, true)))) : b), `${C}trailing-bytes`),
  frame("frame: flags ignored", headerEdit((v) => v.setUint32(8, 0, true)), `${C}flags-set`),
  frame("frame: major version ignored", headerEdit((v) => v.setUint16(4, 1, true)), `${C}unsupported-version`),
  frame("frame: reserved header bytes ignored", headerEdit((_v, b) => (b.fill(0, 22, 24), b.fill(0, 40, 64))), `${C}reserved-nonzero`),
  frame(
    "frame: type-name padding ignored",
    headerEdit((v, b) => {
      const n = v.getUint16(20, true);
      if (64 + n <= b.length) b.fill(0, 64 + n, Math.min(b.length, align(64 + n, 8)));
    }),
    `${C}type-name-padding-nonzero`,
  ),
  frame(
    "frame: type-name characters not checked",
    headerEdit((v, b) => {
      const n = v.getUint16(20, true);
      for (let i = 64; i < Math.min(b.length, 64 + n); i++) if (!/[A-Za-z0-9._:-]/.test(String.fromCharCode(b[i]!))) b[i] = 0x78;
    }),
    `${C}bad-type-name`,
  ),
  frame(
    "frame: section-entry reserved bytes ignored",
    (b) => {
      const end = tableEnd(b);
      if (end === undefined) return b;
      const count = new DataView(b.buffer, b.byteOffset).getUint32(24, true);
      for (let at = end - 32 * count; at < end; at += 32) (b.fill(0, at + 5, at + 8), b.fill(0, at + 28, at + 32));
      return resealHeader(b);
    },
    `${C}section-reserved-nonzero`,
  ),
  frame(
    "frame: padding between sections not checked",
    (b) => {
      const end = tableEnd(b);
      if (end === undefined) return b;
      const v = new DataView(b.buffer, b.byteOffset);
      let prev = end;
      for (let at = end - 32 * v.getUint32(24, true); at < end; at += 32) {
        const off = Number(v.getBigUint64(at + 8, true));
        if (off > prev && off <= b.length) b.fill(0, prev, off);
        prev = Math.max(prev, off + Number(v.getBigUint64(at + 16, true)));
      }
      return b;
    },
    `${C}nonzero-padding`,
  ),
  { name: "frame: last section dropped from the result", operations: { "decode-frame": onOutput("decode-frame", (v) => ({ ...(v as object), sections: (v as { sections: unknown[] }).sections.slice(0, -1) })) }, killer: "container/valid/base-three-sections" },
  { name: "frame: CRC reported as a number", operations: { "decode-frame": onOutput("decode-frame", (v) => ({ ...(v as object), sections: (v as { sections: { crc32: string }[] }).sections.map((s) => ({ ...s, crc32: Number.parseInt(s.crc32, 16) })) })) }, killer: "container/valid/base-three-sections" },

  // cache entries
  cacheEntry("cache: section CRCs not checked", resealSections, "cache/invalid/section-checksum-mismatch"),
  cacheEntry("cache: newer codec version accepted", reframe({ kindVersion: testVectorsCodec.version }), "cache/invalid/newer-codec-version"),
  cacheEntry("cache: type name not checked", reframe({ typeName: testVectorsCodec.typeName }), "cache/invalid/wrong-type-name"),
  cacheEntry("cache: frame kind not checked", reframe({ kind: CACHE_ENTRY_KIND }), "cache/invalid/foreign-kind"),
  cacheEntry("cache: unknown meta members ignored", reframe({ json: (_id, m) => ({ dims: m.dims, id: m.id }) }), "cache/invalid/meta-unknown-field"),

  // artifact
  {
    name: "artifact: last row of each partition dropped",
    operations: { "read-artifact": onOutput("read-artifact", (v) => ({ ...(v as object), partitions: (v as { partitions: unknown[][] }).partitions.map((rows) => rows.slice(0, -1)) })) },
    killer: "artifact/valid/single-bucket-one-range-per-partition",
  },
  { name: "artifact: manifest version not checked", operations: { "read-artifact": onManifest("read-artifact", (m) => (m.version = 1)) }, killer: "artifact/invalid/manifest-unsupported-version" },
  { name: "artifact: bucket/ranges file CRCs not checked", operations: { "read-artifact": onManifest("read-artifact", (m, dir) => trustFiles(m, dir, { size: false, crc: true })) }, killer: "artifact/invalid/bucket-bad-checksum" },
  { name: "artifact: file sizes not checked", operations: { "read-artifact": onManifest("read-artifact", (m, dir) => trustFiles(m, dir, { size: true, crc: false })) }, killer: "artifact/invalid/bucket-size-mismatch" },
  { name: "artifact: total_rows not checked", operations: { "read-artifact": onManifest("read-artifact", (m) => (m.total_rows = ((m.buckets as { num_rows: number }[] | undefined) ?? []).reduce((n, b) => n + b.num_rows, 0))) }, killer: "artifact/invalid/row-total-mismatch" },
  { name: "artifact: validate-artifact reports nothing", operations: { "validate-artifact": async () => ({ codes: [] }) }, killer: "artifact/valid/validate-range-gap" },
  { name: "artifact: validate-artifact stops at the first problem", operations: { "validate-artifact": onOutput("validate-artifact", (v) => ({ codes: (v as { codes: string[] }).codes.slice(0, 1) })) }, killer: "artifact/valid/validate-two-problems" },

  // ivf index, state and partition entries
  {
    // Modelled by padding the file to frame_length with zeros: what a reader sees when it never compares the sizes.
    name: "ivf: known file size not compared with frame_length",
    operations: {
      "ivf-open-index": onRepaired("ivf-open-index", (b) => {
        if (b.length < 40) return b;
        const want = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(32, true));
        if (want <= b.length || want > 1 << 24) return b;
        const padded = new Uint8Array(want);
        padded.set(b);
        return padded;
      }),
    },
    killer: "ivf/invalid/ivf-index-shorter-than-frame-length",
  },
  {
    name: "ivf: unknown metadata members ignored",
    operations: { "ivf-open-index": onRepaired("ivf-open-index", reframe({ json: (id, m) => (id === 0 ? Object.fromEntries(Object.entries(m).filter(([k]) => ["dim", "distance", "identity", "numPartitions", "numRows", "rawVectors", "quantizer"].includes(k))) : m) })) },
    killer: "ivf/invalid/ivf-index-metadata-unknown-field",
  },
  { name: "ivf: index frame kind not checked", operations: { "ivf-open-index": onRepaired("ivf-open-index", headerEdit((v) => v.setUint32(12, 32, true))) }, killer: "ivf/invalid/ivf-index-wrong-kind" },
  { name: "ivf: state section CRCs not checked", operations: { "ivf-decode-state": onRepaired("ivf-decode-state", resealSections) }, killer: "ivf/invalid/ivf-state-checksum-mismatch" },
  { name: "ivf: partition entry section CRCs not checked", operations: { "ivf-decode-partition": onRepaired("ivf-decode-partition", resealSections) }, killer: "ivf/invalid/ivf-partition-checksum-mismatch" },
  { name: "ivf: partition entry type name not checked (read as flat)", operations: { "ivf-decode-partition": onRepaired("ivf-decode-partition", reframe({ typeName: "IvfPartitionFlat" })) }, killer: "ivf/invalid/ivf-partition-unknown-type" },
  { name: "ivf: partition row ids dropped", operations: { "ivf-decode-partition": onOutput("ivf-decode-partition", (v) => ({ ...(v as object), rowIds: (v as { rowIds: unknown[] }).rowIds.slice(1) })) }, killer: "ivf/valid/ivf-partition-flat" },
  { name: "ivf: raw-vector locations omitted from the state summary", operations: { "ivf-decode-state": onOutput("ivf-decode-state", (v) => ({ ...(v as object), partitions: (v as { partitions: object[] }).partitions.map((p) => without(p as { raw?: unknown }, "raw")) })) }, killer: "ivf/valid/ivf-state-raw-vectors" },

  // ivf search
  { name: "search: nprobes ignored (every partition probed)", operations: { "ivf-search": searchMutant({ options: (o, s) => ({ ...o, nprobes: s.metadata.numPartitions }) }) }, killer: "ivf/valid/search-flat-nprobes-three" },
  { name: "search: one partition probed", operations: { "ivf-search": searchMutant({ options: (o) => ({ ...o, nprobes: 1 }) }) }, killer: "ivf/valid/search-flat-nprobes-three" },
  { name: "search: nprobes - 1 partitions probed", operations: { "ivf-search": searchMutant({ options: (o) => ({ ...o, nprobes: Math.max(1, (o.nprobes ?? 1) - 1) }) }) }, killer: "ivf/valid/search-sq-nprobes-three" },
  { name: "search: allow-list ignored", operations: { "ivf-search": searchMutant({ options: (o) => without(o, "allowList") }) }, killer: "ivf/valid/search-sq-allow-list-empties-probes" },
  { name: "search: allow-list applied after the top k", operations: { "ivf-search": allowListAfterTopK }, killer: "ivf/valid/search-flat-allow-list" },
  { name: "search: refine ignored", operations: { "ivf-search": searchMutant({ options: (o) => without(o, "refineFactor") }) }, killer: "ivf/valid/search-pq-refine" },
  { name: "search: refine over k candidates only (refineFactor 1)", operations: { "ivf-search": searchMutant({ options: (o) => (o.refineFactor === undefined ? o : { ...o, refineFactor: 1 }) }) }, killer: "ivf/valid/search-pq-refine" },
  {
    name: "search: ties broken by descending row id",
    operations: {
      "ivf-search": searchMutant({
        options: (o) => ({ ...o, k: (o.k ?? 10) + 16 }),
        hits: (hits, o) => [...hits].sort((a, b) => a.distance - b.distance || (a.id < b.id ? 1 : -1)).slice(0, o.k),
      }),
    },
    killer: "ivf/valid/search-flat-ties",
  },
  { name: "search: distance type ignored (always l2)", operations: { "ivf-search": searchMutant({ state: (s) => ({ ...s, metadata: { ...s.metadata, distance: "l2" }, quantizer: { ...s.quantizer, distance: "l2" } }) }) }, killer: "ivf/valid/search-flat-dot" },
  { name: "search: probe ties broken by higher partition number", operations: { "ivf-search": searchMutant({ reversePartitions: true }) }, killer: "ivf/valid/search-flat-probe-tie" },
  {
    name: "search: refine reads raw row groups without verifying them",
    operations: { "ivf-search-file": async (f) => ref("ivf-search-file")({ ...f, bin: f.bin === undefined ? undefined : await resealRowGroups(f.bin.slice()) } as OperationFixture) },
    killer: "ivf/invalid/ivf-search-file-row-group-checksum-mismatch",
  },
  { name: "search: k capped at 10", operations: { "ivf-search": searchMutant({ options: (o) => ({ ...o, k: Math.min(o.k ?? 10, 10) }) }) }, killer: "ivf/valid/search-rabitq-k-above-probed-rows" },
];

