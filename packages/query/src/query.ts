/**
 * Scalar filters over several columns' indexes (BTree, Bitmap, LabelList), evaluated to one
 * row-address set with three-valued logic, and filtered vector search: the set is the IVF
 * search's prefilter, and when the probed partitions hold fewer than k filtered rows the search
 * probes more partitions (doubling) until k results are found or every partition was searched.
 */
import {
  type PredicateEvaluator,
  RowAddressSet,
  type ScalarFilter,
  type ScalarPredicate,
  type TruthSets,
  checkFilter,
  evaluateFilter,
} from "@quiver/bitmap";
import { QuiverArgumentError, checkInteger, checkOptions } from "@quiver/format";
import { DEFAULT_NPROBES, type DistanceType, type IvfVectorIndex, type VectorSearchHit, exactDistanceAt } from "@quiver/ivf";

/** What the query layer needs of a scalar index (BTreeIndex and BitmapIndex both qualify). */
export interface ScalarIndexLike {
  /** TRUE and UNKNOWN rows of one predicate on this index's column. */
  evaluate(p: ScalarPredicate): Promise<TruthSets>;
  /** Every row the index covers. */
  readonly allRows: RowAddressSet;
}

/** Options of {@link ScalarQuery}. */
export interface ScalarQueryOptions {
  /** The rows NOT ranges over (default: the union of the indexes' allRows). */
  readonly universe?: RowAddressSet;
}

/** A set of scalar indexes by column name, queried with filters whose leaves name a column. */
export class ScalarQuery {
  readonly indexes: ReadonlyMap<string, ScalarIndexLike>;
  readonly universe: RowAddressSet;

  /** Query over `indexes` (column name -> index). */
  constructor(indexes: Readonly<Record<string, ScalarIndexLike>>, options: ScalarQueryOptions = {}) {
    checkOptions("options", options, ["universe"]);
    if (indexes === null || typeof indexes !== "object") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "indexes", expected: "an object of column name -> index", given: indexes });
    const m = new Map<string, ScalarIndexLike>();
    for (const [name, index] of Object.entries(indexes)) {
      if (index === null || typeof index !== "object" || typeof index.evaluate !== "function" || !(index.allRows instanceof RowAddressSet)) {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `indexes.${name.slice(0, 40)}`, expected: "a scalar index (evaluate, allRows)", given: index });
      }
      m.set(name, index);
    }
    if (m.size === 0) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "indexes", expected: "at least one index", given: indexes });
    this.indexes = m;
    this.universe = options.universe ?? RowAddressSet.union([...m.values()].map((i) => i.allRows));
  }

  /** TRUE and UNKNOWN rows of a filter. Every leaf must name an indexed `column`. */
  async evaluate(filter: ScalarFilter): Promise<TruthSets> {
    checkFilter(filter);
    const check = (f: ScalarFilter, path: string): void => {
      if (f.op === "and" || f.op === "or") f.filters.forEach((g, i) => check(g, `${path}.filters[${i}]`));
      else if (f.op === "not") check(f.filter, `${path}.filter`);
      else if (f.column === undefined || !this.indexes.has(f.column)) {
        throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.column`, expected: `one of ${[...this.indexes.keys()].join(", ")}`, given: f.column });
      }
    };
    check(filter, "filter");
    const leaf: PredicateEvaluator = (p) => this.indexes.get(p.column!)!.evaluate(p);
    return evaluateFilter(filter, leaf, this.universe);
  }

  /** Rows where the filter is TRUE. */
  async rows(filter: ScalarFilter): Promise<RowAddressSet> {
    return (await this.evaluate(filter)).rows;
  }
}

/** Options of {@link filteredSearch}. */
export interface FilteredSearchOptions {
  readonly k: number;
  /** Partitions probed first (default 20, clamped to the partition count). */
  readonly nprobes?: number;
  /** Stop widening at this many partitions (default: all). */
  readonly maxNprobes?: number;
  readonly refineFactor?: number;
}

/** Result of a filtered search. */
export interface FilteredSearchResult {
  readonly hits: VectorSearchHit[];
  /** Partitions probed by the last (widest) pass. */
  readonly nprobes: number;
  /** Search passes run (1 when the first pass found k results). */
  readonly passes: number;
}

/**
 * Nearest rows among `rows`. Probes `nprobes` partitions; while fewer than k results are found
 * and partitions remain, doubles the probes and searches again (so a filter that leaves at least
 * k rows anywhere in the index always yields k results; one that leaves fewer yields all of them).
 */
export async function filteredSearch(index: IvfVectorIndex, query: Float32Array, rows: RowAddressSet, options: FilteredSearchOptions): Promise<FilteredSearchResult> {
  checkOptions("options", options, ["k", "nprobes", "maxNprobes", "refineFactor"]);
  const k = checkInteger("options.k", options.k, 1, 100_000);
  const P = index.numPartitions;
  const maxN = options.maxNprobes === undefined ? P : Math.min(P, checkInteger("options.maxNprobes", options.maxNprobes, 1, 1 << 20));
  let nprobes = Math.min(maxN, options.nprobes === undefined ? DEFAULT_NPROBES : checkInteger("options.nprobes", options.nprobes, 1, 1 << 20));
  if (!(rows instanceof RowAddressSet)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "rows", expected: "a RowAddressSet", given: rows });
  let passes = 0;
  for (;;) {
    passes++;
    const base = { k, nprobes, prefilter: rows, idType: "bigint" as const };
    const hits = await index.search(query, options.refineFactor === undefined ? base : { ...base, refineFactor: options.refineFactor });
    if (hits.length >= k || nprobes >= maxN || rows.isEmpty) return { hits, nprobes, passes };
    nprobes = Math.min(maxN, nprobes * 2);
  }
}

/**
 * Evaluate `filter` over `scalar` and search `index` among the matching rows: the whole filtered
 * vector query, from the cache when the indexes were opened over a prewarmed cache.
 */
export async function filteredVectorQuery(
  index: IvfVectorIndex,
  scalar: ScalarQuery,
  query: Float32Array,
  filter: ScalarFilter,
  options: FilteredSearchOptions,
): Promise<FilteredSearchResult & { readonly filteredRows: RowAddressSet }> {
  const rows = await scalar.rows(filter);
  return { ...(await filteredSearch(index, query, rows, options)), filteredRows: rows };
}

/** Exact top k among rows `i` with `allowed(i)` (ids are row positions), for recall measurements. */
export function filteredBruteForce(vectors: Float32Array, n: number, dim: number, query: Float32Array, k: number, distance: DistanceType, allowed: (i: number) => boolean): number[] {
  const best: { d: number; i: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (!allowed(i)) continue;
    const d = exactDistanceAt(query, 0, vectors, i * dim, dim, distance);
    if (best.length === k && d >= best[k - 1]!.d) continue;
    let at = best.length < k ? best.length : k - 1;
    if (best.length < k) best.push({ d, i });
    while (at > 0 && best[at - 1]!.d > d) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = { d, i };
  }
  return best.map((b) => b.i);
}
