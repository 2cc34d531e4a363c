/**
 * The Parquet decoder process (started by readers/parquet.ts through parquet-child.mjs): hyparquet
 * runs here, not in the caller's process, because some corrupt files make it allocate without
 * bound and abort V8 ("Fatal JavaScript invalid size error"), which no try/catch survives. The
 * parent sends one JSON request per line on stdin; each reply on stdout is a u32 length, a JSON
 * header and, for rows, the raw values (f64 per value, then u64 ids as decimal strings in the
 * header). The parent checks everything it receives; this process only decodes.
 */
import { open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parquetMetadataAsync, parquetRead, parquetSchema } from "hyparquet";

const [file, column, idColumn] = process.argv.slice(2) as [string, string, string];
const fh = await open(file, "r");
const size = (await fh.stat()).size;
const buf = {
  byteLength: size,
  slice: async (s: number, e?: number): Promise<ArrayBuffer> => {
    const end = Math.min(size, e ?? size);
    const b = Buffer.alloc(Math.max(0, end - s));
    if (b.length > 0) await fh.read(b, 0, b.length, s);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  },
};

function send(header: unknown, payload?: Uint8Array): void {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeUInt32LE(h.length, 0);
  len.writeUInt32LE(payload?.byteLength ?? 0, 4);
  process.stdout.write(len);
  process.stdout.write(h);
  if (payload !== undefined && payload.byteLength > 0) process.stdout.write(payload);
}

let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>> | undefined;
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  try {
    const req = JSON.parse(line) as { op: "meta" } | { op: "rows"; start: number; count: number };
    if (req.op === "meta") {
      metadata = await parquetMetadataAsync(buf);
      send({ ok: true, numRows: Number(metadata.num_rows), columns: parquetSchema(metadata).children.map((c) => String(c.element.name)) });
      continue;
    }
    let rows: unknown[][] = [];
    await parquetRead({
      file: buf, metadata: metadata!, columns: idColumn === "" ? [column] : [column, idColumn],
      rowStart: req.start, rowEnd: req.start + req.count, rowFormat: "array",
      onComplete: (r: unknown[][]) => { rows = r; },
    });
    // shape per row: values length (or -1 when not an array of numbers), then the values as f64
    const lengths: number[] = [];
    let total = 0;
    for (const r of rows) {
      const v = r[0];
      const ok = Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array;
      const n = ok ? (v as ArrayLike<unknown>).length : -1;
      lengths.push(n);
      if (n > 0) total += n;
    }
    const values = new Float64Array(total);
    let at = 0;
    const kinds: string[] = [];
    for (const r of rows) {
      const v = r[0];
      if (!(Array.isArray(v) || v instanceof Float32Array || v instanceof Float64Array)) {
        kinds.push(v === null || v === undefined ? "null" : typeof v);
        continue;
      }
      let bad = "";
      for (let j = 0; j < (v as ArrayLike<unknown>).length; j++) {
        const x = (v as ArrayLike<unknown>)[j];
        if (typeof x === "number") values[at++] = x;
        else {
          bad = x === null || x === undefined ? "null" : typeof x;
          values[at++] = Number.NaN;
        }
      }
      kinds.push(bad);
    }
    const ids = idColumn === "" ? undefined : rows.map((r) => (typeof r[1] === "bigint" || typeof r[1] === "number" ? String(r[1]) : null));
    send({ ok: true, rows: rows.length, lengths, kinds, ids }, new Uint8Array(values.buffer));
  } catch (e) {
    send({ ok: false, message: e instanceof Error ? e.message.slice(0, 200) : "unreadable" });
  }
}
await fh.close();
