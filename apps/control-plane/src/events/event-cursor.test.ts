import { describe, expect, it } from 'vitest';
import { EventCursor } from './event-cursor.js';

const ev = (id: number, ageMs = 0) => ({ id, ageMs });

describe('EventCursor', () => {
  it('hands out contiguous events and moves past them', () => {
    const c = new EventCursor(4);
    expect(c.accept([ev(5), ev(6), ev(7)]).map((e) => e.id)).toEqual([5, 6, 7]);
    expect(c.position).toBe(7);
  });

  it('holds back everything after a young gap, which may be a transaction still in flight', () => {
    const c = new EventCursor(4, 3000);
    expect(c.accept([ev(5), ev(7, 100), ev(8, 50)]).map((e) => e.id)).toEqual([5]);
    expect(c.position).toBe(5);
    // the late transaction commits: 6 appears and all flow
    expect(c.accept([ev(6, 10), ev(7, 200), ev(8, 150)]).map((e) => e.id)).toEqual([6, 7, 8]);
  });

  it('skips a gap once the event after it is older than the wait (rolled back or pruned ids)', () => {
    const c = new EventCursor(0, 3000);
    expect(c.accept([ev(40, 3000), ev(41, 2999)]).map((e) => e.id)).toEqual([40, 41]);
    expect(c.accept([ev(43, 2999)])).toEqual([]);
    expect(c.accept([ev(43, 3001)]).map((e) => e.id)).toEqual([43]);
  });

  it('ignores events at or before the position (a re-read)', () => {
    const c = new EventCursor(10);
    expect(c.accept([ev(9), ev(10), ev(11)]).map((e) => e.id)).toEqual([11]);
  });

  it('with no wait hands out everything in order (a one-shot read)', () => {
    const c = new EventCursor(0, 0);
    expect(c.accept([ev(3), ev(9)]).map((e) => e.id)).toEqual([3, 9]);
  });
});
