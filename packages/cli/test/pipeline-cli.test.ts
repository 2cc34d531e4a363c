import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeNpy, encodeNpyF32 } from "@quiver/build";
import { gaussianMixture } from "@quiver/ivf";
import { type CliIo, runCli } from "@quiver/cli";

async function cli(argv: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: CliIo = { stdout: (c) => void (out += typeof c === "string" ? c : new TextDecoder().decode(c)), stderr: (t) => void (err += t), tty: false, cwd };
  const code = await runCli(argv, io);
  return { code, out, err };
}

describe("quiver build / search / train / finalize / artifact validate / inspect", () => {
  let dir: string;
  const N = 3000;
  const DIM = 16;
  const vectors = gaussianMixture({ n: N, dim: DIM, clusters: 10, seed: 4 });
  const FAST = ["--partitions", "6", "--threads", "1", "--seed", "3"];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "quiver-cli-pipeline-"));
    writeFileSync(join(dir, "v.npy"), encodeNpyF32(vectors, N, DIM));
    const ids = new BigUint64Array(N).map((_, i) => 2n ** 62n + BigInt(i));
    writeFileSync(join(dir, "ids.npy"), encodeNpy("<u8", [N], new Uint8Array(ids.buffer)));
    writeFileSync(join(dir, "q.npy"), encodeNpyF32(vectors.slice(0, 2 * DIM), 2, DIM));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("build --json summarises the phases; progress is one line per phase on stderr when piped", async () => {
    const r = await cli(["build", "v.npy", "--out", "out/idx.qvr", ...FAST, "--json"], dir);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as { rows: number; numPartitions: number; quantizer: string; numSubVectors: number; phases: { phase: string; status: string }[] };
    expect(s).toMatchObject({ rows: N, numPartitions: 6, quantizer: "pq", numSubVectors: 1 });
    expect(s.phases.map((p) => p.status)).toEqual(["ran", "ran", "ran", "ran", "ran"]);
    const lines = r.err.trim().split("\n");
    expect(lines.map((l) => l.split(" ")[1])).toEqual(["sample", "train-ivf", "train-quantizer", "assign-encode", "finalize"]);
    const quiet = await cli(["build", "v.npy", "--out", "out/idx2.qvr", ...FAST, "--quiet"], dir);
    expect(quiet.err).toBe("");
  });

  it("search prints ids and distances; --json with user ids above 2^53 as strings", async () => {
    await cli(["build", "v.npy", "--ids", "ids.npy", "--out", "ids.qvr", ...FAST, "--quiet"], dir);
    const r = await cli(["search", "ids.qvr", "--query", "q.npy", "-k", "3", "--nprobes", "6", "--refine", "5", "--json"], dir);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { results: { hits: { id: string | number; distance: number }[] }[] };
    expect(j.results.map((x) => x.hits[0]!.id)).toEqual([(2n ** 62n).toString(), (2n ** 62n + 1n).toString()]);
    const literal = Array.from(vectors.subarray(0, DIM)).join(",");
    const text = await cli(["search", "out/idx.qvr", "--query", literal, "-k", "2", "--refine", "4"], dir);
    expect(text.out.trim().split("\n")[0]!.trim().split(/\s+/)[0]).toBe("0");
  });

  it("train writes a model file; build --model uses it; inspect recognises index and model", async () => {
    const t = await cli(["train", "v.npy", "--out", "m.qvm", ...FAST, "--quiet", "--json"], dir);
    expect(t.code, t.err).toBe(0);
    const b = await cli(["build", "v.npy", "--model", "m.qvm", "--out", "from-model.qvr", "--threads", "1", "--json"], dir);
    expect(b.code, b.err).toBe(0);
    expect((JSON.parse(b.out) as { phases: { status: string }[] }).phases.map((p) => p.status)).toEqual(["skipped", "skipped", "skipped", "ran", "ran"]);
    const im = await cli(["inspect", "m.qvm", "--json"], dir);
    expect((JSON.parse(im.out) as { summary: { object: string; numPartitions: number } }).summary).toMatchObject({ object: "trained model", numPartitions: 6 });
    const ii = await cli(["inspect", "from-model.qvr"], dir);
    expect(ii.out.split("\n")[0]).toBe("from-model.qvr: ivf index");
    expect(ii.out).toContain("numRows");
    const sections = await cli(["inspect", "from-model.qvr", "--sections"], dir);
    expect(sections.out).toContain("crc32");
    // precomputed assignments (row i -> partition i % 6) decide the partitions
    writeFileSync(join(dir, "assign.npy"), encodeNpy("<u4", [N], new Uint8Array(Uint32Array.from({ length: N }, (_, i) => i % 6).buffer)));
    const pre = await cli(["build", "v.npy", "--model", "m.qvm", "--assignments", "assign.npy", "--out", "pre.qvr", "--threads", "1", "--quiet"], dir);
    expect(pre.code, pre.err).toBe(0);
    const pj = JSON.parse((await cli(["inspect", "pre.qvr", "--json"], dir)).out) as { summary: { rowsPerPartition: number[] } };
    expect(pj.summary.rowsPerPartition).toEqual([500, 500, 500, 500, 500, 500]);
  });

  it("finalize validates an artifact first; artifact validate lists problems and exits 1", async () => {
    // keep the state of a build to get an artifact written by the pipeline
    const { buildIndex } = await import("@quiver/build");
    const { LocalDirectoryStore } = await import("@quiver/store");
    await buildIndex({ input: join(dir, "v.npy"), store: new LocalDirectoryStore(join(dir, "kept")), path: "i.qvr", numPartitions: 6, threads: 1, seed: 3, keepState: true });
    const art = "kept/i.qvr.build/artifact";
    expect((await cli(["artifact", "validate", art], dir)).code).toBe(0);
    const f = await cli(["finalize", art, "--model", "kept/i.qvr.build/model.qvm", "--out", "final.qvr", "--json"], dir);
    expect(f.code, f.err).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, "final.qvr")), readFileSync(join(dir, "kept/i.qvr")))).toBe(0);
    const ia = await cli(["inspect", art, "--json"], dir);
    expect((JSON.parse(ia.out) as { summary: { object: string; totalRows: number } }).summary).toMatchObject({ object: "partition artifact", totalRows: N });
    // corrupt one bucket byte: validate reports it with a code, finalize refuses
    // the bucket's path as the committed manifest names it (each write has its own data/<artifact_id>/)
    const manifest = JSON.parse(readFileSync(join(dir, art, "manifest.json"), "utf8")) as { buckets: { path: string }[] };
    const bucket = join(dir, art, manifest.buckets[0]!.path);
    const bytes = readFileSync(bucket);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(bucket, bytes);
    const v = await cli(["artifact", "validate", art, "--json"], dir);
    expect(v.code).toBe(1);
    const problems = (JSON.parse(v.out) as { problems: { code: string; message: string }[] }).problems;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => /^[A-Z_]+$/.test(p.code) && p.message.length > 0)).toBe(true);
    const bad = await cli(["finalize", art, "--model", "kept/i.qvr.build/model.qvm", "--out", "bad.qvr"], dir);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^quiver finalize: [A-Z_]+: artifact .* is invalid/);
  });

  it("usage errors exit 2 with one line; typed errors exit 1 as code: message without a stack", async () => {
    for (const argv of [["main", "--rows", "abc"], ["build", "v.npy"], ["build", "v.npy", "--out", "x", "--metric", "euclid"], ["build", "v.npy", "--out", "x", "--budget", "lots"], ["search", "x", "--query", "1", "--bogus"], ["nope"], []]) {
      const r = await cli(argv, dir);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err.trim().split("\n").length, `${argv.join(" ")}: ${r.err}`).toBeLessThanOrEqual(argv.length === 0 ? 44 : 2);
    }
    const missing = await cli(["inspect", "/nonexistent"], dir);
    expect([missing.code, missing.err]).toEqual([1, "quiver inspect: NOT_FOUND: /nonexistent: no such file or directory\n"]);
    writeFileSync(join(dir, "bad.npy"), encodeNpy("<i4", [2, 2], new Uint8Array(16)));
    const dtype = await cli(["build", "bad.npy", "--out", "b.qvr"], dir);
    expect(dtype.code).toBe(1);
    expect(dtype.err).toMatch(/^quiver build: INPUT_WRONG_DTYPE: .*bad\.npy/);
    expect(dtype.err).not.toContain("    at ");
    const debug = await cli(["--debug", "build", "bad.npy", "--out", "b.qvr"], dir);
    expect(debug.err).toContain("    at ");
    expect((await cli(["--version"], dir)).out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    for (const c of ["build", "search", "train", "finalize", "inspect", "main", "conformance", "adapter", "fixtures"]) {
      const h = await cli([c, "--help"], dir);
      expect([h.code, h.out.startsWith(`Usage: quiver ${c}`)], c).toEqual([0, true]);
    }
    const h = await cli(["artifact", "validate", "--help"], dir);
    expect(h.out).toContain("Usage: quiver artifact validate");
  });
});
