import { describe, expect, it } from 'vitest';
import { reportedTime } from './tasks.js';

describe('reportedTime', () => {
  const now = new Date('2026-11-25T12:00:00Z');
  it("takes the agent's time when believable, also minutes late (a report held during a disconnection)", () => {
    expect(reportedTime(new Date('2026-11-25T11:57:00Z'), now)).toEqual(new Date('2026-11-25T11:57:00Z'));
    expect(reportedTime(new Date('2026-11-25T12:00:02Z'), now)).toEqual(new Date('2026-11-25T12:00:02Z'));
  });
  it("takes the control plane's when the agent's clock is off (a Pi without a real-time clock)", () => {
    expect(reportedTime(new Date('1970-01-01T00:00:00Z'), now)).toEqual(now);
    expect(reportedTime(new Date('2027-01-01T00:00:00Z'), now)).toEqual(now);
    expect(reportedTime(undefined, now)).toEqual(now);
  });
});
