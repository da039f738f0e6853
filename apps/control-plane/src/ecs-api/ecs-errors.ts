import { BerthError, type ErrorCode } from '@berth/domain';
import { databaseUnavailableReason, InvalidTokenError } from '@berth/store';
import type { Logger } from 'pino';

/**
 * Errors as the AWS SDKs parse them (AWS JSON 1.1): HTTP 400 with
 * `{"__type": NAME, "message": ...}` and NAME in `x-amzn-ErrorType`, using
 * ECS's exception names. 5xx only for real server faults (ServerException),
 * and 503 while the database is away (the SDKs retry it). Never
 * LimitExceededException but for a real limit: the JS SDK retries it as
 * throttling.
 */
export class EcsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = type;
  }
}

export const ecsError = (type: string, message: string, status = 400) => new EcsError(type, message, status);

/** Codes the application services attach -> ECS's specific exceptions. */
const CODE_TO_EXCEPTION: Partial<Record<ErrorCode, string>> = {
  'cluster-not-found': 'ClusterNotFoundException',
  'service-not-found': 'ServiceNotFoundException',
  'service-not-active': 'ServiceNotActiveException',
  // ECS answers "Unable to describe task definition." as a ClientException.
  'task-definition-not-found': 'ClientException',
  'task-not-found': 'InvalidParameterException',
  'node-not-found': 'InvalidParameterException',
  'resource-not-found': 'ResourceNotFoundException',
  'cluster-contains-services': 'ClusterContainsServicesException',
  'cluster-contains-tasks': 'ClusterContainsTasksException',
  'cluster-contains-nodes': 'ClusterContainsContainerInstancesException',
  // ECS's answer to a target group it cannot use.
  'target-group-not-found': 'InvalidParameterException',
};

const KIND_TO_EXCEPTION = {
  invalid: 'InvalidParameterException',
  'not-found': 'ClientException',
  conflict: 'ClientException',
  unauthenticated: 'UnrecognizedClientException',
  denied: 'AccessDeniedException',
} as const;

/** Any thrown error -> the ECS error to answer. Unexpected ones are logged, their details kept out of replies. */
export function toEcsError(err: unknown, op: string, log: Logger): EcsError {
  if (err instanceof EcsError) return err;
  if (err instanceof BerthError) {
    if (err.kind === 'unavailable') return new EcsError('ServerException', err.message, 503);
    return new EcsError((err.code && CODE_TO_EXCEPTION[err.code]) ?? KIND_TO_EXCEPTION[err.kind], err.message);
  }
  if (err instanceof InvalidTokenError) return new EcsError('InvalidParameterException', err.message);
  const code = (err as { code?: string }).code;
  // Postgres refusing text a request carried (a NUL byte, invalid UTF-8): the caller's input, not a fault.
  if (code === '22021' || code === '22P05' || code === '54000') {
    return new EcsError('InvalidParameterException', 'a value in the request is not storable text (a NUL character, invalid UTF-8, or too long)');
  }
  const unavailable = databaseUnavailableReason(err);
  if (unavailable) {
    log.warn({ op, reason: unavailable }, 'ECS request refused: the database is unavailable');
    return new EcsError('ServerException', `the database is unavailable (${unavailable}); try again shortly`, 503);
  }
  log.error({ err, op }, 'unexpected error in an ECS operation');
  return new EcsError('ServerException', `internal error in ${op} (see the control-plane log)`, 500);
}
