/**
 * Reconnect backoff constants for every Berth client, in one place.
 * Exponential with full jitter; reset after a connection stayed up for STABLE_AFTER_MS.
 */
export const BACKOFF_INITIAL_MS = 250;
export const BACKOFF_MAX_MS = 30_000;
export const BACKOFF_MULTIPLIER = 2;
export const BACKOFF_STABLE_AFTER_MS = 60_000;

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  multiplier?: number;
  /** Randomness in [0, 1), injected for repeatable tests. */
  random?: () => number;
}

/**
 * Delays for successive failed attempts: attempt n waits a random time in
 * [initial/2, cap], cap = min(max, initial * multiplier^n) ("full jitter").
 * Not [cap/2, cap]: agents that lost the control plane at the same instant
 * would add up nearly the same waits and come back together (the fleet fault
 * test measured half of 1,000 agents in one second that way).
 */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly multiplier: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? BACKOFF_INITIAL_MS;
    this.maxMs = opts.maxMs ?? BACKOFF_MAX_MS;
    this.multiplier = opts.multiplier ?? BACKOFF_MULTIPLIER;
    this.random = opts.random ?? Math.random;
  }

  /** The delay before the next attempt, growing with every call until reset(). */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * this.multiplier ** this.attempt);
    this.attempt++;
    const floor = Math.min(cap, this.initialMs / 2);
    return Math.round(floor + (cap - floor) * this.random());
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
