/**
 * Argument checks of the compute half's public entry points (issue 8, "wrong calls get typed
 * errors"): every check runs before any allocation or training and throws `QuiverArgumentError`.
 */
import { QuiverArgumentError, checkInteger, checkOneOf, checkOptions } from "@quiver/format";
import type { DistanceType, QuantizerKind } from "../../quantizer.js";
import { ComputePool } from "./parallel-pool.js";

/** Largest vector dimension accepted (MUST-level maximum of spec/ivf.md). */
export const MAX_DIM = 65_536;
/** Largest RaBitQ dimension (its rotation is dim^2 floats). */
export const MAX_RABITQ_DIMENSION = 4096;
/** Largest number of IVF partitions. */
export const MAX_PARTITIONS = 65_536;

export const DISTANCE_TYPES: readonly DistanceType[] = ["l2", "cosine", "dot"];
export const QUANTIZER_KINDS: readonly QuantizerKind[] = ["flat", "sq", "pq", "rabitq"];
/** Option names of the thread-pool entry points (accepted wherever those options pass through). */
export const PARALLEL_OPTION_NAMES = ["threads", "useMainThread", "workerUrl", "pool"] as const;

/** `vectors` is a Float32Array holding at least n * dim finite values. */
export function checkVectors(argument: string, vectors: unknown, n: number, dim: number): Float32Array {
  if (!(vectors instanceof Float32Array)) {
    throw new QuiverArgumentError(vectors === undefined ? "MISSING_ARGUMENT" : "INVALID_ARGUMENT", { argument, expected: "a Float32Array", given: vectors });
  }
  if (vectors.length < n * dim) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: `at least n * dim = ${n * dim} values`, given: vectors });
  const end = n * dim;
  for (let i = 0; i < end; i++) {
    if (!Number.isFinite(vectors[i])) {
      throw new QuiverArgumentError("INVALID_ARGUMENT", {
        argument: `${argument}[${i}]`,
        expected: "finite values only",
        given: vectors[i],
        hint: `row ${Math.floor(i / dim)}, dimension ${i % dim}: drop or fix non-finite rows before indexing`,
      });
    }
  }
  return vectors;
}

/** n (rows, >= `min`) and dim (1 ..= 65,536). */
export function checkShape(n: unknown, dim: unknown, minRows = 0): { n: number; dim: number } {
  return { n: checkInteger("n", n, minRows, Number.MAX_SAFE_INTEGER), dim: checkInteger("dim", dim, 1, MAX_DIM) };
}

/** A distance type. */
export function checkDistance(argument: string, d: unknown): DistanceType {
  return checkOneOf(argument, d, DISTANCE_TYPES);
}

/** A quantizer kind (no silent default: `"foo"`, `"ivf_pq"` and undefined are rejected). */
export function checkQuantizerKind(argument: string, kind: unknown): QuantizerKind {
  return checkOneOf(argument, kind, QUANTIZER_KINDS);
}

/** An optional boolean. */
export function checkOptionalBoolean(argument: string, v: unknown): void {
  if (v !== undefined && typeof v !== "boolean") throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: "a boolean", given: v });
}

/** An optional finite number (> 0 when `positive`). */
export function checkOptionalNumber(argument: string, v: unknown, positive = false): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isFinite(v) || (positive && v <= 0)) {
    throw new QuiverArgumentError("INVALID_ARGUMENT", { argument, expected: positive ? "a finite number > 0" : "a finite number", given: v });
  }
}

/** Thread options of the parallel entry points. */
export function checkParallelOptions(o: Record<string, unknown>): void {
  if (o.threads !== undefined) checkInteger("options.threads", o.threads, 1, 1024);
  checkOptionalBoolean("options.useMainThread", o.useMainThread);
  if (o.workerUrl !== undefined && !(o.workerUrl instanceof URL)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.workerUrl", expected: "a URL", given: o.workerUrl });
  if (o.pool !== undefined && !(o.pool instanceof ComputePool)) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.pool", expected: "a ComputePool (createComputePool)", given: o.pool });
  if (o.pool instanceof ComputePool && o.pool.isClosed) throw new QuiverArgumentError("INVALID_ARGUMENT", { argument: "options.pool", expected: "an open ComputePool", given: "a closed pool" });
}

/** Options object: known names only. */
export function checkKnownOptions(options: unknown, names: readonly string[]): Record<string, unknown> {
  if (options === undefined) throw new QuiverArgumentError("MISSING_ARGUMENT", { argument: "options", expected: "an options object", given: options });
  checkOptions("options", options, names);
  return options as Record<string, unknown>;
}
