import { invalid, notFound, conflict } from '@berth/domain';
import { InvalidTokenError } from '@berth/store';
import { status } from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { clusterName } from '../services/clusters.js';
import { safeDetails, toServiceError } from './errors.js';

const log = pino({ level: 'silent' });

describe('toServiceError', () => {
  it('maps domain errors to gRPC status with their message', () => {
    expect(toServiceError(invalid('count: must be 1-10, got 11'), log, 'RunTask')).toEqual({ code: status.INVALID_ARGUMENT, details: 'count: must be 1-10, got 11' });
    expect(toServiceError(notFound('task x not found'), log, 'StopTask')).toEqual({ code: status.NOT_FOUND, details: 'task x not found' });
    expect(toServiceError(conflict('busy'), log, 'X').code).toBe(status.FAILED_PRECONDITION);
    expect(toServiceError(new InvalidTokenError(), log, 'ListTasks').code).toBe(status.INVALID_ARGUMENT);
  });

  it('says the database is unreachable as UNAVAILABLE, and hides internals', () => {
    expect(toServiceError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), log, 'ListTasks')).toEqual({
      code: status.UNAVAILABLE,
      details: 'the database is unavailable (connection refused); try again shortly',
    });
    // Postgres shutting down (a fast shutdown ends every session with 57P01) is retryable too.
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' });
    expect(toServiceError(shutdown, log, 'RunTask')).toEqual({ code: status.UNAVAILABLE, details: 'the database is unavailable (the server is shutting down); try again shortly' });
    const internal = toServiceError(new Error('relation "x" does not exist at secret place'), log, 'ListTasks');
    expect(internal).toEqual({ code: status.INTERNAL, details: 'internal error in ListTasks (see the control-plane log)' });
  });
});

describe('clusterName', () => {
  it('accepts a name, an ARN, or nothing (the default cluster)', () => {
    expect(clusterName(undefined)).toBe('default');
    expect(clusterName('')).toBe('default');
    expect(clusterName('lab')).toBe('lab');
    expect(clusterName('arn:aws:ecs:local:000000000000:cluster/lab')).toBe('lab');
  });

  it('keeps details encodable: a lone surrogate from a quoted emoji half becomes U+FFFD', () => {
    const half = '🚀'.slice(0, 1);
    const e = toServiceError(invalid(`serviceName: got "${half}"`), log, 'Op');
    expect(() => encodeURIComponent(e.details!)).not.toThrow();
    expect(e.details).toBe('serviceName: got "\uFFFD"');
    expect(safeDetails('ok 🚀')).toBe('ok 🚀');
  });
});
