/** Views of a store for the benches' before/after comparisons. */
import type { ObjectStore } from "@quiver/store";

/** The store's ObjectStore methods without `openReader`: reads take the `getRanges` fallback (the path before object readers). */
export function withoutReader(s: ObjectStore): ObjectStore {
  return {
    get: (p) => s.get(p),
    getRange: (p, r) => s.getRange(p, r),
    getRanges: (p, r, o) => s.getRanges(p, r, o),
    head: (p) => s.head(p),
    put: (p, d, o) => s.put(p, d, o),
    list: (p) => s.list(p),
    delete: (p) => s.delete(p),
    copy: (a, b) => s.copy(a, b),
    rename: (a, b) => s.rename(a, b),
  };
}
