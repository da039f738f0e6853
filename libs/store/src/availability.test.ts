import { describe, expect, it } from 'vitest';
import { databaseUnavailableReason, isConnectionLost, isDatabaseClosed, isDatabaseUnavailable } from './availability.js';
import { reconnectDelaySeconds } from './database.js';

const err = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(code), { code, ...extra });

describe('database availability', () => {
  it('names why the database cannot be used: refused, reset, shutting down, starting up', () => {
    expect(databaseUnavailableReason(err('ECONNREFUSED'))).toBe('connection refused');
    expect(databaseUnavailableReason(err('CONNECTION_CLOSED'))).toBe('connection closed');
    expect(databaseUnavailableReason(err('57P01', { severity: 'FATAL' }))).toBe('the server is shutting down');
    expect(databaseUnavailableReason(err('57P03', { severity: 'FATAL' }))).toBe('the server is starting up');
    expect(databaseUnavailableReason(err('08006'))).toBe('connection failure');
    expect(databaseUnavailableReason(err('ENOENT', { syscall: 'connect' }))).toBe('no server at the socket');
    // Happy eyeballs: every address failed.
    expect(databaseUnavailableReason(Object.assign(new AggregateError([err('ECONNREFUSED'), err('ECONNREFUSED')]), { code: undefined }))).toBe('connection refused');
  });

  it('leaves statement errors alone: they would fail the same way again', () => {
    expect(isDatabaseUnavailable(err('23505'))).toBe(false);
    expect(isDatabaseUnavailable(err('42P01'))).toBe(false);
    expect(isDatabaseUnavailable(err('ENOENT', { syscall: 'open' }))).toBe(false);
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });

  it('tells a pool this process ended from an outage', () => {
    expect(isDatabaseClosed(err('CONNECTION_ENDED'))).toBe(true);
    expect(isDatabaseClosed(err('CONNECTION_DESTROYED'))).toBe(true);
    expect(isDatabaseClosed(err('ECONNREFUSED'))).toBe(false);
  });

  it('knows when a transaction cannot send anything more on its connection', () => {
    expect(isConnectionLost(err('CONNECTION_CLOSED'))).toBe(true);
    expect(isConnectionLost(err('ECONNRESET'))).toBe(true);
    expect(isConnectionLost(err('57P01', { severity: 'FATAL' }))).toBe(true);
    expect(isConnectionLost(err('XX000', { severity: 'FATAL' }))).toBe(true);
    // A failed statement on a live connection: ROLLBACK is needed and possible.
    expect(isConnectionLost(err('23505', { severity: 'ERROR' }))).toBe(false);
    expect(isConnectionLost(err('40001', { severity: 'ERROR' }))).toBe(false);
    // Refused: the transaction never had a connection (nothing was sent).
    expect(isConnectionLost(err('ECONNREFUSED'))).toBe(false);
  });

  it('tries a lost connection again within 2 s however long the outage (jittered)', () => {
    expect(reconnectDelaySeconds(0, () => 0)).toBeCloseTo(0.025);
    expect(reconnectDelaySeconds(0, () => 0.999)).toBeCloseTo(0.05, 2);
    expect(reconnectDelaySeconds(3, () => 0.999)).toBeCloseTo(0.4, 2);
    for (const n of [6, 10, 50, 1000]) {
      expect(reconnectDelaySeconds(n, () => 0)).toBe(1);
      expect(reconnectDelaySeconds(n, () => 0.999)).toBeLessThanOrEqual(2);
    }
  });
});

describe('isTypeFetchCutOff', () => {
  it('recognises postgres.js type reads cut off by a closed connection, nothing else', async () => {
    const { isTypeFetchCutOff } = await import('./availability.js');
    const query = '\n      select b.oid, b.typarray\n      from pg_catalog.pg_type a\n';
    expect(isTypeFetchCutOff(Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED', query }))).toBe(true);
    expect(isTypeFetchCutOff(Object.assign(new Error('x'), { code: 'ECONNRESET', query }))).toBe(true);
    expect(isTypeFetchCutOff(Object.assign(new Error('x'), { code: 'CONNECTION_CLOSED', query: 'SELECT * FROM tasks' }))).toBe(false);
    expect(isTypeFetchCutOff(Object.assign(new Error('x'), { code: '42P01', query }))).toBe(false);
    expect(isTypeFetchCutOff(new Error('boom'))).toBe(false);
    expect(isTypeFetchCutOff(undefined)).toBe(false);
  });
});
