import { describe, expect, it } from 'vitest';
import { decodeToken, encodeToken, InvalidTokenError, pageSize } from './pagination.js';

describe('pagination', () => {
  it('round-trips a keyset token', () => {
    const token = encodeToken(['2026-01-01T00:00:00.000Z', 'a'.repeat(32)]);
    expect(decodeToken(token)).toEqual(['2026-01-01T00:00:00.000Z', 'a'.repeat(32)]);
    expect(decodeToken('')).toBeUndefined();
    expect(decodeToken(undefined)).toBeUndefined();
  });

  it('refuses tokens it did not issue', () => {
    expect(() => decodeToken('garbage!')).toThrow(InvalidTokenError);
    expect(() => decodeToken(Buffer.from('{"a":1}').toString('base64url'))).toThrow('nextToken: is not a token this server issued');
  });

  it('bounds page sizes as ECS does (default and maximum 100)', () => {
    expect(pageSize(undefined)).toBe(100);
    expect(pageSize(0)).toBe(100);
    expect(pageSize(5)).toBe(5);
    expect(pageSize(1000)).toBe(100);
  });
});
