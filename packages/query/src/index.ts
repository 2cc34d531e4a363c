/**
 * @quiver/query: scalar filters over BTree, Bitmap and LabelList indexes (by column), evaluated
 * to a row-address set and fed to IVF vector search as a prefilter, widening the probes until k
 * results are found; and the `job:filtered` end-to-end job.
 */
export { ScalarQuery, filteredBruteForce, filteredSearch, filteredVectorQuery } from "./query.js";
export type { FilteredSearchOptions, FilteredSearchResult, ScalarIndexLike, ScalarQueryOptions } from "./query.js";
export { runFilteredJob } from "./job.js";
export type { FilteredJobOptions, FilteredJobReport } from "./job.js";
