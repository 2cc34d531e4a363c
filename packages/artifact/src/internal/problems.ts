import { QuiverFormatError } from "@quiver/format";

/** One problem found in an artifact: a stable code (spec/error-codes.csv), the stage and a message. */
export interface ArtifactProblem {
  readonly code: string;
  readonly stage: string;
  readonly message: string;
}

/** Collects problems up to a bound, so a hostile artifact cannot make the report unbounded. */
export class ProblemList {
  readonly items: ArtifactProblem[] = [];
  readonly #max: number;
  constructor(max = 1000) {
    this.#max = max;
  }
  /** Record a problem (ignored past the bound). */
  add(code: string, stage: string, message: string): void {
    if (this.items.length < this.#max) this.items.push({ code, stage, message });
  }
  /** Record a thrown error, keeping its code when it has one. */
  addError(e: unknown, stage: string): void {
    if (e instanceof QuiverFormatError) this.add(e.code, e.stage, e.message);
    else if (e instanceof Error && typeof (e as { code?: unknown }).code === "string") this.add((e as unknown as { code: string }).code, stage, e.message);
    else throw e;
  }
  /** Throw the first problem as a QuiverFormatError. */
  throwFirst(): void {
    const p = this.items[0];
    if (p !== undefined) throw new QuiverFormatError(p.code, p.message, { stage: p.stage });
  }
}
