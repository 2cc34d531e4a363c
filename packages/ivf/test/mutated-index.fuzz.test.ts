/**
 * Issue 8 "keep it fixed", index-file path: openVectorIndex + search over index files mutated by
 * the re-sealing mutator (every container CRC recomputed). Each case must end, within a deadline,
 * in a typed error or in results equal to the clean index's. In the re-digest mode the mutator
 * also recomputes the identity digest (so even the identity check passes and the file is a new,
 * valid index whenever every other check passes): there results may differ, but never with an
 * untyped error or a hang. >= 10,000 cases in `pnpm test`, >= 1,000,000 with QUIVER_SOAK=1.
 */
import { inspectFrameHeader, parseJsonBytes, typedView } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { expect, it } from "vitest";
import { type PartitionLocation, type VectorSearchHit, computeIndexIdentity, openVectorIndex, parseIvfIndexMetadata, writeIvfIndex } from "../src/index.js";
import { syntheticIndexInput } from "./helpers.js";
import { caseCount, isTyped, mutate, outcomes, reseal, rng, withDeadline } from "./mutation.js";

const PATH = "i";
const DIM = 8;
const P = 3;
const OPTS = { k: 5, nprobes: P, refineFactor: 2 } as const;

/** Recompute the identity of a (mutated) file and write it into its metadata in place; false when the file is too broken. */
function redigest(bytes: Uint8Array): boolean {
  try {
    const h = inspectFrameHeader(bytes);
    const sec = (id: number) => h.sections.find((s) => s.id === id);
    const m = sec(0)!;
    const text = new TextDecoder().decode(bytes.subarray(m.offset, m.offset + m.length));
    const meta = parseIvfIndexMetadata(parseJsonBytes(bytes.subarray(m.offset, m.offset + m.length)));
    const view = (id: number, enc: "f32" | "u8" | "u32") => {
      const s = sec(id)!;
      return typedView(bytes.slice(s.offset, s.offset + s.length), enc);
    };
    const rows = view(2, "u32") as Uint32Array;
    const partitions: PartitionLocation[] = [];
    for (let p = 0; p < meta.numPartitions; p++) {
      const s = sec(0x1000_0000 + p)!;
      const r = sec(0x2000_0000 + p);
      partitions.push({ rows: rows[p]!, offset: s.offset, length: s.length, crc32: s.crc32, ...(r === undefined ? {} : { raw: { offset: r.offset, length: r.length, crc32: r.crc32 } }) });
    }
    // kind version 3: the raw row-group checksums (section 3) are digested too
    const groups = sec(3) === undefined ? {} : { rawRowGroupCrcs: view(3, "u32") as Uint32Array };
    const identity = computeIndexIdentity({ metadata: meta, centroids: view(1, "f32") as Float32Array, arrays: meta.quantizer.arrays.map((a, i) => view(16 + i, a.encoding)), partitions, ...groups });
    const at = text.indexOf(meta.identity);
    if (at < 0) return false;
    bytes.set(new TextEncoder().encode(identity), m.offset + at);
    reseal(bytes);
    return true;
  } catch {
    return false;
  }
}

it(`mutated, re-sealed index files: typed error or the clean answer, never untyped, never a hang (${caseCount()} cases)`, { timeout: 3_600_000 }, async () => {
  const input = syntheticIndexInput({ n: 36, dim: DIM, numPartitions: P, codeWidth: DIM, raw: true, seed: 21 });
  const clean = new MemoryObjectStore();
  await writeIvfIndex(clean, PATH, input);
  const file = await clean.get(PATH);
  const query = input.vectors.slice(4 * DIM, 5 * DIM);
  const expected: VectorSearchHit[] = await (await openVectorIndex(clean, PATH)).search(query, OPTS);
  const sealed = outcomes();
  const digested = outcomes();
  const store = new MemoryObjectStore();
  const r = rng(0x1de7);
  const total = caseCount();
  for (let i = 0; i < total; i++) {
    const { bytes, what } = mutate(file, r);
    const deep = i % 2 === 1 && redigest(bytes);
    const o = deep ? digested : sealed;
    o.cases++;
    await store.put(PATH, bytes);
    const res = await withDeadline(async () => {
      try {
        const index = await openVectorIndex(store, PATH, { fileSize: bytes.byteLength });
        return { hits: await index.search(query, OPTS) };
      } catch (e) {
        return { error: e };
      }
    }, 5000);
    const note = (kind: string, detail: string) => {
      if (o.samples.length < 5) o.samples.push(`case ${i} (${what}${deep ? ", re-digested" : ""}): ${kind} ${detail}`);
    };
    if (res === "hang") {
      o.hang++;
      note("hang", "");
    } else if ("error" in res) {
      if (isTyped(res.error)) o.typed++;
      else {
        o.other++;
        note("untyped", String((res.error as Error)?.stack ?? res.error).slice(0, 300));
      }
    } else if (JSON.stringify(res.hits, (_k, v) => (typeof v === "bigint" ? String(v) : v)) === JSON.stringify(expected, (_k, v) => (typeof v === "bigint" ? String(v) : v))) o.equal++;
    else if (deep) o.different++;
    else {
      o.wrong++;
      note("wrong", "");
    }
  }
  console.log(`[ivf mutated index files] sealed: ${JSON.stringify(sealed)}\n[ivf mutated index files] re-digested: ${JSON.stringify(digested)}`);
  expect({ other: sealed.other, hang: sealed.hang, wrong: sealed.wrong, samples: sealed.samples }).toEqual({ other: 0, hang: 0, wrong: 0, samples: [] });
  expect({ other: digested.other, hang: digested.hang, samples: digested.samples }).toEqual({ other: 0, hang: 0, samples: [] });
  expect(sealed.cases + digested.cases).toBe(total);
  // The harness must reach the deep validators: some re-digested mutants open and answer.
  expect(digested.equal + digested.different).toBeGreaterThan(0);
});
