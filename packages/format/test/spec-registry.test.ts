import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FORMAT_ERROR_CODES, FRAME_HEADER, FRAME_MAGIC, type Layout, SECTION_ENCODINGS, SECTION_ENTRY, crc32, xxh3_64 } from "@quiver/format";

/**
 * The spec and the code say the same thing: the tables of spec/container.md against the layout
 * descriptions, and spec/registry.csv + spec/error-codes.csv against the code's registries.
 */
const specDir = fileURLToPath(new URL("../../../spec/", import.meta.url));
const containerMd = readFileSync(`${specDir}container.md`, "utf8");

/** Rows of the first markdown table after the `## <heading>` line, as trimmed cells (header row dropped). */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`no heading "## ${heading}"`);
  let i = start + 1;
  while (i < lines.length && !lines[i]!.startsWith("|")) {
    if (lines[i]!.startsWith("## ")) throw new Error(`no table under "## ${heading}"`);
    i++;
  }
  const rows: string[][] = [];
  for (; i < lines.length && lines[i]!.startsWith("|"); i++) {
    rows.push(
      lines[i]!
        .trim()
        .slice(1, -1)
        .split("|")
        .map((c) => c.trim()),
    );
  }
  // Drop the header row and the --- separator.
  return rows.slice(2);
}

/** Parse a CSV with a header row and no quoted fields (the registries are written that way). */
function readCsv(name: string): Record<string, string>[] {
  const [head, ...rest] = readFileSync(`${specDir}${name}`, "utf8").trim().split("\n");
  const cols = head!.split(",");
  return rest.map((line) => {
    const cells = line.split(",");
    const row: Record<string, string> = Object.create(null);
    cols.forEach((c, i) => (row[c] = i === cols.length - 1 ? cells.slice(i).join(",") : cells[i]!));
    return row;
  });
}

function expectTableMatchesLayout(heading: string, layout: Layout): void {
  const rows = tableAfter(containerMd, heading);
  expect(rows.map((r) => r.length)).toEqual(layout.fields.map(() => 6));
  expect(rows).toEqual(layout.fields.map((f) => [`\`${f.name}\``, String(f.offset), String(f.size), f.type, f.meaning, f.constraint]));
}

describe("spec/container.md tables", () => {
  it("the header table is FRAME_HEADER", () => expectTableMatchesLayout("Header", FRAME_HEADER));

  it("the section-table table is SECTION_ENTRY", () => expectTableMatchesLayout("Section table", SECTION_ENTRY));

  it("the section encodings table is SECTION_ENCODINGS", () => {
    const rows = tableAfter(containerMd, "Section encodings");
    expect(rows.map((r) => [Number(r[0]), r[1], Number(r[2])])).toEqual(
      Object.entries(SECTION_ENCODINGS).map(([name, e]) => [e.code, name, e.elementSize]),
    );
  });

  it("the order-of-checks table names only registered codes and covers every frame-level code", () => {
    const rows = tableAfter(containerMd, "Order of checks").filter((r) => r[2] !== "");
    const codes = rows.map((r) => r[2]!.replaceAll("`", ""));
    for (const c of codes) expect(FORMAT_ERROR_CODES).toContain(c);
    const frameCodes = [
      "TRUNCATED", "BAD_MAGIC", "UNSUPPORTED_VERSION", "UNSUPPORTED_FLAGS", "RESERVED_NONZERO", "LIMIT_EXCEEDED",
      "BAD_FRAME_LENGTH", "TRAILING_BYTES", "HEADER_CHECKSUM_MISMATCH", "CHECKSUM_MISMATCH", "BAD_TYPE_NAME",
      "UNKNOWN_SECTION_ENCODING", "DUPLICATE_SECTION_ID", "SECTION_OUT_OF_BOUNDS", "SECTION_MISALIGNED", "SECTION_UNSORTED",
      "SECTION_OVERLAP", "SECTION_GAP", "SECTION_LENGTH_NOT_MULTIPLE", "WRONG_KIND", "WRONG_TYPE_NAME", "UNSUPPORTED_KIND_VERSION",
      "UNKNOWN_CHECKSUM_ALGORITHM", "CHECKSUM_ALGORITHM_NOT_ALLOWED", "WRONG_SECTION_CHECKSUM",
    ];
    expect([...new Set(codes)].sort()).toEqual([...frameCodes].sort());
  });

  it("states the CRC-32 check value the implementation computes", () => {
    expect(containerMd).toContain("`0xCBF43926`");
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("states the XXH3-64 test vectors the implementation computes", () => {
    expect(containerMd).toContain("`0x2D06800538D394C2`");
    expect(containerMd).toContain("`0x72DCB18B67A17DFF`");
    expect(xxh3_64(new Uint8Array(0))).toBe(0x2d06800538d394c2n);
    expect(xxh3_64(new TextEncoder().encode("123456789"))).toBe(0x72dcb18b67a17dffn);
  });
});

describe("spec/registry.csv and spec/error-codes.csv", () => {
  const registry = readCsv("registry.csv");
  const errorCodes = readCsv("error-codes.csv");

  it("every code in FORMAT_ERROR_CODES is in error-codes.csv, once", () => {
    const listed = errorCodes.map((r) => r["code"]);
    for (const code of FORMAT_ERROR_CODES) expect(listed.filter((c) => c === code), code).toHaveLength(1);
    // The CSV is append-only and shared: no code twice, every row has a meaning.
    expect(new Set(listed).size).toBe(listed.length);
    for (const r of errorCodes) expect(r["meaning"]!.length, r["code"]).toBeGreaterThan(0);
  });

  it("the encoding rows are exactly SECTION_ENCODINGS", () => {
    const rows = registry.filter((r) => r["category"] === "encoding").map((r) => [r["name"], Number(r["code"])]);
    expect(rows.sort()).toEqual(Object.entries(SECTION_ENCODINGS).map(([name, e]) => [name, e.code]).sort());
  });

  it("the QVRF magic row is FRAME_MAGIC as a little-endian u32", () => {
    const magic = registry.find((r) => r["category"] === "magic" && r["name"] === "QVRF");
    expect(magic).toBeDefined();
    expect(Number(magic!["code"])).toBe(new DataView(FRAME_MAGIC.buffer).getUint32(0, true));
    expect(new TextDecoder().decode(FRAME_MAGIC)).toBe("QVRF");
  });

  it("kinds and magics have unique codes; quiver.test is kind 1", () => {
    for (const category of ["kind", "magic", "encoding"]) {
      const codes = registry.filter((r) => r["category"] === category).map((r) => Number(r["code"]));
      expect(new Set(codes).size, category).toBe(codes.length);
    }
    expect(registry.find((r) => r["category"] === "kind" && r["name"] === "quiver.test")?.["code"]).toBe("1");
  });

  it("spec/README.md renders error codes that are all in the CSV, including every format code", () => {
    const readme = readFileSync(`${specDir}README.md`, "utf8");
    const rendered = tableAfter(readme, "Error codes").map((r) => r[0]!.replaceAll("`", ""));
    const listed = new Set(errorCodes.map((r) => r["code"]));
    for (const c of rendered) expect(listed.has(c), c).toBe(true);
    for (const c of FORMAT_ERROR_CODES) expect(rendered).toContain(c);
  });
});
