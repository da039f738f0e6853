import { BerthError } from '@berth/domain';
import { InvalidTokenError } from '@berth/store';
import { status, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from 'pino';

const KIND_TO_STATUS = {
  invalid: status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.FAILED_PRECONDITION,
  unavailable: status.UNAVAILABLE,
} as const;

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', 'CONNECTION_DESTROYED']);

/** A thrown error -> the gRPC status a client sees. Unexpected errors are logged, and their details kept out of replies. */
export function toServiceError(err: unknown, log: Logger, op: string): Partial<ServiceError> {
  if (err instanceof BerthError) return { code: KIND_TO_STATUS[err.kind], details: err.message };
  if (err instanceof InvalidTokenError) return { code: status.INVALID_ARGUMENT, details: err.message };
  const code = (err as { code?: string }).code;
  if (code && CONNECTION_ERRORS.has(code)) {
    log.error({ err, op }, 'database unavailable');
    return { code: status.UNAVAILABLE, details: 'the control plane cannot reach its database; try again shortly' };
  }
  log.error({ err, op }, 'unexpected error');
  return { code: status.INTERNAL, details: `internal error in ${op} (see the control-plane log)` };
}
