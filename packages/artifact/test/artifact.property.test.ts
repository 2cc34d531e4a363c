import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QuiverFormatError } from "@quiver/format";
import { MemoryObjectStore } from "@quiver/store";
import { type BucketPolicyKind, PartitionArtifactReader, PartitionArtifactWriter, parseManifest, validateArtifact } from "../src/index.js";
import { indexRangesBytes } from "../src/internal/ranges-table.js";
import { ProblemList } from "../src/internal/problems.js";
import { pqSchema } from "./helpers.js";

const M = 8;

/** Write an artifact of `parts.length` rows (row i in partition parts[i], code bytes derived from i). */
async function write(store: MemoryObjectStore, P: number, parts: number[], policy: BucketPolicyKind, numBuckets: number, budget: number) {
  const est = new Array<number>(P).fill(0);
  for (const p of parts) est[p]!++;
  const w = await PartitionArtifactWriter.create({
    store, uri: "x", numPartitions: P, payloadSchema: pqSchema(M), policy, numBuckets, memoryBudgetBytes: budget,
    ...(policy === "size-balanced-range" ? { partitionSizeEstimates: est } : {}),
  });
  const n = parts.length;
  const ids = new Uint8Array(n * 8);
  const codes = new Uint8Array(n * M);
  const view = new DataView(ids.buffer);
  for (let i = 0; i < n; i++) {
    view.setBigUint64(i * 8, BigInt(i), true);
    for (let j = 0; j < M; j++) codes[i * M + j] = (i * 31 + j * 7) & 0xff;
  }
  // Split the input into a few appendRows calls.
  for (let s = 0; s < n; s += 37) await w.appendRows(parts.slice(s, s + 37), [ids.slice(s * 8, Math.min(n, s + 37) * 8), codes.slice(s * M, Math.min(n, s + 37) * M)]);
  return w.finish();
}

const artifactInput = fc
  .record({
    P: fc.integer({ min: 1, max: 40 }),
    rows: fc.integer({ min: 0, max: 400 }),
    policy: fc.constantFrom<BucketPolicyKind>("hash-modulo", "range-by-partition-id", "size-balanced-range"),
    buckets: fc.integer({ min: 1, max: 6 }),
    budget: fc.integer({ min: 64, max: 8192 }),
    seed: fc.integer(),
  })
  .map((r) => {
    let s = r.seed >>> 0;
    const parts = Array.from({ length: r.rows }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return Math.floor(((s / 4294967296) ** 2) * r.P);
    });
    return { ...r, buckets: Math.min(r.buckets, r.P), parts };
  });

function onlyFormatErrors(e: unknown): void {
  if (!(e instanceof QuiverFormatError)) throw e;
}

describe("partition artifact properties", () => {
  it("round trip: every row comes back once, in its partition, byte-exact", async () => {
    await fc.assert(
      fc.asyncProperty(artifactInput, async ({ P, parts, policy, buckets, budget }) => {
        const store = new MemoryObjectStore();
        await write(store, P, parts, policy, buckets, budget);
        expect(await validateArtifact(store, "x")).toEqual([]);
        const r = await PartitionArtifactReader.open(store, "x");
        const seen = new Set<number>();
        for (let p = 0; p < P; p++) {
          let n = 0;
          for await (const b of r.readPartition(p)) {
            const ids = b.getChild("row_id")!.toArray() as BigUint64Array;
            const d = b.getChild("code")!.data[0]!;
            const codes = (d.children[0]!.values as Uint8Array).subarray(d.children[0]!.offset + d.offset * M);
            for (let i = 0; i < b.numRows; i++) {
              const id = Number(ids[i]);
              expect(parts[id]).toBe(p);
              expect(seen.has(id)).toBe(false);
              seen.add(id);
              for (let j = 0; j < M; j++) expect(codes[i * M + j]).toBe((id * 31 + j * 7) & 0xff);
            }
            n += b.numRows;
          }
          expect(n).toBe(r.partitionSize(p));
        }
        expect(seen.size).toBe(parts.length);
      }),
      { numRuns: 60 },
    );
  });

  it("mutated or truncated manifest / ranges / bucket bytes only ever raise QuiverFormatError", async () => {
    const store = new MemoryObjectStore();
    const parts = Array.from({ length: 300 }, (_, i) => (i * 7) % 23);
    await write(store, 23, parts, "hash-modulo", 3, 512);
    const files = await Promise.all((await store.list("x/")).map(async (o) => ({ path: o.path, bytes: await store.get(o.path) })));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: files.length - 1 }),
        fc.oneof(
          fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
          fc.record({ kind: fc.constant("truncate" as const), at: fc.nat(), bit: fc.constant(0) }),
        ),
        async (which, mut) => {
          const f = files[which]!;
          const bytes = f.bytes.slice();
          const at = mut.at % Math.max(1, bytes.byteLength);
          const mutated = mut.kind === "flip" ? (bytes[at] = bytes[at]! ^ (1 << mut.bit), bytes) : bytes.subarray(0, at);
          const s = new MemoryObjectStore();
          for (const g of files) await s.put(g.path, g === f ? mutated : g.bytes);
          // The validator reports, never throws.
          await validateArtifact(s, "x");
          try {
            const r = await PartitionArtifactReader.open(s, "x");
            for (let p = 0; p < r.numPartitions; p++) await r.readPartitionBatches(p);
          } catch (e) {
            onlyFormatErrors(e);
          }
          // The pure decoders on their own.
          if (f.path.endsWith("manifest.json")) {
            try {
              parseManifest(mutated);
            } catch (e) {
              onlyFormatErrors(e);
            }
          }
          if (f.path.endsWith("ranges.bin")) {
            try {
              indexRangesBytes(mutated, parseManifest(files.find((g) => g.path.endsWith("manifest.json"))!.bytes), new ProblemList());
            } catch (e) {
              onlyFormatErrors(e);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
