import { type Table, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  FlatReader,
  QuiverFormatError,
  decodeArrowFooter,
  decodeArrowMessage,
  decodeFrame,
  encodeFrame,
  readArrowSection,
  walkArrowStream,
} from "@quiver/format";
import * as F from "../../../fixtures/_gen/internal/arrow-forms.js";
import { prng } from "../../../fixtures/_gen/internal/prng.js";
import { runFuzzWorker } from "./fuzz/deadline-runner.js";

/** A frame with one arrow-ipc-stream section: CRCs are computed, so only the Arrow walker can object. */
function sealed(bytes: Uint8Array): Uint8Array {
  return encodeFrame({ kind: 1, kindVersion: 1, sections: [{ id: 1, encoding: "arrow-ipc-stream", bytes }] });
}

function codeOf(f: () => unknown): { code: string; stage: string } | "ok" {
  try {
    f();
    return "ok";
  } catch (e) {
    if (!(e instanceof QuiverFormatError)) throw e;
    return { code: e.code, stage: e.stage };
  }
}

function json(t: Table): string {
  return JSON.stringify(t.toArray().map((r: { toJSON(): unknown }) => r.toJSON()), (_k, v) => (typeof v === "bigint" ? String(v) : v));
}

describe("Arrow IPC stream sections: the forms other producers write", () => {
  it("an Arrow IPC file in a stream section is ARROW_FILE_NOT_STREAM, even with a footer that would make apache-arrow spin", () => {
    const file = F.fileForm();
    expect(codeOf(() => readArrowSection(decodeFrame(sealed(file)), 1))).toEqual({ code: "ARROW_FILE_NOT_STREAM", stage: "payload" });
    // The issue-8 footer rewrite (a u32 of the footer set to 2^30): rejected before any decoding.
    const hostile = file.slice();
    const v = new DataView(hostile.buffer);
    const footerLen = v.getInt32(hostile.length - 10, true);
    v.setUint32(hostile.length - 10 - footerLen + 8, 2 ** 30, true);
    expect(codeOf(() => readArrowSection(decodeFrame(sealed(hostile)), 1))).toEqual({ code: "ARROW_FILE_NOT_STREAM", stage: "payload" });
  });

  it("a rewritten flatbuffer vector length in a re-sealed section is BAD_ARROW_IPC (apache-arrow alone loops on it)", () => {
    const s = F.plainStream();
    const meta = s.subarray(8, 8 + new DataView(s.buffer, s.byteOffset).getInt32(4, true));
    const r = new FlatReader(meta, "t");
    const schema = r.tableField(r.root(), 2)!;
    const fields = r.deref(r.field(schema, 1)!);
    for (const value of [2 ** 30, 2 ** 31 - 1, 0xffffffff, 3]) {
      const b = s.slice();
      new DataView(b.buffer).setUint32(8 + fields, value, true);
      expect(codeOf(() => readArrowSection(decodeFrame(sealed(b)), 1))).toEqual({ code: "BAD_ARROW_IPC", stage: "payload" });
    }
  });

  it("accepts dictionary deltas, nullable children without nulls, nulls, zero-row batches and unions, equal to apache-arrow's own reading, zero-copy", () => {
    for (const [name, bytes] of Object.entries({
      delta: F.dictionaryDeltaStream(),
      nullableChildren: F.nullableChildrenStream(),
      nulls: F.nullsStream(),
      zeroRows: F.zeroRowBatchStream(),
      union: F.unionStream(),
      everyType: F.everyTypeStream(prng(7), 50),
    })) {
      const frame = sealed(bytes);
      const t = readArrowSection(decodeFrame(frame), 1);
      expect(json(t), name).toBe(json(tableFromIPC(bytes)));
      const firstCol = t.getChildAt(0)!.data[0]!;
      if (firstCol.values !== undefined && firstCol.values.byteLength > 0) expect(firstCol.values.buffer, name).toBe(frame.buffer);
    }
    expect(walkArrowStream(F.dictionaryDeltaStream()).dictionaryBatches).toBe(2);
    expect(walkArrowStream(F.zeroRowBatchStream()).batchRows).toEqual([2, 0]);
  });

  it("rejects compressed bodies (LZ4_FRAME, ZSTD) with ARROW_COMPRESSED_BODY", () => {
    for (const c of ["lz4", "zstd"] as const) {
      expect(codeOf(() => readArrowSection(decodeFrame(sealed(F.compressedStream(c))), 1))).toEqual({ code: "ARROW_COMPRESSED_BODY", stage: "payload" });
    }
  });

  it("rejects pre-V5 metadata and pre-0.15 framing with ARROW_UNSUPPORTED_METADATA", () => {
    expect(codeOf(() => readArrowSection(decodeFrame(sealed(F.withMetadataVersion(F.plainStream(), 3))), 1))).toEqual({ code: "ARROW_UNSUPPORTED_METADATA", stage: "payload" });
    expect(codeOf(() => readArrowSection(decodeFrame(sealed(F.legacyFramingStream(F.plainStream()))), 1))).toEqual({ code: "ARROW_UNSUPPORTED_METADATA", stage: "payload" });
  });

  it("rejects a dictionary index outside its dictionary, a bad union type id and offsets past the data", () => {
    // Dictionary: first batch's index 1 -> 9 (only 2 values).
    const d = F.dictionaryDeltaStream();
    const msgs = F.messagePositions(d);
    const firstBatch = msgs[2]!;
    const body = firstBatch.pos + 8 + firstBatch.metaLength;
    const bad = d.slice();
    new DataView(bad.buffer).setInt32(body + 4, 9, true);
    expect(codeOf(() => walkArrowStream(bad))).toEqual({ code: "BAD_ARROW_IPC", stage: "payload" });
    // Union: the first type id byte of the sparse column -> 5.
    const u = F.unionStream();
    const um = F.messagePositions(u)[1]!;
    const ub = u.slice();
    ub[um.pos + 8 + um.metaLength] = 5;
    expect(codeOf(() => walkArrowStream(ub))).toEqual({ code: "BAD_ARROW_IPC", stage: "payload" });
  });

  it("the walker itself only raises QuiverFormatError on random metadata bytes", () => {
    const rand = prng(99);
    for (let i = 0; i < 3000; i++) {
      const n = Math.floor(rand() * 200);
      const b = Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));
      for (const f of [() => decodeArrowMessage(b), () => decodeArrowFooter(b), () => walkArrowStream(b)]) {
        const r = codeOf(f);
        if (r !== "ok") expect(typeof r.code).toBe("string");
      }
    }
  });
});

describe("re-sealed mutations of Arrow stream sections (every allowed type), each case under a deadline", () => {
  const soak = process.env["QUIVER_SOAK"] === "1";
  const script = new URL("./fuzz/arrow-walker.worker.ts", import.meta.url).pathname;
  const runs = soak ? Array.from({ length: 10 }, (_, k) => ({ seed: 1000 + k, cases: 100_000 })) : [{ seed: 42, cases: 10_000 }];
  for (const { seed, cases } of runs) {
    it(`seed ${seed}: ${cases} cases: decoded or QuiverFormatError, and every value of a decoded table reads`, { timeout: soak ? 3_600_000 : 120_000 }, async () => {
      const report = await runFuzzWorker(script, [String(seed), String(cases)]);
      expect(report.other).toEqual([]);
      expect(report.cases).toBe(cases);
      expect(Object.keys(report.typed).filter((k) => k.includes("apache-arrow"))).toEqual([]);
      // Both outcomes happen: the mutator reaches accepted bodies and the walker's rejections.
      expect(report.accepted).toBeGreaterThan(0);
      expect(report.typed["BAD_ARROW_IPC"]).toBeGreaterThan(0);
    });
  }
});
