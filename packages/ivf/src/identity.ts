/**
 * Index identity (spec/ivf.md#index-identity): a SHA-256 content digest over everything a search
 * depends on except byte offsets — metadata, centroids, quantizer arrays and every partition's row
 * count, section length and CRC-32. It is written into the metadata at build time, recomputed by
 * a cold open and by the state codec, and is part of every cache key of the index, so a rebuilt,
 * replaced or restored file is never answered from another file's cache entries.
 */
import { createHash } from "node:crypto";
import type { IvfIndexMetadata, PartitionLocation } from "./index-format.js";

/** Length of an identity: 64 lowercase hex digits (SHA-256). */
export const IDENTITY_LENGTH = 64;
const IDENTITY_PATTERN = /^[0-9a-f]{64}$/;
const DOMAIN = "QVR-IVF-IDENTITY-1";
const DISTANCE_CODE = { l2: 0, cosine: 1, dot: 2 } as const;
const KIND_CODE = { flat: 0, sq: 1, pq: 2, rabitq: 3 } as const;
const ENCODING_CODE = { f32: 0, u8: 1, u32: 2 } as const;

/** True when `s` has the shape of an identity. */
export function isIndexIdentity(s: unknown): s is string {
  return typeof s === "string" && IDENTITY_PATTERN.test(s);
}

/** What the identity digest covers (offsets are deliberately left out: they are checked by CRC on every read). */
export interface IdentityInput {
  readonly metadata: Omit<IvfIndexMetadata, "identity">;
  readonly centroids: Float32Array;
  /** Quantizer arrays in the order of `metadata.quantizer.arrays`. */
  readonly arrays: readonly (Float32Array | Uint8Array | Uint32Array)[];
  readonly partitions: readonly Pick<PartitionLocation, "rows" | "length" | "crc32" | "raw">[];
  /** Kind version 3 with raw vectors: the raw row-group CRC-32s (section 3), digested after the partition table. */
  readonly rawRowGroupCrcs?: Uint32Array;
}

function viewBytes(v: ArrayBufferView): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A SHA-256 over canonical little-endian fields, shared by the index identity and by digests
 * that cover the same model fields (the segment model digest of spec/segments.md): one encoding
 * of quantizer parameters and arrays, so the two can never drift apart.
 */
export class CanonicalDigest {
  readonly #h = createHash("sha256");
  readonly #scratch = new DataView(new ArrayBuffer(8));
  constructor(domain: string) {
    this.#h.update(Buffer.from(domain, "ascii"));
  }
  u8(v: number): void {
    this.#h.update(Uint8Array.of(v));
  }
  u32(v: number): void {
    this.#scratch.setUint32(0, v >>> 0, true);
    this.#h.update(new Uint8Array(this.#scratch.buffer, 0, 4));
  }
  u64(v: number): void {
    this.#scratch.setBigUint64(0, BigInt(v), true);
    this.#h.update(new Uint8Array(this.#scratch.buffer, 0, 8));
  }
  f64(v: number): void {
    this.#scratch.setFloat64(0, v, true);
    this.#h.update(new Uint8Array(this.#scratch.buffer, 0, 8));
  }
  /** u32 byte length, then the UTF-8 bytes. */
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u32(b.byteLength);
    this.#h.update(b);
  }
  bytes(b: Uint8Array): void {
    this.#h.update(b);
  }
  /** Distance and quantizer kind codes, the residual flag (and the raw-vectors flag when given), the code width. */
  model(m: Pick<IvfIndexMetadata, "distance" | "quantizer">, rawVectors?: boolean): void {
    this.u8(DISTANCE_CODE[m.distance]);
    this.u8(KIND_CODE[m.quantizer.kind]);
    this.u8(m.quantizer.residual ? 1 : 0);
    if (rawVectors !== undefined) this.u8(rawVectors ? 1 : 0);
    this.u32(m.quantizer.codeWidth);
  }
  /** Parameters sorted by UTF-8 name (tagged number / boolean / string), then every array, then the centroids. */
  quantizerAndCentroids(m: Pick<IvfIndexMetadata, "quantizer">, arrays: readonly ArrayBufferView[], centroids: Float32Array): void {
    const names = Object.keys(m.quantizer.params).sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
    this.u32(names.length);
    for (const name of names) {
      this.str(name);
      const v = m.quantizer.params[name]!;
      if (typeof v === "number") {
        this.u8(0);
        this.f64(v);
      } else if (typeof v === "boolean") {
        this.u8(1);
        this.u8(v ? 1 : 0);
      } else {
        this.u8(2);
        this.str(v);
      }
    }
    this.u32(m.quantizer.arrays.length);
    m.quantizer.arrays.forEach((a, i) => {
      const bytes = viewBytes(arrays[i]!);
      this.str(a.name);
      this.u8(ENCODING_CODE[a.encoding]);
      this.u64(a.length);
      this.u64(bytes.byteLength);
      this.#h.update(bytes);
    });
    const c = viewBytes(centroids);
    this.u64(c.byteLength);
    this.#h.update(c);
  }
  hex(): string {
    return this.#h.digest("hex");
  }
}

/** The identity of an index: lowercase hex SHA-256 of the canonical bytes of spec/ivf.md#index-identity. */
export function computeIndexIdentity(input: IdentityInput): string {
  const m = input.metadata;
  const d = new CanonicalDigest(DOMAIN);
  d.u32(m.dim);
  d.u32(m.numPartitions);
  d.u64(m.numRows);
  d.model(m, m.rawVectors);
  d.quantizerAndCentroids(m, input.arrays, input.centroids);
  // The partition table in one buffer and one update (28 bytes per partition): a hash update per
  // field made this loop the largest cost of verifying a cached state.
  const table = new DataView(new ArrayBuffer(input.partitions.length * 28));
  input.partitions.forEach((p, i) => {
    const at = i * 28;
    table.setUint32(at, p.rows >>> 0, true);
    table.setUint32(at + 4, p.crc32 >>> 0, true);
    table.setBigUint64(at + 8, BigInt(p.length), true);
    table.setUint32(at + 16, (p.raw?.crc32 ?? 0) >>> 0, true);
    table.setBigUint64(at + 20, BigInt(p.raw?.length ?? 0), true);
  });
  d.bytes(new Uint8Array(table.buffer));
  // Kind version 3 (metadata has rawRowGroupRows): the row-group size and every row-group CRC, so a
  // raw vector can only change with the identity; version 2 identities are unchanged.
  if (m.rawRowGroupRows !== undefined) {
    const crcs = input.rawRowGroupCrcs ?? new Uint32Array(0);
    d.u32(m.rawRowGroupRows);
    d.u64(crcs.length);
    d.bytes(viewBytes(crcs));
  }
  return d.hex();
}
