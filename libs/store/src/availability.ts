/**
 * Telling "the database is away" from "this statement is wrong". A statement
 * that failed because the server cannot be reached, is shutting down or
 * starting up, or dropped the connection may succeed if tried again later;
 * every other failure would fail the same way again.
 */

/** postgres.js and Node connection errors, and Postgres SQLSTATEs, that mean the server is unreachable now. */
const UNAVAILABLE_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection broken',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'name resolution failed',
  CONNECT_TIMEOUT: 'connection timed out',
  CONNECTION_CLOSED: 'connection closed',
  // The pool was ended (this process is shutting down).
  CONNECTION_ENDED: 'connection pool closed',
  CONNECTION_DESTROYED: 'connection pool closed',
  '57P01': 'the server is shutting down',
  '57P02': 'the server crashed',
  '57P03': 'the server is starting up',
  '53300': 'too many connections',
};

/** SQLSTATE class 08: connection exceptions. */
const CONNECTION_EXCEPTION_CLASS = '08';

interface ErrorLike {
  code?: unknown;
  severity?: unknown;
  syscall?: unknown;
  errors?: unknown;
}

/**
 * Why the database cannot be used now (e.g. "connection refused"), or
 * undefined when `err` is not a database availability failure.
 */
export function databaseUnavailableReason(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code) {
    const known = UNAVAILABLE_REASONS[code];
    if (known) return known;
    if (/^[0-9A-Z]{5}$/.test(code) && code.startsWith(CONNECTION_EXCEPTION_CLASS)) return 'connection failure';
    // A unix socket that is not there (the embedded store's, while it restarts).
    if (code === 'ENOENT' && e.syscall === 'connect') return 'no server at the socket';
  }
  // Node's happy-eyeballs connect fails with every address's error at once.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const reason = databaseUnavailableReason(inner);
      if (reason) return reason;
    }
  }
  return undefined;
}

export function isDatabaseUnavailable(err: unknown): boolean {
  return databaseUnavailableReason(err) !== undefined;
}

/**
 * The pool was ended by this process (it is shutting down): trying again is
 * pointless, unlike an outage of the server.
 */
export function isDatabaseClosed(err: unknown): boolean {
  const code = (err as ErrorLike | undefined)?.code;
  return code === 'CONNECTION_ENDED' || code === 'CONNECTION_DESTROYED';
}

/**
 * The connection a transaction ran on is gone: the server ended it (a FATAL
 * error, e.g. shutting down) or it closed. Nothing more can be sent on it, not
 * even a ROLLBACK (the server rolls back itself when a session ends).
 */
export function isConnectionLost(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as ErrorLike;
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
  const code = typeof e.code === 'string' ? e.code : '';
  return ['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03'].includes(code) || code.startsWith(CONNECTION_EXCEPTION_CLASS);
}

/**
 * postgres.js 3.4.9 reads the array types on every new connection without
 * catching the query's failure: when the server goes away right then, the
 * rejection is unhandled (nothing awaits it). It is harmless (the connection
 * is gone and a new one retries), but Node ends a process on an unhandled
 * rejection; the control plane's handler recognises it with this.
 */
export function isTypeFetchCutOff(err: unknown): boolean {
  const e = err as { code?: unknown; query?: unknown } | null;
  return !!e && typeof e === 'object' && typeof e.query === 'string' && e.query.includes('pg_catalog.pg_type') && typeof e.code === 'string' && /^(CONNECTION_|ECONN|EPIPE|ETIMEDOUT)/.test(e.code);
}
