/**
 * The limits every way in puts on callers, kept in memory: addresses that
 * failed authentication too often are refused for a while, and each
 * credential has a token bucket of calls per second. The gRPC API
 * (grpc/auth.ts) and the ECS endpoint (ecs-api/access-keys.ts) both use them.
 */

export const FAILED_AUTH_LIMIT = 10;
export const FAILED_AUTH_WINDOW_MS = 60_000;
/** Entries kept at most (a scan from many addresses must not grow the maps without end). */
const MAX_ENTRIES = 10_000;

/** Failed authentications per address: after `limit` in a window, the address is refused for the rest of it. */
export class FailedAuthLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly limit = FAILED_AUTH_LIMIT,
    private readonly windowMs = FAILED_AUTH_WINDOW_MS,
    private readonly now: () => number = Date.now,
  ) {}

  blocked(address: string): boolean {
    const f = this.failures.get(address);
    return !!f && f.count >= this.limit && this.now() - f.since < this.windowMs;
  }

  failed(address: string): void {
    const now = this.now();
    const f = this.failures.get(address);
    const cur = f && now - f.since < this.windowMs ? f : { count: 0, since: now };
    cur.count++;
    if (!f && this.failures.size >= MAX_ENTRIES) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(address, cur);
  }
}

/** A token bucket per credential: `ratePerS` calls per second, bursts up to the same. */
export class CallRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly ratePerS: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one call for `id`; false when it is over its rate. */
  take(id: string): boolean {
    const now = this.now();
    const b = this.buckets.get(id) ?? { tokens: this.ratePerS, at: now };
    b.tokens = Math.min(this.ratePerS, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
    b.at = now;
    if (!this.buckets.has(id) && this.buckets.size >= MAX_ENTRIES) this.buckets.delete(this.buckets.keys().next().value!);
    this.buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
