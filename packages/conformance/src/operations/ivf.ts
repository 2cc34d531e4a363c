import type { OperationFn } from "../operation.js";

/** Conformance operations of this area, keyed by operation name (stub until the area owner fills it). */
export const operations: Record<string, OperationFn> = {};
