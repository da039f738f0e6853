import { describe, expect, it } from 'vitest';
import { CallRateLimiter, FailedAuthLimiter } from './credential-limits.js';

describe('credential limits', () => {
  it('refuses an address after too many failures in the window, and forgives it after', () => {
    let now = 0;
    const l = new FailedAuthLimiter(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) l.failed('10.0.0.1');
    expect(l.blocked('10.0.0.1')).toBe(true);
    expect(l.blocked('10.0.0.2')).toBe(false);
    now = 60_001;
    expect(l.blocked('10.0.0.1')).toBe(false);
  });

  it('gives each credential its rate per second', () => {
    let now = 0;
    const r = new CallRateLimiter(5, () => now);
    expect(Array.from({ length: 6 }, () => r.take('a'))).toEqual([true, true, true, true, true, false]);
    expect(r.take('b')).toBe(true);
    now = 200;
    expect(r.take('a')).toBe(true);
    expect(r.take('a')).toBe(false);
  });
});
