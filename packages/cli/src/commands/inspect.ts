/** `quiver inspect <file|dir> [--sections] [--json]`: what a Quiver object is, then its frame sections. */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { type ArtifactManifest, MANIFEST_FILE, readManifest, validateArtifact } from "@quiver/artifact";
import { MODEL_KIND, decodeModelFile } from "@quiver/build";
import { CACHE_ENTRY_KIND, DISK_ENTRY_HEADER_SIZE, DISK_ENTRY_MAGIC, parseDiskEntryHeader } from "@quiver/cache";
import { FRAME_HEADER_SIZE, type FrameHeader, QuiverFormatError, crc32, frameTableLength, inspectFrameHeader, isQuiverFormatError, xxh3_64 } from "@quiver/format";
import { IVF_INDEX_KIND, readIvfIndexState } from "@quiver/ivf";
import { LocalDirectoryStore, QuiverStoreError } from "@quiver/store";
import { canonicalJson } from "@quiver/conformance";
import type { CliIo } from "../io.js";

/** What `inspect --json` prints. */
export interface FrameInspection {
  readonly file: string;
  readonly fileLength: string;
  readonly header: {
    readonly versionMajor: number;
    readonly versionMinor: number;
    readonly kind: number;
    readonly kindVersion: number;
    readonly typeName: string;
    readonly sectionCount: number;
    readonly tableEnd: string;
    readonly frameLength: string;
  };
  readonly sections: readonly {
    readonly id: number;
    readonly encoding: string;
    readonly offset: string;
    readonly length: string;
    readonly crc32: string;
    /** "ok", "mismatch", or "truncated" when the file ends inside the section. */
    readonly crcCheck: "ok" | "mismatch" | "truncated";
  }[];
  /** Bytes after frame_length (a frame is normally the whole file). */
  readonly trailingBytes: string;
}

/** Options of `quiver inspect`. */
export interface InspectFlags {
  readonly json?: boolean;
  readonly sections?: boolean;
}

/**
 * Recognise the Quiver object at `file` and print a summary first (index, model file, cache entry
 * frame, disk cache entry, artifact directory, or any other container frame), the section table
 * with `--sections`, everything as JSON with `--json`. 1 when the object is malformed.
 */
export async function inspectCommand(file: string, flags: InspectFlags, io: CliIo): Promise<number> {
  const abs = resolve(io.cwd, file);
  if (!existsSync(abs)) throw new QuiverStoreError("NOT_FOUND", file, "no such file or directory");
  if (statSync(abs).isDirectory()) return inspectDirectory(file, abs, flags, io);
  const fd = openSync(abs, "r");
  try {
    const fileLength = fstatSync(fd).size;
    // Ranged reads, as a reader on an object store would do: 64 bytes, then the table, then one section at a time.
    const readAt = (offset: number, length: number): Uint8Array => {
      const n = Math.max(0, Math.min(length, fileLength - offset));
      const buf = new Uint8Array(n);
      let got = 0;
      while (got < n) got += readSync(fd, buf, got, n - got, offset + got);
      return buf;
    };
    const first = readAt(0, Math.max(FRAME_HEADER_SIZE, DISK_ENTRY_HEADER_SIZE));
    let frameBase = 0;
    let diskEntry: Record<string, unknown> | undefined;
    if (DISK_ENTRY_MAGIC.every((b, i) => first[i] === b)) {
      try {
        const h = parseDiskEntryHeader(first.subarray(0, DISK_ENTRY_HEADER_SIZE), fileLength);
        const key = new TextDecoder().decode(readAt(DISK_ENTRY_HEADER_SIZE, Math.min(h.keyLength, 4096)));
        diskEntry = { keyLength: h.keyLength, key: key.length > 200 ? `${key.slice(0, 200)}…` : key, frameLength: String(h.frameLength) };
        frameBase = DISK_ENTRY_HEADER_SIZE + h.keyLength;
      } catch (e) {
        return printFailure(file, e, flags, io);
      }
    }
    const read = (offset: number, length: number): Uint8Array => readAt(frameBase + offset, length);
    let header: FrameHeader;
    try {
      const { tableEnd } = frameTableLength(read(0, FRAME_HEADER_SIZE));
      header = inspectFrameHeader(read(0, tableEnd));
    } catch (e) {
      return printFailure(file, e, flags, io);
    }
    const frame = describeFrame(file, fileLength - frameBase, header, read);
    let summary: ObjectSummary;
    try {
      summary = diskEntry !== undefined ? { object: "disk cache entry", ...diskEntry, ...entrySummary(header) } : await summarize(abs, header, frameBase);
    } catch (e) {
      return printFailure(file, e, flags, io);
    }
    const ok = frame.sections.every((s) => s.crcCheck === "ok");
    if (flags.json === true) io.stdout(canonicalJson({ ...frame, summary, valid: ok }));
    else {
      io.stdout(formatSummary(file, summary));
      if (flags.sections === true) io.stdout(`\n${formatInspection(frame)}`);
      else if (!ok) io.stdout(`  sections: ${frame.sections.filter((s) => s.crcCheck !== "ok").length} of ${frame.sections.length} fail their CRC check (see --sections)\n`);
    }
    return ok ? 0 : 1;
  } finally {
    closeSync(fd);
  }
}

/** A recognised object's summary (JSON-safe values). */
type ObjectSummary = { readonly object: string } & Record<string, unknown>;

function entrySummary(h: FrameHeader): Record<string, unknown> {
  return h.kind === CACHE_ENTRY_KIND ? { entryTypeName: h.typeName, codecVersion: h.kindVersion } : { kind: h.kind, typeName: h.typeName };
}

async function summarize(abs: string, h: FrameHeader, base: number): Promise<ObjectSummary> {
  if (base === 0 && h.kind === IVF_INDEX_KIND) {
    const store = new LocalDirectoryStore(dirname(abs));
    const state = await readIvfIndexState(store, basename(abs));
    const m = state.metadata;
    const rows = state.partitions.map((p) => p.rows);
    return {
      object: "ivf index",
      dim: m.dim,
      distanceType: m.distance,
      quantizer: m.quantizer.kind,
      residual: m.quantizer.residual,
      codeWidth: m.quantizer.codeWidth,
      params: { ...m.quantizer.params },
      numPartitions: m.numPartitions,
      numRows: m.numRows,
      rawVectors: m.rawVectors,
      fileBytes: state.fileSize,
      partitionRows: { min: Math.min(...rows), max: Math.max(...rows), mean: Number((m.numRows / m.numPartitions).toFixed(1)), empty: rows.filter((r) => r === 0).length },
      rowsPerPartition: rows,
    };
  }
  if (base === 0 && h.kind === MODEL_KIND) {
    const model = decodeModelFile(new Uint8Array(readFileSync(abs)));
    return {
      object: "trained model",
      dim: model.dim,
      distanceType: model.distance,
      numPartitions: model.numPartitions,
      quantizer: model.quantizer === undefined ? null : { kind: model.quantizer.kind, residual: model.quantizer.residual, params: { ...model.quantizer.params }, arrays: Object.fromEntries(Object.entries(model.quantizer.arrays).map(([k, a]) => [k, a.length])) },
    };
  }
  if (h.kind === CACHE_ENTRY_KIND) return { object: "cache entry", ...entrySummary(h) };
  return { object: "container frame", kind: h.kind, typeName: h.typeName, kindVersion: h.kindVersion };
}

async function inspectDirectory(file: string, abs: string, flags: InspectFlags, io: CliIo): Promise<number> {
  if (!existsSync(join(abs, MANIFEST_FILE))) {
    throw new QuiverFormatError("ARTIFACT_UNCOMMITTED", `${file} is a directory without ${MANIFEST_FILE}: not a committed partition artifact`, { stage: "manifest" });
  }
  const store = new LocalDirectoryStore(abs);
  let m: ArtifactManifest;
  try {
    m = await readManifest(store, "");
  } catch (e) {
    return printFailure(file, e, flags, io);
  }
  const problems = await validateArtifact(store, "");
  const summary = {
    object: "partition artifact",
    format: `${m.format} ${m.version}`,
    numPartitions: m.num_partitions,
    totalRows: m.total_rows,
    payloadSchema: m.payload_schema.map((f) => `${f.name}: ${f.type}`),
    bucketPolicy: { kind: m.bucket_policy.kind, numBuckets: m.bucket_policy.num_buckets },
    buckets: m.buckets.length,
    ranges: m.ranges.num_ranges,
    rangesTableBytes: m.ranges.byte_size,
    bucketBytes: m.buckets.reduce((s, b) => s + b.byte_size, 0),
    problems: problems.length,
  };
  if (flags.json === true) io.stdout(canonicalJson({ file, summary, buckets: m.buckets, problems }));
  else {
    io.stdout(formatSummary(file, summary));
    if (flags.sections === true) for (const b of m.buckets) io.stdout(`  ${b.path}  ${b.byte_size} bytes  ${b.num_rows} rows\n`);
    for (const p of problems.slice(0, 20)) io.stdout(`  ${p.code}: ${p.message}\n`);
  }
  return problems.length === 0 ? 0 : 1;
}

function printFailure(file: string, e: unknown, flags: InspectFlags, io: CliIo): number {
  if (!isQuiverFormatError(e)) throw e;
  if (flags.json === true) io.stdout(canonicalJson({ error: { code: e.code, stage: e.stage, offset: e.offset ?? null, message: e.message } }));
  else io.stderr(`${file}: ${e.message} (stage ${e.stage}${e.offset === undefined ? "" : `, offset ${e.offset}`})\n`);
  return 1;
}

/** The summary as aligned "key value" lines (arrays longer than 16 are elided; --json has them). */
function formatSummary(file: string, s: ObjectSummary): string {
  const lines = [`${file}: ${s.object}`];
  for (const [k, v] of Object.entries(s)) {
    if (k === "object") continue;
    const text = Array.isArray(v) && v.length > 16 ? `[${v.slice(0, 16).join(", ")}, … ${v.length} in all]` : typeof v === "object" && v !== null ? JSON.stringify(v) : String(v);
    lines.push(`  ${k.padEnd(18)} ${text}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The inspection of a frame whose header and table decoded; `read(offset, length)` fetches one section's bytes. */
export function describeFrame(file: string, fileLength: number, header: FrameHeader, read: (offset: number, length: number) => Uint8Array): FrameInspection {
  return {
    file,
    fileLength: String(fileLength),
    header: {
      versionMajor: header.versionMajor,
      versionMinor: header.versionMinor,
      kind: header.kind,
      kindVersion: header.kindVersion,
      typeName: header.typeName,
      sectionCount: header.sectionCount,
      tableEnd: String(header.tableEnd),
      frameLength: String(header.frameLength),
    },
    sections: header.sections.map((s) => {
      const inside = s.offset + s.length <= fileLength;
      // XXH3-64 frames (cache entries, container 1.1) carry a 64-bit section checksum instead of a CRC-32.
      const matches = (b: Uint8Array): boolean => (s.xxh3 !== undefined ? xxh3_64(b) === s.xxh3 : crc32(b) === s.crc32);
      const crcCheck = !inside ? "truncated" : matches(read(s.offset, s.length)) ? "ok" : "mismatch";
      return { id: s.id, encoding: s.encoding, offset: String(s.offset), length: String(s.length), crc32: hex32(s.crc32), crcCheck };
    }),
    trailingBytes: String(Math.max(0, fileLength - header.frameLength)),
  };
}

/** Human form: header fields, then the section table. */
export function formatInspection(r: FrameInspection): string {
  const h = r.header;
  const lines = [
    `${r.file}: ${r.fileLength} bytes`,
    `  container version  ${h.versionMajor}.${h.versionMinor}`,
    `  kind               ${h.kind} (kind_version ${h.kindVersion})`,
    `  type name          ${JSON.stringify(h.typeName)}`,
    `  frame length       ${h.frameLength}${r.trailingBytes === "0" ? "" : ` (+${r.trailingBytes} trailing bytes)`}`,
    `  table end          ${h.tableEnd}`,
    `  sections           ${h.sectionCount}`,
  ];
  if (r.sections.length > 0) {
    const rows = [["id", "encoding", "offset", "length", "crc32", "check"], ...r.sections.map((s) => [String(s.id), s.encoding, s.offset, s.length, s.crc32, s.crcCheck])];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
    lines.push("");
    for (const [i, row] of rows.entries()) {
      lines.push("  " + row.map((cell, c) => (c === 1 || c === 5 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ").trimEnd());
      if (i === 0) lines.push("  " + widths.map((w) => "-".repeat(w)).join("  "));
    }
  }
  return lines.join("\n") + "\n";
}

function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, "0");
}
