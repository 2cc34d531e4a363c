/**
 * Trained-model conformance operations (spec/model.md):
 * - `decode-model`: a model file (.bin) -> `{ dim, distance, numPartitions, centroids, quantizer }`
 *   with every array as lowercase hex of its little-endian bytes, `quantizer` null for a
 *   centroids-only model, else `{ kind, residual, codeWidth, params, arrays: { name: hex } }`.
 */
import { decodeModelFile } from "@quiver/build";
import { quantizerFromMetadata } from "@quiver/ivf";
import { bytesToHex } from "../canonical-json.js";
import type { OperationFn } from "../operation.js";

function hexOf(v: ArrayBufferView): string {
  return bytesToHex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
}

/** Conformance operations of the model area, keyed by operation name. */
export const operations: Record<string, OperationFn> = {
  "decode-model": async (fixture) => {
    if (fixture.bin === undefined) throw new Error("decode-model needs a single-file fixture (.bin)");
    const m = decodeModelFile(fixture.bin);
    const q = m.quantizer;
    return {
      dim: m.dim,
      distance: m.distance,
      numPartitions: m.numPartitions,
      centroids: hexOf(m.centroids),
      quantizer:
        q === undefined
          ? null
          : {
              kind: q.kind,
              residual: q.residual,
              codeWidth: quantizerFromMetadata(q).codeWidth,
              params: { ...q.params },
              arrays: Object.fromEntries(Object.keys(q.arrays).sort().map((k) => [k, hexOf(q.arrays[k]!)])),
            },
    };
  },
};
