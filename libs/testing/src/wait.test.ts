import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor('n to reach 3', () => (++n >= 3 ? n : undefined), 1000, 1)).resolves.toBe(3);
  });
  it('times out naming what it waited for', async () => {
    await expect(waitFor('never', () => false, 20, 5)).rejects.toThrow(/waiting for never/);
  });
});
