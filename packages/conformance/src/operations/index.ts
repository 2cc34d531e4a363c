import type { OperationFn } from "../operation.js";
import { operations as artifactOperations } from "./artifact.js";
import { operations as bitmapOperations } from "./bitmap.js";
import { operations as btreeOperations } from "./btree.js";
import { operations as cacheOperations } from "./cache.js";
import { operations as containerOperations } from "./container.js";
import { operations as ivfOperations } from "./ivf.js";
import { operations as modelOperations } from "./model.js";
import { operations as segmentsOperations } from "./segments.js";

/** Merges per-area operation tables; a name defined by two areas is a programming error. */
function mergeOperations(tables: Readonly<Record<string, Readonly<Record<string, OperationFn>>>>): Record<string, OperationFn> {
  const merged: Record<string, OperationFn> = Object.create(null) as Record<string, OperationFn>;
  const owner: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [area, table] of Object.entries(tables)) {
    for (const [name, fn] of Object.entries(table)) {
      const previous = owner[name];
      if (previous !== undefined) {
        throw new Error(`conformance operation "${name}" is defined by both "${previous}" and "${area}"`);
      }
      owner[name] = area;
      merged[name] = fn;
    }
  }
  return merged;
}

/** Every operation the reference (in-process TypeScript) implementation supports. */
export const referenceOperations: Readonly<Record<string, OperationFn>> = mergeOperations({
  container: containerOperations,
  cache: cacheOperations,
  artifact: artifactOperations,
  ivf: ivfOperations,
  btree: btreeOperations,
  bitmap: bitmapOperations,
  model: modelOperations,
  segments: segmentsOperations,
});
