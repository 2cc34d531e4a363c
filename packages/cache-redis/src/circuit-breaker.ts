/** States of a {@link CircuitBreaker}. */
export type CircuitState = "closed" | "open" | "half-open";

/** Options of {@link CircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 3). */
  readonly threshold?: number;
  /** First back-off in ms (default 100); doubles on every failed probe up to `maxBackoffMs`. */
  readonly backoffMs?: number;
  /** Longest back-off in ms (default 500), so a recovered server is used again within a second. */
  readonly maxBackoffMs?: number;
  /** Clock, for tests (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Consecutive-failure circuit breaker. Closed: every request goes through. After `threshold`
 * consecutive failures it opens: requests are skipped (callers answer without the server) for the
 * back-off. When the back-off has passed, exactly one caller gets `tryProbe() === true` (half-open)
 * and probes; success closes the circuit, failure reopens it with a doubled back-off.
 */
export class CircuitBreaker {
  readonly threshold: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly #now: () => number;
  #state: CircuitState = "closed";
  #failures = 0;
  #openUntil = 0;
  #backoff: number;
  /** Times the circuit opened. */
  opened = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.threshold = options.threshold ?? 3;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 500;
    this.#now = options.now ?? Date.now;
    this.#backoff = this.backoffMs;
  }

  /** Current state (an open circuit whose back-off passed still reads "open" until a probe starts). */
  get state(): CircuitState {
    return this.#state;
  }

  /** True when a request may go to the server now (closed circuit). */
  allows(): boolean {
    return this.#state === "closed";
  }

  /** True for the one caller that should probe now (open circuit, back-off over); moves to half-open. */
  tryProbe(): boolean {
    if (this.#state !== "open" || this.#now() < this.#openUntil) return false;
    this.#state = "half-open";
    return true;
  }

  /** Record a successful request or probe: closes the circuit. Returns true when it was not closed. */
  success(): boolean {
    const wasOpen = this.#state !== "closed";
    this.#state = "closed";
    this.#failures = 0;
    this.#backoff = this.backoffMs;
    return wasOpen;
  }

  /** Record a failed request or probe. Returns true when this failure opened the circuit. */
  failure(): boolean {
    if (this.#state === "half-open") {
      this.#backoff = Math.min(this.maxBackoffMs, this.#backoff * 2);
      this.#open();
      return false;
    }
    if (this.#state === "open") return false;
    this.#failures++;
    if (this.#failures < this.threshold) return false;
    this.#open();
    return true;
  }

  #open(): void {
    this.#state = "open";
    this.#openUntil = this.#now() + this.#backoff;
    this.opened++;
  }
}
