/** `quiver inspect <file> [--json]`: the frame header and section table, with each section's CRC checked. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { FRAME_HEADER_SIZE, type FrameHeader, crc32, frameTableLength, inspectFrameHeader, isQuiverFormatError } from "@quiver/format";
import { canonicalJson } from "@quiver/conformance";
import { type CliIo, UsageError } from "../io.js";

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

/** Print the header and section table; 1 (with code and stage) when the header or table is malformed. */
export async function inspectCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: { json: { type: "boolean", default: false } }, strict: true, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError("inspect <file> [--json]");
  const file = positionals[0]!;
  const fd = openSync(resolve(io.cwd, file), "r");
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
    let header: FrameHeader;
    try {
      const { tableEnd } = frameTableLength(readAt(0, FRAME_HEADER_SIZE));
      header = inspectFrameHeader(readAt(0, tableEnd));
    } catch (e) {
      if (!isQuiverFormatError(e)) throw e;
      if (values.json) io.stdout(canonicalJson({ error: { code: e.code, stage: e.stage, offset: e.offset ?? null, message: e.message } }));
      else io.stderr(`${file}: ${e.message} (stage ${e.stage}${e.offset === undefined ? "" : `, offset ${e.offset}`})\n`);
      return 1;
    }
    const result = describeFrame(file, fileLength, header, (offset, length) => readAt(offset, length));
    io.stdout(values.json ? canonicalJson(result) : formatInspection(result));
    return result.sections.every((s) => s.crcCheck === "ok") ? 0 : 1;
  } finally {
    closeSync(fd);
  }
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
      const crcCheck = !inside ? "truncated" : crc32(read(s.offset, s.length)) === s.crc32 ? "ok" : "mismatch";
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
