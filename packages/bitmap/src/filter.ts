/**
 * Scalar filters and their evaluation to row-address sets with SQL's three-valued logic: each
 * sub-filter yields the rows where it is TRUE and the rows where it is UNKNOWN (a NULL was
 * compared); NOT turns FALSE into TRUE and keeps UNKNOWN, so `NOT (x = 5)` never returns a row
 * whose x is NULL (spec/btree.md#queries).
 */
import { QuiverArgumentError, checkOptions } from "@quiver/format";
import { RowAddressSet } from "./row-address-set.js";
import type { ScalarValue } from "./values.js";

/** A leaf predicate on one column. `column` is used by multi-index query layers and ignored by a single index. */
export type ScalarPredicate =
  | { readonly op: "eq"; readonly value: ScalarValue; readonly column?: string }
  | { readonly op: "ne"; readonly value: ScalarValue; readonly column?: string }
  | {
      readonly op: "range";
      readonly lower?: ScalarValue;
      readonly upper?: ScalarValue;
      /** Default true. */
      readonly lowerInclusive?: boolean;
      /** Default false. */
      readonly upperInclusive?: boolean;
      readonly column?: string;
    }
  | { readonly op: "in"; readonly values: readonly ScalarValue[]; readonly column?: string }
  | { readonly op: "isNull"; readonly column?: string }
  | { readonly op: "isNotNull"; readonly column?: string }
  /** LabelList: the list holds at least one of `values`. */
  | { readonly op: "hasAny"; readonly values: readonly ScalarValue[]; readonly column?: string }
  /** LabelList: the list holds every one of `values`. */
  | { readonly op: "hasAll"; readonly values: readonly ScalarValue[]; readonly column?: string }
  /** LabelList: the list holds `value` (array_contains). */
  | { readonly op: "contains"; readonly value: ScalarValue; readonly column?: string };

/** A filter: predicates combined with AND / OR / NOT. */
export type ScalarFilter =
  | ScalarPredicate
  | { readonly op: "and"; readonly filters: readonly ScalarFilter[] }
  | { readonly op: "or"; readonly filters: readonly ScalarFilter[] }
  | { readonly op: "not"; readonly filter: ScalarFilter };

/** Rows where a (sub-)filter is TRUE and where it is UNKNOWN. */
export interface TruthSets {
  readonly rows: RowAddressSet;
  readonly unknown: RowAddressSet;
}

/** Evaluates one leaf predicate. */
export type PredicateEvaluator = (p: ScalarPredicate) => Promise<TruthSets>;

/** Maximum nesting depth and leaf count of a filter (checked before any work). */
export const FILTER_LIMITS = { maxDepth: 64, maxNodes: 10_000, maxListValues: 100_000 } as const;

const LEAF_KEYS: Record<string, readonly string[]> = {
  eq: ["op", "value", "column"],
  ne: ["op", "value", "column"],
  contains: ["op", "value", "column"],
  range: ["op", "lower", "upper", "lowerInclusive", "upperInclusive", "column"],
  in: ["op", "values", "column"],
  hasAny: ["op", "values", "column"],
  hasAll: ["op", "values", "column"],
  isNull: ["op", "column"],
  isNotNull: ["op", "column"],
};

/** Check a filter's shape (ops, keys, depth, size) before any work; throws QuiverArgumentError. */
export function checkFilter(filter: unknown, argument = "filter"): asserts filter is ScalarFilter {
  let nodes = 0;
  const walk = (f: unknown, path: string, depth: number): void => {
    if (depth > FILTER_LIMITS.maxDepth) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: path, expected: `nesting <= ${FILTER_LIMITS.maxDepth}`, given: depth });
    if (++nodes > FILTER_LIMITS.maxNodes) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: path, expected: `<= ${FILTER_LIMITS.maxNodes} filter nodes`, given: nodes });
    if (f === null || typeof f !== "object" || Array.isArray(f)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: path, expected: "a filter object", given: f });
    const op = (f as { op?: unknown }).op;
    if (op === "and" || op === "or") {
      checkOptions(path, f, ["op", "filters"]);
      const list = (f as { filters?: unknown }).filters;
      if (!Array.isArray(list) || list.length === 0) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.filters`, expected: "a non-empty array", given: list });
      list.forEach((c, i) => walk(c, `${path}.filters[${i}]`, depth + 1));
      return;
    }
    if (op === "not") {
      checkOptions(path, f, ["op", "filter"]);
      walk((f as { filter?: unknown }).filter, `${path}.filter`, depth + 1);
      return;
    }
    const keys = typeof op === "string" ? LEAF_KEYS[op] : undefined;
    if (keys === undefined) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.op`, expected: `one of and, or, not, ${Object.keys(LEAF_KEYS).join(", ")}`, given: op });
    checkOptions(path, f, keys);
    const o = f as Record<string, unknown>;
    if (keys.includes("values")) {
      if (!Array.isArray(o.values) || o.values.length === 0) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.values`, expected: "a non-empty array", given: o.values });
      if (o.values.length > FILTER_LIMITS.maxListValues) throw new QuiverArgumentError("ARGUMENT_LIMIT_EXCEEDED", { argument: `${path}.values`, expected: `<= ${FILTER_LIMITS.maxListValues} values`, given: o.values });
    }
    if (keys.includes("value") && o.value === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: `${path}.value`, expected: "a value", given: undefined });
    for (const b of ["lowerInclusive", "upperInclusive"]) {
      if (o[b] !== undefined && typeof o[b] !== "boolean") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.${b}`, expected: "a boolean", given: o[b] });
    }
    if (o.column !== undefined && typeof o.column !== "string") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: `${path}.column`, expected: "a string", given: o.column });
  };
  walk(filter, argument, 0);
}

/**
 * Evaluate a checked filter: leaves through `leaf`, AND/OR/NOT with Kleene logic over
 * `universe` (every row the filter ranges over). Returns the TRUE and UNKNOWN sets.
 */
export async function evaluateFilter(filter: ScalarFilter, leaf: PredicateEvaluator, universe: RowAddressSet): Promise<TruthSets> {
  switch (filter.op) {
    case "and": {
      const parts = await Promise.all(filter.filters.map((f) => evaluateFilter(f, leaf, universe)));
      let acc = parts[0]!;
      for (const p of parts.slice(1)) {
        // TRUE: both true. UNKNOWN: neither false and not both true.
        const rows = acc.rows.and(p.rows);
        const unknown = acc.unknown.or(p.unknown).and(acc.rows.or(acc.unknown)).and(p.rows.or(p.unknown));
        acc = { rows, unknown };
      }
      return acc;
    }
    case "or": {
      const parts = await Promise.all(filter.filters.map((f) => evaluateFilter(f, leaf, universe)));
      let acc = parts[0]!;
      for (const p of parts.slice(1)) {
        const rows = acc.rows.or(p.rows);
        acc = { rows, unknown: acc.unknown.or(p.unknown).andNot(rows) };
      }
      return acc;
    }
    case "not": {
      const inner = await evaluateFilter(filter.filter, leaf, universe);
      return { rows: universe.andNot(inner.rows).andNot(inner.unknown), unknown: inner.unknown };
    }
    default:
      return leaf(filter);
  }
}

/** The rows where the filter is TRUE. */
export async function filterRows(filter: ScalarFilter, leaf: PredicateEvaluator, universe: RowAddressSet): Promise<RowAddressSet> {
  return (await evaluateFilter(filter, leaf, universe)).rows;
}

/** Empty TRUE and UNKNOWN sets. */
export function noRows(): TruthSets {
  return { rows: RowAddressSet.empty(), unknown: RowAddressSet.empty() };
}
