import { BerthError } from '@berth/domain';
import { databaseUnavailableReason, InvalidTokenError } from '@berth/store';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';

const KIND_TO_STATUS = {
  invalid: status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
  unauthenticated: status.UNAUTHENTICATED,
  denied: status.PERMISSION_DENIED,
} as const;

/**
 * Details as they can travel: grpc-js percent-encodes them into a header, which
 * throws on a lone UTF-16 surrogate (a message quoting half of an emoji from a
 * user's input), and that would leave the call unanswered.
 */
export function safeDetails(details: string): string {
  return details.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** A thrown error -> the gRPC status a client sees. Unexpected errors are logged, and their details kept out of replies. */
export function toServiceError(err: unknown, log: Logger, op: string): Partial<ServiceError> {
  if (err instanceof BerthError) return { code: KIND_TO_STATUS[err.kind], details: safeDetails(err.message) };
  if (err instanceof InvalidTokenError) return { code: status.INVALID_ARGUMENT, details: safeDetails(err.message) };
  const code = (err as { code?: string }).code;
  // Postgres refusing text a request carried (a NUL byte, invalid UTF-8): the caller's input, not a fault.
  if (code === '22021' || code === '22P05' || code === '54000') {
    return { code: status.INVALID_ARGUMENT, details: 'a value in the request is not storable text (a NUL character, invalid UTF-8, or too long)' };
  }
  const unavailable = databaseUnavailableReason(err);
  if (unavailable) {
    // Expected while Postgres restarts or fails over: one line, no stack.
    log.warn({ op, reason: unavailable }, 'request refused: the database is unavailable');
    return { code: status.UNAVAILABLE, details: `the database is unavailable (${unavailable}); try again shortly` };
  }
  log.error({ err, op }, 'unexpected error');
  return { code: status.INTERNAL, details: `internal error in ${op} (see the control-plane log)` };
}
