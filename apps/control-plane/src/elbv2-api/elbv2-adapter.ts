import { decodeQuery, ELBV2_MODEL, errorCodeOf, queryErrorXml, toQueryXml, type QueryInputError } from '@berth/aws-model';
import { BerthError, formatFieldError, type ErrorCode } from '@berth/domain';
import type { AppContext } from '../services/context.js';
import { ELBV2_OPERATIONS, runElbv2 } from '../services/elbv2-operations.js';

/**
 * ELBv2 on the AWS endpoint: the AWS Query protocol (a form body with Action and Version) answered in
 * ELB's XML, so `aws elbv2 ...` and Terraform's aws_lb* resources work pointed at Berth. A thin
 * adapter: decode with the ELBv2 model, hand the input to the ELBv2 operations (which validate and
 * act), encode the answer or ELB's error. SigV4 and access keys are the endpoint's (ecs-api/).
 */

export const ELBV2_SIGNING_NAME = 'elasticloadbalancing';
const NS = ELBV2_MODEL.metadata.xmlNamespace as string | undefined;

/** Berth's error codes -> ELB's exception shapes (their codes and statuses come from the model). */
const CODE_TO_SHAPE: Partial<Record<ErrorCode, string>> = {
  'load-balancer-not-found': 'LoadBalancerNotFoundException',
  'target-group-not-found': 'TargetGroupNotFoundException',
  'listener-not-found': 'ListenerNotFoundException',
  'rule-not-found': 'RuleNotFoundException',
  'duplicate-load-balancer-name': 'DuplicateLoadBalancerNameException',
  'duplicate-target-group-name': 'DuplicateTargetGroupNameException',
  'duplicate-listener': 'DuplicateListenerException',
  'priority-in-use': 'PriorityInUseException',
  'resource-in-use': 'ResourceInUseException',
  'invalid-target': 'InvalidTargetException',
  'operation-not-permitted': 'OperationNotPermittedException',
  'invalid-configuration': 'InvalidConfigurationRequestException',
};

export interface Elbv2Answer {
  status: number;
  xml: string;
  /** The operation (for the log). */
  operation: string;
  errorCode?: string;
}

export class Elbv2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly sender = true,
  ) {
    super(message);
  }
}

/** The action a form body names (before authorization needs it). */
export function elbv2ActionOf(body: string): string {
  return new URLSearchParams(body).get('Action') ?? '';
}

const queryProblem = (errors: QueryInputError[]): Elbv2Error => {
  const first = errors[0]!;
  if (first.kind === 'missing-action') return new Elbv2Error('MissingAction', 'The request must contain the parameter Action (an ELBv2 operation such as DescribeLoadBalancers).');
  if (first.kind === 'unknown-action') return new Elbv2Error('InvalidAction', `${formatFieldError(first)} (see docs/elbv2-api.md for the operations Berth speaks)`);
  if (first.kind === 'missing-version' || first.kind === 'wrong-version') return new Elbv2Error('InvalidAction', `${formatFieldError(first)}: this endpoint speaks ELBv2 ${ELBV2_MODEL.metadata.apiVersion}`);
  const lines = errors.slice(0, 20).map((e) => (e.key ? `${e.key}: ${e.rule}` : formatFieldError(e)));
  return new Elbv2Error('ValidationError', `${errors.length} validation error${errors.length === 1 ? '' : 's'} detected: ${lines.join('; ')}`);
};

/** Maps what the services throw onto ELB's error codes; anything else is an internal error (logged). */
export function toElbv2Error(err: unknown, ctx: AppContext, operation: string): Elbv2Error {
  if (err instanceof Elbv2Error) return err;
  if (err instanceof BerthError) {
    const shape = err.code ? CODE_TO_SHAPE[err.code] : undefined;
    const known = shape ? errorCodeOf(ELBV2_MODEL, shape) : undefined;
    if (known) return new Elbv2Error(known.code, err.message, known.httpStatus, known.sender);
    if (err.kind === 'unavailable') return new Elbv2Error('ServiceUnavailable', err.message, 503, false);
    if (err.kind === 'denied') return new Elbv2Error('AccessDenied', err.message, 403);
    if (err.kind === 'unauthenticated') return new Elbv2Error('InvalidClientTokenId', err.message, 403);
    if (err.kind === 'not-found') return new Elbv2Error('ValidationError', err.message);
    if (err.kind === 'conflict') return new Elbv2Error('InvalidConfigurationRequest', err.message);
    return new Elbv2Error('ValidationError', err.message);
  }
  ctx.log.error({ err, operation }, 'ELBv2 request failed');
  return new Elbv2Error('InternalFailure', 'The request processing has failed because of an unknown error.', 500, false);
}

export const errorXml = (e: Elbv2Error, requestId: string) => queryErrorXml({ code: e.code, message: e.message, type: e.sender ? 'Sender' : 'Receiver', requestId, xmlNamespace: NS });

/**
 * One ELBv2 request, authenticated already: `authorize` checks the caller may run the operation.
 * Never throws: errors are ELB's XML error document.
 */
export async function serveElbv2(ctx: AppContext, body: string, requestId: string, authorize: (operation: string, input: unknown) => void): Promise<Elbv2Answer> {
  let operation = elbv2ActionOf(body) || '(none)';
  try {
    const decoded = decodeQuery<Record<string, unknown>>(ELBV2_MODEL, body, { validate: false });
    if (!decoded.ok) throw queryProblem(decoded.errors);
    operation = decoded.action;
    if (!Object.hasOwn(ELBV2_OPERATIONS, operation)) throw new Elbv2Error('InvalidAction', `${operation} is not supported by Berth (see docs/elbv2-api.md for the operations it speaks)`);
    authorize(operation, decoded.input);
    const { output, warnings } = await runElbv2(ctx, operation, decoded.input);
    if (warnings.length > 0) ctx.log.info({ requestId, operation, warnings }, 'ELBv2 request: what Berth does differently');
    return { status: 200, xml: toQueryXml(ELBV2_MODEL, operation, output, requestId), operation };
  } catch (err) {
    const e = toElbv2Error(err, ctx, operation);
    return { status: e.status, xml: errorXml(e, requestId), operation, errorCode: e.code };
  }
}
