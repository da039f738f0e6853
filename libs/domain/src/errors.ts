/** One precise validation problem: where, which rule, what value. */
export interface FieldError {
  /** JSON path, e.g. `containerDefinitions[1].portMappings[0].containerPort`. */
  path: string;
  /** The rule, phrased for a user: `must be 1-65535`. */
  rule: string;
  /** The offending value, when there is one. */
  value?: unknown;
}

export function formatFieldError(e: FieldError): string {
  const got = e.value === undefined ? '' : `, got ${renderValue(e.value)}`;
  return `${e.path || '(document)'}: ${e.rule}${got}`;
}

function renderValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
}

/** Kinds map onto gRPC status codes (and later ECS exception names) at the edge. */
export type ErrorKind = 'invalid' | 'not-found' | 'conflict' | 'unavailable' | 'unauthenticated' | 'denied';

/**
 * What exactly was wrong, when a way in needs more than the kind (the ECS
 * endpoint answers ClusterNotFoundException, ServiceNotActiveException, ...).
 */
export type ErrorCode =
  | 'cluster-not-found'
  | 'service-not-found'
  | 'service-not-active'
  | 'task-definition-not-found'
  | 'task-not-found'
  | 'node-not-found'
  | 'resource-not-found'
  | 'cluster-contains-services'
  | 'cluster-contains-tasks'
  | 'cluster-contains-nodes'
  // ELBv2
  | 'load-balancer-not-found'
  | 'target-group-not-found'
  | 'listener-not-found'
  | 'rule-not-found'
  | 'duplicate-load-balancer-name'
  | 'duplicate-target-group-name'
  | 'duplicate-listener'
  | 'priority-in-use'
  | 'resource-in-use'
  | 'invalid-target'
  | 'operation-not-permitted'
  | 'invalid-configuration';

export class BerthError extends Error {
  code?: ErrorCode;

  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'BerthError';
  }

  /** The same error with a code: `throw notFound(...).as('cluster-not-found')`. */
  as(code: ErrorCode): this {
    this.code = code;
    return this;
  }
}

export function invalid(message: string, fieldErrors: FieldError[] = []): BerthError {
  return new BerthError('invalid', message, fieldErrors);
}

export function notFound(message: string): BerthError {
  return new BerthError('not-found', message);
}

/** Who is asking could not be established (a bad or expired token, no certificate). */
export function unauthenticated(message: string): BerthError {
  return new BerthError('unauthenticated', message);
}

/** Who is asking is known and may not do this (a revoked node, another node's identity). */
export function denied(message: string): BerthError {
  return new BerthError('denied', message);
}

export function conflict(message: string): BerthError {
  return new BerthError('conflict', message);
}

/** Every error at once, one per line, for a user to fix in one go. */
export function validationFailed(what: string, errors: FieldError[]): BerthError {
  const lines = errors.map(formatFieldError);
  const head = `${what}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`;
  return invalid([head, ...lines.map((l) => `  ${l}`)].join('\n'), errors);
}
