import { describe, expect, it } from 'vitest';
import { Backoff, normalizeTarget } from './index.js';

describe('Backoff', () => {
  it('grows exponentially with jitter up to the cap, then resets', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('spreads each wait over the whole range (full jitter), never under half the first delay', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect([b.next(), b.next(), b.next()]).toEqual([50, 50, 50]);
    const half = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.5 });
    expect([half.next(), half.next(), half.next(), half.next()]).toEqual([75, 125, 225, 425]);
  });
});

describe('normalizeTarget', () => {
  it('adds the default port', () => {
    expect(normalizeTarget('cp.lan')).toBe('cp.lan:7400');
    expect(normalizeTarget('cp.lan:9000')).toBe('cp.lan:9000');
    expect(normalizeTarget(':9000')).toBe('127.0.0.1:9000');
    expect(normalizeTarget('')).toBe('127.0.0.1:7400');
    expect(normalizeTarget('[::1]')).toBe('[::1]:7400');
  });
});
